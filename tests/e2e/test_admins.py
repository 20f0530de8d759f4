"""Recovering access (issue 15, point 3): a phone system's admin password
reset from management, the password generated at creation shown once, and
more than one server administrator, each logging in to the API and over SSH.
Real clients: curl for the APIs, OpenSSH with sshpass for the CLI."""
import io
import json
import sqlite3
import subprocess
import tarfile
import tempfile
import os

import pytest

from conftest import ADMIN_PW, Server, curl


@pytest.fixture(scope="module")
def srv():
    s = Server().start()
    yield s
    s.cleanup()


def ssh_pw(s, user, password, *command):
    cmd = ["sshpass", "-p", password, "ssh", "-o", "StrictHostKeyChecking=no",
           "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
           "-o", "ConnectTimeout=10", "-o", "PubkeyAuthentication=no",
           "-p", str(22 + s.offset), f"{user}@127.0.0.1", *command]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def login(s, user, password):
    return curl("POST", s.mgmt("/login"), {"username": user, "password": password})


def pbx_login(s, name, password):
    return curl("POST", s.sbc(f"/{name}/api/v1/login"),
                {"username": "admin", "password": password})


# ---- a phone system's admin password ----

def test_reset_phone_system_admin_password(srv):
    srv.create_ps("reset-co", "old-pbx-pw-1")
    old = srv.pbx_token("reset-co", "old-pbx-pw-1")
    users = srv.sbc("/reset-co/api/v1/users")
    assert curl("GET", users, token=old).status == 200
    r = srv.api("POST", "/phone-systems/reset-co/admin-password")
    assert r.status == 200, r
    new = r.json()["admin_password"]
    assert len(new) == 20 and r.json()["name"] == "reset-co"
    assert pbx_login(srv, "reset-co", "old-pbx-pw-1").status == 401
    assert curl("GET", users, token=old).status == 401  # its sessions ended
    tok = srv.pbx_token("reset-co", new)
    assert curl("GET", users, token=tok).status == 200
    assert "reset the admin password of phone system reset-co" in srv.log(tail=None)
    # a password of one's own choosing is taken and not echoed
    r = srv.api("POST", "/phone-systems/reset-co/admin-password",
                {"admin_password": "chosen-pbx-pw-1"})
    assert r.status == 200 and "admin_password" not in r.json(), r
    assert pbx_login(srv, "reset-co", "chosen-pbx-pw-1").status == 200
    assert curl("GET", users, token=tok).status == 401


def test_reset_refusals_and_a_stopped_phone_system(srv):
    assert srv.api("POST", "/phone-systems/nope-co/admin-password").status == 404
    srv.create_ps("stopped-co", "old-pbx-pw-2")
    r = srv.api("POST", "/phone-systems/stopped-co/admin-password", {"admin_password": "short"})
    assert r.status == 400 and "8 characters" in r.json()["error"], r
    assert srv.api("GET", "/phone-systems/stopped-co/admin-password").status == 405
    assert srv.api("POST", "/phone-systems/stopped-co/stop").status == 200
    r = srv.api("POST", "/phone-systems/stopped-co/admin-password")
    assert r.status == 200, r
    assert srv.api("POST", "/phone-systems/stopped-co/start").status == 200
    assert pbx_login(srv, "stopped-co", r.json()["admin_password"]).status == 200
    assert pbx_login(srv, "stopped-co", "old-pbx-pw-2").status == 401


def test_create_without_a_password_generates_one_shown_once(srv):
    r = srv.api("POST", "/phone-systems", {"name": "gen-co"})
    assert r.status == 201, r
    pw = r.json()["admin_password"]
    assert len(pw) == 20
    assert pbx_login(srv, "gen-co", pw).status == 200
    # kept nowhere to be read again
    assert "admin_password" not in srv.api("GET", "/phone-systems/gen-co").json()
    assert pw not in srv.log(tail=None)
    # a password given is not echoed
    r = srv.api("POST", "/phone-systems", {"name": "given-co", "admin_password": "given-pw-1"})
    assert r.status == 201 and "admin_password" not in r.json(), r


# ---- server administrators ----

