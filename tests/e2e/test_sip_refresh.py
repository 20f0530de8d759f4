"""A REGISTER that only refreshes a binding writes no row (pbx.db stays as
it was), and what the phone was told survives a kill -9; what changes a
binding (a longer expiry, a removal) is written. The rows are read with
Python's sqlite3, read-only, beside the running server."""
import re
import sqlite3
import time

import pytest

from conftest import Server, curl, sip_server
from sipclient import Client, digest, register

PW = "acme-100-secret"


@pytest.fixture
def sip():
    s = sip_server([("acme", "100")])
    yield s
    s.cleanup()


def rows(s):
    db = sqlite3.connect(f"file:{s.data}/phone-systems/acme/pbx.db?mode=ro", uri=True)
    try:
        return db.execute("SELECT contact, expires, cseq, updated FROM bindings "
                          "ORDER BY id").fetchall()
    finally:
        db.close()


def reg(c, cseq, expires, call_id="refresh-test"):
    """REGISTER at cseq (401), then with credentials at cseq+1: (status, headers)."""
    c.send(register(c, "100", "acme", cseq=cseq, expires=expires, call_id=call_id))
    st, hs, _, _ = c.recv()
    assert st == 401, (st, hs)
    c.send(register(c, "100", "acme", cseq=cseq + 1, expires=expires, call_id=call_id,
                    auth=digest(hs, "100", PW, "sip:acme")))
    st, hs, _, _ = c.recv()
    return st, hs


def granted(hs):
    return [int(re.search(r"expires=(\d+)", v).group(1)) for k, v in hs if k == "contact"]


def registrations(s, token):
    r = curl("GET", s.sbc("/acme/api/v1/registrations"), token=token)
    assert r.status == 200, r
    return r.json()["registrations"]


def test_a_refresh_writes_no_row_and_survives_kill_9(sip):
    c = Client("udp", 5060 + sip.offset)
    try:
        st, hs = reg(c, 1, 600)
        assert st == 200 and granted(hs) == [600]
        first = rows(sip)
        assert len(first) == 1 and first[0][2] == 2
        time.sleep(1.1)  # so that a rewrite would change `updated` and `expires` too
        st, hs = reg(c, 3, 600)
        assert st == 200
        # the row as it was: no new CSeq, expiry or time of update written ...
        assert rows(sip) == first
        # ... and the answer grants what the row holds, not more
        assert 450 <= granted(hs)[0] < 600
        # the CSeq the refresh brought is known all the same: an older request
        # of the same Call-ID (here: a removal) is out of order
        c.send(register(c, "100", "acme", cseq=3, expires=0, call_id="refresh-test"))
        st, hs, _, _ = c.recv()
        c.send(register(c, "100", "acme", cseq=4, expires=0, call_id="refresh-test",
                        auth=digest(hs, "100", PW, "sip:acme")))
        st, hs, _, _ = c.recv()
        assert st == 500, (st, hs)
        assert rows(sip) == first
        # asking for a much longer lifetime changes the binding: written
        st, hs = reg(c, 5, 3600)
        assert st == 200 and granted(hs) == [3600]
        now = rows(sip)
        assert len(now) == 1 and now[0][2] == 6 and now[0][1] > first[0][1] + 2000
    finally:
        c.close()
    token = sip.tokens["acme"]
    before = registrations(sip, token)
    assert [r["extension"] for r in before] == ["100"]
    sip.kill_tree()
    s2 = Server(data_dir=sip.data).start()
    try:
        assert s2.wait_state("acme", "running")
        tok2 = s2.pbx_token("acme", "acme-admin-pw")
        after = registrations(s2, tok2)
        assert [(r["extension"], r["contact"]) for r in after] == \
            [(r["extension"], r["contact"]) for r in before]
        assert after[0]["expires_in"] > 3000
    finally:
        s2.cleanup()


def test_a_removal_after_refreshes_is_written(sip):
    c = Client("udp", 5060 + sip.offset)
    try:
        assert reg(c, 1, 600, call_id="rm-test")[0] == 200
        assert reg(c, 3, 600, call_id="rm-test")[0] == 200
        assert len(rows(sip)) == 1
        st, hs = reg(c, 5, 0, call_id="rm-test")
        assert st == 200 and granted(hs) == []
        assert rows(sip) == []
    finally:
        c.close()
