"""The SBC's media relay: SDP rewritten so each phone sees only the SBC,
ICE stripped, RTP and RTCP relayed both ways, latching only from the
signalling address, SRTP (SDES) with a key per leg and transcryption to a
plain-RTP phone, RTP refused over TLS, ports freed on BYE, and a call
without media ended after the timeout. Phones are sipua.Phone with real
UDP media sockets; SRTP through Debian's python3-pylibsrtp."""
import base64
import re
import socket
import struct
import subprocess
import time

import pytest
from pylibsrtp import Policy, Session

from conftest import curl, sip_server
from sipua import Phone, rtp_pair


@pytest.fixture(scope="module")
def srv():
    s = sip_server([("acme", "100"), ("acme", "101")])
    s.ptoken = s.tokens["acme"]
    yield s
    s.cleanup()


class MediaPhone(Phone):
    def __init__(self, s, ext, transport, server="127.0.0.1"):
        port = {"tls": 5061, "tcp": 5060, "udp": 5060}[transport] + s.offset
        rtp_port, self.rtp, self.rtcp = rtp_pair(server)
        super().__init__(transport, port, ext, f"acme-{ext}-secret", "acme",
                         rtp_port=rtp_port, server=server)
        for sock in (self.rtp, self.rtcp):
            sock.settimeout(2)
        assert self.register() == 200

    def close(self):
        self.register(expires=0)
        super().close()
        self.rtp.close()
        self.rtcp.close()


def media_of(body):
    text = body.decode()
    addr = re.search(r"c=IN IP[46] (\S+)", text).group(1)
    port = int(re.search(r"m=audio (\d+)", text).group(1))
    crypto = re.search(r"a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)", text)
    return addr, port, base64.b64decode(crypto.group(1)) if crypto else None, text


def rtp(seq, payload, ssrc=0x1234):
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + payload


def rtcp_rr(ssrc=0x1234):
    return struct.pack("!BBHI", 0x80, 201, 1, ssrc)


def establish(a, b, extra_offer=""):
    """a calls b; returns (a's view, b's view) of the media: (addr, port, key, text)."""
    body = a.sdp() + extra_offer
    call = a.call(b.user, body=body)
    inv = b.request("INVITE")
    bc = b.accept(inv)
    b.answer(inv, 200, body=b.sdp(), tag=bc["tag"])
    ok = call["resp"] if call["resp"].status == 200 else a.response("INVITE")
    assert ok.status == 200, ok.status
    a.confirm(call, ok)
    b.request("ACK")
    return call, bc, media_of(ok.body), media_of(inv.body)


def hang_up(a, b, call):
    a.in_dialog(call, "BYE")
    b.answer(b.request("BYE"), 200)
    assert a.response("BYE").status == 200


def listening(port):
    out = subprocess.run(["ss", "-Hulpn", f"sport = :{port}"], capture_output=True,
                         text=True).stdout
    return bool(out.strip())


def relay_sockets(s):
    """UDP sockets this server's SBC holds in its relay range (the test's own
    phones may have ports there too, and so may another test worker's
    server: offsets 50 apart give ranges that overlap)."""
    lo, hi = 30000 + s.offset, 35000 + s.offset
    sbc = s.pids()["sbc"]
    out = subprocess.run(["ss", "-Hulpn", f"( sport >= :{lo} and sport < :{hi} )"],
                         capture_output=True, text=True).stdout
    return len([l for l in out.splitlines() if f"pid={sbc}," in l])


