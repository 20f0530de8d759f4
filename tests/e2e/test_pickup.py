"""Call pickup: *8 takes a call ringing in the caller's pickup group
(users.pickup_group), **<ext> the one ringing at ext — both with baresip
over TLS and SRTP through the SBC, audio checked both ways by tones after
the pickup — and an INVITE with Replaces naming the ringing (early) dialog,
as BLF keys send it (sipp). The call records: the ringing call ends
"picked_up", the picker's call is its own record, linked to it."""
import os
import subprocess
import time

import pytest

from pbxsetup import active, api, phone_system, phones, records, registered, talking, wait_for
from sipua import tag_of
from test_baresip import Baresip
from test_transfer import a_and_c_talk, hear_each_other

PS = "my-company"
TONES = {"100": 440, "101": 1000, "102": 1500}
SIPP = os.path.join(os.path.dirname(__file__), "sipp/pickup_replaces.xml")


@pytest.fixture(scope="module")
def srv():
    s = phone_system(PS, TONES, plain_sip=True)
    try:
        # 101 and 102 share a pickup group (set through the users API), 100 is in none
        for ext in ("101", "102"):
            r = api(s, "PUT", f"/users/{s.ids[ext]}", {"pickup_group": "sales"})
            assert r.status == 200 and r.json()["pickup_group"] == "sales", r
        r = api(s, "PUT", f"/users/{s.ids['100']}", {"pickup_group": "no spaces"})
        assert r.status == 400, r
    except BaseException:
        s.stop()
        raise
    yield s
    s.cleanup()


@pytest.mark.parametrize("code", ["*8", "**101"])
def test_pickup_by_code_with_audio(srv, tmp_path, code):
    a = Baresip(srv, "100", tmp_path, tone=TONES["100"])
    b = Baresip(srv, "101", tmp_path, tone=TONES["101"], answer="manual")
    c = Baresip(srv, "102", tmp_path, tone=TONES["102"])
    try:
        registered(srv, TONES)
        a.command("dial", f"sip:101@{PS}")
        wait_for(lambda: [x for x in active(srv) if x["state"] == "ringing"], 10, "B ringing")
        time.sleep(0.5)
        c.command("dial", f"sip:{code.replace('*', '%2A', 1)}@{PS}")  # one escaped, as some phones do
        wait_for(lambda: talking(srv, "100", "102"), 10, "A and C in one call")
        assert len(active(srv)) == 1  # B rings no more
        a_and_c_talk(srv, c, "the call to end")
    finally:
        for p in (a, b, c):
            p.stop()
    hear_each_other(a.decoded(), c.decoded())
    recs = records(srv)
    old = next(r for r in recs if r["caller"] == "100" and r["callee"] == "101")
    new = next(r for r in recs if r["caller"] == "102" and r["callee"] == "100")
    assert old["cause"] == "picked_up" and old["answered_by"] == "102", old
    assert new["linked_call_id"] == old["call_id"] and new["answer"], new


def test_star8_outside_the_group_finds_nothing(srv):
    with phones(srv, ("100", "101")) as (a, b):
        c = b.call("102")  # rings nobody: 102 is not registered here
        # 100 has no pickup group: *8 is no number for it
        p = a.call("*8")
        assert a.final(p).status == 404
        b.final(c)


def test_pickup_by_invite_with_replaces_of_the_early_dialog(srv, tmp_path):
    with phones(srv, ("100", "101")) as (a, b):
        call = a.call("101")
        inv = b.request("INVITE")
        bc = b.accept(inv)
        b.answer(inv, 180, tag=bc["tag"])
        assert a.response("INVITE").status == 180
        # the early dialog as the ringing phone knows it: the pbx's tag is From's
        replaces = f"{inv.h('call-id')};to-tag={tag_of(inv.h('from'))};from-tag={bc['tag']}"
        csv = tmp_path / "users.csv"
        csv.write_text(f"SEQUENTIAL\n102;unused;{PS}\n")
        sipp = subprocess.Popen(
            ["sipp", f"127.0.0.1:{5060 + srv.offset}", "-t", "t1", "-sf", SIPP, "-s", "102",
             "-m", "1", "-l", "1", "-nostdin", "-timeout", "20", "-au", "102",
             "-ap", f"{PS}-102-secret", "-key", "replaces", replaces, "-key", "ps", PS],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(tmp_path))
        # the ringing phone is cancelled
        b.answer(b.request("CANCEL"), 200)
        b.answer(inv, 487, tag=bc["tag"])
        # the caller is answered (by the pbx), then re-INVITEd with the picker's offer
        r = a.final(call)
        assert r.status == 200, r.raw_text()
        a.confirm(call, r)
        re_inv = a.request("INVITE")
        assert b"m=audio" in re_inv.body
        a.answer(re_inv, 200, body=a.sdp())
        a.request("ACK")
        bye = a.request("BYE", timeout=10)  # the picker hung up
        a.answer(bye, 200)
        out, _ = sipp.communicate(timeout=20)
        assert sipp.returncode == 0, out
    recs = records(srv)
    old = next(r for r in recs if r["call_id"] == inv.h("call-id") or
               (r["caller"] == "100" and r["callee"] == "101" and r["cause"] == "picked_up"))
    assert old["cause"] == "picked_up", old
    new = next(r for r in recs if r["caller"] == "102" and r["linked_call_id"])
    assert new["callee"] == "100" and new["answer"], new
