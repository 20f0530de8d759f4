"""Voicemail with real softphones (Debian's baresip, over TLS with SRTP):
a call nobody answers within the callee's ring time, a busy callee (486),
one with no device registered and one on do-not-disturb each reach the
callee's voicemail, where the caller's tone (baresip's ausine) is recorded
into a message whose WAV holds that tone; a full mailbox is announced and
the pbx hangs up; the callee dials *97, presses 1 (RFC 4733) and hears the
message, which is then heard (and message waiting says so); a held call
hears music (both legs SRTP, or one plain RTP) and, resumed, the other
phone again."""
import math
import struct
import subprocess
import time
import wave
import io
import os
import re
import audioop
import base64

import pytest

from conftest import curl
from pbxsetup import phone_system
from test_baresip import Baresip, wait_for
from pylibsrtp import Policy, Session
from sipua import Phone as SipPhone, rtp_pair

PS = "vm-company"
USERS = {"100": "caller", "101": "no answer, busy, *97", "102": "unavailable",
         "103": "do not disturb", "104": "full", "105": "held (plain RTP)"}
TONE_A, TONE_B = 1000, 440


@pytest.fixture(scope="module")
def srv():
    s = phone_system(PS, USERS)
    try:
        settings(s, "101", {"ring_time": 5})
        settings(s, "103", {"dnd": True})
        settings(s, "104", {"max_messages": 1})
    except BaseException:
        s.stop()
        raise
    yield s
    s.cleanup()


def settings(s, ext, body):
    r = curl("PUT", s.sbc(f"/{PS}/api/v1/voicemail/{s.ids[ext]}/settings"), body,
             token=s.ptoken)
    assert r.status == 200, r
    return r.json()


def mailbox(s, ext):
    r = curl("GET", s.sbc(f"/{PS}/api/v1/voicemail/{s.ids[ext]}"), token=s.ptoken)
    assert r.status == 200, r
    return r.json()


def message_wav(s, ext, msg_id):
    out = subprocess.run(["curl", "-skf", "-H", f"Authorization: Bearer {s.ptoken}",
                          s.sbc(f"/{PS}/api/v1/voicemail/{s.ids[ext]}/{msg_id}.wav")],
                         capture_output=True, timeout=20)
    assert out.returncode == 0 and out.stdout[:4] == b"RIFF", out.returncode
    return out.stdout


def last_call(s):
    return curl("GET", s.sbc(f"/{PS}/api/v1/calls"), token=s.ptoken).json()["calls"][0]


class Phone(Baresip):
    """One baresip: its tone, whether it answers by itself, message waiting on."""

    def __init__(self, s, ext, home, tone, answer="auto"):
        super().__init__(s, ext, home, tone=tone, answer=answer, mwi=True, rtp_base=43000,
                         ps=PS)

    def decoded(self):
        path = super().decoded()
        return path.read_bytes() if path else None


def samples(wav_bytes):
    w = wave.open(io.BytesIO(wav_bytes))
    rate, ch = w.getframerate(), w.getnchannels()
    data = w.readframes(w.getnframes())
    return rate, struct.unpack(f"<{len(data) // 2}h", data)[::ch]


def goertzel(xs, rate, freq):
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in xs:
        s1, s2 = x + k * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - k * s1 * s2) / max(1, len(xs))


def windows(wav_bytes, ms=500):
    """(power of TONE_A, power of TONE_B, RMS) of each window of the audio."""
    rate, xs = samples(wav_bytes)
    n = rate * ms // 1000
    out = []
    for i in range(0, len(xs) - n + 1, n):
        w = xs[i:i + n]
        rms = math.sqrt(sum(x * x for x in w) / n)
        out.append((goertzel(w, rate, TONE_A), goertzel(w, rate, TONE_B), rms))
    return out


def has_tone(wav_bytes, which=0, min_windows=2):
    """Some windows dominated by the tone (TONE_A: which 0, TONE_B: 1), loud."""
    hits = [w for w in windows(wav_bytes)
            if w[2] > 500 and w[which] > 1000 * max(w[1 - which], 1.0)]
    return len(hits) >= min_windows


def loud_windows(wav_bytes):
    return sum(1 for w in windows(wav_bytes) if w[2] > 300)


def registered(s, exts):
    r = curl("GET", s.sbc(f"/{PS}/api/v1/registrations"), token=s.ptoken)
    return set(exts) <= {x["extension"] for x in r.json()["registrations"]}


