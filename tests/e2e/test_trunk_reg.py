"""The registration client and the OPTIONS keep-alive of a phone system's
trunks (pbx_trunk_reg, issue 18 points 1 and 2) against a real carrier:
Debian's Kamailio (tests/e2e/carrier.py) as registrar with digest, in a
network namespace of its own, the Zentrale server in another, joined by a
veth pair. The pbx's REGISTER and OPTIONS leave through the SBC's trunk
socket; what the carrier received is read from its log, the trunk's status
from the trunks API and /metrics."""
import os
import re
import subprocess
import time

import pytest

from carrier import Carrier
from conftest import Server, curl
from netns import netns_fixture

PREFIX = os.environ.get("ZENTRALE_NETNS_PREFIX", "zr-")
SRV, CAR = "198.18.23.10", "198.18.23.1"
INTERNAL = ("127.0.0.1", "sbc.invalid", "pbx.invalid", "X-Zentrale-", ".sock", "trunk.")

netns = netns_fixture(PREFIX)


@pytest.fixture
def world(netns, tmp_path, request):
    """(server, carrier, phone-system token); the carrier's digest algorithm
    is MD5 unless a test says @pytest.mark.parametrize("world", ["SHA-256"],
    indirect=True)."""
    srv = netns.add("srv")
    car = netns.add("car")
    netns.veth(srv, SRV + "/24", car, CAR + "/24")
    c = Carrier(tmp_path / "carrier", CAR, 5060, ns=car,
                algorithm=getattr(request, "param", "MD5"),
                subscribers={"zentrale1": "trunk-pw-1"}).start()
    s = Server(netns=srv, listen=("127.0.0.1", SRV)).start()
    s.create_ps("acme", "acme-admin-pw")
    tok = s.pbx_token("acme", "acme-admin-pw")
    yield s, c, tok
    c.stop()
    s.cleanup()


def papi(s, tok, method, path, body=None):
    return curl(method, s.sbc(f"/acme/api/v1{path}"), body, token=tok, netns=s.netns)


def add_trunk(s, tok, password="trunk-pw-1", **kw):
    body = {"name": "carrier", "kind": "register", "transport": "udp",
            "domain": f"{CAR}:5060", "username": "zentrale1", "password": password,
            "register_interval": 60}
    body.update(kw)
    r = papi(s, tok, "POST", "/trunks", body)
    assert r.status == 201, r
    return r.json()["id"]


def wait_for(pred, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout} s")


def status(s, tok, tid):
    r = papi(s, tok, "GET", f"/trunks/{tid}")
    assert r.status == 200, r
    return r.json()["status"]


def registers(c):
    return [x for x in c.received() if x[0].startswith("REGISTER")]


def registered(c):
    return "zentrale1" in c.registrations()


def test_registration_with_digest_and_status(world):
    s, c, tok = world
    before = int(time.time())
    tid = add_trunk(s, tok)
    wait_for(lambda: registered(c), what="carrier binding\n" + c.log_text()[-3000:])
    regs = registers(c)
    # the first without credentials, the answer to the challenge with them
    assert "Authorization: Digest" not in regs[0][2]
    assert any('Authorization: Digest username="zentrale1"' in x[2] for x in regs)
    assert all(x[1].startswith(f"udp:{SRV}:") for x in regs), [x[1] for x in regs]
    m = regs[-1][2]
    assert f"REGISTER sip:{CAR}:5060 SIP/2.0" in m
    assert re.search(r"^To: <sip:zentrale1@" + re.escape(CAR) + r":5060>", m, re.M), m
    assert re.search(r"^Expires: 60", m, re.M), m
    # one Call-ID for the trunk, CSeq rising
    assert len({re.search(r"^Call-ID: (\S+)", x[2], re.M).group(1) for x in regs}) == 1
    cseqs = [int(re.search(r"^CSeq: (\d+)", x[2], re.M).group(1)) for x in regs]
    assert cseqs == sorted(cseqs) and len(set(cseqs)) == len(cseqs), cseqs
    st = wait_for(lambda: (lambda x: x if x["state"] == "registered" else None)(
        status(s, tok, tid)), what="status registered")
    assert st["code"] == 200 and st["reason"]
    assert st["since"] >= before
    assert before + 30 <= st["expires"] <= int(time.time()) + 61, st
    # the list shows it too
    lst = papi(s, tok, "GET", "/trunks").json()["trunks"]
    assert lst[0]["status"]["state"] == "registered"


@pytest.mark.parametrize("world", ["SHA-256"], indirect=True)
def test_registration_with_sha256(world):
    s, c, tok = world
    tid = add_trunk(s, tok)
    wait_for(lambda: registered(c), what="carrier binding\n" + c.log_text()[-3000:])
    answers = [x[2] for x in registers(c) if "Authorization: Digest" in x[2]]
    assert answers and all("algorithm=SHA-256" in a for a in answers), answers
    assert wait_for(lambda: status(s, tok, tid)["state"] == "registered", what="registered")


