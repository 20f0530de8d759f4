"""Users' own logins to their phone system (issue 17, point 1): a user logs in
with their extension or SIP username and their own password (never the SIP
one); their session reaches only /api/v1/me and their own data there; every
other route of pbx_http.c answers a user's token 403 (the routes are read
from the code, so a new admin route without the check fails here)."""
import os
import re
import sqlite3
import subprocess
import time

import pytest

from conftest import BIN, ROOT, Server, curl

HERE = os.path.dirname(os.path.abspath(__file__))
PBX_HTTP = os.path.join(HERE, "..", "..", "src", "pbx", "pbx_http.c")
# the routes a user's session may use; every other one is the administrator's
USER_ROUTES = {"/api/v1/login", "/api/v1/logout", "/api/v1/session", "/api/v1/password",
               "/api/v1/me"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
A_PW, B_PW = "alice-login-pw-1", "bob-login-pw-22"


@pytest.fixture(scope="module")
def ps():
    s = Server().start()
    s.create_ps("acme", "acme-admin-pw")
    s.admin = s.pbx_token("acme", "acme-admin-pw")
    users = {}
    for key, ext, sip, pw in (("a", "201", "alice", A_PW), ("b", "202", "bob", B_PW),
                              ("c", "203", "carol", None)):
        body = {"display_name": key.upper() + " User", "extension": ext, "sip_username": sip,
                "sip_password": f"{sip}-sip-password"}
        if pw:
            body["login_password"] = pw
        r = api(s, "POST", "/users", body, s.admin)
        assert r.status == 201, r
        assert r.json()["login"] is bool(pw)
        users[key] = r.json()
    s.users = users
    s.db = f"{s.data}/phone-systems/acme/pbx.db"
    s.tok = {"a": login(s, "201", A_PW).json()["token"],
             "b": login(s, "bob", B_PW).json()["token"]}
    yield s
    s.cleanup()


def api(s, method, path, body=None, token=None, **kw):
    return curl(method, s.sbc(f"/acme/api/v1{path}"), body, token=token, **kw)


def login(s, name, pw):
    return curl("POST", s.sbc("/acme/api/v1/login"), {"username": name, "password": pw})


def routes():
    """Every API route pbx_http.c dispatches (string literals "/api/v1/...")."""
    src = open(PBX_HTTP).read()
    found = set(re.findall(r'"(/api/v1/[a-z/]*)"', src))
    assert {"/api/v1/users", "/api/v1/calls", "/api/v1/me"} <= found, found
    return sorted(found)


def db_exec(s, sql, args=()):
    con = sqlite3.connect(s.db, timeout=10)
    try:
        cur = con.execute(sql, args)
        con.commit()
        return cur.lastrowid
    finally:
        con.close()


def test_login_by_extension_or_sip_name_never_the_sip_password(ps):
    r = login(ps, "201", A_PW)
    assert r.status == 200 and r.json()["role"] == "user", r
    assert r.json()["username"] == f"user:{ps.users['a']['id']}"
    assert login(ps, "alice", A_PW).status == 200
    s = api(ps, "GET", "/session", token=r.json()["token"]).json()
    assert s["logged_in"] and s["role"] == "user"
    assert api(ps, "GET", "/session", token=ps.admin).json()["role"] == "admin"
    # the SIP password is no login; a user without a login has none
    assert login(ps, "201", "alice-sip-password").status == 401
    assert login(ps, "203", "carol-sip-password").status == 401
    # wrong password and unknown user: the same answer
    wrong, unknown = login(ps, "202", "not-bobs-password"), login(ps, "299", "whatever-pw-1")
    assert wrong.status == unknown.status == 401
    assert wrong.text == unknown.text
    # the admin's rules for a password hold for a login password
    r = api(ps, "PUT", f"/users/{ps.users['c']['id']}", {"login_password": "short"}, ps.admin)
    assert r.status == 400 and "password" in r.text


def test_every_admin_route_refuses_a_user(ps):
    a, b = ps.users["a"]["id"], ps.users["b"]["id"]
    tried = 0
    for route in routes():
        if route in USER_ROUTES:
            continue
        for path in (route, f"{route}/{a}", f"{route}/{b}", f"{route}/{b}/settings",
                     f"{route}/{b}/forwarding", f"{route}/{b}/greeting", f"{route}/{b}/1"):
            # a path that is no route at all may say so (404): only if the
            # administrator is told the same
            missing = path != route and api(ps, "GET", path, token=ps.admin).status == 404
            for m in METHODS:
                r = curl(m, ps.sbc("/acme" + path), {"enabled": True}, token=ps.tok["a"])
                assert r.status == 403 or (missing and r.status == 404), (m, path, r)
                tried += 1
    assert tried >= 9 * 7 * len(METHODS)
    # the administrator still reaches them
    for path in ("/users", "/registrations", "/calls", "/calls/active", "/settings", "/status",
                 "/prompts", "/smtp", f"/voicemail/{b}", f"/users/{b}"):
        assert api(ps, "GET", path, token=ps.admin).status == 200, path
    # and has no /me
    assert api(ps, "GET", "/me", token=ps.admin).status == 403
    assert api(ps, "GET", "/me").status == 401


def test_me_shows_only_the_users_own_data(ps):
    a, b = ps.users["a"], ps.users["b"]
    r = api(ps, "GET", "/me", token=ps.tok["a"])
    assert r.status == 200, r
    me = r.json()
    assert (me["id"], me["extension"], me["sip_username"]) == (a["id"], "201", "alice")
    now = int(time.time())
    for i, (caller, callee, answered) in enumerate(
            (("201", "202", "202"), ("202", "203", "203"), ("203", "201", ""),
             ("203", "600", "201"), ("202", "203", ""))):
        db_exec(ps, "INSERT INTO cdrs(call_id,caller,callee,start,answer,end,cause,status,"
                "answered_by) VALUES(?,?,?,?,?,?,?,?,?)",
                (f"c{i}@t", caller, callee, now, now if answered else None, now + 5,
                 "normal", 200, answered))
    calls = api(ps, "GET", "/me/calls", token=ps.tok["a"]).json()["calls"]
    assert sorted(c["call_id"] for c in calls) == ["c0@t", "c2@t", "c3@t"]
    calls = api(ps, "GET", "/me/calls", token=ps.tok["b"]).json()["calls"]
    assert sorted(c["call_id"] for c in calls) == ["c0@t", "c1@t", "c4@t"]
    # devices: the user's registrations only
    for uid, contact in ((a["id"], "sip:alice@192.0.2.1:5060"), (b["id"], "sip:bob@192.0.2.2")):
        db_exec(ps, "INSERT INTO bindings(user_id,contact,expires,call_id,cseq,updated) "
                "VALUES(?,?,?,?,?,?)", (uid, contact, now + 3600, f"reg-{uid}", 1, now))
    devs = api(ps, "GET", "/me/devices", token=ps.tok["a"]).json()["devices"]
    assert [d["contact"] for d in devs] == ["sip:alice@192.0.2.1:5060"]
    # softphone settings: never a SIP secret
    r = api(ps, "GET", "/me/softphone", token=ps.tok["a"])
    sp = r.json()
    assert sp["domain"] == "acme" and sp["sip_username"] == "alice" and sp["tls_port"]
    assert "ha1" not in r.text and "alice-sip-password" not in r.text
    # voicemail: own messages; another user's message ids are not found
    mine = db_exec(ps, "INSERT INTO voicemails(user_id,caller,received,duration_ms) "
                   "VALUES(?,?,?,?)", (a["id"], "202", now, 1000))
    theirs = db_exec(ps, "INSERT INTO voicemails(user_id,caller,received,duration_ms) "
                     "VALUES(?,?,?,?)", (b["id"], "201", now, 1000))
    for m in (mine, theirs):
        db_exec(ps, "INSERT INTO voicemail_audio(message_id,wav) VALUES(?,?)", (m, b"RIFF"))
    r = api(ps, "GET", "/me/voicemail", token=ps.tok["a"])
    assert r.status == 200 and [m["id"] for m in r.json()["messages"]] == [mine], r
    assert api(ps, "GET", f"/me/voicemail/{mine}.wav", token=ps.tok["a"]).status == 200
    for m, path, body in (("GET", f"/me/voicemail/{theirs}.wav", None),
                          ("PATCH", f"/me/voicemail/{theirs}", {"heard": True}),
                          ("DELETE", f"/me/voicemail/{theirs}", None)):
        assert api(ps, m, path, body, token=ps.tok["a"]).status == 404, path
    r = api(ps, "PATCH", f"/me/voicemail/{mine}", {"heard": True}, token=ps.tok["a"])
    assert r.status == 200, r
    assert api(ps, "GET", "/me/voicemail/settings", token=ps.tok["a"]).status == 200
    assert api(ps, "DELETE", f"/me/voicemail/{mine}", token=ps.tok["a"]).status == 200
    # B's message is untouched
    vm = api(ps, "GET", f"/voicemail/{b['id']}", token=ps.admin).json()["messages"]
    assert [(m["id"], m["heard"]) for m in vm] == [(theirs, False)]
    assert api(ps, "GET", "/me/nothing", token=ps.tok["a"]).status == 404


def test_forwarding_own_and_by_the_admin(ps):
    a, b = ps.users["a"]["id"], ps.users["b"]["id"]
    r = api(ps, "GET", "/me/forwarding", token=ps.tok["a"])
    assert r.status == 200 and "dnd" in r.json(), r
    r = api(ps, "PUT", "/me/forwarding", {"dnd": True, "forwards": {"busy": {
        "enabled": True, "target_type": "extension", "target": "202"}}}, token=ps.tok["a"])
    assert r.status == 200, r
    got = api(ps, "GET", f"/users/{a}/forwarding", token=ps.admin).json()
    assert got["dnd"] is True and got["forwards"]["busy"]["target"] == "202"
    # B's is not A's
    assert api(ps, "GET", "/me/forwarding", token=ps.tok["b"]).json()["dnd"] is False
    r = api(ps, "PUT", f"/users/{b}/forwarding", {"call_waiting": False}, ps.admin)
    assert r.status == 200 and r.json()["call_waiting"] is False
    assert api(ps, "GET", "/me/forwarding", token=ps.tok["b"]).json()["call_waiting"] is False
    assert api(ps, "PUT", "/me/forwarding", {"bogus": 1}, token=ps.tok["a"]).status == 400
    assert api(ps, "GET", "/users/99999/forwarding", token=ps.admin).status == 404


def test_own_password_change(ps):
    first = ps.tok["b"]
    second = login(ps, "202", B_PW).json()["token"]
    r = api(ps, "PUT", "/password", {"current_password": "wrong-wrong-1",
                                     "new_password": "bob-new-login-pw"}, token=second)
    assert r.status == 403
    r = api(ps, "PUT", "/password", {"current_password": B_PW,
                                     "new_password": "bob-new-login-pw"}, token=second)
    assert r.status == 200, r
    assert login(ps, "202", B_PW).status == 401
    assert login(ps, "202", "bob-new-login-pw").status == 200
    # the other session ended, this one goes on
    assert api(ps, "GET", "/me", token=first).status == 401
    assert api(ps, "GET", "/me", token=second).status == 200
    ps.tok["b"] = second


def test_user_view_in_the_browser(ps):
    """tests/browser/user_view.mjs: A logs in, forwards with the mouse; the
    admin's API then shows it; the page reaches no admin data."""
    a, b = ps.users["a"]["id"], ps.users["b"]["id"]
    # what the page must show first (and the mouse then switch off)
    assert api(ps, "PUT", f"/users/{a}/forwarding", {"dnd": True}, ps.admin).status == 200
    assert api(ps, "PUT", f"/users/{b}/forwarding", {"dnd": False}, ps.admin).status == 200
    e = dict(os.environ, ZT_SBC_URL=f"https://{ps.host}:{ps.sbc_port}", ZT_PS="acme",
             ZT_USER_EXT="201", ZT_USER_PW=A_PW, ZT_OTHER_ID=str(b), ZT_TARGET="203",
             ZT_PS_PW="acme-admin-pw", ZT_NOLOGIN_ID=str(ps.users["c"]["id"]),
             ZT_SCREENSHOTS=os.path.join(os.path.dirname(BIN), "screenshots"))
    p = subprocess.run(["node", "user_view.mjs"], cwd=os.path.join(ROOT, "tests", "browser"),
                       env=e, capture_output=True, text=True, timeout=120)
    print(p.stdout, p.stderr)
    assert p.returncode == 0 and p.stdout.rstrip().endswith("PASS"), p.stdout + p.stderr
    f = api(ps, "GET", f"/users/{a}/forwarding", token=ps.admin).json()
    assert f["dnd"] is False
    assert f["forwards"]["always"] == {"enabled": True, "target_type": "extension",
                                       "target": "203"}
    # the administrator's changes in the browser
    assert api(ps, "GET", f"/users/{b}/forwarding", token=ps.admin).json()["dnd"] is True
    r = login(ps, "203", "carol-login-pw-1")
    assert r.status == 200 and r.json()["role"] == "user", r


def test_disable_clear_delete_end_sessions(ps):
    r = api(ps, "POST", "/users", {"display_name": "Dave", "extension": "204",
                                   "login_password": "dave-login-pw-1"}, ps.admin)
    assert r.status == 201, r
    d = r.json()["id"]
    tok = login(ps, "204", "dave-login-pw-1").json()["token"]
    assert api(ps, "GET", "/me", token=tok).status == 200
    assert api(ps, "PUT", f"/users/{d}", {"enabled": False}, ps.admin).status == 200
    assert api(ps, "GET", "/me", token=tok).status == 401
    assert login(ps, "204", "dave-login-pw-1").status == 401
    assert api(ps, "PUT", f"/users/{d}", {"enabled": True}, ps.admin).status == 200
    tok = login(ps, "204", "dave-login-pw-1").json()["token"]
    # a new password set by the admin ends the sessions; "" ends the login
    assert api(ps, "PUT", f"/users/{d}", {"login_password": "dave-login-pw-2"},
               ps.admin).json()["login"] is True
    assert api(ps, "GET", "/me", token=tok).status == 401
    tok = login(ps, "204", "dave-login-pw-2").json()["token"]
    r = api(ps, "PUT", f"/users/{d}", {"login_password": ""}, ps.admin)
    assert r.status == 200 and r.json()["login"] is False
    assert api(ps, "GET", "/me", token=tok).status == 401
    assert login(ps, "204", "dave-login-pw-2").status == 401
    assert api(ps, "PUT", f"/users/{d}", {"login_password": "dave-login-pw-3"},
               ps.admin).status == 200
    tok = login(ps, "204", "dave-login-pw-3").json()["token"]
    assert api(ps, "DELETE", f"/users/{d}", token=ps.admin).status == 200
    assert api(ps, "GET", "/me", token=tok).status == 401
    assert login(ps, "204", "dave-login-pw-3").status == 401
    assert ps.sanitizer_reports() == []


def test_user_logins_are_throttled_as_the_admins(ps):
    """Last in this file: it blocks 127.0.0.1's logins for minutes."""
    # the failures of the tests before count too: blocked within 10 more
    answers = [login(ps, "201", "not-the-password").status for _ in range(10)]
    assert set(answers) <= {401, 429} and answers[-1] == 429, answers
    r = login(ps, "201", A_PW)
    assert r.status == 429 and "Retry-After" in r.headers, r
    assert login(ps, "299", "whatever-pw-1").status == 429
