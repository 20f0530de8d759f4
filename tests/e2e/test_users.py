"""Users and extensions of a phone system, through its API behind the SBC."""
import hashlib
import os
import sqlite3

import pytest

from conftest import Server, curl


@pytest.fixture(scope="module")
def pbx():
    s = Server().start()
    s.create_ps("acme", "acme-admin-pw")
    s.create_ps("globex", "globex-admin-pw")
    s.tokens = {n: s.pbx_token(n, f"{n}-admin-pw") for n in ("acme", "globex")}
    yield s
    s.cleanup()


def api(s, ps, method, path, body=None, token=None):
    return curl(method, s.sbc(f"/{ps}/api/v1{path}"), body,
                token=token if token is not None else s.tokens[ps])


def test_create_list_update_delete(pbx):
    r = api(pbx, "acme", "POST", "/users", {"display_name": "Alice Example", "extension": "100",
                                            "sip_password": "alice-sip-password"})
    assert r.status == 201, r
    alice = r.json()
    assert alice["sip_username"] == "100" and alice["enabled"] is True
    assert alice["sip_password"] == "alice-sip-password"  # echoed once, at creation
    # a generated password when none is given: strong, shown once
    r = api(pbx, "acme", "POST", "/users", {"display_name": "Bob", "extension": "101",
                                            "sip_username": "bob"})
    assert r.status == 201
    bob = r.json()
    assert len(bob["sip_password"]) >= 20
    got = api(pbx, "acme", "GET", f"/users/{bob['id']}").json()
    assert "sip_password" not in got and "ha1_md5" not in got
    users = api(pbx, "acme", "GET", "/users").json()["users"]
    assert [u["extension"] for u in users] == ["100", "101"]
    # search by name, extension or username
    assert [u["display_name"] for u in
            api(pbx, "acme", "GET", "/users?search=ali").json()["users"]] == ["Alice Example"]
    assert len(api(pbx, "acme", "GET", "/users?search=101").json()["users"]) == 1
    # update: name, extension, disabled
    r = api(pbx, "acme", "PUT", f"/users/{bob['id']}",
            {"display_name": "Bob B.", "extension": "102", "enabled": False})
    assert r.status == 200 and r.json()["extension"] == "102" and r.json()["enabled"] is False
    r = api(pbx, "acme", "DELETE", f"/users/{bob['id']}")
    assert r.status == 200
    assert api(pbx, "acme", "GET", f"/users/{bob['id']}").status == 404
    assert api(pbx, "acme", "DELETE", f"/users/{bob['id']}").status == 404


def test_unique_within_a_phone_system_only(pbx):
    body = {"display_name": "Carol", "extension": "200", "sip_password": "carol-sip-password"}
    assert api(pbx, "acme", "POST", "/users", body).status == 201
    r = api(pbx, "acme", "POST", "/users", dict(body, sip_username="carol2"))
    assert r.status == 409 and "extension" in r.json()["error"]
    r = api(pbx, "acme", "POST", "/users", dict(body, extension="201", sip_username="200"))
    assert r.status == 409 and "SIP username" in r.json()["error"]
    # another phone system may have its own 200
    assert api(pbx, "globex", "POST", "/users", body).status == 201


def test_credentials_stored_only_as_ha1(pbx):
    r = api(pbx, "acme", "POST", "/users", {"display_name": "Dave", "extension": "300",
                                            "sip_username": "dave",
                                            "sip_password": "dave-secret-pw-1"})
    assert r.status == 201
    path = os.path.join(pbx.data, "phone-systems/acme/pbx.db")
    db = sqlite3.connect(path)
    md5, sha = db.execute("SELECT ha1_md5, ha1_sha256 FROM users WHERE sip_username='dave'"
                          ).fetchone()
    assert md5 == hashlib.md5(b"dave:acme:dave-secret-pw-1").hexdigest()
    assert sha == hashlib.sha256(b"dave:acme:dave-secret-pw-1").hexdigest()
    db.close()
    for f in ("pbx.db", "pbx.db-wal"):
        p = os.path.join(pbx.data, "phone-systems/acme", f)
        if os.path.exists(p):
            assert b"dave-secret-pw-1" not in open(p, "rb").read()
    # a new password replaces both digests; a new username needs a new password
    uid = r.json()["id"]
    r = api(pbx, "acme", "PATCH", f"/users/{uid}", {"sip_username": "david"})
    assert r.status == 400 and "sip_password" in r.json()["error"]
    r = api(pbx, "acme", "PATCH", f"/users/{uid}", {"sip_username": "david",
                                                    "sip_password": "david-secret-pw-2"})
    assert r.status == 200 and r.json()["sip_username"] == "david"
    db = sqlite3.connect(path)
    (md5,) = db.execute("SELECT ha1_md5 FROM users WHERE id=?", (uid,)).fetchone()
    assert md5 == hashlib.md5(b"david:acme:david-secret-pw-2").hexdigest()


