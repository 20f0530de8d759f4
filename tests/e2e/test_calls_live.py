"""Calls in progress, seen and ended by the phone system's administrator
(GET /<name>/api/v1/calls/active, DELETE .../active/<id>): a live sipp call
is listed with caller, callee and codec and hung up (both sipp sides get a
BYE with the Reason), an SRTP caller is told from an RTP callee, a ringing
call ends with CANCEL and 487, unknown ids are 404, and another phone
system's administrator can neither see nor end the call; a late offer
takes its codec from the answer in the ACK."""
import subprocess
import time

import pytest

from conftest import curl, sip_server, udp_bound
from sipua import Phone, free_port
from test_sipp_calls import REGISTER, SDP_PLAIN, ack, invite, msg, scenario

USERS = (("acme", "100"), ("acme", "101"), ("other", "100"))
REASON = 'SIP;cause=200;text="hung up by administrator"'


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = sip_server(USERS, voicemail=False)
    s.tmp = tmp_path_factory.mktemp("calls-live")
    yield s
    s.cleanup()


def active(s, ps="acme", token=None):
    r = curl("GET", s.sbc(f"/{ps}/api/v1/calls/active"), token=token or s.tokens[ps])
    assert r.status == 200, r
    return r.json()["calls"]


def hang_up(s, call_id, ps="acme", token=None):
    return curl("DELETE", s.sbc(f"/{ps}/api/v1/calls/active/{call_id}"),
                token=token or s.tokens[ps])


def wait_for(pred, what, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout} s")


def last_record(s, ps="acme"):
    return curl("GET", s.sbc(f"/{ps}/api/v1/calls"), token=s.tokens[ps]).json()["calls"][0]


# A BYE from the server, with our Reason (sipp fails the call if the regexp
# does not match), answered 200.
BYE_WITH_REASON = (
    '<recv request="BYE" timeout="60000"><action>'
    '<ereg regexp="hung up by administrator" search_in="hdr" header="Reason:" '
    'check_it="true" assign_to="reason"/></action></recv>'
    '<Reference variables="reason"/>'
    "<send>" + msg("""
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
""") + "</send>")


def sipp_caller():
    """Authenticates, is answered, ACKs and then waits for the BYE."""
    return scenario("caller-hung-up", [
        f'<send retrans="500">{invite(1, False, SDP_PLAIN)}</send>',
        '<recv response="100" optional="true"/>',
        '<recv response="401" auth="true"/>',
        f"<send>{ack(1)}</send>",
        f'<send retrans="500">{invite(2, True, SDP_PLAIN)}</send>',
        '<recv response="100" optional="true"/>',
        '<recv response="180" optional="true"/>',
        '<recv response="200" rrs="true"/>',
        f"<send>{ack(2, '[next_url]', 'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport', '[routes]' + chr(10))}</send>",
        BYE_WITH_REASON])


def sipp_callee():
    """Rings, answers with PCMA, and waits for the BYE."""
    reply = lambda status, body="": msg(f"""
SIP/2.0 {status}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:101@[local_ip]:[local_port]>
{"Content-Type: application/sdp" if body else "#drop#"}
Content-Length: [len]

{body}""")
    answer = SDP_PLAIN.replace("RTP/AVP 0", "RTP/AVP 8").replace("rtpmap:0 PCMU", "rtpmap:8 PCMA")
    return scenario("callee-hung-up", [
        '<recv request="INVITE"/>', f"<send>{reply('180 Ringing')}</send>",
        f'<send retrans="500">{reply("200 OK", answer)}</send>',
        '<recv request="ACK"/>', BYE_WITH_REASON])


def sipp(s, name, xml, transport, port, user, extra=()):
    path = s.tmp / f"{name}.xml"
    path.write_text(xml)
    csv = s.tmp / f"{name}.csv"
    csv.write_text(f"SEQUENTIAL\n{user};unused;acme\n")
    cmd = ["sipp", f"127.0.0.1:{5060 + s.offset}", "-t", transport, "-sf", str(path),
           "-m", "1", "-l", "1", "-nostdin", "-timeout", "90",
           *(["-p", str(port)] if port else []),
           "-au", user, "-ap", f"acme-{user}-secret", "-inf", str(csv), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=str(s.tmp))


def finish(p, timeout=90):
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return p.returncode, out


def test_a_live_sipp_call_is_listed_and_hung_up_on_both_sides(srv):
    port = free_port()
    reg = sipp(srv, "register-101", open(REGISTER).read(), "u1", port, "101")
    rc, out = finish(reg)
    assert rc == 0, out
    callee = sipp(srv, "callee", sipp_callee(), "u1", port, "101")
    caller = None
    try:
        udp_bound(port)  # the callee listens before the caller calls
        caller = sipp(srv, "caller", sipp_caller(), "t1", None, "100", extra=["-s", "101"])
        try:
            live = wait_for(lambda: [c for c in active(srv) if c["state"] == "answered"],
                            "answered call")
        except AssertionError:
            caller.kill()
            callee.kill()
            raise AssertionError(f"{active(srv)}\n{finish(caller)[1]}\n{finish(callee)[1]}")
        assert len(live) == 1, live
        c = live[0]
        assert c["caller"] == {"extension": "100", "name": "acme 100", "srtp": False}, c
        assert c["callee"] == {"extension": "101", "name": "acme 101", "srtp": False}, c
        assert c["codec"] == "PCMA/8000", c  # the answer's, not the offer's PCMU
        assert c["start"] <= c["answer"] <= time.time() + 1
        r = hang_up(srv, c["id"])
        assert r.status == 200 and r.json() == {"hung_up": c["id"]}, r
        rc, out = finish(caller)
        assert rc == 0, out  # it got the BYE, with the Reason
        rc, out = finish(callee)
        assert rc == 0, out
    finally:
        for p in (caller, callee):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        finish(sipp(srv, "unregister-101",
                    open(REGISTER).read().replace("Expires: 600", "Expires: 0"),
                    "u1", port, "101"))
    assert active(srv) == []
    rec = last_record(srv)
    assert rec["cause"] == "admin_hangup" and rec["answer"] is not None, rec
    assert rec["caller"] == "100" and rec["callee"] == "101"
    assert hang_up(srv, c["id"]).status == 404  # over: no second time
    assert srv.wait_log("hung up by admin", tail=6000)


