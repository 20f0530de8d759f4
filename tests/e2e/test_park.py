"""Call park with real softphones (baresip over TLS with SRTP): 100 talks
to 101 and transfers it (REFER) to 700; 101 is parked in slot 701 and
hears the slot and music on hold from the media engine (the transferor's
NOTIFY says "Parked at 701", a BLF key watching 701 lights, and an RTP
phone parked hears sound, not silence); 102 dials 701 and
talks to 101, audio both ways (each phone plays its own tone, each must
hear the other's). Unretrieved, a parked call rings its parker again after
park_timeout (set short here)."""
import audioop
import re
import xml.etree.ElementTree as ET
import struct
import time
import wave

import pytest

from pbxsetup import active, api, phone, phone_system, registered, talking, wait_for
from sipua import rtp_pair, tag_of
from test_baresip import Baresip, goertzel, samples

PS = "parkco"
TONES = {"100": 440, "101": 1000, "102": 1500}


@pytest.fixture(scope="module")
def srv():
    s = phone_system(PS, TONES, plain_sip=True)  # plain SIP for sipua
    yield s
    s.cleanup()


def tone_in(path, freq, start, end):
    """Goertzel power of freq between start and end s (negative: from the
    end) of a recording, and the RMS there."""
    xs, rate = samples(path)
    a = int((start if start >= 0 else len(xs) / rate + start) * rate)
    b = int((end if end >= 0 else len(xs) / rate + end) * rate)
    return goertzel(xs[max(0, a):max(0, b)], freq, rate)


def hears(path, theirs, mine, start, end):
    t, rms = tone_in(path, theirs, start, end)
    m, _ = tone_in(path, mine, start, end)
    return rms > 1000 and t > 1000 * max(m, 1.0), (rms, t, m)


def phones(s, tmp, exts):
    ps = {ext: Baresip(s, ext, tmp, tone=TONES[ext], ps=PS) for ext in exts}
    try:
        registered(s, exts, "the phones to register")
    except BaseException:
        for p in ps.values():
            p.stop()
        raise
    return ps


def park_101(s, ph):
    """100 calls 101 (auto-answer), then transfers it to 700: the slot."""
    ph["100"].command("dial", f"sip:101@{PS}")
    wait_for(lambda: talking(s, "100", "101"), 10, "100 and 101 talking")
    time.sleep(0.5)
    ph["100"].command("transfer", "700")
    wait_for(lambda: any(c["callee"]["extension"] == "701" for c in active(s)), 10,
             "101 parked at 701")
    call = [c for c in active(s) if c["callee"]["extension"] == "701"][0]
    assert call["caller"]["extension"] == "101", call
    wait_for(lambda: not talking(s, "100", "101"), 10, "the transferor to leave")
    return call


def test_park_and_retrieve_with_audio(srv, tmp_path):
    assert api(srv, "PUT", "/settings", {"park_timeout": 60}).json()["park_timeout"] == 60
    ph = phones(srv, tmp_path, ["100", "101", "102"])
    try:
        park_101(srv, ph)
        time.sleep(3)  # the slot spoken, then music
        ph["102"].command("dial", f"sip:701@{PS}")
        wait_for(lambda: talking(srv, "101", "102"), 10, "102 retrieving 701")
        assert not any(c["callee"]["extension"] == "701" and c["caller"]["extension"] == "101"
                       for c in active(srv))
        time.sleep(4)  # talk
        ph["102"].command("hangup")
        wait_for(lambda: not active(srv), 10, "the end")
        # the slot is free again: nothing to retrieve
        ph["102"].command("dial", f"sip:701@{PS}")
        wait_for(lambda: "404" in ph["102"].text() or "Nothing Parked" in ph["102"].text(),
                 10, "an empty slot refused")
    finally:
        for p in ph.values():
            p.stop()
    # 101's own recording: music while parked, then 102's tone at its end
    rec101 = ph["101"].decoded()
    ok, info = hears(rec101, TONES["102"], TONES["101"], -3.0, -1.0)
    assert ok, ("101 hears 102 after the retrieval", info)
    rec102 = ph["102"].decoded()
    ok, info = hears(rec102, TONES["101"], TONES["102"], 1.0, 3.0)
    assert ok, ("102 hears 101", info)
    calls = api(srv, "GET", "/calls").json()["calls"]
    assert any(c["cause"] == "parked" or c["cause"] == "retrieved" for c in calls), calls


