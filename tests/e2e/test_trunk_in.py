"""Calls in from the outside world (issue 18 points 4, 6, 8 and its "done
when"): the phone system registers its trunk at a real carrier (Debian's
Kamailio, tests/e2e/carrier.py, in a namespace of its own); an outside
party — a baresip at the carrier, plain RTP — calls the trunk's number;
the carrier sends the call to the registration; the phone system's
inbound number rings a baresip phone over TLS with SRTP, and each side
hears the other's tone (Goertzel on what each decoded). The phone sees
the caller's number in E.164 with its phonebook name; the call record
says inbound, the trunk and the number. A number the phone system does
not have gets 404; a peer trunk's carrier reaches it without registering."""
import os
import time

import pytest

from netns import netns_fixture
from pbxsetup import wait_for
from test_baresip import Baresip, tone_power
from test_trunk_out import CAR, INTERNAL, SRV, _world, add_trunk, hdr, papi

PREFIX = os.environ.get("ZENTRALE_NETNS_PREFIX_IN", "zi-")
OUTSIDE = "+4917012345"

netns = netns_fixture(PREFIX)


@pytest.fixture
def world(netns, tmp_path):
    for w in _world(netns, tmp_path):
        # baresip 1.0 (libre) gives up on a challenge set with SHA-256 in it
        r = papi(w["s"], w["tok"], "PUT", "/settings", {"digest_algorithms": ["MD5"]})
        assert r.status == 200, r
        yield w


def registered_trunk(w, **kw):
    tid = add_trunk(w, "carrier", "zentrale1", "trunk-pw-1", register=True,
                    register_interval=120, **kw)
    deadline = time.time() + 20
    while time.time() < deadline:
        st = papi(w["s"], w["tok"], "GET", f"/trunks/{tid}").json().get("status", {})
        if st.get("state") == "registered":
            return tid
        time.sleep(0.3)
    raise AssertionError((st, w["s"].log()[-3000:], w["c"].log_text()[-3000:]))


def inbound(w, tid, number="+4930123", target="201", **kw):
    body = {"trunk_id": tid, "number": number, "target_type": "extension", "target": target}
    body.update(kw)
    r = papi(w["s"], w["tok"], "POST", "/inbound-numbers", body)
    assert r.status == 201, r


def outside_party(w, tmp_path, tone=1000):
    """A baresip at the carrier: no registration, its calls go to the
    carrier's proxy, plain RTP."""
    return Baresip(w["s"], "900", tmp_path, tone=tone, netns=w["car"], listen=CAR,
                   account=f'<sip:{OUTSIDE}@carrier.test>;outbound="sip:{CAR}:5060";'
                           f"regint=0;audio_codecs=PCMU;answermode=auto\n")


def phone(w, tmp_path, tone=440):
    s = w["s"]
    return Baresip(s, "201", tmp_path, tone=tone, netns=w["srv"], ps="acme", listen=SRV,
                   account=f'<sip:201@acme>;auth_pass=alice-sip-pw-1;'
                           f'outbound="sip:{SRV}:{5061 + s.offset};transport=tls";'
                           "mediaenc=srtp-mand;answermode=auto;regint=600;"
                           "audio_codecs=PCMU\n")


def test_an_outside_call_rings_a_tls_srtp_phone_with_audio_both_ways(world, tmp_path):
    w = world
    w["c"].set_did("4930123", "zentrale1")
    tid = registered_trunk(w)
    inbound(w, tid)
    r = papi(w["s"], w["tok"], "POST", "/phonebook", {"name": "Erika Outside",
                                                      "number": OUTSIDE})
    assert r.status == 201, r
    bob = phone(w, tmp_path)
    out = outside_party(w, tmp_path)
    try:
        wait_for(lambda: any(x["extension"] == "201" for x in papi(
            w["s"], w["tok"], "GET", "/registrations").json()["registrations"]), 15,
            "the phone to register")
        out.command("dial", "sip:4930123@carrier.test")
        wait_for(lambda: "SRTP is Enabled" in bob.text(), 15, "the call at the phone, SRTP")
        time.sleep(4)  # talk
        out.command("hangup")
        wait_for(lambda: "terminated" in bob.text(), 10, "the hang-up")
    finally:
        bob.stop()
        out.stop()
    # the phone was told who calls: E.164 (the name is checked in the record)
    assert f"from sip:{OUTSIDE}@acme" in bob.text(), bob.text()[-3000:]
    for who, hears, own in ((bob, 1000, 440), (out, 440, 1000)):
        rec = who.decoded()
        assert rec, who.text()[-2000:]
        p_other, rms = tone_power(rec, hears)
        p_own, _ = tone_power(rec, own)
        assert rms > 500 and p_other > 20 * max(p_own, 1.0), (who.ext, p_other, p_own, rms)
    # the answer the carrier got names only the SBC's trunk socket, by the
    # trunk's key, and nothing of the inside
    ok = [m for m in w["c"].received() if m[0].startswith("SIP/2.0 200")
          and m[1].startswith(f"udp:{SRV}:") and "INVITE" in (hdr(m[2], "CSeq") or "")]
    assert ok and f"@{SRV}:{5062 + w['s'].offset}>" in hdr(ok[-1][2], "Contact"), ok
    for first, src, m in w["c"].received():
        if src.startswith(f"udp:{SRV}"):
            for bad in INTERNAL:
                assert bad not in m, (bad, m)
    rec = papi(w["s"], w["tok"], "GET", "/calls").json()["calls"][0]
    assert rec["direction"] == "inbound" and rec["trunk_id"] == tid, rec
    assert rec["external_number"] == OUTSIDE and rec["answered_by"] == "201", rec
    assert rec["caller"] == OUTSIDE and rec["caller_name"] == "Erika Outside", rec


def test_an_unknown_number_gets_404_and_a_peer_trunk_needs_no_registration(world, tmp_path):
    """A peer trunk (the carrier known by its address): its calls come
    without a registration; a number the phone system does not have is
    answered 404, and the trunk's default destination takes it once set."""
    w = world
    tid = add_trunk(w, "peer", "", "", kind="peer", domain="", peers=[f"{CAR}:5060"])
    inbound(w, tid)
    port = 5062 + w["s"].offset
    w["c"].set_dest("4930123", f"sip:+4930123@{SRV}:{port}")
    w["c"].set_dest("4930999", f"sip:+4930999@{SRV}:{port}")
    bob = phone(w, tmp_path)
    out = outside_party(w, tmp_path)
    try:
        wait_for(lambda: any(x["extension"] == "201" for x in papi(
            w["s"], w["tok"], "GET", "/registrations").json()["registrations"]), 15,
            "the phone to register")
        out.command("dial", "sip:4930999@carrier.test")
        wait_for(lambda: "404" in out.text(), 10, "the 404 for an unknown number")
        assert papi(w["s"], w["tok"], "PUT", f"/trunks/{tid}",
                    {"default_type": "extension", "default_target": "201"}).status == 200
        out.command("dial", "sip:4930999@carrier.test")
        wait_for(lambda: "SRTP is Enabled" in bob.text(), 15, "the default destination")
        out.command("hangup")
    finally:
        bob.stop()
        out.stop()