def test_options_keepalive_and_metrics(world):
    s, c, tok = world
    tid = add_trunk(s, tok)
    st = wait_for(lambda: (lambda x: x if x["options_rtt_ms"] is not None else None)(
        status(s, tok, tid)), what="an OPTIONS round trip")
    assert 0 <= st["options_rtt_ms"] < 5000 and st["options_at"] > 0
    # ours, from the SBC's trunk socket (the harness probes from the carrier's side)
    opts = [x for x in c.received() if x[0].startswith("OPTIONS") and x[1].startswith(
        f"udp:{SRV}:")]
    assert opts, c.received()
    assert f"OPTIONS sip:{CAR}:5060 SIP/2.0" in opts[0][2]
    wait_for(lambda: registered(c), what="carrier binding")
    tok_m = s.api("POST", "/metrics/token").json()["token"]

    def metrics():
        r = curl("GET", f"https://127.0.0.1:{s.mgmt_port}/metrics", token=tok_m,
                 netns=s.netns)
        t = r.text
        return t if ('zentrale_trunk_registered{phone_system="acme",trunk="carrier"} 1' in t
                     and "zentrale_trunk_options_rtt_seconds{" in t) else None

    text = wait_for(metrics, timeout=30, what="trunk metrics")
    m = re.search(r'zentrale_trunk_options_rtt_seconds\{phone_system="acme",trunk="carrier"\}'
                  r" (\S+)", text)
    assert m and 0 <= float(m.group(1)) < 5, text
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_carrier_never_sees_internal_address(world):
    s, c, tok = world
    add_trunk(s, tok)
    wait_for(lambda: registered(c), what="carrier binding")
    wait_for(lambda: any(x[0].startswith("OPTIONS") for x in c.received()), what="OPTIONS")
    for first, src, msg in c.received():
        if src.startswith(f"udp:{SRV}"):
            for bad in INTERNAL:
                assert bad not in msg, (bad, msg)
    # the binding is the SBC's trunk address, not the phone system's
    dump = c.registrations()
    assert SRV in dump and "pbx@" not in dump, dump


def test_wrong_password_answers_the_challenge_once(world):
    s, c, tok = world
    tid = add_trunk(s, tok, password="not-the-password")
    st = wait_for(lambda: (lambda x: x if x["state"] == "failed" else None)(
        status(s, tok, tid)), what="status failed")
    assert st["code"] in (401, 403), st
    # one without credentials, one answering the challenge, then the backoff
    assert len(registers(c)) == 2, [x[0] for x in registers(c)]
    assert not registered(c)


def test_unreachable_carrier_fails(world):
    s, c, tok = world
    c.stop()
    tid = add_trunk(s, tok)
    # the SBC gives up on the transaction (Timer B) and answers 408 itself
    st = wait_for(lambda: (lambda x: x if x["state"] == "failed" else None)(
        status(s, tok, tid)), timeout=45, what="status failed")
    assert st["code"] in (408, 503), st


def test_disable_and_delete_unregister(world):
    s, c, tok = world
    tid = add_trunk(s, tok)
    wait_for(lambda: registered(c), what="carrier binding")
    r = papi(s, tok, "PUT", f"/trunks/{tid}", {"enabled": False})
    assert r.status == 200, r
    wait_for(lambda: not registered(c), what="binding removed on disable")
    assert re.search(r"^Expires: 0", registers(c)[-1][2], re.M) or any(
        re.search(r"^Expires: 0", x[2], re.M) for x in registers(c))
    assert status(s, tok, tid)["state"] == "unregistered"
    r = papi(s, tok, "PUT", f"/trunks/{tid}", {"enabled": True})
    assert r.status == 200, r
    wait_for(lambda: registered(c), what="binding again on enable")
    assert papi(s, tok, "DELETE", f"/trunks/{tid}").status == 200
    wait_for(lambda: not registered(c), what="binding removed on delete")


def test_shutdown_unregisters(world):
    """Stopping the server: the phone systems stop first and the SBC after
    them, so their un-REGISTERs reach the carrier."""
    s, c, tok = world
    add_trunk(s, tok)
    wait_for(lambda: registered(c), what="carrier binding")
    s.stop()
    wait_for(lambda: not registered(c), timeout=10, what="binding removed on shutdown")


def test_registration_recovers_after_carrier_restart(world):
    s, c, tok = world
    add_trunk(s, tok)
    wait_for(lambda: registered(c), what="carrier binding")
    c.restart()  # usrloc in memory: the binding is gone
    assert not registered(c)
    # the refresh (30 s before the end of 60 s) makes it again
    wait_for(lambda: registered(c), timeout=90, what="registered again")