def phone(s, ext, transport, ps="acme"):
    port = {"tls": 5061, "tcp": 5060, "udp": 5060}[transport] + s.offset
    p = Phone(transport, port, ext, f"{ps}-{ext}-secret", ps)
    assert p.register() == 200
    return p


def unregister(*phones):
    for p in phones:
        try:
            p.register(expires=0)
        except Exception:
            pass
        p.close()


def test_an_srtp_caller_and_an_rtp_callee_each_show_their_media(srv):
    a, b = phone(srv, "100", "tls"), phone(srv, "101", "udp")
    try:
        a.established(b)
        live = active(srv)
        assert len(live) == 1 and live[0]["state"] == "answered", live
        assert live[0]["caller"]["srtp"] is True and live[0]["callee"]["srtp"] is False, live
        assert live[0]["codec"] == "PCMU/8000", live
        assert hang_up(srv, live[0]["id"]).status == 200
        for p in (a, b):
            bye = p.request("BYE")
            assert bye.h("reason") == REASON, bye.raw_text()
            p.answer(bye, 200)
    finally:
        unregister(a, b)
    assert active(srv) == []
    assert last_record(srv)["cause"] == "admin_hangup"


def test_a_ringing_call_hung_up_is_cancelled_and_the_caller_gets_487(srv):
    a, b = phone(srv, "100", "tcp"), phone(srv, "101", "udp")
    # a late offer (no SDP, so the SBC adds no media mark of its own) with
    # the SBC's header forged: dropped by the SBC, never believed
    send = a.send
    a.send = lambda text: send(text.replace(
        "Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nX-Zentrale-Media: srtp\r\n", 1))
    try:
        call = a.call("101", body="")
        inv = b.request("INVITE")
        bc = b.accept(inv)
        b.answer(inv, 180, tag=bc["tag"])
        assert a.response("INVITE").status == 180
        live = active(srv)
        assert len(live) == 1, live
        c = live[0]
        assert c["state"] == "ringing" and c["answer"] is None and c["codec"] is None, c
        assert c["caller"]["srtp"] is None and c["callee"]["srtp"] is None, c

        # another phone system's administrator neither sees nor ends it
        other = srv.tokens["other"]
        assert curl("GET", srv.sbc("/acme/api/v1/calls/active"), token=other).status == 401
        assert hang_up(srv, c["id"], token=other).status == 401
        assert hang_up(srv, c["id"], ps="other", token=other).status == 404
        assert active(srv, ps="other") == []
        assert curl("GET", srv.sbc("/acme/api/v1/calls/active")).status == 401
        # unknown ids, and methods that are not ours
        for bad in ("999999", "0", "abc", "1x", "-1", "18446744073709551617000"):
            assert hang_up(srv, bad).status == 404, bad
        assert curl("DELETE", srv.sbc("/acme/api/v1/calls/active"),
                    token=srv.tokens["acme"]).status == 405
        assert curl("GET", srv.sbc(f"/acme/api/v1/calls/active/{c['id']}"),
                    token=srv.tokens["acme"]).status == 405
        assert [x["id"] for x in active(srv)] == [c["id"]]

        assert hang_up(srv, c["id"]).status == 200
        cancel = b.request("CANCEL")
        assert cancel.h("reason") == REASON, cancel.raw_text()
        b.answer(cancel, 200)
        b.answer(inv, 487, tag=bc["tag"])
        r = a.response("INVITE")
        assert r.status == 487 and r.h("reason") == REASON, r.raw_text()
        a.ack_failure(call, r)
        assert b.request("ACK").method == "ACK"
    finally:
        unregister(a, b)
    assert active(srv) == []
    rec = last_record(srv)
    assert rec["cause"] == "admin_hangup" and rec["status"] == 487 and rec["answer"] is None


def test_a_late_offer_takes_its_codec_from_the_answer_in_the_ack(srv):
    a, b = phone(srv, "100", "tcp"), phone(srv, "101", "udp")
    try:
        call = a.call("101", body="")  # no SDP: the callee's 200 makes the offer
        inv = b.request("INVITE")
        bc = b.accept(inv)
        offer = b.sdp().replace("RTP/AVP 0 8 101", "RTP/AVP 8 0 101").replace(
            "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000")
        b.answer(inv, 200, body=offer, tag=bc["tag"])
        ok = a.final(call)
        assert ok.status == 200 and b"RTP/AVP 8 0" in ok.body
        a.confirm(call, ok, body=a.sdp())  # the answer: PCMU first
        assert b"PCMU" in b.request("ACK").body
        live = active(srv)
        assert len(live) == 1 and live[0]["codec"] == "PCMU/8000", live
        assert live[0]["caller"]["srtp"] is False and live[0]["callee"]["srtp"] is False, live
        assert hang_up(srv, live[0]["id"]).status == 200
        for p in (a, b):
            p.answer(p.request("BYE"), 200)
    finally:
        unregister(a, b)
    assert active(srv) == []