@pytest.fixture
def phones(srv, tmp_path):
    made = []

    def make(ext, tone, answer="auto"):
        p = Phone(srv, ext, tmp_path, tone, answer)
        made.append(p)
        wait_for(lambda: registered(srv, [ext]), 15, f"{ext} to register")
        return p
    yield make
    for p in made:
        p.stop()


RECORDING = "vm: recording a message for "


def wait_recording(srv, callee, before, timeout):
    """Until the pbx logs that it records a message for callee (the greeting
    and the beep have played): the log's count of those lines was before."""
    line = RECORDING + callee + "\n"
    wait_for(lambda: srv.log(tail=None).count(line) > before, timeout, "the recording to start")


def leave_message(srv, a, callee, talk=6, before=None, skip=False):
    """A calls callee and, once voicemail answered, waits for the greeting
    (up to `before` s; skip: a digit cuts it short, as test_voicemail_sip
    checks), plays its tone for `talk` s of recording and hangs up. The new
    message."""
    old = {m["id"] for m in mailbox(srv, callee)["messages"]}
    recs = srv.log(tail=None).count(RECORDING + callee + "\n")
    a.command("dial", f"sip:{callee}@{PS}")
    wait_for(lambda: "Call established" in a.text() or "call established" in a.text(), 20,
             "voicemail to answer")
    if skip:
        time.sleep(1)  # the media path is up; a digit lost would just let the greeting play
        a.command("sndcode", "1")
    wait_recording(srv, callee, recs, (before or 14) + 10)
    time.sleep(talk)
    a.command("hangup")
    wait_for(lambda: len(mailbox(srv, callee)["messages"]) > len(old), 10, "the message")
    new = [m for m in mailbox(srv, callee)["messages"] if m["id"] not in old]
    assert len(new) == 1, new
    return new[0]


def test_no_answer_reaches_voicemail_and_the_message_holds_the_tone(srv, phones):
    b = phones("101", TONE_B, answer="manual")
    a = phones("100", TONE_A)
    t0 = time.time()
    msg = leave_message(srv, a, "101")
    assert "SRTP is Enabled" in a.text()
    assert "101" in b.text() or "Incoming call" in b.text(), b.text()  # it rang there first
    wav = message_wav(srv, "101", msg["id"])
    assert has_tone(wav, 0, min_windows=6), windows(wav)
    assert msg["caller"] == "100" and msg["reason"] == "noanswer" and not msg["heard"]
    assert msg["duration_ms"] >= 3000
    rec = last_call(srv)
    assert rec["callee"] == "101" and rec["cause"] == "voicemail" and rec["answer"] is not None
    assert rec["answer"] - rec["start"] >= 4  # rang its ring time first
    assert time.time() - t0 > 5
    # message waiting: B's phone was told (RFC 3842)
    wait_for(lambda: "Messages-Waiting: yes" in b.text(), 10, "MWI yes at B")
    assert re.search(r"Voice-Message: [1-9]\d*/\d+", b.text()), b.text()[-2000:]


def test_busy_callee_reaches_voicemail(srv, phones):
    b = phones("101", TONE_B, answer="manual")
    a = phones("100", TONE_A)
    old = {m["id"] for m in mailbox(srv, "101")["messages"]}
    recs = srv.log(tail=None).count(RECORDING + "101\n")
    a.command("dial", f"sip:101@{PS}")
    wait_for(lambda: "Incoming call" in b.text(), 10, "the call to ring at B")
    b.command("hangup")  # rejects: 486
    wait_for(lambda: "Call established" in a.text(), 10, "voicemail to answer")
    time.sleep(1)
    a.command("sndcode", "1")  # skips the greeting (test_no_answer hears one whole)
    wait_recording(srv, "101", recs, 24)
    time.sleep(3)
    a.command("hangup")
    wait_for(lambda: len(mailbox(srv, "101")["messages"]) > len(old), 10, "the message")
    msg = [m for m in mailbox(srv, "101")["messages"] if m["id"] not in old][0]
    assert msg["reason"] == "busy", msg
    assert has_tone(message_wav(srv, "101", msg["id"]), 0)
    assert last_call(srv)["cause"] == "voicemail"


