"""rtcp-mux (RFC 5761) at the media relay (issue 14, point 4): where a phone
offers a=rtcp-mux, its leg gets one port, answered with a=rtcp-mux, and
RTCP (packet types 64-95) comes and goes on the RTP port; the other leg
muxes only if its phone accepts our offer of it, else keeps RTP and RTCP on
two ports, as rtpengine does. SRTCP keeps working on a muxed leg. Phones
are sipua.Phone with real UDP sockets (test_sip_media.MediaPhone); the
SBC's sockets are counted in /proc."""
import struct

import pytest
from pylibsrtp import Policy, Session

from conftest import sip_server
from test_media_pool import relay_pairs, relay_ports
from test_sip_media import MediaPhone, hang_up, media_of, rtp

MUX = "a=rtcp-mux\r\n"


@pytest.fixture(scope="module")
def srv():
    s = sip_server([("acme", "100"), ("acme", "101")])
    yield s
    s.cleanup()


def sr(ssrc=0x1234):
    """An RTCP sender report (packet type 200): 28 bytes."""
    return struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, 1, 2, 3, 4, 5)


def call(srv, a, b, a_mux, b_mux):
    """a calls b, each offering or answering rtcp-mux as told: (call, a's
    view of the relay, b's view)."""
    c = a.call(b.user, body=a.sdp() + (MUX if a_mux else ""))
    # 15 s: this module's first call has twice missed 5 s in a full run,
    # while test_media_pool's 10,000-INVITE flood ran on the other worker
    try:
        inv = b.request("INVITE", 15)
    except TimeoutError:
        raise AssertionError("no INVITE reached the callee in 15 s\n" + srv.log())
    bc = b.accept(inv)
    b.answer(inv, 200, body=b.sdp() + (MUX if b_mux else ""), tag=bc["tag"])
    ok = c["resp"] if c["resp"].status == 200 else a.response("INVITE")
    assert ok.status == 200, ok.status
    a.confirm(c, ok)
    b.request("ACK")
    return c, media_of(ok.body), media_of(inv.body)


def relay_in_range(s):
    lo, hi = 30000 + s.offset, 35000 + s.offset
    return sorted(p for p in relay_ports(s) if lo <= p < hi)


def recv(sock):
    sock.settimeout(2)
    return sock.recvfrom(2048)[0]


def test_both_sides_offer_rtcp_mux_two_ports_a_call(srv):
    a, b = MediaPhone(srv, "100", "udp"), MediaPhone(srv, "101", "udp")
    try:
        c, (a_addr, a_port, _, a_text), (b_addr, b_port, _, b_text) = call(srv, a, b, True, True)
        assert "a=rtcp-mux" in a_text  # answered to the caller
        assert "a=rtcp-mux" in b_text  # offered to the callee, who took it
        assert relay_in_range(srv) == sorted([a_port, b_port])  # 2 ports, not 4
        # RTP and RTCP both on the one port, both ways
        a.rtp.sendto(rtp(1, b"A" * 160), (a_addr, a_port))
        assert recv(b.rtp)[12:] == b"A" * 160
        a.rtp.sendto(sr(), (a_addr, a_port))
        assert recv(b.rtp) == sr()
        b.rtp.sendto(rtp(1, b"B" * 160, 0x99), (b_addr, b_port))
        assert recv(a.rtp)[12:] == b"B" * 160
        b.rtp.sendto(sr(0x99), (b_addr, b_port))
        assert recv(a.rtp) == sr(0x99)
        hang_up(a, b, c)
        assert relay_pairs(srv) == 0 and relay_in_range(srv) == []
    finally:
        a.close()
        b.close()


def test_one_side_offers_rtcp_mux_the_other_keeps_two_ports(srv):
    a, b = MediaPhone(srv, "100", "udp"), MediaPhone(srv, "101", "udp")
    try:
        # the caller offers it, the callee does not take it
        c, (a_addr, a_port, _, a_text), (b_addr, b_port, _, b_text) = call(srv, a, b, True, False)
        assert "a=rtcp-mux" in a_text and "a=rtcp-mux" in b_text  # answered; offered
        assert relay_in_range(srv) == sorted([a_port, b_port, b_port + 1])
        a.rtp.sendto(sr(), (a_addr, a_port))  # muxed in, on RTCP's own port out
        assert recv(b.rtcp) == sr()
        b.rtcp.sendto(sr(0x99), (b_addr, b_port + 1))
        assert recv(a.rtp) == sr(0x99)
        a.rtp.sendto(rtp(2, b"A" * 160), (a_addr, a_port))
        assert recv(b.rtp)[12:] == b"A" * 160
        hang_up(a, b, c)
        # neither offers it: RTP and RTCP on two ports each, no a=rtcp-mux
        c, (a_addr, a_port, _, a_text), (b_addr, b_port, _, b_text) = call(srv, a, b, False, True)
        assert "rtcp-mux" not in a_text and "rtcp-mux" not in b_text
        assert len(relay_in_range(srv)) == 4
        a.rtcp.sendto(sr(), (a_addr, a_port + 1))
        assert recv(b.rtcp) == sr()
        hang_up(a, b, c)
        assert relay_in_range(srv) == []
    finally:
        a.close()
        b.close()


def test_srtcp_on_a_muxed_leg(srv):
    a, b = MediaPhone(srv, "100", "tls"), MediaPhone(srv, "101", "udp")
    try:
        c, (a_addr, a_port, sbc_key, a_text), (b_addr, b_port, _, b_text) = call(srv, a, b, True, True)
        assert "RTP/SAVP" in a_text and "a=rtcp-mux" in a_text and sbc_key
        out = Session(Policy(key=a.key, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
        inn = Session(Policy(key=sbc_key, ssrc_type=Policy.SSRC_ANY_INBOUND))
        a.rtp.sendto(out.protect(rtp(1, b"S" * 160)), (a_addr, a_port))
        assert recv(b.rtp)[12:] == b"S" * 160
        a.rtp.sendto(out.protect_rtcp(sr()), (a_addr, a_port))  # SRTCP on the RTP port
        assert recv(b.rtp) == sr()
        b.rtp.sendto(sr(0x77), (b_addr, b_port))
        got = recv(a.rtp)
        assert got != sr(0x77) and inn.unprotect_rtcp(got) == sr(0x77)
        hang_up(a, b, c)
    finally:
        a.close()
        b.close()
