"""The management API on 8443: login, tokens, phone systems, system, errors, TLS."""
import os
import subprocess
import time

import pytest

from conftest import ADMIN_PW, Server, curl


def test_login_and_bearer_tokens(server):
    r = curl("POST", server.mgmt("/login"), {"username": "admin", "password": ADMIN_PW})
    assert r.status == 200 and len(r.json()["token"]) >= 40
    tok = r.json()["token"]
    assert r.json()["expires_in"] > 0
    assert curl("POST", server.mgmt("/login"),
                {"username": "admin", "password": "wrong"}).status == 401
    assert curl("POST", server.mgmt("/login"),
                {"username": "nobody", "password": ADMIN_PW}).status == 401
    # every other endpoint needs the token
    for path in ("/phone-systems", "/system", "/interfaces", "/settings"):
        r = curl("GET", server.mgmt(path))
        assert r.status == 401 and "error" in r.json(), path
        assert curl("GET", server.mgmt(path), token="x" * 43).status == 401
        assert curl("GET", server.mgmt(path), token=tok).status == 200
    # logout revokes
    assert curl("POST", server.mgmt("/logout"), token=tok).status == 200
    assert curl("GET", server.mgmt("/system"), token=tok).status == 401


def test_tokens_expire(server):
    assert server.api("PUT", "/settings", {"session_ttl": 5}).status == 200
    r = curl("POST", server.mgmt("/login"), {"username": "admin", "password": ADMIN_PW})
    tok = r.json()["token"]
    assert r.json()["expires_in"] == 5
    assert curl("GET", server.mgmt("/system"), token=tok).status == 200
    time.sleep(6.2)
    assert curl("GET", server.mgmt("/system"), token=tok).status == 401
    assert server.api("PUT", "/settings", {"session_ttl": 1}).status == 400


def test_ten_failed_logins_block_the_address(server):
    for i in range(10):
        r = curl("POST", server.mgmt("/login"), {"username": "admin", "password": f"bad{i}"})
        assert r.status == 401, (i, r)
    # now even the right password is refused for a while
    r = curl("POST", server.mgmt("/login"), {"username": "admin", "password": ADMIN_PW})
    assert r.status == 429, r
    assert "Retry-After:" in r.headers
    assert "error" in r.json()
    assert server.wait_log("blocked for 300 s", tail=6000)


def test_phone_system_lifecycle(server):
    assert server.api("GET", "/phone-systems").json() == {"phone_systems": []}
    r = server.create_ps("my-company")
    assert r.json()["name"] == "my-company"
    t_created = time.time()
    # reachable through the SBC within 2 s of the 201
    while curl("GET", server.sbc("/my-company/")).status != 200:
        assert time.time() - t_created < 2.0
        time.sleep(0.02)
    lst = server.api("GET", "/phone-systems").json()["phone_systems"]
    assert [p["name"] for p in lst] == ["my-company"]
    assert lst[0]["state"] == "running"
    assert server.api("GET", "/phone-systems/my-company").json()["state"] == "running"
    assert os.path.exists(os.path.join(server.data, "phone-systems/my-company/pbx.db"))

    r = server.api("POST", "/phone-systems",
                   {"name": "my-company", "admin_password": "another-pw-1"})
    assert r.status == 409 and "exists" in r.json()["error"]

    assert server.api("POST", "/phone-systems/my-company/stop").status == 200
    assert server.ps_state("my-company") == "stopped"
    r = curl("GET", server.sbc("/my-company/"))
    assert r.status == 503 and "stopped or restarting" in r.text
    assert server.api("POST", "/phone-systems/my-company/start").status == 200
    assert server.ps_state("my-company") == "running"
    assert curl("GET", server.sbc("/my-company/")).status == 200

    assert server.api("DELETE", "/phone-systems/my-company").status == 200
    assert server.api("GET", "/phone-systems/my-company").status == 404
    assert curl("GET", server.sbc("/my-company/")).status == 404
    assert not os.path.exists(os.path.join(server.data, "phone-systems/my-company"))
    # the name is free again
    server.create_ps("my-company")


@pytest.mark.parametrize("name", ["a", "x" * 64, "My-Company", "-acme", "acme-", "ac_me",
                                  "ac.me", "api", "admin", "", "../etc"])
def test_invalid_names_are_400(shared_server, name):
    r = shared_server.api("POST", "/phone-systems", {"name": name, "admin_password": "pbx-pw-123"})
    assert r.status == 400, r
    assert r.json()["error"]


def test_unknown_phone_system_is_404(shared_server):
    for method, path in (("GET", "/phone-systems/nope"), ("DELETE", "/phone-systems/nope"),
                         ("POST", "/phone-systems/nope/start"),
                         ("POST", "/phone-systems/nope/stop")):
        r = shared_server.api(method, path)
        assert r.status == 404 and r.json()["error"], (method, path)
    assert shared_server.api("GET", "/no-such-endpoint").status == 404