@pytest.mark.parametrize("ext,reason", [("102", "unavailable"), ("103", "dnd")])
def test_unavailable_and_dnd_reach_voicemail(srv, phones, ext, reason):
    a = phones("100", TONE_A)
    msg = leave_message(srv, a, ext, talk=4, skip=True)
    assert msg["reason"] == reason, msg
    assert has_tone(message_wav(srv, ext, msg["id"]), 0)
    rec = last_call(srv)
    assert rec["callee"] == ext and rec["cause"] == "voicemail"
    assert rec["answer"] - rec["start"] <= 2  # nothing rang


def test_full_mailbox_is_announced_and_the_call_ends(srv, phones):
    a = phones("100", TONE_A)
    if not mailbox(srv, "104")["messages"]:
        leave_message(srv, a, "104", talk=3, skip=True)
    assert len(mailbox(srv, "104")["messages"]) == 1
    a.command("dial", f"sip:104@{PS}")
    wait_for(lambda: a.text().count("Call established") >= 2, 20, "voicemail to answer")
    # the pbx says so and hangs up by itself
    wait_for(lambda: a.text().count("terminated") >= 2, 20, "the pbx's BYE")
    wav = a.decoded()
    assert wav and loud_windows(wav) >= 2, windows(wav)  # the announcement was heard
    assert len(mailbox(srv, "104")["messages"]) == 1
    assert last_call(srv)["cause"] == "voicemail"


def test_own_mailbox_star97_plays_the_message_and_marks_it_heard(srv, phones):
    for m in mailbox(srv, "101")["messages"]:  # the one message: a long one
        r = curl("DELETE", srv.sbc(f"/{PS}/api/v1/voicemail/{srv.ids['101']}/{m['id']}"),
                 token=srv.ptoken)
        assert r.status in (200, 204), r
    b0 = phones("101", TONE_B, answer="manual")
    leave_message(srv, phones("100", TONE_A), "101", talk=5, skip=True)
    b0.stop()
    box = mailbox(srv, "101")
    assert box["new"] == 1
    b = phones("101", TONE_B)
    b.command("dial", f"sip:*97@{PS}")
    wait_for(lambda: "Call established" in b.text(), 10, "the mailbox to answer")
    time.sleep(2)  # "You have n new messages", the menu: a digit interrupts it
    b.command("sndcode", "1")
    # the first message plays (its tone) to its end: then it is heard
    wait_for(lambda: mailbox(srv, "101")["messages"][0]["heard"], 20, "the message heard")
    b.command("hangup")
    wait_for(lambda: "terminated" in b.text(), 10, "the hang-up")
    time.sleep(1)
    wav = b.decoded()
    assert wav and has_tone(wav, 0, min_windows=4), windows(wav)  # A's tone, as recorded
    first = mailbox(srv, "101")["messages"][0]
    assert first["heard"], mailbox(srv, "101")
    assert mailbox(srv, "101")["new"] == 0
    assert last_call(srv)["callee"] == "*97" and last_call(srv)["cause"] == "voicemail_menu"
    wait_for(lambda: "Messages-Waiting: no" in b.text(), 10, "MWI no at B")
    assert "Voice-Message: 0/1" in b.text(), b.text()[-2000:]  # heard: old now


class RtpPhone(SipPhone):
    """A phone of the test's own with a real RTP socket: SIP over TCP with
    RTP, or over TLS with SRTP (pylibsrtp; the SBC's key read from each
    offer)."""

    def __init__(self, s, ext, transport="tcp"):
        rtp_port, self.rtp, self._rtcp = rtp_pair()
        super().__init__(transport, (5061 if transport == "tls" else 5060) + s.offset, ext,
                         f"{PS}-{ext}-secret", PS, rtp_port=rtp_port)
        self.inn = None
        self.out = Session(Policy(key=self.key, ssrc_type=Policy.SSRC_ANY_OUTBOUND)) \
            if transport == "tls" else None
        assert self.register() == 200

    def close(self):
        self.register(expires=0)
        super().close()
        self.rtp.close()


def rtp_audio(phone, seconds):
    """PCM (8 kHz) of the G.711 (S)RTP that arrives at phone within seconds."""
    pcm, end, sock = b"", time.time() + seconds, phone.rtp
    while time.time() < end:
        try:
            sock.settimeout(max(0.05, end - time.time()))
            data, _ = sock.recvfrom(2048)
            if phone.inn:
                data = phone.inn.unprotect(data)
        except Exception:  # a timeout, or a packet that does not authenticate
            continue
        pt = data[1] & 0x7f
        if pt in (0, 8) and len(data) > 12:
            pcm += (audioop.ulaw2lin if pt == 0 else audioop.alaw2lin)(data[12:], 2)
    return pcm


