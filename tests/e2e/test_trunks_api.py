"""Trunks in the phone-system API (/api/v1/trunks): an account at a carrier
that registers and a peer known by its addresses are created, listed,
changed and deleted; every field is validated all or nothing; the password
is write-only (never in an answer, kept by a PUT without it, in pbx.db in
clear so that backups carry it); a trunk's inbound numbers go with it; the
UI serves the Trunks page. (A user's token is refused: test_user_login
tries every route pbx_http.c dispatches.)"""
import os
import re
import sqlite3

import pytest

from conftest import curl, sip_server
from pbxsetup import api

ACCOUNT = {"name": "carrier-a", "kind": "register", "domain": "sip.carrier.example",
           "proxy": "198.51.100.7:5070", "transport": "udp", "username": "4930123",
           "auth_username": "a-4930123", "password": "trunk-secret-1", "register_interval": 300,
           "codecs": ["PCMA", "PCMU"], "dtmf": "rfc4733", "number_format": "e164",
           "caller_id": "+4930123", "cid_header": "pai"}
PEER = {"name": "peer-b", "kind": "peer", "peers": ["203.0.113.5", "[2001:db8::5]:5060"],
        "transport": "tcp", "number_format": "national", "cid_header": "from",
        "dtmf": "info"}


@pytest.fixture(scope="module")
def srv():
    s = sip_server([("trunk-co", "100")], voicemail=False)
    yield s
    s.cleanup()


def no_password(obj):
    assert "trunk-secret" not in str(obj)
    assert "password" not in obj


def test_create_list_change_and_delete(srv):
    r = api(srv, "POST", "/trunks", ACCOUNT)
    assert r.status == 201, r
    a = r.json()
    no_password(a)
    assert a["password_set"] is True and a["enabled"] is True and a["register"] is True
    assert {k: a[k] for k in ACCOUNT if k != "password"} == \
        {k: v for k, v in ACCOUNT.items() if k != "password"}
    r = api(srv, "POST", "/trunks", PEER)
    assert r.status == 201, r
    b = r.json()
    assert b["password_set"] is False and b["peers"] == PEER["peers"]
    listed = api(srv, "GET", "/trunks").json()["trunks"]
    assert [t["name"] for t in listed] == ["carrier-a", "peer-b"]
    for t in listed:
        no_password(t)
    # a PUT changes what it names and keeps the rest, the password too
    r = api(srv, "PUT", f"/trunks/{a['id']}", {"transport": "tls", "enabled": False})
    assert r.status == 200, r
    got = api(srv, "GET", f"/trunks/{a['id']}").json()
    assert got["transport"] == "tls" and got["enabled"] is False
    assert got["domain"] == ACCOUNT["domain"] and got["password_set"] is True
    db = sqlite3.connect(os.path.join(srv.data, "phone-systems/trunk-co/pbx.db"))
    assert db.execute("SELECT password FROM trunks WHERE id=?", (a["id"],)).fetchone() == \
        ("trunk-secret-1",)
    # what GET shows can be sent back as it is
    assert api(srv, "PUT", f"/trunks/{a['id']}", got).status == 200
    assert db.execute("SELECT password FROM trunks WHERE id=?", (a["id"],)).fetchone() == \
        ("trunk-secret-1",)
    r = api(srv, "PUT", f"/trunks/{a['id']}", {"password": "trunk-secret-2"})
    assert r.status == 200 and r.json()["password_set"] is True
    no_password(r.json())
    assert db.execute("SELECT password FROM trunks WHERE id=?", (a["id"],)).fetchone() == \
        ("trunk-secret-2",)
    # its inbound numbers go with a deleted trunk
    db.execute("INSERT INTO trunk_numbers(trunk_id, number, target_type, target, created) "
               "VALUES(?, '+4930123', 'extension', '100', 0)", (b["id"],))
    db.commit()
    assert api(srv, "DELETE", f"/trunks/{b['id']}").status == 200
    assert api(srv, "GET", f"/trunks/{b['id']}").status == 404
    assert api(srv, "DELETE", f"/trunks/{b['id']}").status == 404
    assert db.execute("SELECT count(*) FROM trunk_numbers").fetchone() == (0,)
    db.close()
    assert api(srv, "DELETE", f"/trunks/{a['id']}").status == 200
    assert api(srv, "GET", "/trunks").json()["trunks"] == []


BAD = [
    ({"kind": "gateway"}, "kind"),
    ({"domain": ""}, "domain"),
    ({"domain": "sip carrier"}, "domain"),
    ({"domain": "sip.carrier.example:70000"}, "domain"),
    ({"proxy": "sip:proxy.example"}, "proxy"),
    ({"transport": "sctp"}, "transport"),
    ({"username": ""}, "username"),
    ({"username": "a b"}, "username"),
    ({"password": ""}, "password"),
    ({"password": "x\r\ny"}, "password"),
    ({"register_interval": 30}, "register_interval"),
    ({"register_interval": "600"}, "register_interval"),
    ({"peers": ["ok.example", "not ok"]}, "peers"),
    ({"peers": [f"10.0.0.{i}" for i in range(9)]}, "peers"),
    ({"codecs": ["G729"]}, "codecs"),
    ({"codecs": ["PCMA", "PCMA"]}, "codecs"),
    ({"dtmf": "inband"}, "dtmf"),
    ({"number_format": "local"}, "number_format"),
    ({"caller_id": "030123"}, "caller_id"),
    ({"cid_header": "rpid"}, "cid_header"),
    ({"srtp": "yes"}, "srtp"),
    ({"interface": "eth0/1"}, "interface"),
    ({"default_type": "ivr"}, "default_type"),
    ({"default_type": "extension", "default_target": "999"}, "default_target"),
    ({"default_target": "100"}, "default_target"),
    ({"name": ""}, "name"),
    ({"colour": "red"}, "unknown key"),
]


