"""Calls between extensions through the SBC and the phone system's B2BUA:
ringing, answer, hang-up, forking to every device, busy, unavailable,
unknown, CANCEL, no answer, hold (music from the phone system) and resume, tenants kept apart, call
records. Phones are sipua.Phone (over TLS, TCP and UDP) and sipp."""
import os
import subprocess
import time

import pytest

from conftest import curl, sip_server
from sipua import Phone, tag_of

USERS = (("acme", "100"), ("acme", "101"), ("acme", "102"), ("globex", "100"))


@pytest.fixture(scope="module")
def srv():
    s = sip_server(USERS, voicemail=False)
    yield s
    s.cleanup()


def phone(s, ext, transport="tls", ps="acme", register=True):
    port = {"tls": 5061, "tcp": 5060, "udp": 5060}[transport] + s.offset
    p = Phone(transport, port, ext, f"{ps}-{ext}-secret", ps)
    if register:
        assert p.register() == 200
    return p


def unregister(p):
    p.register(expires=0)
    p.close()


def calls(s, ps="acme"):
    r = curl("GET", s.sbc(f"/{ps}/api/v1/calls"), token=s.tokens[ps])
    assert r.status == 200, r
    return r.json()["calls"]


def test_call_rings_answers_and_hangs_up_with_a_record(srv):
    a, b = phone(srv, "100", "tls"), phone(srv, "101", "tcp")
    try:
        call = a.invite("101")
        r = a.response("INVITE")
        assert r.status == 401  # calls are authenticated like registrations
        a.ack_failure(call, r)
        from sipclient import digest
        call = a.invite("101", call=call,
                        auth=digest(r.headers, "100", "acme-100-secret", call["uri"], "INVITE"))
        inv = b.request("INVITE")
        # the callee sees only the SBC: no phone-system socket, no internal name
        text = inv.raw_text() + inv.body.decode()
        for secret in ("pbx.invalid", "sbc.invalid", "sip.sock", "X-Zentrale"):
            assert secret not in text, text
        assert inv.h("via").count(",") == 0 and len([1 for k, _ in inv.headers if k == "via"]) == 1
        assert "acme 100" in inv.h("from") and "<sip:100@acme>" in inv.h("from")
        bc = b.accept(inv)
        b.answer(inv, 180, tag=bc["tag"])
        assert a.response("INVITE").status == 180
        b.answer(inv, 200, body=b.sdp(), tag=bc["tag"])
        ok = a.response("INVITE")
        assert ok.status == 200 and b"m=audio" in ok.body
        assert all("sbc.invalid" not in v for _, v in ok.headers)
        a.confirm(call, ok)
        assert b.request("ACK").method == "ACK"
        time.sleep(1.1)
        a.in_dialog(call, "BYE")
        bye = b.request("BYE")
        b.answer(bye, 200)
        assert a.response("BYE").status == 200
    finally:
        unregister(a)
        unregister(b)
    rec = calls(srv)[0]
    assert rec["caller"] == "100" and rec["callee"] == "101"
    assert rec["cause"] == "caller_hangup" and rec["status"] == 200
    assert rec["answer"] is not None and rec["end"] >= rec["answer"] >= rec["start"]
    assert rec["duration"] >= 1 and rec["caller_name"] == "acme 100"


def test_every_device_rings_and_the_first_to_answer_gets_the_call(srv):
    a = phone(srv, "100", "tcp")
    b1, b2 = phone(srv, "101", "tls"), phone(srv, "101", "udp")
    try:
        call = a.call("101")
        inv1, inv2 = b1.request("INVITE"), b2.request("INVITE")
        assert inv1.h("call-id") != inv2.h("call-id")  # one leg per device
        c1, c2 = b1.accept(inv1), b2.accept(inv2)
        b1.answer(inv1, 180, tag=c1["tag"])
        b2.answer(inv2, 180, tag=c2["tag"])
        b2.answer(inv2, 200, body=b2.sdp(), tag=c2["tag"])
        ok = a.response("INVITE", skip_100=True) if call["resp"].status != 200 else call["resp"]
        while ok.status < 200:
            ok = a.response("INVITE")
        assert ok.status == 200
        a.confirm(call, ok)
        cancel = b1.request("CANCEL")  # the other device stops ringing
        b1.answer(cancel, 200)
        b1.answer(inv1, 487, tag=c1["tag"])
        assert b1.request("ACK")
        assert b2.request("ACK")
        # the callee hangs up: the caller gets the BYE
        b2.in_dialog(c2, "BYE", local=b2.callee_local(c2))
        bye = a.request("BYE")
        a.answer(bye, 200)
        assert b2.response("BYE").status == 200
    finally:
        for p in (a, b1, b2):
            unregister(p)
    assert calls(srv)[0]["cause"] == "callee_hangup"


@pytest.mark.parametrize("answers,expect,cause", [((486,), 486, "busy"),
                                                  ((486, 480), 486, "busy"),
                                                  ((603,), 603, "declined")])
def test_refusing_devices(srv, answers, expect, cause):
    a = phone(srv, "100", "tls")
    bs = [phone(srv, "101", t) for t in ("tcp", "udp")[:len(answers)]]
    try:
        call = a.call("101")
        for b, status in zip(bs, answers):
            inv = b.request("INVITE")
            b.answer(inv, status, tag="x" + os.urandom(3).hex())
            assert b.request("ACK")  # the SBC or B2BUA acknowledges a failure
        assert a.final(call).status == expect
    finally:
        for p in [a] + bs:
            unregister(p)
    assert calls(srv)[0]["cause"] == cause