@pytest.mark.parametrize("body,word", [
    ({"display_name": "X", "extension": "abc"}, "extension"),
    ({"display_name": "X", "extension": ""}, "extension"),
    ({"display_name": "X", "extension": "1234567890123456"}, "extension"),
    ({"display_name": "", "extension": "400"}, "display_name"),
    ({"display_name": "a\u0007b", "extension": "400"}, "control"),
    ({"display_name": "X", "extension": "400", "sip_username": "no spaces"}, "sip_username"),
    ({"display_name": "X", "extension": "400", "sip_password": "short"}, "12 characters"),
    ({"display_name": "X", "extension": 400}, "strings"),
    ({"display_name": "X", "extension": "400", "enabled": "yes"}, "enabled"),
])
def test_validation(pbx, body, word):
    r = api(pbx, "acme", "POST", "/users", body)
    assert r.status == 400 and word in r.json()["error"], r


def test_needs_the_phone_systems_own_token(pbx):
    assert api(pbx, "acme", "GET", "/users", token="").status == 401
    assert api(pbx, "acme", "GET", "/users", token=pbx.tokens["globex"]).status == 401
    assert api(pbx, "acme", "GET", "/users", token=pbx.token()).status == 401
    assert api(pbx, "acme", "GET", "/users/abc").status == 404


def test_names_are_escaped_in_json(pbx):
    r = api(pbx, "acme", "POST", "/users", {"display_name": "<script>alert(1)</script> \"q\"",
                                            "extension": "500"})
    assert r.status == 201
    assert r.json()["display_name"] == "<script>alert(1)</script> \"q\""


def test_park_codes_are_no_extension(pbx):
    """700 parks and 701-720 are its slots: no user may have one of them."""
    for ext in ("700", "705", "720"):
        r = api(pbx, "acme", "POST", "/users", {"display_name": "Parker", "extension": ext})
        assert r.status == 409 and "park" in r.json()["error"], (ext, r)
    r = api(pbx, "acme", "POST", "/users", {"display_name": "Parker", "extension": "721"})
    assert r.status == 201, r
    r = api(pbx, "acme", "PUT", f"/users/{r.json()['id']}", {"extension": "701"})
    assert r.status == 409, r


def test_registrations_listed_from_bindings(pbx):
    """Bindings (written by the registrar) appear in the API; expired ones do not."""
    r = api(pbx, "globex", "POST", "/users", {"display_name": "Eve", "extension": "750",
                                              "sip_username": "eve"})
    uid = r.json()["id"]
    assert api(pbx, "globex", "GET", "/registrations").json() == {"registrations": []}
    db = sqlite3.connect(os.path.join(pbx.data, "phone-systems/globex/pbx.db"))
    db.execute("INSERT INTO bindings(user_id,contact,expires,call_id,cseq,source,user_agent,"
               "updated) VALUES(?, 'sip:eve@192.0.2.7:5060', strftime('%s','now')+600, 'c', 1,"
               " 'tls 192.0.2.7:50000', 'Phone/1.0', strftime('%s','now'))", (uid,))
    db.execute("INSERT INTO bindings(user_id,contact,expires,call_id,cseq,updated) "
               "VALUES(?, 'sip:eve@192.0.2.8', strftime('%s','now')-1, 'c', 1, 0)", (uid,))
    db.commit()
    db.close()
    regs = api(pbx, "globex", "GET", "/registrations").json()["registrations"]
    assert len(regs) == 1
    assert regs[0]["extension"] == "750" and regs[0]["user_agent"] == "Phone/1.0"
    assert 590 <= regs[0]["expires_in"] <= 600
    assert api(pbx, "globex", "GET", "/registrations", token="").status == 401
    # deleting the user removes its devices
    assert api(pbx, "globex", "DELETE", f"/users/{uid}").status == 200
    assert api(pbx, "globex", "GET", "/registrations").json() == {"registrations": []}
