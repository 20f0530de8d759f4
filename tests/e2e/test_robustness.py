"""Crashes, power cuts and hostile clients."""
import os
import signal
import socket
import ssl
import threading
import time

import pytest

from conftest import ADMIN_PW, Server, curl


def test_killed_phone_system_restarts_and_others_keep_answering(server):
    server.create_ps("my-company")
    server.create_ps("acme")
    old = server.pids()["pbx my-company"]
    failures = []
    stop = threading.Event()

    def poll_other():
        while not stop.is_set():
            r = curl("GET", server.sbc("/acme/"), timeout=5)
            if r.status != 200:
                failures.append(r.status)
            time.sleep(0.02)

    th = threading.Thread(target=poll_other)
    th.start()
    try:
        time.sleep(0.3)
        t0 = time.time()
        os.kill(old, signal.SIGKILL)
        while curl("GET", server.sbc("/my-company/"), timeout=5).status != 200:
            assert time.time() - t0 < 2.0, "not restarted within 2 s"
            time.sleep(0.02)
        time.sleep(0.3)
    finally:
        stop.set()
        th.join()
    assert failures == []
    assert server.pids()["pbx my-company"] != old
    ps = server.api("GET", "/phone-systems/my-company").json()
    assert ps["state"] == "running" and ps["restarts"] == 1
    assert server.wait_log("pbx my-company was killed by signal 9", tail=6000)


def test_crash_loop_marks_failed_and_start_recovers(server):
    server.create_ps("crashy")
    for i in range(5):
        assert server.wait_state("crashy", "running", 40), i
        os.kill(server.pids()["pbx crashy"], signal.SIGKILL)
        time.sleep(0.1)
    assert server.wait_state("crashy", "failed", 10)
    time.sleep(1.5)  # no restart happens any more
    assert "pbx crashy" not in server.pids()
    assert server.api("GET", "/system").json()["phone_systems"]["failed"] == 1
    assert curl("GET", server.sbc("/crashy/")).status == 503
    assert server.wait_log("marked failed", tail=6000)
    assert server.api("POST", "/phone-systems/crashy/start").status == 200
    assert server.ps_state("crashy") == "running"
    assert curl("GET", server.sbc("/crashy/")).status == 200


def test_killed_mgmt_and_sbc_come_back(server):
    server.create_ps("acme")
    for role in ("mgmt", "sbc"):
        os.kill(server.pids()[role], signal.SIGKILL)
    deadline = time.time() + 5
    while time.time() < deadline:
        if curl("GET", server.sbc("/acme/")).status == 200 and \
                curl("GET", server.mgmt("/system")).status == 401:
            break
        time.sleep(0.05)
    # sessions live in system.db: the old token still works after a restart
    assert server.api("GET", "/system").status == 200
    assert curl("GET", server.sbc("/acme/")).status == 200


def test_kill_9_of_everything_loses_nothing():
    s = Server().start()
    try:
        s.create_ps("my-company")
        s.create_ps("acme")
        s.create_ps("paused")
        assert s.api("POST", "/phone-systems/paused/stop").status == 200
        assert s.api("PUT", "/settings", {"session_ttl": 3600}).status == 200
        tok = s.token()
        s.kill_tree()
        s2 = Server(data_dir=s.data).start()
        try:
            # the session survived, as did every phone system, its state and the setting
            # (management answers before every phone system has started again)
            assert s2.wait_state("my-company", "running") and s2.wait_state("acme", "running")
            lst = {p["name"]: p["state"] for p in
                   s2.api("GET", "/phone-systems", token=tok).json()["phone_systems"]}
            assert lst == {"my-company": "running", "acme": "running", "paused": "stopped"}
            assert s2.api("GET", "/settings", token=tok).json()["session_ttl"] == 3600
            assert curl("POST", s2.mgmt("/login"),
                        {"username": "admin", "password": ADMIN_PW}).status == 200
            r = curl("POST", s2.sbc("/acme/api/v1/login"),
                     {"username": "admin", "password": "pbx-secret-1"})
            assert r.status == 200
        finally:
            s2.cleanup()
    finally:
        s.cleanup()


def tls_socket(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    return ctx.wrap_socket(raw)


def read_all(sock, limit=1 << 20):
    data = b""
    try:
        while len(data) < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (OSError, ssl.SSLError):
        pass
    return data


@pytest.mark.parametrize("which", ["mgmt", "sbc"])
def test_oversized_headers_are_cut_off(shared_server, which):
    port = shared_server.mgmt_port if which == "mgmt" else shared_server.sbc_port
    path = "/api/v1/system" if which == "mgmt" else "/acme/"
    s = tls_socket(port)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode())
    try:
        for _ in range(64):
            s.sendall(b"X-Filler: " + b"a" * 1000 + b"\r\n")
    except (OSError, ssl.SSLError):
        pass  # the server may close while we still write
    reply = read_all(s)
    s.close()
    assert reply.startswith(b"HTTP/1.1 431"), reply[:100]
    assert b"Connection: close" in reply
    assert curl("GET", shared_server.mgmt("/system")).status == 401


def test_slow_loris_is_cut_off_without_harming_others(shared_server):
    s = shared_server
    slow = []
    for port in (s.mgmt_port, s.sbc_port) * 10:
        c = tls_socket(port)
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        slow.append(c)
    t0 = time.time()
    closed = 0
    # Keep dribbling a byte a second; everyone else is served meanwhile.
    while time.time() - t0 < 16 and closed < len(slow):
        assert curl("GET", s.mgmt("/system"), timeout=5).status == 401
        assert curl("GET", s.sbc("/nobody/"), timeout=5).status == 404
        closed = 0
        for c in slow:
            try:
                c.sendall(b"X")
                c.settimeout(0.01)
                if c.recv(4096) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except (OSError, ssl.SSLError):
                closed += 1
        time.sleep(1)
    assert closed == len(slow), f"{closed} of {len(slow)} slow connections closed"
    assert time.time() - t0 < 16
    for c in slow:
        c.close()


@pytest.mark.parametrize("payload", [
    os.urandom(4096),
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # plain HTTP on a TLS port
    b"\x16\x03\x01\xff\xff" + b"\x00" * 100,  # a broken TLS record
], ids=["random", "plain-http", "broken-tls-record"])  # the same names in every xdist worker
def test_garbage_on_tls_ports_is_dropped(shared_server, payload):
    for port in (shared_server.mgmt_port, shared_server.sbc_port):
        c = socket.create_connection(("127.0.0.1", port), timeout=15)
        c.sendall(payload)
        t0 = time.time()
        read_all(c)  # returns when the server closes
        assert time.time() - t0 < 12
        c.close()
    assert curl("GET", shared_server.mgmt("/system")).status == 401
    assert curl("GET", shared_server.sbc("/nobody/")).status == 404