def test_rtp_relayed_both_ways_through_the_sbc_only(srv):
    a, b = MediaPhone(srv, "100", "udp"), MediaPhone(srv, "101", "tcp")
    try:
        ice = ("a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
               "a=candidate:1 1 UDP 2130706431 192.0.2.55 5000 typ host\r\n")
        call, _, (a_addr, a_port, _, a_text), (b_addr, b_port, _, b_text) = establish(a, b, ice)
        lo, hi = 30000 + srv.offset, 35000 + srv.offset
        assert lo <= a_port < hi and lo <= b_port < hi and a_port != b_port
        assert a_port != b.rtp_port and b_port != a.rtp_port  # nobody sees the other phone
        assert "candidate" not in b_text and "ice-" not in b_text and "192.0.2.55" not in b_text
        # A -> B: payload intact, from the port B was told
        for i in range(5):
            a.rtp.sendto(rtp(i, b"A" * 160), (a_addr, a_port))
        data, src = b.rtp.recvfrom(2048)
        assert data[12:] == b"A" * 160 and src == (b_addr, b_port)
        # B -> A
        for i in range(5):
            b.rtp.sendto(rtp(i, b"B" * 160, 0x99), (b_addr, b_port))
        data, src = a.rtp.recvfrom(2048)
        assert data[12:] == b"B" * 160 and src == (a_addr, a_port)
        # RTCP on the next port, both ways
        a.rtcp.sendto(rtcp_rr(), (a_addr, a_port + 1))
        assert b.rtcp.recvfrom(2048)[0] == rtcp_rr()
        # latched: another address cannot inject into the call
        intruder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        intruder.bind(("127.0.0.2", 0))
        while True:  # drain
            try:
                b.rtp.settimeout(0.3)
                b.rtp.recvfrom(2048)
            except socket.timeout:
                break
        intruder.sendto(rtp(99, b"X" * 160), (a_addr, a_port))
        with pytest.raises(socket.timeout):
            b.rtp.recvfrom(2048)
        intruder.close()
        assert listening(a_port) and listening(b_port)
        # one port pair per phone, joined directly: not four, as relaying to ourselves would be
        assert relay_sockets(srv) == 4
        hang_up(a, b, call)
        time.sleep(0.3)
        assert not listening(a_port) and not listening(b_port)  # freed on BYE
    finally:
        a.close()
        b.close()


