"""Voicemail at the SIP level, with phones of the test's own (sipua.Phone
over TCP, a real RTP socket): the engine answers an INVITE without SDP
with an offer and takes the answer from the ACK (its greeting then
arrives as RTP); *98 asks mailbox and PIN, digits sent as SIP INFO
(application/dtmf-relay and application/dtmf), and the mailbox's menu
ends with the pbx's BYE; a wrong PIN three times ends the call too."""
import re
import socket
import struct
import time

import pytest

from conftest import curl, sip_server
from sipua import Phone, free_port

PS = "acme"


@pytest.fixture(scope="module")
def srv():
    s = sip_server([(PS, "100"), (PS, "101"), (PS, "102")])
    s.ptoken = s.tokens[PS]
    users = curl("GET", s.sbc(f"/{PS}/api/v1/users"), token=s.ptoken).json()["users"]
    s.ids = {u["extension"]: u["id"] for u in users}
    r = curl("PUT", s.sbc(f"/{PS}/api/v1/voicemail/{s.ids['101']}/settings"),
             {"pin": "4711"}, token=s.ptoken)
    assert r.status == 200, r
    yield s
    s.cleanup()


class RtpPhone(Phone):
    def __init__(self, s, ext):
        super().__init__("tcp", 5060 + s.offset, ext, f"{PS}-{ext}-secret", PS,
                         rtp_port=free_port() & ~1)
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", self.rtp_port))
        self.rtp.settimeout(0.2)
        assert self.register() == 200

    def latch(self, sdp):
        """A few packets to where the SDP says: the SBC sends to a phone's
        media address once it has heard from it."""
        text = sdp.decode()
        addr = re.search(r"c=IN IP4 (\S+)", text).group(1)
        port = int(re.search(r"m=audio (\d+)", text).group(1))
        for i in range(3):
            self.rtp.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, 0x55) + b"\xff" * 160,
                            (addr, port))

    def packets(self, seconds):
        n, end = 0, time.time() + seconds
        while time.time() < end:
            try:
                self.rtp.recvfrom(2048)
                n += 1
            except OSError:
                pass
        return n

    def close(self):
        self.register(expires=0)
        super().close()
        self.rtp.close()


def info(p, call, body, ctype):
    call["cseq"] += 1
    route = "".join(f"Route: {r}\r\n" for r in call.get("route", []))
    p.send(f"INFO {call['target']} SIP/2.0\r\nVia: {p.via()}\r\nMax-Forwards: 70\r\n"
           f"{route}From: {call['local']}\r\nTo: {call['remote']}\r\n"
           f"Call-ID: {call['call_id']}\r\nCSeq: {call['cseq']} INFO\r\n"
           f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n{body}")
    assert p.response("INFO").status == 200


def digits(p, call, s):
    for i, d in enumerate(s):  # both kinds of INFO
        if i % 2:
            info(p, call, f"Signal={d}\r\nDuration=160\r\n", "application/dtmf-relay")
        else:
            info(p, call, d, "application/dtmf")
        time.sleep(0.1)


def answered(p, to, body=None):
    call = p.call(to, body=body)
    r = call["resp"]
    while r.status < 200:
        r = p.response("INVITE", timeout=10)
    assert r.status == 200, r.status
    return call, r


def last_call(s):
    return curl("GET", s.sbc(f"/{PS}/api/v1/calls"), token=s.ptoken).json()["calls"][0]


def test_late_offer_to_voicemail_gets_our_offer_and_the_ack_answers(srv):
    a = RtpPhone(srv, "100")
    try:
        call, ok = answered(a, "102", body="")  # 102: nothing registered
        offer = ok.body.decode()
        assert re.search(r"m=audio \d+ RTP/AVP", offer) and "a=sendrecv" in offer, offer
        assert "PCMU/8000" in offer
        a.confirm(call, ok, body=a.sdp())  # the answer in the ACK
        a.latch(ok.body)
        # RTP to our address: the engine took the ACK's answer (a new phone
        # system makes its prompts first: up to some seconds)
        n, end = 0, time.time() + 20
        while n < 50 and time.time() < end:
            n += a.packets(1)
        assert n >= 50
        a.in_dialog(call, "BYE")
        assert a.response("BYE").status == 200
    finally:
        a.close()
    rec = last_call(srv)
    assert rec["callee"] == "102" and rec["cause"] == "voicemail", rec


@pytest.mark.parametrize("pin,ends_with", [("4711", "*"), ("0000", None)])
def test_star98_mailbox_and_pin_by_info_then_the_pbx_hangs_up(srv, pin, ends_with):
    a = RtpPhone(srv, "100")
    try:
        call, ok = answered(a, "*98")
        a.confirm(call, ok)
        a.latch(ok.body)
        assert a.packets(1) > 20  # media flows ("enter your mailbox number")
        digits(a, call, "101#")
        if ends_with:  # the right PIN, the menu, '*': goodbye
            digits(a, call, pin + "#")
            time.sleep(1)
            digits(a, call, ends_with)
        else:  # wrong three times: goodbye
            for _ in range(3):
                digits(a, call, pin + "#")
                time.sleep(0.5)
        bye = a.request("BYE", timeout=15)  # the pbx ends it after "goodbye"
        a.answer(bye, 200)
    finally:
        a.close()
    rec = last_call(srv)
    assert rec["callee"] == "*98" and rec["cause"] == "voicemail_menu", rec