@pytest.mark.parametrize("change,word", BAD, ids=[w + str(i) for i, (_, w) in enumerate(BAD)])
def test_a_bad_field_is_refused_and_nothing_is_written(srv, change, word):
    body = {**ACCOUNT, "name": "bad-one", **change}
    r = api(srv, "POST", "/trunks", body)
    assert r.status == 400 and word in r.json()["error"], r
    assert all(t["name"] != "bad-one" for t in api(srv, "GET", "/trunks").json()["trunks"])


def test_peers_need_an_address_and_names_are_unique(srv):
    r = api(srv, "POST", "/trunks", {"name": "lonely", "kind": "peer"})
    assert r.status == 400 and "peers" in r.json()["error"], r
    r = api(srv, "POST", "/trunks", {**ACCOUNT, "name": "twice"})
    assert r.status == 201, r
    r = api(srv, "POST", "/trunks", {**ACCOUNT, "name": "twice"})
    assert r.status == 409, r
    # a default destination that exists is taken
    r = api(srv, "PUT", f"/trunks/{api(srv, 'GET', '/trunks').json()['trunks'][0]['id']}",
            {"default_type": "extension", "default_target": "100"})
    assert r.status == 200 and r.json()["default_target"] == "100", r
    assert api(srv, "GET", "/trunks/0").status == 404
    assert api(srv, "GET", "/trunks/x").status == 404
    assert api(srv, "PATCH", "/trunks").status == 405


def test_without_a_session_nothing_is_shown(srv):
    assert curl("GET", srv.sbc("/trunk-co/api/v1/trunks")).status == 401


def test_the_ui_serves_the_trunks_page(srv):
    r = curl("GET", srv.sbc("/trunk-co/ui/pbx/trunks.js"))
    assert r.status == 200 and "export async function trunks" in r.text
    assert "trunks.js" in curl("GET", srv.sbc("/trunk-co/ui/pbx/app.js")).text


def test_trunks_page_in_the_browser(srv):
    """tests/browser/trunks.mjs: create a carrier account with the mouse,
    edit it (the password kept), the list in German, delete it."""
    from test_ui import run_browser
    srv.create_ps("trunk-ui", "trunk-ui-admin-pw")
    run_browser("trunks.mjs", srv, ZT_PS="trunk-ui", ZT_PS_PW="trunk-ui-admin-pw")


def test_a_change_reaches_the_sbc_at_once(srv):
    """Each change through the API is announced to the SBC (IPC_TRUNKS ->
    state -> the SBC's trunk table): its count follows without a restart."""
    import time

    def sbc_count(n, timeout=10):
        """The SBC's last word on its table is that it has n trunks."""
        end = time.time() + timeout
        while time.time() < end:
            said = re.findall(r"sbc: info: (\d+) trunks?$", srv.log(tail=None), re.M)
            if said and int(said[-1]) == n:
                return True
            time.sleep(0.2)
        return False

    for t in api(srv, "GET", "/trunks").json()["trunks"]:
        assert api(srv, "DELETE", f"/trunks/{t['id']}").status == 200
    r = api(srv, "POST", "/trunks", {**PEER, "name": "announced", "peers": ["203.0.113.9"]})
    assert r.status == 201, r
    assert sbc_count(1), srv.log()
    assert api(srv, "PUT", f"/trunks/{r.json()['id']}", {"enabled": False}).status == 200
    assert sbc_count(0), srv.log()
    assert api(srv, "PUT", f"/trunks/{r.json()['id']}", {"enabled": True}).status == 200
    assert sbc_count(1), srv.log()
    assert api(srv, "DELETE", f"/trunks/{r.json()['id']}").status == 200
    assert sbc_count(0), srv.log()


def test_a_trunk_an_outbound_route_uses_is_not_deleted(srv):
    t = api(srv, "POST", "/trunks", {**PEER, "name": "routed"}).json()
    r = api(srv, "POST", "/outbound-routes", {"name": "out", "patterns": ["0."],
                                               "trunks": [t["id"]]})
    assert r.status == 201, r
    d = api(srv, "DELETE", f"/trunks/{t['id']}")
    assert d.status == 409 and "out" in d.json()["error"], d
    assert api(srv, "GET", f"/trunks/{t['id']}").status == 200
    assert api(srv, "DELETE", f"/outbound-routes/{r.json()['id']}").status == 200
    assert api(srv, "DELETE", f"/trunks/{t['id']}").status == 200
