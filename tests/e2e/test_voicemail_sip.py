"""Voicemail at the SIP level, with phones of the test's own (sipua.Phone
over TCP, a real RTP socket): the engine answers an INVITE without SDP
with an offer and takes the answer from the ACK (its greeting then
arrives as RTP); *98 asks mailbox and PIN, digits sent as SIP INFO
(application/dtmf-relay and application/dtmf), and the mailbox's menu
ends with the pbx's BYE; a wrong PIN three times ends the call too; '#'
ends a message, one under a second is not kept; the menu deletes (7) and
saves (9) messages."""
import audioop
import math
import re
import struct
import subprocess
import time

import pytest

from conftest import curl, sip_server
from sipua import Phone, rtp_pair

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
        rtp_port, self.rtp, self._rtcp = rtp_pair()
        super().__init__("tcp", 5060 + s.offset, ext, f"{PS}-{ext}-secret", PS,
                         rtp_port=rtp_port)
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
        live = curl("GET", srv.sbc(f"/{PS}/api/v1/calls/active"), token=srv.ptoken).json()
        assert [(c["state"], c["callee"]["extension"], c["codec"]) for c in live["calls"]] == \
            [("voicemail", "102", "PCMU/8000")], live
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
            digits(a, call, pin + "#")
            for _ in range(2):  # mailbox and PIN again
                time.sleep(0.5)
                digits(a, call, f"101#{pin}#")
        bye = a.request("BYE", timeout=15)  # the pbx ends it after "goodbye"
        a.answer(bye, 200)
    finally:
        a.close()
    rec = last_call(srv)
    assert rec["callee"] == "*98" and rec["cause"] == "voicemail_menu", rec


def tone_packets(seconds, freq=1000, seq0=0):
    """PCMU RTP packets of a tone, 20 ms each."""
    out = []
    for i in range(int(seconds * 50)):
        pcm = struct.pack("<160h", *(int(8000 * math.sin(2 * math.pi * freq * (i * 160 + k)
                                                          / 8000)) for k in range(160)))
        out.append(struct.pack("!BBHII", 0x80, 0, seq0 + i, (seq0 + i) * 160, 0x55)
                   + audioop.lin2ulaw(pcm, 2))
    return out


def talk(p, sdp, seconds):
    text = sdp.decode()
    addr = re.search(r"c=IN IP4 (\S+)", text).group(1)
    port = int(re.search(r"m=audio (\d+)", text).group(1))
    for pkt in tone_packets(seconds):
        p.rtp.sendto(pkt, (addr, port))
        time.sleep(0.02)


def mailbox(s, ext):
    r = curl("GET", s.sbc(f"/{PS}/api/v1/voicemail/{s.ids[ext]}"), token=s.ptoken)
    assert r.status == 200, r
    return r.json()


def leave(s, seconds, pause=1.0):
    """100 calls 102 (nothing registered: its voicemail), skips the greeting
    with a digit, speaks `seconds` of tone and presses '#': the pbx hangs up."""
    a = RtpPhone(s, "100")
    try:
        call, ok = answered(a, "102")
        a.confirm(call, ok)
        a.latch(ok.body)
        time.sleep(1)
        digits(a, call, "1")  # a digit ends the greeting: the beep, then recording
        time.sleep(pause)
        talk(a, ok.body, seconds)
        digits(a, call, "#")
        a.answer(a.request("BYE", timeout=15), 200)
    finally:
        a.close()


def test_hash_ends_the_message_and_a_short_one_is_not_kept(srv):
    before = len(mailbox(srv, "102")["messages"])
    # under a second: no message. The '#' comes after the 400 ms beep (0.1 s
    # after '1', 0.5 s pause): with no pause it came as the beep ended, and
    # once a full run's load delayed the beep, it only restarted the beep
    # (a digit in the greeting skips to the beep) and the call went on
    leave(srv, 0.3, pause=0.5)
    assert len(mailbox(srv, "102")["messages"]) == before
    leave(srv, 3)
    msgs = mailbox(srv, "102")["messages"]
    assert len(msgs) == before + 1
    assert 2500 <= msgs[-1]["duration_ms"] <= 6000, msgs[-1]  # '#' ended it, not the maximum