def test_bad_requests_get_json_errors(shared_server):
    s = shared_server
    r = s.api("POST", "/phone-systems", "{not json")
    assert r.status == 400 and "malformed JSON" in r.json()["error"]
    r = s.api("POST", "/phone-systems", "[1,2]")
    assert r.status == 400 and "JSON object" in r.json()["error"]
    r = s.api("POST", "/phone-systems", {"name": "weak-pw", "admin_password": "short"})
    assert r.status == 400 and "8 characters" in r.json()["error"]
    # without admin_password one is generated (test_admins.py); one not a string is refused
    r = s.api("POST", "/phone-systems", {"name": "no-pw", "admin_password": 12345678})
    assert r.status == 400
    r = s.api("PUT", "/phone-systems")
    assert r.status == 405
    big = "x" * (2 * 1024 * 1024)
    r = curl("POST", s.mgmt("/phone-systems"), token=s.token(), raw=big)
    assert r.status == 413 and "too large" in r.json()["error"]
    # still serving
    assert s.api("GET", "/system").status == 200


def test_system_figures(shared_server):
    r = shared_server.api("GET", "/system")
    assert r.status == 200
    j = r.json()
    assert j["version"] and j["uptime_seconds"] >= 0
    assert set(j["phone_systems"]) >= {"running", "stopped", "failed", "total"}
    assert j["cpu"]["cores"] >= 1 and len(j["cpu"]["load"]) == 3
    assert j["memory"]["total_bytes"] > j["memory"]["available_bytes"] > 0
    assert j["disk"]["total_bytes"] > j["disk"]["free_bytes"] > 0
    roles = {p["role"] for p in j["processes"]}
    assert {"supervisor", "mgmt", "sbc"} <= roles
    assert all(p["rss_bytes"] > 0 for p in j["processes"])


def test_interfaces_listing(shared_server):
    j = shared_server.api("GET", "/interfaces").json()
    lo = [i for i in j["interfaces"] if i["name"] == "lo"][0]
    assert "127.0.0.1" in lo["addresses"] and lo["up"] is True and lo["mac"]
    services = {s["service"] for s in lo["services"]}
    assert services == {"mgmt-https", "sbc-https", "sip-tls", "ssh", "sip-trunk-udp",
        "sip-trunk-tcp", "sip-trunk-tls"}
    assert j["fixed_by_command_line"] is True
    # fixed by --listen: a change is refused with a reason
    r = shared_server.api("PUT", "/interfaces", {"sbc": ["lo"]})
    assert r.status == 409 and "--listen" in r.json()["error"]


def openssl_connect(port, *args):
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief",
                        *args], input="", capture_output=True, text=True, timeout=20)
    return r.returncode == 0 and "Protocol version" in r.stderr, r.stderr


@pytest.mark.parametrize("which", ["mgmt", "sbc"])
def test_tls_versions_and_ciphers(shared_server, which):
    port = shared_server.mgmt_port if which == "mgmt" else shared_server.sbc_port
    ok, out = openssl_connect(port, "-tls1_3")
    assert ok, out
    ok, out = openssl_connect(port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert ok, out
    # old protocols and weak or non-forward-secret ciphers are refused
    assert not openssl_connect(port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")[0]
    assert not openssl_connect(port, "-tls1_2", "-cipher", "AES128-SHA")[0]
    assert not openssl_connect(port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA")[0]


def test_health_for_load_balancers(server):
    # no token needed; all well at first
    r = curl("GET", server.mgmt("/health"))
    assert r.status == 200 and r.json()["status"] == "ok" and r.json()["problems"] == []
    # a failed phone system makes it fail, with the reason
    server.create_ps("crashy")
    for _ in range(5):
        assert server.wait_state("crashy", "running", 40)
        os.kill(server.pids()["pbx crashy"], 9)
        time.sleep(0.1)
    assert server.wait_state("crashy", "failed", 10)
    r = curl("GET", server.mgmt("/health"))
    assert r.status == 503 and r.json()["problems"] == ["1 phone system(s) failed"]
    assert server.api("POST", "/phone-systems/crashy/start").status == 200
    assert curl("GET", server.mgmt("/health")).status == 200
    # a disk threshold above what is free makes it fail too
    assert server.api("PUT", "/settings", {"health_min_disk_free": 100}).status == 200
    r = curl("GET", server.mgmt("/health"))
    assert r.status == 503 and "disk nearly full" in r.json()["problems"][0]
    # invalid settings change nothing, all or none
    r = server.api("PUT", "/settings", {"health_min_disk_free": 1, "session_ttl": 1})
    assert r.status == 400
    assert server.api("GET", "/settings").json()["health_min_disk_free"] == 100
    assert server.api("PUT", "/settings", {"health_min_disk_free": 0}).status == 200
    assert curl("GET", server.mgmt("/health")).status == 200
