"""The SBC's HTTPS part on 443: routing by path to each phone system's process."""
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import ADMIN_PW, Server, curl


@pytest.fixture(scope="module")
def two(request):
    s = Server().start()
    s.create_ps("my-company")
    s.create_ps("acme")
    yield s
    s.cleanup()


def pbx_login(s, name, password="pbx-secret-1"):
    return curl("POST", s.sbc(f"/{name}/api/v1/login"),
                {"username": "admin", "password": password})


def test_routes_by_first_path_segment(two):
    for name in ("my-company", "acme"):
        r = curl("GET", two.sbc(f"/{name}/"))  # its web UI
        assert r.status == 200 and "ui/pbx/app.js" in r.text
        assert "text/html" in r.headers
        # and it is that phone system which answers
        tok = pbx_login(two, name).json()["token"]
        assert curl("GET", two.sbc(f"/{name}/api/v1/status"), token=tok).json()["name"] == name
    r = curl("GET", two.sbc("/acme"))
    assert r.status == 301 and "Location: /acme/" in r.headers
    for path in ("/nobody/", "/my-company-x/", "/ACME/", "/%61cme/"):
        r = curl("GET", two.sbc(path))
        assert r.status == 404, path
    assert curl("GET", two.sbc("/")).status == 200  # the landing page (test_certificate.py)
    assert "Strict-Transport-Security" in curl("GET", two.sbc("/acme/")).headers


def test_phone_system_login_and_status(two):
    r = pbx_login(two, "my-company")
    assert r.status == 200, r
    tok = r.json()["token"]
    st = curl("GET", two.sbc("/my-company/api/v1/status"), token=tok)
    assert st.status == 200 and st.json()["name"] == "my-company"
    assert curl("GET", two.sbc("/my-company/api/v1/status")).status == 401
    assert pbx_login(two, "my-company", "wrong-password").status == 401
    # the management admin is not an admin of the phone system
    assert pbx_login(two, "my-company", ADMIN_PW).status == 401


def test_tokens_are_valid_only_where_issued(two):
    pbx_tok = pbx_login(two, "my-company").json()["token"]
    assert curl("GET", two.sbc("/acme/api/v1/status"), token=pbx_tok).status == 401
    assert curl("GET", two.mgmt("/system"), token=pbx_tok).status == 401
    assert curl("GET", two.sbc("/my-company/api/v1/status"), token=two.token()).status == 401
    acme_tok = pbx_login(two, "acme").json()["token"]
    assert curl("GET", two.sbc("/my-company/api/v1/status"), token=acme_tok).status == 401
    assert curl("GET", two.sbc("/acme/api/v1/status"), token=acme_tok).status == 200


def test_keep_alive_connection_is_rerouted_per_request(two):
    # each phone system answers its path without the slash with a redirect
    # that names it
    r = subprocess.run(["curl", "-skv", two.sbc("/my-company"), two.sbc("/acme"),
                        two.sbc("/nobody/"), two.sbc("/my-company")],
                       capture_output=True, text=True)
    assert r.stderr.count("< Location: /my-company/") == 2
    assert r.stderr.count("< Location: /acme/") == 1
    assert r.stderr.count("< HTTP/1.1 404") == 1
    assert "Re-using existing connection" in r.stderr
    assert r.stderr.count("Connected to") == 1


def test_client_cannot_spoof_its_address(two):
    # A forged X-Real-IP must not give each attempt a fresh address to throttle.
    for i in range(10):
        r = curl("POST", two.sbc("/acme/api/v1/login"),
                 {"username": "admin", "password": "bad"},
                 headers=[f"X-Real-IP: 10.0.0.{i}", f"X-Forwarded-For: 10.0.1.{i}"])
        assert r.status == 401
    r = pbx_login(two, "acme")
    assert r.status == 429
    assert two.wait_log("failed login from 127.0.0.1", tail=6000)


@pytest.fixture
def two_short():
    """Two phone systems; the SBC waits 4 s (not 15) for a phone system's answer."""
    s = Server(env={"ZENTRALE_TEST_UPSTREAM_TIMEOUT": "4"}).start()
    s.create_ps("my-company")
    s.create_ps("acme")
    assert s.wait_state("my-company", "running", 20) and s.wait_state("acme", "running", 20)
    yield s
    s.cleanup()


def test_hung_phone_system_does_not_stall_others(two_short):
    two = two_short
    assert curl("GET", two.sbc("/my-company/")).status == 200
    pid = two.pids()["pbx my-company"]
    os.kill(pid, signal.SIGSTOP)
    try:
        result = {}

        def slow():
            t = time.time()
            result["r"] = curl("GET", two.sbc("/my-company/"), timeout=40)
            result["t"] = time.time() - t

        th = threading.Thread(target=slow)
        th.start()
        time.sleep(0.5)
        t0 = time.time()
        for _ in range(5):
            assert curl("GET", two.sbc("/acme/")).status == 200
        assert time.time() - t0 < 3
        th.join(40)
        assert result["r"].status == 504, result
        assert 3 < result["t"] < 20
    finally:
        os.kill(pid, signal.SIGCONT)
    assert curl("GET", two.sbc("/my-company/")).status == 200


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_large_bodies_stream_not_buffered(two):
    """200 MB sent towards a phone system that reads nothing: the SBC holds
    back (backpressure) instead of buffering the body."""
    sbc = two.pids()["sbc"]
    pid = two.pids()["pbx acme"]
    before = rss_kb(sbc)
    os.kill(pid, signal.SIGSTOP)
    gen = subprocess.Popen(["head", "-c", str(200 * 1024 * 1024), "/dev/zero"],
                           stdout=subprocess.PIPE)
    up = subprocess.Popen(["curl", "-sk", "-o", "/dev/null", "-w", "%{size_upload}",
                           "-H", "Content-Type: application/octet-stream",
                           "--data-binary", "@-", two.sbc("/acme/api/v1/status")],
                          stdin=gen.stdout, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(4)
        grown_mb = (rss_kb(sbc) - before) / 1024
        assert grown_mb < 32, f"SBC grew by {grown_mb:.0f} MB"
    finally:
        os.kill(pid, signal.SIGCONT)
        up.kill()
        gen.kill()
        up.wait()
        gen.wait()
    assert curl("GET", two.sbc("/acme/")).status == 200


def test_chunked_upload_reaches_phone_system(two):
    # A chunked request body is re-framed and answered (here: too large → 413).
    gen = subprocess.Popen(["head", "-c", str(3 * 1024 * 1024), "/dev/zero"],
                           stdout=subprocess.PIPE)
    r = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
                        "-H", "Transfer-Encoding: chunked", "--data-binary", "@-",
                        two.sbc("/acme/api/v1/login")], stdin=gen.stdout,
                       capture_output=True, text=True, timeout=30)
    gen.wait()
    assert r.stdout == "413"
    r = curl("POST", two.sbc("/acme/api/v1/login"), headers=["Transfer-Encoding: chunked"],
             raw='{"username":"admin","password":"pbx-secret-1"}')
    assert r.status in (200, 429), r