def test_unretrieved_call_rings_the_parker_again(srv, tmp_path):
    assert api(srv, "PUT", "/settings", {"park_timeout": 3}).json()["park_timeout"] == 3
    assert api(srv, "PUT", "/settings", {"park_timeout": 0}).status == 400
    assert api(srv, "PUT", "/settings", {"park_timeout": "x"}).status == 400
    ph = phones(srv, tmp_path, ["100", "101"])
    try:
        t0 = time.monotonic()
        park_101(srv, ph)
        # nobody dials 701: after 3 s 101 rings 100 again, which answers (auto)
        wait_for(lambda: talking(srv, "101", "100"), 15, "101 ringing its parker again")
        assert time.monotonic() - t0 >= 3
        assert not any(c["callee"]["extension"] == "701" for c in active(srv))
        time.sleep(3)
        ph["100"].command("hangup")
        wait_for(lambda: not active(srv), 10, "the end")
    finally:
        for p in ph.values():
            p.stop()
        api(srv, "PUT", "/settings", {"park_timeout": 60})
    rec100 = ph["100"].decoded()
    ok, info = hears(rec100, TONES["101"], TONES["100"], -2.5, -0.5)
    assert ok, ("100 hears 101 again", info)


def sip_phone(s, ext, rtp=False):
    port, sock, rtcp = rtp_pair() if rtp else (40000, None, None)
    p = phone(s, ext, rtp_port=port)
    if rtp:  # it listens where its SDP says
        p.rtp, p._rtcp = sock, rtcp
        p.rtp.settimeout(0.2)
    return p


def heard(p, sdp, seconds):
    """The RMS of the PCMU that reaches p within seconds (until 25 packets
    came), and how many packets; p sends a packet to where sdp says every
    0.3 s meanwhile (the SBC sends to a phone once it has heard from it)."""
    text = sdp.decode()
    addr = re.search(r"c=IN IP4 (\S+)", text).group(1)
    port = int(re.search(r"m=audio (\d+)", text).group(1))
    pcm, n, end, ping = b"", 0, time.time() + seconds, 0.0
    while time.time() < end and n < 25:
        if time.time() > ping:
            p.rtp.sendto(struct.pack("!BBHII", 0x80, 0, 0, 0, 0x55) + b"\xff" * 160,
                         (addr, port))
            ping = time.time() + 0.3
        try:
            pkt, _ = p.rtp.recvfrom(2048)
        except OSError:
            continue
        if len(pkt) > 12 and pkt[1] & 0x7f == 0:
            pcm += audioop.ulaw2lin(pkt[12:], 2)
            n += 1
    return (audioop.rms(pcm, 2) if pcm else 0), n


def test_transferor_told_the_slot_and_blf_watches_it(srv):
    """sipua phones: 100 REFERs 101 to 700 and its NOTIFY says "Parked at
    701"; a BLF subscription to 701 shows the parked call (confirmed, 101
    as the remote party) and its end when 102 retrieves it."""
    assert api(srv, "PUT", "/settings", {"park_timeout": 60}).status == 200
    a, b, c, w = (sip_phone(srv, e, rtp=e == "101") for e in ("100", "101", "102", "102"))
    ns = "{urn:ietf:params:xml:ns:dialog-info}"
    try:
        # the BLF key for slot 701 (a SUBSCRIBE without Accept)
        r, sub = w.subscribe("701", "dialog", expires=60)
        assert r.status == 200, r.raw_text()

        def lamp():
            n = w.notify_of(sub["call_id"])
            return ET.fromstring(n.body).findall(ns + "dialog")
        assert lamp() == []

        call, bd = a.established(b)
        a.refer(call, f"sip:700@{PS}")  # 100 transfers 101 to 700
        assert a.response("REFER").status == 202
        n = a.request("NOTIFY")
        a.answer(n, 200)
        frags = [n.body.decode().strip()]
        # 101 is re-INVITEd with the media engine's offer (the slot, then music)
        re_inv = b.request("INVITE", timeout=10)
        assert "m=audio" in re_inv.body.decode()
        b.answer(re_inv, 200, body=b.sdp(), tag=bd["tag"])
        while not any(f.startswith("SIP/2.0 2") for f in frags):
            n = a.request("NOTIFY", timeout=10)
            a.answer(n, 200)
            assert n.h("event").startswith("refer")
            frags.append(n.body.decode().strip())
        assert frags[-1].splitlines()[0] == "SIP/2.0 200 Parked at 701", frags
        a.answer(a.request("BYE"), 200)  # the transferor's part ends
        # 101 hears the media engine: the slot spoken, then music, not silence
        rms, n = heard(b, re_inv.body, 4)
        assert n >= 25 and rms > 100, (rms, n)
        (d,) = lamp()
        assert d.find(ns + "state").text == "confirmed"
        assert d.find(f"{ns}remote/{ns}identity").text == f"sip:101@{PS}"
        assert d.find(f"{ns}local/{ns}identity").text == f"sip:701@{PS}"
        # 102 retrieves it: 101 is re-INVITEd with 102's offer, 102 answered
        pick = c.call("701")
        re_inv = b.request("INVITE", timeout=10)
        b.answer(re_inv, 200, body=b.sdp(), tag=bd["tag"])
        r = c.final(pick, timeout=10)
        assert r.status == 200, r.raw_text()
        c.confirm(pick, r)
        (d2,) = lamp()
        assert d2.get("id") == d.get("id") and d2.find(ns + "state").text == "terminated"
        assert talking(srv, "101", "102")
        c.in_dialog(pick, "BYE")
        b.answer(b.request("BYE"), 200)
        assert c.response("BYE").status == 200
        # an empty slot: 404
        r = c.final(c.call("701"))
        assert r.status == 404, r.raw_text()
    finally:
        for p in (a, b, c, w):
            p.close()
        b.rtp.close()


