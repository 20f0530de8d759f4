"""GET /metrics on the management port: Prometheus text that Debian's
promtool accepts, behind a scraper token of its own (or an admin session),
with figures that follow what happens: registrations, a call in progress
with relay ports in use, calls ended and failed, SBC connections, blocked
addresses, per-process CPU and memory."""
import re
import subprocess
import time

import pytest

from conftest import curl, sip_server
from sipua import Phone


@pytest.fixture(scope="module")
def srv():
    s = sip_server((("acme", "100"), ("acme", "101"), ("acme", "102")), voicemail=False)
    yield s
    s.cleanup()


def metrics_url(s):
    return f"https://127.0.0.1:{s.mgmt_port}/metrics"


def scrape(s, token):
    r = curl("GET", metrics_url(s), token=token)
    assert r.status == 200, r
    assert "text/plain; version=0.0.4" in r.headers
    return r.text


def value(text, name, **labels):
    """The sample of a metric with exactly these labels (None if absent)."""
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        got = {k: v for k, v in got.items() if v}
        if got == labels:
            return float(m.group(4))
    return None


def wait_value(s, token, pred, timeout=12):
    """Scrapes until pred(text) holds; the processes report every 5 s."""
    deadline = time.time() + timeout
    while True:
        text = scrape(s, token)
        if pred(text) or time.time() > deadline:
            return text
        time.sleep(0.5)


def test_metrics_need_a_token_of_their_own_or_a_session(srv):
    assert curl("GET", metrics_url(srv)).status == 401
    assert curl("GET", metrics_url(srv), token="not-a-token").status == 401
    scrape(srv, srv.token())  # an admin session may read them
    r = srv.api("POST", "/metrics/token")
    assert r.status == 201
    tok = r.json()["token"]
    assert len(tok) >= 40
    scrape(srv, tok)
    # the token is for /metrics only, not for the API
    assert curl("GET", srv.mgmt("/phone-systems"), token=tok).status == 401
    # a new token replaces it; a revoked one is refused
    tok2 = srv.api("POST", "/metrics/token").json()["token"]
    assert curl("GET", metrics_url(srv), token=tok).status == 401
    scrape(srv, tok2)
    assert srv.api("DELETE", "/metrics/token").status == 200
    assert curl("GET", metrics_url(srv), token=tok2).status == 401


def test_promtool_accepts_the_metrics(srv):
    text = scrape(srv, srv.token())
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stdout + p.stderr + text
    for role in ("supervisor", "mgmt", "sbc", "ssh"):
        assert value(text, "zentrale_process_resident_memory_bytes", role=role) > 1e6
        assert value(text, "zentrale_process_cpu_seconds_total", role=role) >= 0
    assert value(text, "zentrale_process_resident_memory_bytes", role="pbx",
                 phone_system="acme") > 1e6
    assert value(text, "zentrale_phone_system_up", phone_system="acme") == 1
    assert value(text, "zentrale_phone_systems", state="running") == 1
    assert value(text, "zentrale_data_disk_size_bytes") > 0


def test_registrations_calls_relay_and_connections_are_counted(srv):
    tok = srv.token()
    a = Phone("tls", 5061 + srv.offset, "100", "acme-100-secret", "acme")
    b = Phone("udp", 5060 + srv.offset, "101", "acme-101-secret", "acme")
    try:
        assert a.register() == 200 and b.register() == 200
        text = wait_value(srv, tok, lambda t: value(t, "zentrale_registrations",
                                                    phone_system="acme") == 2)
        assert value(text, "zentrale_registrations", phone_system="acme") == 2
        assert value(text, "zentrale_sbc_connections", service="sip-tls") >= 1

        before = value(text, "zentrale_call_attempts_total", phone_system="acme") or 0
        # a call in progress: active, with relay ports
        call = a.call("101")
        inv = b.request("INVITE")
        bc = b.accept(inv)
        b.answer(inv, 200, body=b.sdp(), tag=bc["tag"])
        ok = call["resp"]
        while ok.status < 200:
            ok = a.response("INVITE")
        assert ok.status == 200
        a.confirm(call, ok)
        text = wait_value(srv, tok, lambda t: value(t, "zentrale_calls_active",
                                                    phone_system="acme") == 1)
        assert value(text, "zentrale_calls_active", phone_system="acme") == 1
        assert value(text, "zentrale_relay_ports_in_use") >= 2
        a.in_dialog(call, "BYE")
        b.answer(b.request("BYE"), 200)
        assert a.response("BYE").status == 200

        # a failed one: 102 has no device
        assert a.final(a.call("102")).status == 480
        text = wait_value(srv, tok, lambda t: value(
            t, "zentrale_call_attempts_total", phone_system="acme") == before + 2)
        assert value(text, "zentrale_call_attempts_total", phone_system="acme") == before + 2
        assert value(text, "zentrale_calls_active", phone_system="acme") == 0
        # the media engine's figures are there (no session: these calls are phone to phone)
        assert value(text, "zentrale_media_sessions", phone_system="acme") == 0
        assert value(text, "zentrale_media_packets_sent_total", phone_system="acme") is not None
        assert value(text, "zentrale_media_late_ticks_total", phone_system="acme") is not None
        assert value(text, "zentrale_call_failures_total", phone_system="acme") >= 1
        assert value(text, "zentrale_calls_ended_total", phone_system="acme",
                     cause="unavailable") >= 1
        assert value(text, "zentrale_calls_ended_total", phone_system="acme",
                     cause="caller_hangup") >= 1
        assert value(text, "zentrale_relay_ports_in_use") == 0
    finally:
        a.register(expires=0)
        b.register(expires=0)
        a.close()
        b.close()


def test_blocked_addresses_are_counted(server):
    for _ in range(10):
        curl("POST", server.mgmt("/login"), {"username": "admin", "password": "wrong"})
    # 127.0.0.1 may not log in now: read through the local control socket
    r = subprocess.run(["curl", "-s", "--unix-socket", f"{server.data}/run/mgmt.sock",
                        "http://localhost/metrics"], capture_output=True, text=True)
    assert value(r.stdout, "zentrale_blocked_addresses", reason="login") == 1, r.stdout
    assert value(r.stdout, "zentrale_blocked_addresses", reason="sip") == 0
