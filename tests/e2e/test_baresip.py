"""Two real softphones (Debian's baresip) register over TLS on 5061 to the
phone system my-company and call each other with SRTP (SDES) through the
SBC. Each plays its own tone (440 Hz and 1000 Hz); baresip's sndfile module
records what each decodes, and the other side's tone must be there, loud,
and its own absent: audio crossed the relay both ways."""
import contextlib
import json
import math
import os
import socket
import struct
import subprocess
import time
import wave

import pytest

from conftest import curl
from netns import inside
from pbxsetup import phone_system, wait_for
from sipua import free_port

PS = "my-company"
TONES = {"100": 440, "101": 1000}

@pytest.fixture(scope="module")
def srv():
    s = phone_system(PS, TONES)
    yield s
    s.cleanup()


class Baresip:
    """One baresip over TLS with mandatory SRTP, PCMU only, playing a sine of
    tone Hz (default: its extension's in TONES) as user ext of phone system ps, driven over ctrl_tcp; what
    it hears is dumped to dump-*-dec.wav. answer: auto or manual; mwi:
    subscribe to message-summary; rtp_base: where its RTP ports start.
    netns: run in that network namespace (its ctrl_tcp reached there too),
    listening on listen; account: the accounts line in place of ours (an
    outside party at a carrier, say)."""

    def __init__(self, s, ext, home, tone=None, answer="auto", mwi=False, rtp_base=41000,
                 ps=PS, netns=None, listen="127.0.0.1", account=None):
        self.netns = netns
        self.ext = ext
        self.dir = home / (f"{ext}-{time.monotonic_ns()}" if (home / ext).exists() else ext)
        self.dir.mkdir()
        self.ctrl = sip_ports()  # free for TCP
        rtp = rtp_base + (int(ext) % 10) * 200 + (s.offset // 100) % 50 * 2
        mwi_module = "module_app mwi.so\n" if mwi else ""
        (self.dir / "config").write_text(f"""poll_method epoll
sip_listen {listen}:{sip_ports()}
audio_player aubridge,nil-{self.dir.name}
audio_alert aubridge,nil-{self.dir.name}
audio_source ausine,{tone or TONES[ext]}
ausrc_srate 48000
auplay_srate 48000
ausrc_channels 2
auplay_channels 1
rtp_ports {rtp}-{rtp + 99}
module_path /usr/lib/baresip/modules
module g711.so
module ausine.so
module aubridge.so
module srtp.so
module sndfile.so
module ctrl_tcp.so
module_app account.so
module_app menu.so
{mwi_module}ctrl_tcp_listen 127.0.0.1:{self.ctrl}
snd_path {self.dir}
""")
        (self.dir / "accounts").write_text(account or (
            f'<sip:{ext}@{ps}>;auth_pass={ps}-{ext}-secret;'
            f'outbound="sip:127.0.0.1:{5061 + s.offset};transport=tls";'
            f"mediaenc=srtp-mand;answermode={answer};regint=600;audio_codecs=PCMU"
            f"{';mwi=yes' if mwi else ''}\n"))
        self.log = open(self.dir / "baresip.log", "wb")
        argv = ["baresip", "-f", str(self.dir)]
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        self.proc = subprocess.Popen(argv, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def command(self, cmd, params=""):
        msg = json.dumps({"command": cmd, "params": params, "token": cmd}).encode()
        deadline = time.time() + 15  # a baresip just started may not listen yet
        while True:
            try:
                with (inside(self.netns) if self.netns else contextlib.nullcontext()):
                    c = socket.create_connection(("127.0.0.1", self.ctrl), timeout=5)
                break
            except ConnectionRefusedError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.2)
        with c:
            c.sendall(str(len(msg)).encode() + b":" + msg + b",")
            time.sleep(0.3)

    def text(self):
        return (self.dir / "baresip.log").read_bytes().decode(errors="replace")

    def decoded(self):
        files = sorted(self.dir.glob("dump-*-dec.wav"))
        return files[-1] if files else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def sip_ports():
    """A port free for UDP and TCP whose next port is free for TCP too:
    baresip listens on UDP and TCP there, and for TLS on the next one."""
    for _ in range(50):
        p = free_port()
        socks = []
        try:
            for kind, port in ((socket.SOCK_STREAM, p), (socket.SOCK_STREAM, p + 1),
                               (socket.SOCK_DGRAM, p)):
                s = socket.socket(socket.AF_INET, kind)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return p
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free port pair")


def samples(path):
    """A recording's samples (its first channel) and its rate."""
    w = wave.open(str(path))
    rate, ch = w.getframerate(), w.getnchannels()
    data = w.readframes(w.getnframes())
    return struct.unpack(f"<{len(data) // 2}h", data)[::ch], rate


def goertzel(part, freq, rate):
    """Goertzel power of freq in samples part (per sample), and their RMS."""
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in part:
        s1, s2 = x + k * s1 - s2, s1
    rms = math.sqrt(sum(x * x for x in part) / max(1, len(part)))
    return (s1 * s1 + s2 * s2 - k * s1 * s2) / max(1, len(part)), rms


def tone_power(path, freq):
    """Goertzel power of freq in the middle second of a recording, and its RMS."""
    xs, rate = samples(path)
    return goertzel(xs[len(xs) // 2 - rate // 2:len(xs) // 2 + rate // 2], freq, rate)


def test_two_baresips_call_each_other_with_srtp_audio_both_ways(srv, tmp_path):
    phones = {ext: Baresip(srv, ext, tmp_path) for ext in TONES}
    try:
        def registered():
            r = curl("GET", srv.sbc(f"/{PS}/api/v1/registrations"), token=srv.ptoken)
            return {x["extension"] for x in r.json()["registrations"]} == set(TONES)
        wait_for(registered, 15, "both phones to register")
        regs = curl("GET", srv.sbc(f"/{PS}/api/v1/registrations"), token=srv.ptoken).json()
        assert all(x["source"].startswith("tls ") for x in regs["registrations"])
        assert all("baresip" in x["user_agent"] for x in regs["registrations"])

        phones["100"].command("dial", f"sip:101@{PS}")
        wait_for(lambda: "SRTP is Enabled" in phones["101"].text(), 10, "the call with SRTP")
        time.sleep(4)  # talk
        phones["100"].command("hangup")
        wait_for(lambda: "terminated" in phones["101"].text(), 10, "the hang-up")
    finally:
        for p in phones.values():
            p.stop()
    for ext, p in phones.items():
        assert "SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)" in p.text(), p.text()
        other = TONES["101" if ext == "100" else "100"]
        rec = p.decoded()
        assert rec, p.text()
        theirs, rms = tone_power(rec, other)
        mine, _ = tone_power(rec, TONES[ext])
        # the other phone's tone arrived, loud; not silence, not our own echo
        assert rms > 1000 and theirs > 1000 * max(mine, 1.0), (ext, rms, theirs, mine)
    rec = curl("GET", srv.sbc(f"/{PS}/api/v1/calls"), token=srv.ptoken).json()["calls"][0]
    assert rec["caller"] == "100" and rec["callee"] == "101" and rec["answer"] is not None
    assert rec["cause"] == "caller_hangup" and rec["duration"] >= 3