def rms_of(path, start, end):
    """The RMS of a recording between start and end s."""
    return tone_in(path, 1000, start, end)[1]


def consult_700(s, p, parker):
    """parker (linphone) puts its call 1 on hold and dials 700: answered by
    the pbx, a slot reserved for this consultation call."""
    p.command("pause 1")
    wait_for(lambda: "paused" in p.stdout().lower(), 10, "the call on hold")
    p.command(f"call sip:700@{PS}")
    try:
        wait_for(lambda: any(c["caller"]["extension"] == parker and c["answer"]
                             and c["callee"]["extension"] == "700" for c in active(s)), 10,
                 "700 answering the parker")
    except AssertionError:
        print(active(s), s.log(20000), p.stdout())
        raise


def test_attended_park_with_linphone(srv, tmp_path):
    """101 (linphone) talks to 100, holds it, dials 700 (hears "parked at
    701"), and completes the attended transfer (REFER with Replaces naming
    the 700 call): 100 is parked at 701; 102 retrieves it, audio both ways."""
    from test_transfer import Linphone
    assert api(srv, "PUT", "/settings", {"park_timeout": 60}).status == 200
    b = Linphone(srv, "100", tmp_path, tone=TONES["100"], ps=PS)
    p = Linphone(srv, "101", tmp_path, tone=TONES["101"], ps=PS)
    c = Baresip(srv, "102", tmp_path, tone=TONES["102"], ps=PS)
    try:
        wait_for(lambda: {"100", "101", "102"} <= {
            x["extension"] for x in api(srv, "GET", "/registrations").json()["registrations"]},
            15, "the phones to register")
        b.command(f"call sip:101@{PS}")  # linphone answers by itself
        wait_for(lambda: talking(srv, "100", "101"), 10, "100 and 101 talking")
        consult_700(srv, p, "101")
        time.sleep(6)  # "The call is parked at seven zero one" (4 s), then silence
        assert not any(c["callee"]["extension"] == "701" for c in active(srv))
        p.command("transfer 1 --to-call 2")
        wait_for(lambda: any(c["callee"]["extension"] == "701" and c["caller"]["extension"] == "100"
                             for c in active(srv)), 10, "100 parked at 701")
        wait_for(lambda: len(active(srv)) == 1, 10, "the parker's calls to end")
        c.command("dial", f"sip:701@{PS}")
        wait_for(lambda: talking(srv, "100", "102"), 10, "102 retrieving 701")
        time.sleep(3)  # talk
        c.command("hangup")
        wait_for(lambda: not active(srv), 10, "the end")
    finally:
        for x in (b, p, c):
            x.stop()
    assert "Replaces=" in p.text() or "Replaces%3D" in p.text(), p.stdout()
    # the parker heard the slot spoken on its call to 700 (its recording
    # starts with it: sound, not 100's tone), then silence until the transfer
    b_tone, loud = tone_in(p.rec, TONES["100"], 1.0, 3.5)
    quiet = rms_of(p.rec, -1.2, -0.2)
    pure = loud * loud * 2.5 * wave.open(str(p.rec)).getframerate() / 2  # were it all 440 Hz
    assert loud > 1000 and b_tone < pure / 20 and quiet < loud / 4, (loud, b_tone / pure, quiet)
    ok, info = hears(c.decoded(), TONES["100"], TONES["102"], 0.5, 2.5)
    assert ok, ("102 hears 100", info)
    w = wave.open(str(b.rec))
    ok, info = hears(b.rec, TONES["102"], TONES["100"], -2.5, -0.7)
    assert ok, ("100 hears 102 after the retrieval", info, w.getnframes())
    recs = api(srv, "GET", "/calls").json()["calls"]
    consult = next(r for r in recs if r["caller"] == "101" and r["callee"] == "700")
    assert consult["cause"] == "parked", consult