def test_menu_deletes_and_saves_messages(srv):
    for _ in range(2):
        leave(srv, 1.5)
    box = mailbox(srv, "102")
    new = sorted((m for m in box["messages"] if not m["heard"]), key=lambda m: m["id"])
    assert len(new) >= 2
    r = curl("PUT", srv.sbc(f"/{PS}/api/v1/voicemail/{srv.ids['102']}/settings"),
             {"pin": "2468"}, token=srv.ptoken)
    assert r.status == 200, r
    a = RtpPhone(srv, "100")
    try:
        call, ok = answered(a, "*98")
        a.confirm(call, ok)
        a.latch(ok.body)
        time.sleep(1)
        digits(a, call, "102#2468#")
        time.sleep(1)
        digits(a, call, "1")  # the oldest new message plays
        time.sleep(0.5)
        digits(a, call, "7")  # deleted; the next plays
        time.sleep(0.5)
        digits(a, call, "9")  # saved (heard)
        time.sleep(0.5)
        digits(a, call, "*")  # back to the main menu
        time.sleep(0.5)
        digits(a, call, "*")  # goodbye
        a.answer(a.request("BYE", timeout=15), 200)
    finally:
        a.close()
    after = {m["id"]: m for m in mailbox(srv, "102")["messages"]}
    assert new[0]["id"] not in after  # deleted
    assert after[new[1]["id"]]["heard"]  # saved


def settings(s, ext):
    r = curl("GET", s.sbc(f"/{PS}/api/v1/voicemail/{s.ids[ext]}/settings"), token=s.ptoken)
    assert r.status == 200, r
    return r.json()


def menu(s, ext, pin, keys, speak=0):
    """*98 into ext's mailbox with pin, then keys (each group after a pause;
    `speak` s of tone after the group "1" of the options, a greeting); the
    pbx's BYE ends it (True), or none comes (False)."""
    a = RtpPhone(s, "100")
    try:
        call, ok = answered(a, "*98")
        a.confirm(call, ok)
        a.latch(ok.body)
        time.sleep(1)
        digits(a, call, f"{ext}#{pin}#")
        for group in keys:
            time.sleep(0.7)
            digits(a, call, group)
            if group == "01" and speak:
                digits(a, call, "#")  # "record your greeting" cut short: the beep
                time.sleep(0.6)
                talk(a, ok.body, speak)
        try:
            a.answer(a.request("BYE", timeout=10), 200)
            return True
        except OSError:
            a.in_dialog(call, "BYE")
            return False
    finally:
        a.close()


def test_menu_options_record_a_greeting_and_change_the_pin(srv):
    r = curl("PUT", srv.sbc(f"/{PS}/api/v1/voicemail/{srv.ids['101']}/settings"),
             {"pin": "4711"}, token=srv.ptoken)
    assert r.status == 200, r
    assert not settings(srv, "101")["has_greeting"]
    # 0 options, 1 greeting (spoken, '#'), 4 new PIN, '*' back, '*' goodbye
    assert menu(srv, "101", "4711", ["01", "#", "4", "13579#", "*", "*"], speak=2)
    assert settings(srv, "101")["has_greeting"]
    out = subprocess.run(["curl", "-skf", "-H", f"Authorization: Bearer {srv.ptoken}",
                          srv.sbc(f"/{PS}/api/v1/voicemail/{srv.ids['101']}/greeting")],
                         capture_output=True, timeout=20)
    assert out.returncode == 0 and out.stdout[:4] == b"RIFF"
    # the new PIN opens the mailbox ('*' then ends it); the old one no more
    assert menu(srv, "101", "13579", ["*"])
    assert menu(srv, "101", "4711", ["101#4711#", "101#4711#"])  # wrong three times: goodbye
    r = curl("PUT", srv.sbc(f"/{PS}/api/v1/voicemail/{srv.ids['101']}/settings"),
             {"pin": "4711"}, token=srv.ptoken)
    assert r.status == 200, r
