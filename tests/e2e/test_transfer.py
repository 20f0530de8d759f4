"""Transfer through the SBC over TLS with SRTP, with real phones (RFC 5589):
baresip's /transfer sends REFER (blind), linphone-cli's transfer --to-call
sends REFER with Replaces (attended); after the transfer the two remaining
phones hear each other's tone (440/1000/1500 Hz, found in what each
decodes), and the call records name who talked to whom."""
import math
import os
import struct
import subprocess
import time
import wave

import pytest

from pbxsetup import active, phone_system, phones, records, registered, talking, wait_for
from test_baresip import Baresip, goertzel, samples, sip_ports

PS = "my-company"
TONES = {"100": 440, "101": 1000, "102": 1500}


@pytest.fixture(scope="module")
def srv():
    s = phone_system(PS, TONES)
    yield s
    s.cleanup()


class Linphone:
    """linphone-cli (linphonec) over TLS with mandatory SRTP as user ext,
    driven on its standard input, answering calls itself (-a); no sound
    card (files): it is the transferor here, whose audio does not matter.
    Its log (-d 6) holds the SIP messages."""

    def __init__(self, s, ext, home, tone=None, ps=PS):
        self.dir = home / f"linphone-{ext}"
        # without its data folder linphone opens no TLS listening point
        (self.dir / ".local" / "share" / "linphone").mkdir(parents=True)
        rc = self.dir / "linphonerc"
        rc.write_text(f"""[sip]
sip_port=0
sip_tcp_port=0
sip_tls_port={sip_ports()}
media_encryption=srtp
media_encryption_mandatory=1
verify_server_certs=0
verify_server_cn=0
default_proxy=0
[sound]
echocancellation=0
[video]
enabled=0
[proxy_0]
reg_proxy=<sip:127.0.0.1:{5061 + s.offset};transport=tls>
reg_route=<sip:127.0.0.1:{5061 + s.offset};transport=tls;lr>
reg_identity="Phone {ext}" <sip:{ext}@{ps}>
reg_expires=600
reg_sendregister=1
[auth_info_0]
username={ext}
passwd={ps}-{ext}-secret
domain={ps}
""")
        self.logfile = self.dir / "linphone.log"
        self.out = open(self.dir / "stdout.log", "wb")
        env = dict(os.environ, HOME=str(self.dir))
        self.proc = subprocess.Popen(
            ["linphonec", "-c", str(rc), "-a", "-d", "6", "-l", str(self.logfile)],
            stdin=subprocess.PIPE, stdout=self.out, stderr=subprocess.STDOUT, env=env,
            cwd=self.dir)
        self.command("soundcard use files")
        self.rec = self.dir / "heard.wav"
        if tone:  # what it says: a sine; what it hears: recorded
            w = wave.open(str(self.dir / "tone.wav"), "wb")
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * tone * i / 8000)))
                                   for i in range(8000 * 30)))
            w.close()
            self.command(f"play {self.dir / 'tone.wav'}")
            self.command(f"record {self.rec}")

    def command(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        time.sleep(0.3)

    def text(self):
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stdout(self):
        return (self.dir / "stdout.log").read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.command("quit")
                self.proc.wait(3)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.out.close()


def tail_power(path, freq, skip=0.7, span=1.5):
    """Goertzel power of freq over span seconds ending skip seconds before
    the end of a recording (after the transfer), and the RMS there."""
    xs, rate = samples(path)
    end = len(xs) - int(skip * rate)
    return goertzel(xs[max(0, end - int(span * rate)):max(0, end)], freq, rate)


def hears(path, ext, other_ext):
    theirs, rms = tail_power(path, TONES[other_ext])
    mine, _ = tail_power(path, TONES[ext])
    return rms > 1000 and theirs > 1000 * max(mine, 1.0), (ext, other_ext, rms, theirs, mine)


def hear_each_other(rec100, rec102):
    """In their recordings 100 and 102 hear each other's tone, not their own."""
    for rec, ext, other in ((rec100, "100", "102"), (rec102, "102", "100")):
        ok, why = hears(rec, ext, other)
        assert ok, why


def a_and_c_talk(srv, hangs_up, what):
    """Once 100 and 102 are in one call they talk 3 s, then the phone
    hangs_up hangs up; waits for what: no call left."""
    wait_for(lambda: talking(srv, "100", "102"), 10, "A and C in one call")
    time.sleep(3)  # talk
    hangs_up.command("hangup")
    wait_for(lambda: not active(srv), 10, what)


def test_blind_transfer_with_baresip(srv, tmp_path):
    a, b, c = (Baresip(srv, ext, tmp_path, tone=TONES[ext]) for ext in TONES)
    try:
        registered(srv, TONES)
        a.command("dial", f"sip:101@{PS}")
        wait_for(lambda: "SRTP is Enabled" in b.text(), 10, "A and B talking")
        time.sleep(1)
        b.command("transfer", f"sip:102@{PS}")
        wait_for(lambda: "SRTP is Enabled" in c.text(), 10, "C answering the transferred call")
        a_and_c_talk(srv, a, "the calls to end")
    finally:
        for p in (a, b, c):
            p.stop()
    assert "REFER" in b.text() or "transfer" in b.text().lower(), b.text()
    hear_each_other(a.decoded(), c.decoded())
    recs = records(srv)
    old = next(r for r in recs if r["caller"] == "100" and r["callee"] == "101")
    new = next(r for r in recs if r["caller"] == "100" and r["callee"] == "102")
    assert old["cause"] == "transferred", old
    assert new["linked_call_id"] == old["call_id"] and new["answer"], new
    assert new["answered_by"] == "102"


def test_attended_transfer_with_linphone(srv, tmp_path):
    # A is held by B meanwhile: baresip's recording stops at a hold, linphone's does not
    a = Linphone(srv, "100", tmp_path, tone=TONES["100"])
    c = Baresip(srv, "102", tmp_path, tone=TONES["102"])
    b = Linphone(srv, "101", tmp_path)
    try:
        registered(srv, TONES)
        a.command(f"call sip:101@{PS}")  # linphone answers by itself
        wait_for(lambda: [x for x in active(srv) if x["state"] == "answered"], 10,
                 "A and B talking")
        b.command("pause 1")  # A on hold (music from the pbx)
        wait_for(lambda: "paused" in b.stdout().lower(), 10, "A on hold")
        b.command(f"call sip:102@{PS}")  # the consultation call
        wait_for(lambda: len([x for x in active(srv) if x["state"] == "answered"]) == 2, 10,
                 "B and C talking too")
        time.sleep(1)
        b.command("calls")
        b.command("transfer 1 --to-call 2")
        a_and_c_talk(srv, c, "the calls to end")
    finally:
        for p in (a, b, c):
            p.stop()
    assert "Replaces=" in b.text() or "Replaces%3D" in b.text(), b.stdout()
    hear_each_other(a.rec, c.decoded())
    recs = records(srv)
    ab = next(r for r in recs if r["caller"] == "100" and r["callee"] == "101")
    bc = next(r for r in recs if r["caller"] == "101" and r["callee"] == "102")
    ac = next(r for r in recs if r["caller"] == "100" and r["callee"] == "102")
    assert ab["cause"] == "transferred" and bc["cause"] == "transferred", (ab, bc)
    assert ac["linked_call_id"] == ab["call_id"] and ac["answer"], ac


def test_transfer_to_a_consultation_call_still_ringing(srv, tmp_path):
    a = Linphone(srv, "100", tmp_path, tone=TONES["100"])
    c = Baresip(srv, "102", tmp_path, tone=TONES["102"], answer="manual")
    b = Linphone(srv, "101", tmp_path)
    try:
        registered(srv, TONES)
        a.command(f"call sip:101@{PS}")
        wait_for(lambda: [x for x in active(srv) if x["state"] == "answered"], 10,
                 "A and B talking")
        b.command("pause 1")
        wait_for(lambda: "paused" in b.stdout().lower(), 10, "A on hold")
        b.command(f"call sip:102@{PS}")
        wait_for(lambda: "ringing" in b.stdout().lower(), 10, "C ringing")
        b.command("transfer 1 --to-call 2")
        # C rings now for A, B is out of it
        wait_for(lambda: [x for x in active(srv) if x["state"] == "ringing"
                          and x["caller"]["extension"] == "100"
                          and x["callee"]["extension"] == "102"], 10, "C ringing for A")
        wait_for(lambda: len(active(srv)) == 1, 10, "B's calls to end")
        c.command("accept")
        a_and_c_talk(srv, c, "the call to end")
    finally:
        for p in (a, b, c):
            p.stop()
    hear_each_other(a.rec, c.decoded())
    recs = records(srv)
    bc = next(r for r in recs if r["caller"] == "101" and r["callee"] == "102")
    assert bc["cause"] == "transferred" and not bc["answer"], bc


def notify_frag(p):
    n = p.request("NOTIFY")
    p.answer(n, 200)
    assert n.h("event").startswith("refer"), n.raw_text()
    return n.body.decode().strip(), n.h("subscription-state")


def test_refer_signalling_third_party_call_control(srv):
    """What the phones see, message by message: a REFER to a number that does
    not exist fails (NOTIFY 404) and leaves the call as it was; one to 102
    rings it with an INVITE without SDP and Referred-By, its offer reaches A
    in a re-INVITE, A's answer comes in 102's ACK, and B hears 200 and BYE."""
    with phones(srv, TONES, "tls") as (a, b, c):
        call, bc = a.established(b)
        b.refer(bc, f"sip:999@{PS}", callee=True)
        assert b.response("REFER").status == 202
        assert notify_frag(b)[0] == "SIP/2.0 100 Trying"
        frag, state = notify_frag(b)
        assert frag.startswith("SIP/2.0 404") and state.startswith("terminated"), frag
        assert [x for x in active(srv) if x["state"] == "answered"]  # still talking

        b.refer(bc, f"sip:102@{PS}", callee=True)
        assert b.response("REFER").status == 202
        assert notify_frag(b)[0] == "SIP/2.0 100 Trying"
        cinv = c.request("INVITE")
        assert not cinv.body and cinv.h("referred-by").startswith("<sip:101@"), cinv.raw_text()
        cc = c.accept(cinv)
        c.answer(cinv, 180, tag=cc["tag"])
        assert notify_frag(b)[0] == "SIP/2.0 180 Ringing"
        c.answer(cinv, 200, body=c.sdp(), tag=cc["tag"])
        reinv = a.request("INVITE")
        assert b"m=audio" in reinv.body and b"a=crypto" in reinv.body
        a.answer(reinv, 200, body=a.sdp())
        a.request("ACK")
        ack = c.request("ACK")
        assert b"m=audio" in ack.body, ack.raw_text()  # A's answer
        frag, state = notify_frag(b)
        assert frag == "SIP/2.0 200 OK" and state.startswith("terminated")
        b.answer(b.request("BYE"), 200)
        cc["cseq"] = 200
        c.in_dialog(cc, "BYE", local=c.callee_local(cc))
        assert c.response("BYE").status == 200
        a.answer(a.request("BYE"), 200)
    recs = records(srv)
    new = next(r for r in recs if r["caller"] == "100" and r["callee"] == "102")
    assert new["cause"] == "callee_hangup" and new["linked_call_id"], new


def test_refer_by_the_caller_hands_on_the_callee(srv):
    """The caller transfers: the callee's leg (a device the pbx called) is
    the party that moves, and 102's offer reaches it in a re-INVITE."""
    with phones(srv, TONES, "tls") as (a, b, c):
        call, bc = a.established(b)
        a.refer(call, f"sip:102@{PS}")  # in its own dialog (as its caller)
        assert a.response("REFER").status == 202
        assert notify_frag(a)[0] == "SIP/2.0 100 Trying"
        cinv = c.request("INVITE")
        cc = c.accept(cinv)
        c.answer(cinv, 200, body=c.sdp(), tag=cc["tag"])
        reinv = b.request("INVITE")  # B, the callee, gets 102's offer
        assert b"a=crypto" in reinv.body
        b.answer(reinv, 200, body=b.sdp())
        b.request("ACK")
        assert b"m=audio" in c.request("ACK").body
        frag, _ = notify_frag(a)
        assert frag == "SIP/2.0 200 OK"
        a.answer(a.request("BYE"), 200)
        assert [x for x in active(srv) if x["state"] == "answered"
                and x["caller"]["extension"] == "101" and x["callee"]["extension"] == "102"]
        c.in_dialog(cc, "BYE", local=c.callee_local(cc))
        assert c.response("BYE").status == 200
        b.answer(b.request("BYE"), 200)


def test_invite_with_replaces_of_a_confirmed_dialog(srv):
    """Attended transfer completed by the target's INVITE with Replaces
    (RFC 3891): the replaced leg (B's) gets a BYE, the other party (A) is
    re-INVITEd with the newcomer's offer and its answer is the newcomer's 200."""
    from sipua import digest, tag_of
    with phones(srv, TONES, "tls") as (a, b, c):
        call, bc = a.established(b)
        inv = bc["req"]
        rep = (f"Replaces: {inv.h('call-id')};to-tag={tag_of(inv.h('from'))};"
               f"from-tag={bc['tag']}\r\n")
        x = c.invite("pickup", extra=rep)
        r = c.response("INVITE")
        assert r.status == 401
        c.ack_failure(x, r)
        x = c.invite("pickup", extra=rep, call=x,
                     auth=digest(r.headers, c.user, c.password, x["uri"], "INVITE"))
        b.answer(b.request("BYE"), 200)  # the replaced leg
        reinv = a.request("INVITE")
        assert b"a=crypto" in reinv.body
        a.answer(reinv, 200, body=a.sdp())
        r = c.response("INVITE")
        assert r.status == 200 and b"m=audio" in r.body, r.raw_text()
        c.confirm(x, r)
        a.request("ACK")
        c.in_dialog(x, "BYE")
        assert c.response("BYE").status == 200
        a.answer(a.request("BYE"), 200)
    recs = records(srv)
    old = next(r for r in recs if r["call_id"] == call["call_id"])
    new = next(r for r in recs if r["call_id"] == x["call_id"])
    assert old["cause"] == "transferred" and new["linked_call_id"] == call["call_id"], (old, new)
    assert new["callee"] == "100" and new["answer"], new