def test_consultation_to_700_hung_up_frees_the_slot(srv, tmp_path):
    """101 holds 100, dials 700 (701 reserved: 102 dialling 701 finds nothing
    to retrieve) and hangs up: 101 and 100 are still in their call, and the
    next park (blind, this time) takes 701."""
    from test_transfer import Linphone
    assert api(srv, "PUT", "/settings", {"park_timeout": 60}).status == 200
    b = Linphone(srv, "100", tmp_path, ps=PS)
    p = Linphone(srv, "101", tmp_path, ps=PS)
    try:
        wait_for(lambda: {"100", "101"} <= {
            x["extension"] for x in api(srv, "GET", "/registrations").json()["registrations"]},
            15, "the phones to register")
        b.command(f"call sip:101@{PS}")
        wait_for(lambda: talking(srv, "100", "101"), 20, "100 and 101 talking")
        consult_700(srv, p, "101")
        q = sip_phone(srv, "102")
        try:
            r = q.final(q.call("701"))
            assert r.status == 404, r.raw_text()  # reserved, nothing parked yet
        finally:
            q.close()
        p.command("terminate 2")
        wait_for(lambda: not any(c["callee"]["extension"] == "700" for c in active(srv)), 10,
                 "the consultation call to end")
        assert talking(srv, "100", "101")
        # 701 is free again: 100 parked blind goes there, not to 702
        p.command(f"transfer 1 sip:700@{PS}")
        wait_for(lambda: any(c["callee"]["extension"] == "701" and c["caller"]["extension"] == "100"
                             for c in active(srv)), 10, "100 parked at 701")
        b.command("terminate")
        wait_for(lambda: not active(srv), 10, "the end")
    finally:
        for x in (b, p):
            x.stop()


def test_attended_park_by_invite_with_replaces(srv):
    """sipua phones: 101 dials 700 (701 reserved, the engine answers); an
    INVITE with Replaces naming that dialog (from 102, as a phone completing
    an attended transfer so) takes the slot: 102 is parked at 701, 101's
    call to 700 gets a BYE."""
    assert api(srv, "PUT", "/settings", {"park_timeout": 60}).status == 200
    p, x = sip_phone(srv, "101"), sip_phone(srv, "102")
    try:
        call = p.call("700")
        r = p.final(call, timeout=10)
        assert r.status == 200 and "m=audio" in r.body.decode(), r.raw_text()
        p.confirm(call, r)
        repl = f"Replaces: {call['call_id']};to-tag={tag_of(r.h('to'))};from-tag={call['tag']}\r\n"
        inv = x.call("700", extra=repl)
        r2 = x.final(inv, timeout=10)
        assert r2.status == 200 and "m=audio" in r2.body.decode(), r2.raw_text()
        x.confirm(inv, r2)
        bye = p.request("BYE", timeout=5)
        p.answer(bye, 200)
        wait_for(lambda: [c for c in active(srv) if c["callee"]["extension"] == "701"
                          and c["caller"]["extension"] == "102"]
                 and not [c for c in active(srv) if c["caller"]["extension"] == "101"],
                 5, "102 parked at 701, 101's call gone")
        x.in_dialog(inv, "BYE")
        assert x.response("BYE").status == 200
        wait_for(lambda: not active(srv), 5, "the end")
    finally:
        p.close()
        x.close()
