"""First start, process model, privileges, shutdown, port conflicts."""
import os
import pwd
import re
import socket
import sqlite3
import stat
import subprocess
import time

from conftest import ADMIN_PW, Server, curl


def test_first_start_creates_data_dir_db_cert_and_admin():
    s = Server(admin_password=None).start()
    try:
        d = s.data
        for sub in ("system.db", "certs/server.crt", "certs/server.key", "phone-systems", "run"):
            assert os.path.exists(os.path.join(d, sub)), sub
        # SQLite in WAL mode
        db = sqlite3.connect(os.path.join(d, "system.db"))
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # generated password: printed once, written 0600, stored only as argon2id
        pwfile = os.path.join(d, "initial-admin-password")
        assert stat.S_IMODE(os.stat(pwfile).st_mode) == 0o600
        password = open(pwfile).read().strip()
        assert len(password) >= 16
        assert s.log().count(password) == 1
        (h,) = db.execute("SELECT password_hash FROM admins WHERE username='admin'").fetchone()
        assert h.startswith("$argon2id$") and password not in h
        r = curl("POST", s.mgmt("/login"), {"username": "admin", "password": password})
        assert r.status == 200, r
        # ECDSA P-256 certificate naming the host and the addresses
        txt = subprocess.run(["openssl", "x509", "-in", os.path.join(d, "certs/server.crt"),
                              "-noout", "-text"], capture_output=True, text=True).stdout
        assert "prime256v1" in txt or "P-256" in txt
        assert "IP Address:127.0.0.1" in txt
        assert "DNS:" + socket.gethostname() in txt
        assert stat.S_IMODE(os.stat(os.path.join(d, "certs/server.key")).st_mode) == 0o600
        # a second start keeps the account and prints no new password
        s.stop()
        s2 = Server(data_dir=s.data, admin_password=None).start()
        try:
            r = curl("POST", s2.mgmt("/login"), {"username": "admin", "password": password})
            assert r.status == 200, r
            assert "password:" not in s2.log()
        finally:
            s2.cleanup()
    finally:
        s.cleanup()


def test_admin_password_from_environment():
    s = Server(admin_password="from-the-env-1").start()
    try:
        assert not os.path.exists(os.path.join(s.data, "initial-admin-password"))
        r = curl("POST", s.mgmt("/login"), {"username": "admin", "password": "from-the-env-1"})
        assert r.status == 200
        assert "from-the-env-1" not in s.log()
    finally:
        s.cleanup()


def test_process_titles_roles_and_unprivileged_user(server):
    server.create_ps("my-company")
    pids = server.pids()
    assert {"supervisor", "mgmt", "sbc", "ssh", "pbx my-company"} <= set(pids), pids
    if os.geteuid() == 0:
        # started as root: every process runs as the unprivileged account
        for title, pid in pids.items():
            uid = os.stat(f"/proc/{pid}").st_uid
            assert pwd.getpwuid(uid).pw_name == "zentrale", title
        caps = open(f"/proc/{pids['pbx my-company']}/status").read()
        assert re.search(r"CapEff:\s+0+\n", caps), "children keep no capability"
    # the pbx's own lines come through its stderr pipe, which the
    # supervisor may read after the messages of its IPC socket
    end = time.time() + 10
    while not re.search(r"\] pbx my-company: info: serving", server.log()) and time.time() < end:
        time.sleep(0.2)
    log = server.log()
    assert re.search(r"\] pbx my-company: info: serving", log)
    assert re.search(r"\] sbc: info: serving HTTPS", log)
    assert re.search(r"\] supervisor: info: started mgmt", log)


def test_sigterm_stops_everything_within_5_seconds(server):
    server.create_ps("acme")
    pids = server.pids()
    t0 = time.time()
    rc = server.stop(timeout=5)
    assert time.time() - t0 < 5
    assert rc == 0
    for title, pid in pids.items():
        assert not os.path.exists(f"/proc/{pid}") or \
            open(f"/proc/{pid}/stat").read().split()[2] == "Z", title


def test_port_in_use_is_a_clear_error():
    s = Server()
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", s.mgmt_port))
    blocker.listen(1)
    try:
        r = subprocess.run(s.command(), capture_output=True, text=True, timeout=20,
                           env=s.env)
        assert r.returncode != 0
        msg = r.stderr
        assert f"127.0.0.1:{s.mgmt_port}" in msg, msg
        assert "Address already in use" in msg
        assert "--port-offset" in msg
    finally:
        blocker.close()
        s.cleanup()


def test_usage_errors_exit_nonzero():
    from conftest import BIN
    assert subprocess.run([BIN, "server", "--port-offset", "abc"],
                          capture_output=True).returncode == 2
    assert subprocess.run([BIN, "bogus"], capture_output=True).returncode == 2
    r = subprocess.run([BIN, "version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("zentrale ")


def test_a_second_server_on_the_same_ports_is_refused(server):
    """Our listeners share ports with SO_REUSEPORT (to move between
    interfaces); a second server of the same user must not join them."""
    other = Server(offset=server.offset)
    try:
        r = subprocess.run(other.command(), capture_output=True, text=True, timeout=20,
                           env=other.env)
        assert r.returncode != 0
        assert "Address already in use" in r.stderr and "another zentrale" in r.stderr, r.stderr
    finally:
        other.cleanup()
    assert curl("GET", server.mgmt("/system")).status == 401  # the first one serves on
