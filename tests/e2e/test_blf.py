"""BLF: the dialog event package (RFC 4235 on RFC 6665). A sipp BLF key
(tests/e2e/sipp/blf_subscribe.xml) watches an extension while a call to it
rings, is answered and ends: each NOTIFY's application/dialog-info+xml is
checked element by element (xml.etree) against RFC 4235 §4, and the
subscription expires with a last NOTIFY. Refresh, unsubscribe, the refusals
(unknown extension, event, Accept, too brief, no credentials, another phone
system) and the per-user limit by sipua phones; a BLF key's phone picks up
a ringing call by INVITE with Replaces built from the NOTIFY's dialog ids."""
import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import curl, sip_server
from pbxsetup import phone
from sipclient import digest
from sipua import Phone, tag_of

NS = "{urn:ietf:params:xml:ns:dialog-info}"
SCENARIO = os.path.join(os.path.dirname(__file__), "sipp/blf_subscribe.xml")
LIMIT = 100  # PBX_BLF_MAX_PER_USER


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = sip_server([("acme", "200"), ("acme", "201"), ("acme", "202"), ("globex", "200")],
                   voicemail=False)
    s.tmp = tmp_path_factory.mktemp("blf")
    yield s
    s.cleanup()


def subscribe(p, target, event="dialog", accept="application/dialog-info+xml", **kw):
    """A BLF key's SUBSCRIBE (RFC 4235): the final answer and the subscription."""
    return p.subscribe(target, event, accept, **kw)


def doc(body):
    """The dialog-info document: (root, [dialog elements])."""
    root = ET.fromstring(body)
    assert root.tag == NS + "dialog-info", root.tag
    return root, root.findall(NS + "dialog")


def check_dialog(d, state, call_id, local_tag, remote_tag, direction, remote, remote_name,
                 local="sip:201@acme", local_name="acme 201"):
    """One <dialog> element, attribute by attribute and child by child (RFC 4235 §4.1)."""
    assert d.get("id") and re.fullmatch(r"[0-9a-f]{16}", d.get("id")), d.attrib
    assert d.get("call-id") == call_id, d.attrib
    assert d.get("local-tag") == local_tag and d.get("remote-tag") == remote_tag, d.attrib
    assert d.get("direction") == direction, d.attrib
    kids = [c.tag[len(NS):] for c in d]
    assert kids == ["state", "local", "remote"], kids  # the schema's order
    assert d.find(NS + "state").text == state
    li = d.find(f"{NS}local/{NS}identity")
    assert li.text == local and li.get("display") == local_name
    ri = d.find(f"{NS}remote/{NS}identity")
    assert ri.text == remote and ri.get("display") == remote_name
    assert d.find(f"{NS}remote/{NS}target").get("uri") == remote


def sipp_notifies(path):
    """The NOTIFYs sipp received, from its -trace_msg log: [(headers text, body)]."""
    text = open(path, errors="replace").read()
    out = []
    for block in re.split(r"\n-{10,}[^\n]*\n", text):
        m = re.search(r"message received[^\n]*\n\n(NOTIFY .*)", block, re.S)
        if not m:
            continue
        msg = m.group(1).replace("\r\n", "\n")
        head, _, body = msg.partition("\n\n")
        out.append((head, body.strip()))
    return out