def as_wav(pcm):
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm)
    return out.getvalue()


def answer_offer(b, direction="sendrecv"):
    """B answers the next (re-)INVITE and takes the ACK; where to send RTP."""
    inv = b.request("INVITE", timeout=10)
    b.answer(inv, 200, body=b.sdp(direction), tag=b.dialog_tag)
    b.request("ACK")
    text = inv.body.decode()
    addr = re.search(r"c=IN IP4 (\S+)", text).group(1)
    port = int(re.search(r"m=audio (\d+)", text).group(1))
    key = re.search(r"a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)", text)
    assert bool(key) == bool(b.out), text  # SRTP exactly towards the TLS phone
    if key:
        b.inn = Session(Policy(key=base64.b64decode(key.group(1)),
                               ssrc_type=Policy.SSRC_ANY_INBOUND))
    for i in range(3):  # the SBC latches on what comes from the signalling address
        pkt = struct.pack("!BBHII", 0x80, 0, b.seq + i, (b.seq + i) * 160, 0x77) + b"\xff" * 160
        b.rtp.sendto(b.out.protect(pkt) if b.out else pkt, (addr, port))
    b.seq += 3
    return inv


@pytest.mark.parametrize("transport", ["tls", "tcp"])
def test_hold_plays_music_and_resume_rejoins(srv, phones, transport):
    """A (baresip, TLS, SRTP) holds: B (a phone of ours, SRTP over TLS or
    RTP over TCP, whose media the test reads: baresip 1.0 stops recording
    after a re-INVITE) hears the engine's music, not A; resumed, A's tone
    again."""
    assert srv.api("PUT", "/sbc", {"plain_sip": True}).status == 200
    b = RtpPhone(srv, "105", transport)
    b.seq = 0
    try:
        a = phones("100", TONE_A)
        a.command("dial", f"sip:105@{PS}")
        b.dialog_tag = os.urandom(4).hex()
        answer_offer(b)
        talk = rtp_audio(b, 3)
        a.command("hold")
        inv = answer_offer(b, "recvonly")
        assert "a=sendonly" in inv.body.decode()  # music: the engine only sends
        held = rtp_audio(b, 5)
        a.command("resume")
        answer_offer(b)
        time.sleep(0.5)
        resumed = rtp_audio(b, 3)
        a.command("hangup")
        b.answer(b.request("BYE", timeout=10), 200)
    finally:
        b.close()
    assert has_tone(as_wav(talk), 0, min_windows=3), windows(as_wav(talk))
    music = windows(as_wav(held))
    assert len(music) >= 8 and sum(1 for w in music if w[2] > 200) >= 6, music
    assert not has_tone(as_wav(held), 0, min_windows=1), music  # not A
    assert has_tone(as_wav(resumed), 0, min_windows=3), windows(as_wav(resumed))


def test_the_users_own_greeting_is_played(srv, phones, tmp_path):
    """102's greeting (a 440 Hz tone, uploaded as a WAV) is what the caller hears."""
    wav = tmp_path / "greeting.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-b", "16", "-c", "1", str(wav), "synth", "4",
                    "sine", str(TONE_B), "vol", "0.5"], check=True)
    out = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                          "-H", f"Authorization: Bearer {srv.ptoken}", "--data-binary",
                          f"@{wav}", srv.sbc(f"/{PS}/api/v1/voicemail/{srv.ids['102']}/greeting")],
                         capture_output=True, text=True, timeout=20)
    assert out.stdout in ("200", "201", "204"), out.stdout
    try:
        a = phones("100", TONE_A)
        a.command("dial", f"sip:102@{PS}")
        wait_for(lambda: "Call established" in a.text(), 20, "voicemail to answer")
        time.sleep(6)
        a.command("hangup")
        wait_for(lambda: "terminated" in a.text(), 10, "the hang-up")
        time.sleep(1)
        heard = a.decoded()
        assert heard and has_tone(heard, 1, min_windows=4), windows(heard)
    finally:
        curl("DELETE", srv.sbc(f"/{PS}/api/v1/voicemail/{srv.ids['102']}/greeting"),
             token=srv.ptoken)