def test_second_administrator_logs_in_everywhere(srv):
    r = srv.api("POST", "/admins", {"username": "bob", "password": "bob-secret-1"})
    assert r.status == 201, r
    assert r.json()["username"] == "bob" and "password" not in r.json()
    assert srv.api("POST", "/admins", {"username": "bob", "password": "bob-secret-2"}).status == 409
    assert srv.api("POST", "/admins", {"username": "Bob!", "password": "x" * 9}).status == 400
    assert srv.api("POST", "/admins", {"username": "carl", "password": "short"}).status == 400
    names = {a["username"]: a for a in srv.api("GET", "/admins").json()["admins"]}
    assert set(names) == {"admin", "bob"} and names["admin"]["you"] is True
    r = login(srv, "bob", "bob-secret-1")
    assert r.status == 200 and r.json()["username"] == "bob", r
    tok = r.json()["token"]
    assert curl("GET", srv.mgmt("/system"), token=tok).status == 200
    # over SSH, bob runs a CLI command; what it changes is logged as his
    out = ssh_pw(srv, "bob", "bob-secret-1", "admin", "add", "dora", "--json")
    assert out.returncode == 0, out.stderr
    dora = json.loads(out.stdout)
    assert dora["username"] == "dora" and len(dora["password"]) == 20
    assert "bob added the administrator dora" in srv.log(tail=None)
    assert login(srv, "dora", dora["password"]).status == 200
    out = ssh_pw(srv, "bob", "wrong-password", "status")
    assert out.returncode != 0
    # bob sets a new password for dora: her sessions end
    dtok = login(srv, "dora", dora["password"]).json()["token"]
    r = curl("PUT", srv.mgmt("/admins/dora/password"), {"password": "dora-secret-2"}, token=tok)
    assert r.status == 200, r
    assert curl("GET", srv.mgmt("/system"), token=dtok).status == 401
    assert login(srv, "dora", dora["password"]).status == 401
    assert login(srv, "dora", "dora-secret-2").status == 200
    assert curl("GET", srv.mgmt("/system"), token=tok).status == 200


def test_removed_administrator_cannot_log_in_and_its_session_dies(srv):
    assert srv.api("POST", "/admins", {"username": "eve", "password": "eve-secret-1"}).status == 201
    tok = login(srv, "eve", "eve-secret-1").json()["token"]
    r = srv.api("DELETE", "/admins/eve")
    assert r.status == 200, r
    assert curl("GET", srv.mgmt("/system"), token=tok).status == 401
    assert login(srv, "eve", "eve-secret-1").status == 401
    assert ssh_pw(srv, "eve", "eve-secret-1", "status").returncode != 0
    assert srv.api("DELETE", "/admins/eve").status == 404
    assert "admin removed the administrator eve" in srv.log(tail=None)


def test_the_last_administrator_cannot_be_removed():
    s = Server().start()
    try:
        r = s.api("DELETE", "/admins/admin")
        assert r.status == 409 and "last" in r.json()["error"], r
        assert login(s, "admin", ADMIN_PW).status == 200
        assert s.api("POST", "/admins", {"username": "zoe", "password": "zoe-secret-1"}).status == 201
        ztok = login(s, "zoe", "zoe-secret-1").json()["token"]
        # zoe removes admin, then is the last one herself
        assert curl("DELETE", s.mgmt("/admins/admin"), token=ztok).status == 200
        r = curl("DELETE", s.mgmt("/admins/zoe"), token=ztok)
        assert r.status == 409, r
        assert login(s, "admin", ADMIN_PW).status == 401
    finally:
        s.cleanup()


def test_server_backup_carries_the_administrators(srv):
    assert srv.api("POST", "/admins", {"username": "fay", "password": "fay-secret-1"}).status == 201
    r = srv.api("POST", "/backups", {})
    assert r.status == 201, r
    bid = r.json()["id"]
    with tempfile.TemporaryDirectory() as d:
        arc = os.path.join(d, "server.tar.gz")
        r = subprocess.run(["curl", "-sk", "-o", arc, "-w", "%{http_code}", "-H",
                            f"Authorization: Bearer {srv.token()}",
                            srv.mgmt(f"/backups/{bid}/archive")], capture_output=True, text=True)
        assert r.stdout == "200"
        with tarfile.open(arc, mode="r:gz") as t:
            db = t.extractfile("system.db").read()
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "system.db")
        open(p, "wb").write(db)
        names = {u for (u,) in sqlite3.connect(p).execute("SELECT username FROM admins")}
    assert {"admin", "fay"} <= names