def test_sipp_blf_key_sees_a_call_ring_answer_and_end(srv):
    """The lamp of 201 as a call from 202 rings (trying, then early), is
    answered (confirmed) and ends (terminated); the subscription (10 s)
    expires with a last NOTIFY."""
    csv = srv.tmp / "blf.csv"
    csv.write_text("SEQUENTIAL\n200;unused;acme\n")
    cmd = ["sipp", f"127.0.0.1:{5060 + srv.offset}", "-t", "t1", "-sf", SCENARIO, "-s", "201",
           "-key", "expires", "10", "-m", "1", "-l", "1", "-nostdin", "-timeout", "40",
           "-au", "200", "-ap", "acme-200-secret", "-inf", str(csv), "-trace_msg",
           "-message_file", str(srv.tmp / "blf_msgs.log")]
    sipp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=str(srv.tmp))
    log = srv.tmp / "blf_msgs.log"
    callee, caller = phone(srv, "201"), phone(srv, "202")

    def wait_notifies(n, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = sipp_notifies(log) if log.exists() else []
            if len(got) >= n:
                return got
            assert sipp.poll() is None, sipp.communicate()[0]
            time.sleep(0.05)
        raise AssertionError(f"{n} NOTIFYs expected, got {got}")

    try:
        got = wait_notifies(1)
        head, body = got[0]
        assert re.search(r"(?mi)^Event: dialog\s*$", head), head
        assert re.search(r"(?mi)^Subscription-State: active;expires=\d+", head), head
        assert re.search(r"(?mi)^Content-Type: application/dialog-info\+xml", head), head
        root, dialogs = doc(body)
        assert root.get("version") == "0" and root.get("state") == "full"
        assert root.get("entity") == "sip:201@acme" and dialogs == []

        call = caller.call("201")
        inv = callee.request("INVITE")
        cid, pbx_tag = inv.h("call-id"), tag_of(inv.h("from"))
        root, (d,) = doc(wait_notifies(2)[1][1])
        assert root.get("version") == "1"
        assert d.get("call-id") == cid and d.get("local-tag") is None
        assert d.find(NS + "state").text == "trying" and d.get("direction") == "recipient"
        dialog_id = d.get("id")

        c = callee.accept(inv)
        callee.answer(inv, 180, tag=c["tag"])
        root, (d,) = doc(wait_notifies(3)[2][1])
        assert root.get("version") == "2" and d.get("id") == dialog_id
        check_dialog(d, "early", cid, c["tag"], pbx_tag, "recipient", "sip:202@acme",
                     "acme 202")

        callee.answer(inv, 200, body=callee.sdp(), tag=c["tag"])
        r = caller.final(call)
        assert r.status == 200
        caller.confirm(call, r)
        root, (d,) = doc(wait_notifies(4)[3][1])
        assert root.get("version") == "3" and d.get("id") == dialog_id
        check_dialog(d, "confirmed", cid, c["tag"], pbx_tag, "recipient", "sip:202@acme",
                     "acme 202")

        caller.in_dialog(call, "BYE")
        callee.answer(callee.request("BYE"), 200)
        assert caller.response("BYE").status == 200
        root, (d,) = doc(wait_notifies(5)[4][1])
        assert root.get("version") == "4" and d.get("id") == dialog_id
        check_dialog(d, "terminated", cid, c["tag"], pbx_tag, "recipient", "sip:202@acme",
                     "acme 202")

        # no other NOTIFY until the subscription's 10 s are up
        head, body = wait_notifies(6, timeout=15)[5]
        assert re.search(r"(?mi)^Subscription-State: terminated;reason=timeout", head), head
        root, dialogs = doc(body)
        assert root.get("version") == "5" and dialogs == []
        out, _ = sipp.communicate(timeout=10)
        assert sipp.returncode == 0, out
    finally:
        if sipp.poll() is None:
            sipp.kill()
            sipp.communicate()
        callee.close()
        caller.close()


def test_outgoing_call_refresh_and_unsubscribe(srv):
    """The watched user calling: initiator; a refresh NOTIFYs the whole state
    again; Expires: 0 ends it with a last NOTIFY, after which the dialog is gone."""
    w, watched, other = phone(srv, "200"), phone(srv, "201"), phone(srv, "202")
    try:
        r, sub = subscribe(w, "201", expires=100000)
        assert r.status == 200, r.raw_text()
        assert int(r.h("expires")) == 3600  # bounded
        n = w.notify_of(sub["call_id"])
        assert n.h("event") == "dialog"
        assert n.h("content-type") == "application/dialog-info+xml"
        assert tag_of(n.h("from")) == sub["to_tag"] and tag_of(n.h("to")) == sub["tag"]
        assert doc(n.body)[0].get("version") == "0"

        call = watched.call("202")
        inv = other.request("INVITE")
        c = other.accept(inv)
        root, (d,) = doc(w.notify_of(sub["call_id"]).body)
        assert d.get("direction") == "initiator" and d.get("call-id") == call["call_id"]
        assert d.find(NS + "state").text == "proceeding"
        other.answer(inv, 180, tag=c["tag"])
        root, (d,) = doc(w.notify_of(sub["call_id"]).body)
        assert d.find(NS + "state").text == "early"
        assert d.get("local-tag") == call["tag"]  # the watched phone's own tag
        assert d.find(f"{NS}remote/{NS}identity").text == "sip:202@acme"
        assert d.find(f"{NS}remote/{NS}identity").get("display") == "acme 202"
        # a refresh: the state again, in full, the version counting on
        r, sub = subscribe(w, "201", expires=300, sub=sub)
        assert r.status == 200 and r.h("expires") == "300", r.raw_text()
        n = w.notify_of(sub["call_id"])
        root, (d2,) = doc(n.body)
        assert root.get("version") == "3" and root.get("state") == "full"
        assert d2.get("id") == d.get("id") and d2.find(NS + "state").text == "early"
        assert n.h("subscription-state").startswith("active;expires=")
        # the caller gives up: terminated
        watched.cancel(call)
        assert watched.response("CANCEL").status == 200
        other.answer(other.request("CANCEL"), 200)
        other.answer(inv, 487, tag=c["tag"])
        watched.final(call)
        root, (d,) = doc(w.notify_of(sub["call_id"]).body)
        assert d.find(NS + "state").text == "terminated"
        # unsubscribed: a last NOTIFY, then nothing
        r, sub = subscribe(w, "201", expires=0, sub=sub)
        assert r.status == 200
        n = w.notify_of(sub["call_id"])
        assert n.h("subscription-state") == "terminated"
        assert doc(n.body)[1] == []
        call = watched.call("202")
        inv = other.request("INVITE")
        c = other.accept(inv)
        other.answer(inv, 180, tag=c["tag"])
        assert w.no_notify(sub["call_id"])
        watched.cancel(call)
        other.answer(other.request("CANCEL"), 200)
        other.answer(inv, 487, tag=c["tag"])
        watched.final(call)
        assert subscribe(w, "201", sub=sub)[0].status == 481
    finally:
        for p in (w, watched, other):
            p.close()


def test_subscribe_refused(srv):
    w = phone(srv, "200")
    try:
        r, sub = subscribe(w, "201", auth=False)
        assert r.status == 401 and w.no_notify(sub["call_id"])
        r, sub = subscribe(w, "201", password="wrong-password-1")
        assert r.status in (401, 403) and w.no_notify(sub["call_id"])
        r, sub = subscribe(w, "299")  # no such extension
        assert r.status == 404 and w.no_notify(sub["call_id"])
        r, _ = subscribe(w, "201", event="presence")
        assert r.status == 489 and "dialog" in r.h("allow-events")
        r, _ = subscribe(w, "201", expires=5)
        assert r.status == 423 and r.h("min-expires") == "10"
        r, _ = subscribe(w, "201", accept="text/plain")
        assert r.status == 406
    finally:
        w.close()
    # another phone system's user watches nothing of acme's: its 201 is none of globex's
    g = phone(srv, "200", ps="globex")
    try:
        r, sub = subscribe(g, "201")
        assert r.status == 404 and g.no_notify(sub["call_id"])
    finally:
        g.close()
    g = Phone("tcp", 5060 + srv.offset, "200", "acme-200-secret", "globex")
    try:
        r, sub = subscribe(g, "200")  # acme's credentials at globex
        assert r.status in (401, 403) and g.no_notify(sub["call_id"])
    finally:
        g.close()


def test_subscriptions_per_user_are_limited(srv):
    """LIMIT subscriptions per subscribing user; one more is refused (403)
    and creates nothing; ending one makes room."""
    w = phone(srv, "202")
    subs = []
    try:
        for i in range(LIMIT):
            r, sub = subscribe(w, "201" if i % 2 else "200")
            assert r.status == 200, (i, r.raw_text())
            w.notify_of(sub["call_id"])
            subs.append(sub)
        r, extra = subscribe(w, "201")
        assert r.status == 403 and "Too Many" in r.first, r.raw_text()
        assert w.no_notify(extra["call_id"])
        # another user is not limited by this one's subscriptions
        o = phone(srv, "200")
        try:
            r, s2 = subscribe(o, "202")
            assert r.status == 200
            o.notify_of(s2["call_id"])
            assert subscribe(o, "202", expires=0, sub=s2)[0].status == 200
        finally:
            o.close()
        assert subscribe(w, "201", expires=0, sub=subs[0])[0].status == 200
        w.notify_of(subs[0]["call_id"])
        r, newest = subscribe(w, "201")
        assert r.status == 200
        w.notify_of(newest["call_id"])
        subs[0] = newest
    finally:
        for s in subs:  # ended: nothing stays behind
            subscribe(w, "201", expires=0, sub=s)
        w.close()


def lamp(w, sub, call_id, state, timeout=5):
    """The <dialog> of call_id once a NOTIFY shows it in state."""
    end = time.monotonic() + timeout
    while True:
        _, ds = doc(w.notify_of(sub["call_id"], max(0.1, end - time.monotonic())).body)
        for d in ds:
            if d.get("call-id") == call_id and d.find(NS + "state").text == state:
                return d


def invite_replaces(p, to, replaces):
    """INVITE with a Replaces header (RFC 3891), answering the challenge:
    the call and its first answer that is not a challenge."""
    call = {"call_id": os.urandom(8).hex(), "tag": os.urandom(4).hex()}

    def send(auth=None):
        p.cseq += 1
        call["cseq"] = p.cseq
        call["uri"] = f"sip:{to}@{p.domain}"
        call["via"] = p.via()
        body = p.sdp()
        p.send(f"INVITE {call['uri']} SIP/2.0\r\nVia: {call['via']}\r\nMax-Forwards: 70\r\n"
               f"From: <sip:{p.user}@{p.domain}>;tag={call['tag']}\r\n"
               f"To: <sip:{to}@{p.domain}>\r\nCall-ID: {call['call_id']}\r\n"
               f"CSeq: {p.cseq} INVITE\r\nContact: {p.contact()}\r\n"
               f"Replaces: {replaces}\r\nSupported: replaces\r\n"
               + (f"Authorization: {auth}\r\n" if auth else "")
               + f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}")
        return p.response("INVITE")

    r = send()
    if r.status == 401:
        p.ack_failure(call, r)
        r = send(digest(r.headers, p.user, p.password, call["uri"], "INVITE"))
    call["resp"] = r
    return call


def test_blf_key_picks_up_with_replaces(srv):
    """A BLF key lights (early) as 202 calls 201, and its phone picks the
    call up by INVITE with Replaces built from the NOTIFY's dialog ids:
    201 stops ringing, 200 talks to 202, the lamp goes out."""
    w, callee, caller = phone(srv, "200"), phone(srv, "201"), phone(srv, "202")
    try:
        r, sub = subscribe(w, "201")
        assert r.status == 200
        w.notify_of(sub["call_id"])
        call = caller.call("201")
        inv = callee.request("INVITE")
        c = callee.accept(inv)
        callee.answer(inv, 180, tag=c["tag"])
        # (201's devices of earlier tests, gone, are rung too: their lamps differ)
        d = lamp(w, sub, inv.h("call-id"), "early")
        # the key's phone picks up: to-tag the notifier's (remote-tag), from-tag the device's
        pick = invite_replaces(w, "201", f"{d.get('call-id')};to-tag={d.get('remote-tag')};"
                                         f"from-tag={d.get('local-tag')}")
        # 201 stops ringing
        callee.answer(callee.request("CANCEL"), 200)
        callee.answer(inv, 487, tag=c["tag"])
        # 202's call is answered, then joined to 200 (a re-INVITE with 200's offer)
        r = caller.final(call)
        assert r.status == 200, r.raw_text()
        caller.confirm(call, r)
        re_inv = caller.request("INVITE", timeout=10)
        caller.answer(re_inv, 200, body=caller.sdp(), tag=tag_of(re_inv.h("to")))
        r = w.final(pick, timeout=10)
        assert r.status == 200, r.raw_text()
        assert "m=audio" in r.body.decode()
        w.confirm(pick, r)
        # the lamp: 201's dialog terminated
        assert lamp(w, sub, inv.h("call-id"), "terminated").get("id") == d.get("id")
        calls = curl("GET", srv.sbc("/acme/api/v1/calls/active"),
                     token=srv.tokens["acme"]).json()["calls"]
        assert any({x["caller"]["extension"], x["callee"]["extension"]} == {"200", "202"} and
                   x["state"] == "answered" for x in calls), calls
        # 200 hangs up: 202 hears so
        w.in_dialog(pick, "BYE")
        caller.answer(caller.request("BYE"), 200)
        assert w.response("BYE").status == 200
        assert subscribe(w, "201", expires=0, sub=sub)[0].status == 200
    finally:
        for p in (w, callee, caller):
            p.close()
