"""Transfer through the SBC over TLS with SRTP, with real phones (RFC 5589):
baresip's /transfer sends REFER (blind), linphone-cli's transfer --to-call
sends REFER with Replaces (attended); after the transfer the two remaining
phones hear each other's tone (440/1000/1500 Hz, found in what each
decodes), and the call records name who talked to whom."""
import math
import os
import sqlite3
import struct
import subprocess
import time
import wave

import pytest

from conftest import Server, curl
from test_baresip import Baresip, wait_for

PS = "my-company"
TONES = {"100": 440, "101": 1000, "102": 1500}


@pytest.fixture(scope="module")
def srv():
    s = Server().start()
    try:
        s.create_ps(PS, "my-company-admin-pw")
        s.ptoken = s.pbx_token(PS, "my-company-admin-pw")
        for ext in TONES:
            r = curl("POST", s.sbc(f"/{PS}/api/v1/users"),
                     {"display_name": f"Phone {ext}", "extension": ext,
                      "sip_password": f"{PS}-{ext}-secret"}, token=s.ptoken)
            assert r.status == 201, r
        r = curl("PUT", s.sbc(f"/{PS}/api/v1/settings"), {"digest_algorithms": ["MD5"]},
                 token=s.ptoken)
        assert r.status == 200, r
    except BaseException:
        s.stop()
        raise
    yield s
    s.cleanup()


def tail_power(path, freq, skip=0.7, span=1.5):
    """Goertzel power of freq over span seconds ending skip seconds before
    the end of a recording (after the transfer), and the RMS there."""
    w = wave.open(str(path))
    rate, ch = w.getframerate(), w.getnchannels()
    data = w.readframes(w.getnframes())
    xs = struct.unpack(f"<{len(data) // 2}h", data)[::ch]
    end = len(xs) - int(skip * rate)
    part = xs[max(0, end - int(span * rate)):max(0, end)]
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in part:
        s1, s2 = x + k * s1 - s2, s1
    rms = math.sqrt(sum(x * x for x in part) / max(1, len(part)))
    return (s1 * s1 + s2 * s2 - k * s1 * s2) / max(1, len(part)), rms


def hears(path, ext, other_ext):
    theirs, rms = tail_power(path, TONES[other_ext])
    mine, _ = tail_power(path, TONES[ext])
    return rms > 1000 and theirs > 1000 * max(mine, 1.0), (ext, other_ext, rms, theirs, mine)


def registered(srv, exts):
    def pred():
        r = curl("GET", srv.sbc(f"/{PS}/api/v1/registrations"), token=srv.ptoken)
        return set(exts) <= {x["extension"] for x in r.json()["registrations"]}
    wait_for(pred, 15, f"{exts} to register")


def active(srv):
    return curl("GET", srv.sbc(f"/{PS}/api/v1/calls/active"), token=srv.ptoken).json()["calls"]


def records(srv):
    return curl("GET", srv.sbc(f"/{PS}/api/v1/calls"), token=srv.ptoken).json()["calls"]


def test_blind_transfer_with_baresip(srv, tmp_path):
    a, b, c = (Baresip(srv, ext, tmp_path, tone=TONES[ext]) for ext in TONES)
    try:
        registered(srv, TONES)
        a.command("dial", f"sip:101@{PS}")
        wait_for(lambda: "SRTP is Enabled" in b.text(), 10, "A and B talking")
        time.sleep(1)
        b.command("transfer", f"sip:102@{PS}")
        wait_for(lambda: "SRTP is Enabled" in c.text(), 10, "C answering the transferred call")
        wait_for(lambda: [x for x in active(srv) if x["state"] == "answered"
                          and {x["caller"]["extension"], x["callee"]["extension"]}
                          == {"100", "102"}], 10, "A and C in one call")
        time.sleep(3)  # talk
        a.command("hangup")
        wait_for(lambda: not active(srv), 10, "the calls to end")
    finally:
        for p in (a, b, c):
            p.stop()
    assert "REFER" in b.text() or "transfer" in b.text().lower(), b.text()
    ok, why = hears(a.decoded(), "100", "102")
    assert ok, why
    ok, why = hears(c.decoded(), "102", "100")
    assert ok, why
    recs = records(srv)
    old = next(r for r in recs if r["caller"] == "100" and r["callee"] == "101")
    new = next(r for r in recs if r["caller"] == "100" and r["callee"] == "102")
    assert old["cause"] == "transferred", old
    assert new["linked_call_id"] == old["call_id"] and new["answer"], new
    assert new["answered_by"] == "102"