def test_srtp_phone_talks_to_rtp_phone_with_fresh_keys(srv):
    a, b = MediaPhone(srv, "100", "tls"), MediaPhone(srv, "101", "udp")
    try:
        call, _, (a_addr, a_port, sbc_key, a_text), (b_addr, b_port, b_key, b_text) = \
            establish(a, b)
        assert "RTP/SAVP" in a_text and sbc_key and sbc_key != a.key  # a key of the leg's own
        assert "RTP/AVP" in b_text and "RTP/SAVP" not in b_text and b_key is None
        out = Session(Policy(key=a.key, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
        inn = Session(Policy(key=sbc_key, ssrc_type=Policy.SSRC_ANY_INBOUND))
        for i in range(5):
            a.rtp.sendto(out.protect(rtp(i, b"S" * 160)), (a_addr, a_port))
        data, _ = b.rtp.recvfrom(2048)
        assert data[12:] == b"S" * 160  # decrypted for the RTP phone
        for i in range(5):
            b.rtp.sendto(rtp(i, b"P" * 160, 0x77), (b_addr, b_port))
        data, _ = a.rtp.recvfrom(2048)
        assert data[12:] != b"P" * 160  # encrypted on the wire
        assert inn.unprotect(data)[12:] == b"P" * 160
        # a forged packet (wrong key) is not relayed
        forged = Session(Policy(key=bytes(30), ssrc_type=Policy.SSRC_ANY_OUTBOUND))
        a.rtp.sendto(forged.protect(rtp(50, b"F" * 160, 0x55)), (a_addr, a_port))
        b.rtp.settimeout(0.5)
        with pytest.raises(socket.timeout):
            while True:
                assert b.rtp.recvfrom(2048)[0][12:] != b"F" * 160
        hang_up(a, b, call)
    finally:
        a.close()
        b.close()


def assert_sockets(s, n):
    assert relay_sockets(s) == n


def test_ports_freed_when_the_caller_cancels(srv):
    a, b = MediaPhone(srv, "100", "udp"), MediaPhone(srv, "101", "tcp")
    try:
        # both legs have their port pairs while it rings
        a.ring_then_cancel(b, lambda: assert_sockets(srv, 4))
        # freed with the cancelled transaction, long before any timer (32 s)
        end = time.time() + 5
        while relay_sockets(srv) and time.time() < end:
            time.sleep(0.1)
        assert relay_sockets(srv) == 0
    finally:
        a.close()
        b.close()


def test_late_offer_media_flows(srv):
    """An INVITE without SDP: the callee offers in its 2xx, the caller answers
    in the ACK, which the B2BUA passes on; media then crosses as usual."""
    a, b = MediaPhone(srv, "100", "udp"), MediaPhone(srv, "101", "tcp")
    try:
        call = a.call("101", body="")
        inv = b.request("INVITE")
        assert inv.body == b""
        bc = b.accept(inv)
        b.answer(inv, 200, body=b.sdp(), tag=bc["tag"])
        ok = call["resp"] if call["resp"].status == 200 else a.response("INVITE")
        assert ok.status == 200
        a_addr, a_port, _, _ = media_of(ok.body)  # the offer, rewritten for A
        a.confirm(call, ok, body=a.sdp())
        ack = b.request("ACK")
        b_addr, b_port, _, _ = media_of(ack.body)  # A's answer, rewritten for B
        assert a_port != b.rtp_port and b_port != a.rtp_port
        for i in range(3):
            a.rtp.sendto(rtp(i, b"L" * 160), (a_addr, a_port))
        assert b.rtp.recvfrom(2048)[0][12:] == b"L" * 160
        b.rtp.sendto(rtp(9, b"M" * 160, 0x66), (b_addr, b_port))
        assert a.rtp.recvfrom(2048)[0][12:] == b"M" * 160
        hang_up(a, b, call)
    finally:
        a.close()
        b.close()


def test_rtp_over_tls_is_refused(srv):
    a, b = MediaPhone(srv, "100", "tls"), MediaPhone(srv, "101", "udp")
    try:
        plain = a.sdp().replace("RTP/SAVP", "RTP/AVP")
        plain = re.sub(r"a=crypto:[^\r]*\r\n", "", plain)
        call = a.invite("101", body=plain)
        r = a.response("INVITE")
        assert r.status == 488 and "SRTP" in (r.h("warning") or "")
        a.ack_failure(call, r)
    finally:
        a.close()
        b.close()


def test_a_call_without_media_is_ended(srv):
    assert srv.api("PUT", "/sbc", {"media": {"timeout": 5}}).status == 200
    assert srv.api("GET", "/sbc").json()["media"]["timeout"] == 5
    a, b = MediaPhone(srv, "100", "udp"), MediaPhone(srv, "101", "tcp")
    try:
        establish(a, b)
        bye_a = a.request("BYE", timeout=12)  # both sides are told
        a.answer(bye_a, 200)
        bye_b = b.request("BYE", timeout=5)
        b.answer(bye_b, 200)
    finally:
        srv.api("PUT", "/sbc", {"media": {"timeout": 60}})
        a.close()
        b.close()
    r = curl("GET", srv.sbc("/acme/api/v1/calls"), token=srv.ptoken)
    assert r.json()["calls"][0]["cause"] == "media_timeout"


def test_ipv6_phones_with_media():
    """Signalling and media over IPv6: SDP in IP6 terms, both ways."""
    s = sip_server([("acme", "100"), ("acme", "101")], listen=("127.0.0.1", "::1"))
    a = b = None
    try:
        a, b = MediaPhone(s, "100", "udp", "::1"), MediaPhone(s, "101", "tcp", "::1")
        call, _, (a_addr, a_port, _, a_text), (b_addr, b_port, _, b_text) = establish(a, b)
        assert a_addr == b_addr == "::1" and "c=IN IP6 ::1" in a_text and "IN IP6" in b_text
        a.rtp.sendto(rtp(1, b"6" * 160), (a_addr, a_port))
        assert b.rtp.recvfrom(2048)[0][12:] == b"6" * 160
        b.rtp.sendto(rtp(1, b"9" * 160, 0x42), (b_addr, b_port))
        assert a.rtp.recvfrom(2048)[0][12:] == b"9" * 160
        hang_up(a, b, call)
    finally:
        for p in (a, b):
            if p:
                p.close()
        s.cleanup()
