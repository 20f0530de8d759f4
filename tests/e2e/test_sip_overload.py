"""Load shedding at the SBC under a simulated overload: the SBC is made
slow (ZENTRALE_TEST_SIP_OVERLOAD_DELAY_MS: it sleeps before each SIP
datagram it reads), so a burst of INVITEs queues up in its receive buffer
as under a real overload. New INVITEs then get 503 with a Retry-After
while a request within a dialog (BYE) still goes through; after the burst,
once the Retry-After has passed, new calls go through again; /metrics
counts what was shed. Raw SIP over UDP and sipua phones."""
import os
import re
import socket
import time

import pytest

from conftest import Server, curl
from sipclient import parse
from sipua import Phone

DELAY_MS = 15


@pytest.fixture(scope="module")
def srv():
    s = Server(env={"ZENTRALE_TEST_SIP_OVERLOAD_DELAY_MS": str(DELAY_MS)}).start()
    try:
        s.create_ps("acme", "acme-admin-pw")
        s.tokens = {"acme": s.pbx_token("acme", "acme-admin-pw")}
        for ext in ("100", "101"):
            r = curl("POST", s.sbc("/acme/api/v1/users"),
                     {"display_name": f"acme {ext}", "extension": ext,
                      "sip_password": f"acme-{ext}-secret"}, token=s.tokens["acme"])
            assert r.status == 201, r
            # a busy callee's 486 reaches the caller (no voicemail answers it)
            r = curl("PUT", s.sbc(f"/acme/api/v1/voicemail/{r.json()['id']}/settings"),
                     {"enabled": False}, token=s.tokens["acme"])
            assert r.status == 200, r
        assert s.api("PUT", "/sbc", {"plain_sip": True}).status == 200
    except BaseException:
        s.cleanup()
        raise
    yield s
    s.cleanup()


def phone(s, ext):
    p = Phone("udp", 5060 + s.offset, ext, f"acme-{ext}-secret", "acme")
    assert p.register() == 200
    return p


def raw_invite(sock, call_id):
    host, port = sock.getsockname()
    return (f"INVITE sip:101@acme SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{call_id};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:100@acme>;tag=f{call_id}\r\n"
            f"To: <sip:101@acme>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
            f"Contact: <sip:100@{host}:{port}>\r\nContent-Length: 0\r\n\r\n").encode()


def raw_ack(sock, call_id, to):
    host, port = sock.getsockname()
    return (f"ACK sip:101@acme SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{call_id};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:100@acme>;tag=f{call_id}\r\n"
            f"To: {to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


def answers(sock, want, timeout):
    """Final answers by Call-ID, until every one in want came or timeout."""
    got = {}
    deadline = time.time() + timeout
    while set(want) - set(got) and time.time() < deadline:
        sock.settimeout(max(0.05, deadline - time.time()))
        try:
            status, headers, _, _ = parse(sock.recv(65535))
        except socket.timeout:
            break
        h = dict(headers)
        if status >= 200 and h.get("call-id") in want:
            got.setdefault(h["call-id"], (status, h))
    return got


def test_overload_sheds_new_invites_keeps_dialogs_and_recovers(srv):
    a, b = phone(srv, "100"), phone(srv, "101")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.connect(("127.0.0.1", 5060 + srv.offset))
    try:
        # a call in progress before the overload
        call = a.call("101")
        inv = b.request("INVITE", timeout=10)
        bc = b.accept(inv)
        b.answer(inv, 200, body=b.sdp(), tag=bc["tag"])
        ok = a.response("INVITE", timeout=10)
        assert ok.status == 200
        a.confirm(call, ok)
        b.request("ACK", timeout=10)

        # the burst: each datagram costs the SBC DELAY_MS, so they queue up
        first = [f"burst1-{i}-{os.urandom(3).hex()}" for i in range(60)]
        later = [f"burst2-{i}-{os.urandom(3).hex()}" for i in range(30)]
        for cid in first:
            sock.send(raw_invite(sock, cid))
        a.in_dialog(call, "BYE")  # within the dialog: must not be shed
        for cid in later:
            sock.send(raw_invite(sock, cid))

        got = answers(sock, first + later, timeout=20)
        shed = {cid: h for cid, (st, h) in got.items() if st == 503}
        assert shed, f"no INVITE was shed: {sorted(st for st, _ in got.values())}"
        for h in shed.values():
            ra = h.get("retry-after", "")
            assert re.fullmatch(r"\d+", ra) and 1 <= int(ra) <= 10, h
        # shedding was on around the BYE, and the BYE went through
        assert any(cid in shed for cid in later), sorted(st for st, _ in got.values())
        bye = b.request("BYE", timeout=20)
        b.answer(bye, 200)
        assert a.response("BYE", timeout=20).status == 200
        # every INVITE got an answer: shed ones at once, the others by the phone system
        assert set(got) == set(first + later)
        for cid, h in shed.items():  # an ACK of a 503 ends at the SBC
            sock.send(raw_ack(sock, cid, h["to"]))

        # after the burst, and the Retry-After: new calls go through again
        time.sleep(max(int(h["retry-after"]) for h in shed.values()))
        for _ in range(5):
            cid = f"after-{os.urandom(4).hex()}"
            sock.send(raw_invite(sock, cid))
            st, h = answers(sock, [cid], timeout=10).get(cid, (0, {}))
            if st != 503:
                break
            time.sleep(int(h.get("retry-after", "1")))
        assert st == 401, st  # the phone system's challenge: it got through
        call2 = a.call("101")
        assert call2["resp"].status in (100, 180), call2["resp"].status
        inv2 = b.request("INVITE", timeout=10)
        b.answer(inv2, 486, tag="busy")
        assert a.final(call2, timeout=10).status == 486
        b.request("ACK", timeout=10)
    finally:
        sock.close()
        a.close()
        b.close()

    # /metrics: the shed requests counted, and no longer overloaded
    deadline = time.time() + 15
    while True:
        text = curl("GET", f"https://127.0.0.1:{srv.mgmt_port}/metrics",
                    token=srv.token()).text
        m = re.search(r"^zentrale_sip_requests_shed_total (\S+)$", text, re.M)
        if (m and float(m.group(1)) >= len(shed)) or time.time() > deadline:
            break
        time.sleep(0.5)
    assert m and float(m.group(1)) >= len(shed), text[-3000:]
    assert re.search(r"^zentrale_sip_overloaded 0$", text, re.M), text[-3000:]
    log = srv.log(tail=10**7)
    assert "sip: overloaded" in log and "no longer overloaded" in log