def test_unknown_and_unreachable_extensions(srv):
    a = phone(srv, "100", "udp")
    try:
        assert a.final(a.call("999")).status == 404  # after authentication
        assert a.final(a.call("102")).status == 480  # exists, no device registered
    finally:
        unregister(a)
    assert [c["cause"] for c in calls(srv)[:2]] == ["unavailable", "not_found"]


def test_unauthenticated_calls_are_challenged_not_connected(srv):
    a = phone(srv, "100", "tls", register=False)
    b = phone(srv, "101", "tcp")
    try:
        a.password = "wrong-password"
        assert a.final(a.call("101")).status == 403
        with pytest.raises(OSError):
            b.recv(timeout=1)  # nothing rang
    finally:
        a.close()
        unregister(b)


def test_caller_cancels(srv):
    a, b = phone(srv, "100", "tls"), phone(srv, "101", "udp")
    try:
        a.ring_then_cancel(b)
    finally:
        unregister(a)
        unregister(b)
    assert calls(srv)[0]["cause"] == "cancelled"


def test_no_answer_ends_the_ringing(srv):
    a, b = phone(srv, "100", "tcp"), phone(srv, "101", "tls")
    try:
        call = a.call("101", expires=2)  # the caller's Expires bounds the ringing
        inv = b.request("INVITE")
        c = b.accept(inv)
        b.answer(inv, 180, tag=c["tag"])
        assert a.response("INVITE").status == 180
        r = a.response("INVITE", timeout=6)
        assert r.status == 480
        cancel = b.request("CANCEL")
        b.answer(cancel, 200)
        b.answer(inv, 487, tag=c["tag"])
    finally:
        unregister(a)
        unregister(b)
    assert calls(srv)[0]["cause"] == "no_answer"


def test_hold_gets_music_and_resume_passes_through(srv):
    a, b = phone(srv, "100", "tls"), phone(srv, "101", "tcp")
    try:
        call = a.call("101")
        inv = b.request("INVITE")
        c = b.accept(inv)
        b.answer(inv, 200, body=b.sdp(), tag=c["tag"])
        ok = call["resp"] if call["resp"].status == 200 else a.response("INVITE")
        a.confirm(call, ok)
        b.request("ACK")
        for method in ("INVITE", "UPDATE"):
            # hold: the phone system answers itself, and offers b its music
            a.in_dialog(call, method, body=a.sdp("sendonly"))
            r = a.response(method)
            assert r.status == 200 and b"a=recvonly" in r.body
            if method == "INVITE":
                a.in_dialog(call, "ACK", cseq=call["cseq"])
            moh = b.request("INVITE")
            assert b"a=sendonly" in moh.body
            b.answer(moh, 200, body=b.sdp("recvonly"))
            b.request("ACK")
            # resume: relayed, so the SBC joins the two phones again
            a.in_dialog(call, "INVITE", body=a.sdp("sendrecv"))
            re = b.request("INVITE")
            assert b"a=sendrecv" in re.body
            b.answer(re, 200, body=b.sdp("sendrecv"))
            r = a.response("INVITE")
            assert r.status == 200 and b"a=sendrecv" in r.body
            a.in_dialog(call, "ACK", cseq=call["cseq"])
        # a request with a CSeq below the last one is out of order (RFC 3261 12.2.2)
        a.in_dialog(call, "INFO", cseq=2)
        assert a.response("INFO").status == 500
        a.in_dialog(call, "BYE")
        b.answer(b.request("BYE"), 200)
        assert a.response("BYE").status == 200
    finally:
        unregister(a)
        unregister(b)


def test_a_device_of_one_phone_system_never_calls_into_another(srv):
    g = phone(srv, "100", "tls", ps="globex")
    b = phone(srv, "101", "tcp")
    try:
        # globex's 100 dials acme's 101: acme's realm challenges, globex's password fails
        g.domain = "acme"
        assert g.final(g.call("101")).status == 403
        with pytest.raises(OSError):
            b.recv(timeout=1)
        # and within globex, 101 is acme's only
        g.domain = "globex"
        assert g.final(g.call("101")).status == 404
    finally:
        g.domain = "globex"
        unregister(g)
        unregister(b)


def test_udp_failure_is_resent_until_acknowledged(srv):
    """Timer G: a failure to an INVITE over UDP comes again until the ACK."""
    a = phone(srv, "100", "udp")
    try:
        call = a.call("102")  # registered nowhere: 480
        r = call["resp"]
        while r.status < 200:
            r = a.response("INVITE")
        assert r.status == 480
        again = a.response("INVITE", timeout=2)  # T1 = 0.5 s later
        assert again.status == 480 and again.h("to") == r.h("to")
        a.ack_failure(call, r)
        # without the ACK stopping Timer G, two more would come within 5 s
        # (intervals 1 s, 2 s); one may already have been on its way
        late, end = 0, time.time() + 5
        while time.time() < end:
            try:
                late += a.recv(timeout=max(0.1, end - time.time())).status == 480
            except OSError:
                break
        assert late <= 1, late
    finally:
        unregister(a)
