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
import re

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
    assert srv.wait_log("reset the admin password of phone system reset-co")
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
    assert srv.wait_log("bob added the administrator dora")
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
    assert srv.wait_log("admin removed the administrator eve")


def test_the_last_administrator_cannot_be_removed():
    s = Server().start()
    try:
        r = s.api("DELETE", "/admins/admin")
        assert r.status == 409 and "last" in r.json()["error"], r
        assert login(s, "admin", ADMIN_PW).status == 200
        assert s.api("POST", "/admins", {"username": "zoe", "password": "zoe-secret-1"}).status == 201
        ztok = login(s, "zoe", "zoe-secret-1").json()["token"]
        # an authorized key logs in as admin ...
        d = tempfile.mkdtemp()
        key = os.path.join(d, "id_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        assert s.api("POST", "/ssh/keys", {"key": open(key + ".pub").read().strip()}).status == 201
        by_key = ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                  "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                  "-i", key, "-p", str(22 + s.offset), "admin@127.0.0.1", "status"]
        assert subprocess.run(by_key, capture_output=True, timeout=60).returncode == 0
        # zoe removes admin, then is the last one herself
        assert curl("DELETE", s.mgmt("/admins/admin"), token=ztok).status == 200
        r = curl("DELETE", s.mgmt("/admins/zoe"), token=ztok)
        assert r.status == 409, r
        assert login(s, "admin", ADMIN_PW).status == 401
        # ... only while the account exists: refused at authentication
        out = subprocess.run(by_key, capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and "Permission denied" in out.stderr, out.stderr
        assert s.wait_log("management: zoe: DELETE /admins/admin")
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


# ---- the CLI over SSH does what the API does ----

def cli(s, *command, user="admin", password=ADMIN_PW):
    out = ssh_pw(s, user, password, *command)
    return out.returncode, out.stdout, out.stderr


def test_cli_phone_system_admin_password(srv):
    srv.create_ps("cli-reset-co", "old-pbx-pw-3")
    rc, out, err = cli(srv, "phone-system", "admin-password", "cli-reset-co", "--json")
    assert rc == 0, err
    pw = json.loads(out)["admin_password"]
    assert pbx_login(srv, "cli-reset-co", pw).status == 200
    assert pbx_login(srv, "cli-reset-co", "old-pbx-pw-3").status == 401
    rc, out, err = cli(srv, "phone-system", "admin-password", "cli-reset-co")
    assert rc == 0 and "shown once" in out, err
    rc, out, err = cli(srv, "phone-system", "admin-password", "nope-co")
    assert rc == 1 and "no such phone system" in err


def test_cli_administrators(srv):
    rc, out, err = cli(srv, "admin", "add", "gus", "--password", "gus-secret-1")
    assert rc == 0 and "added the administrator gus" in out, err
    rc, out, err = cli(srv, "admin", "list")
    assert rc == 0 and "gus" in out and "(you)" in out, err
    assert {a["username"] for a in json.loads(cli(srv, "admin", "list", "--json")[1])["admins"]} \
        == {a["username"] for a in srv.api("GET", "/admins").json()["admins"]}
    # gus sets his own password over SSH (no NAME: the session's account)
    rc, out, err = cli(srv, "admin", "passwd", "--json", user="gus", password="gus-secret-1")
    assert rc == 0, err
    new = json.loads(out)["password"]
    assert login(srv, "gus", new).status == 200 and login(srv, "gus", "gus-secret-1").status == 401
    assert srv.wait_log("gus changed the own password")
    rc, out, err = cli(srv, "admin", "remove", "gus")
    assert rc == 1 and "--yes" in err  # not without asking
    rc, out, err = cli(srv, "admin", "remove", "gus", "--yes")
    assert rc == 0, err
    assert login(srv, "gus", new).status == 401


def test_removed_administrators_ssh_session_ends(srv):
    import paramiko
    assert srv.api("POST", "/admins", {"username": "hal", "password": "hal-secret-1"}).status == 201
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=22 + srv.offset, username="hal", password="hal-secret-1",
              allow_agent=False, look_for_keys=False, timeout=10)
    try:
        ch = c.invoke_shell()
        ch.settimeout(30)

        def run(line):
            ch.send(line + "\n")
            buf = b""
            import time
            deadline = time.time() + 30
            while time.time() < deadline and b"zentrale>" not in buf.split(line.encode(), 1)[-1]:
                if ch.recv_ready():
                    buf += ch.recv(65536)
                elif ch.exit_status_ready() or ch.closed:
                    break  # the session ended: no prompt comes
                else:
                    time.sleep(0.05)
            return buf.decode(errors="replace")

        assert "version" in run("status")
        assert srv.api("DELETE", "/admins/hal").status == 200
        out = run("status")
        assert "no longer exists" in out, out
        # and the session ends
        import time
        deadline = time.time() + 30
        while time.time() < deadline and not ch.exit_status_ready():
            time.sleep(0.05)
        assert ch.exit_status_ready(), "the removed administrator's SSH session goes on"
    finally:
        c.close()


def test_cli_backups_traces_and_update(srv):
    srv.create_ps("cli-bk-co", "bk-pbx-pw-1")
    rc, out, err = cli(srv, "backup", "create", "--phone-system", "cli-bk-co", "--json")
    assert rc == 0, err
    b = json.loads(out)
    assert b["kind"] == "phone-system" and b["phone_system"] == "cli-bk-co"
    rc, out, err = cli(srv, "backup", "list", "--json")
    assert rc == 0 and json.loads(out) == srv.api("GET", "/backups").json()
    rc, out, err = cli(srv, "backup", "list")
    assert b["id"] in out and "cli-bk-co" in out
    # a real restore through the CLI: the admin password of the backup's moment comes back
    assert srv.api("POST", "/phone-systems/cli-bk-co/admin-password",
                   {"admin_password": "after-backup-1"}).status == 200
    rc, out, err = cli(srv, "backup", "restore", b["id"], "--yes")
    assert rc == 0 and "restored phone system cli-bk-co" in out, err
    assert srv.wait_state("cli-bk-co", "running", timeout=30)
    assert pbx_login(srv, "cli-bk-co", "bk-pbx-pw-1").status == 200
    assert pbx_login(srv, "cli-bk-co", "after-backup-1").status == 401
    rc, out, err = cli(srv, "backup", "restore", "no-such-id", "--yes")
    assert rc == 1 and err.startswith("error: ")
    # traces
    rc, out, err = cli(srv, "trace", "start", "cli-bk-co", "--seconds", "60", "--json")
    assert rc == 0, err
    tid = json.loads(out)["id"]
    t = srv.api("GET", f"/traces/{tid}").json()
    assert t["capturing"] is True and t["phone_system"] == "cli-bk-co"
    rc, out, err = cli(srv, "trace", "list")
    assert rc == 0 and tid in out and "capturing" in out
    rc, out, err = cli(srv, "trace", "stop", tid)
    assert rc == 0, err
    assert srv.api("GET", f"/traces/{tid}").json()["capturing"] is False
    rc, out, err = cli(srv, "trace", "start", "nope-co")
    assert rc == 1 and "no such phone system" in err
    # update: the status is the API's; install without a source is refused as the API does
    rc, out, err = cli(srv, "update", "status", "--json")
    assert rc == 0 and json.loads(out)["version"] == srv.api("GET", "/update").json()["version"]
    rc, out, err = cli(srv, "update", "status")
    assert rc == 0 and "version" in out
    rc, out, err = cli(srv, "update", "install", "--yes")
    assert rc == 1 and "no update source" in err, (out, err)
    rc, out, err = cli(srv, "help")
    for w in ("admin add", "backup restore", "update install", "trace start",
              "phone-system admin-password"):
        assert w in out


def test_readme_names_every_cli_command(srv):
    rc, out, err = cli(srv, "help")
    assert rc == 0, err
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    block = readme[readme.index("Commands (each also takes `--json`)"):]
    block = block[:block.index("Exit status")]
    lines = {}
    for l in block.splitlines():
        if l and not l.startswith(("`", " ")):
            lines.setdefault(l.split()[0], []).append(l)
    missing = []
    for l in out.splitlines():
        words = l[2:60].split()  # the command's column (help_line in cli_commands.c)
        if not l.startswith("  ") or not words or words[0] == "exit":
            continue
        group, verb = words[0], (words[1] if len(words) > 1 else "")
        text = " ".join(lines.get(group, []))
        if not text or (verb and not verb.isupper() and not verb.startswith(("[", "-"))
                        and not re.search(rf"(^|[ |]){re.escape(verb)}( |$)", text)):
            missing.append(f"{group} {verb}")
    assert not missing, f"README's CLI list lacks: {missing}"

