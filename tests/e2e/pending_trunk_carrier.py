"""Issue 18 point 8 against the real carrier (tests/e2e/carrier.py): a
Zentrale server in a namespace of its own, its SBC joined by a veth pair to
the carrier's namespace, a register trunk with digest authentication.
NOT COLLECTED YET (the name does not start with test_). The registration
tests (digest, no internal address on the wire, recovery after a carrier
restart) are test_trunk_reg.py's now. Still to write: the inbound call to a
baresip phone over TLS/SRTP with audio, outbound caller ID and number
format, failover on 503, emergency without permission, CLIR."""
import os
import time

import pytest

from carrier import Carrier
from conftest import Server, curl
from netns import netns_fixture

PREFIX = os.environ.get("ZENTRALE_NETNS_PREFIX", "zh-")
SRV, CAR, OTHER = "198.18.22.10", "198.18.22.1", "198.18.22.9"
INTERNAL = ("127.0.0.1", "sbc.invalid", "X-Zentrale-", ".sock")

netns = netns_fixture(PREFIX)


@pytest.fixture
def world(netns, tmp_path):
    srv = netns.add("srv")
    car = netns.add("car")
    netns.veth(srv, SRV + "/24", car, CAR + "/24")
    netns.addr(car, "veth1", OTHER + "/24")
    c = Carrier(tmp_path / "carrier", CAR, 5060, ns=car,
                subscribers={"zentrale1": "trunk-pw-1"}, dids={"4930123": "zentrale1"}).start()
    s = Server(netns=srv, listen=("127.0.0.1", SRV)).start()
    s.create_ps("acme", "acme-admin-pw")
    tok = s.pbx_token("acme", "acme-admin-pw")
    yield netns, s, c, tok, car
    c.stop()
    s.cleanup()


def papi(s, tok, method, path, body=None):
    return curl(method, s.sbc(f"/acme/api/v1{path}"), body, token=tok, netns=s.netns)


def add_trunk(s, tok):
    r = papi(s, tok, "POST", "/trunks", {
        "name": "carrier", "kind": "register", "transport": "udp",
        "domain": f"{CAR}:5060", "username": "zentrale1", "password": "trunk-pw-1",
        "register_interval": 60})
    assert r.status == 201, r
    return r.json()["id"]


def wait_registered(c, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if "zentrale1" in c.registrations():
            return True
        time.sleep(0.3)
    return False


def test_request_from_other_address_refused(world):
    netns, s, c, tok, car = world
    add_trunk(s, tok)
    assert wait_registered(c)
    probe = (
        "import socket\n"
        f"s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('{OTHER}',5099));s.settimeout(3)\n"
        f"m=('INVITE sip:4930123@{SRV}:5060 SIP/2.0\\r\\nVia: SIP/2.0/UDP {OTHER}:5099;branch=z9hG4bKx;rport\\r\\n'"
        f"'From: <sip:+4989111@{OTHER}>;tag=1\\r\\nTo: <sip:4930123@{SRV}>\\r\\nCall-ID: foreign1\\r\\n'"
        "'CSeq: 1 INVITE\\r\\nMax-Forwards: 70\\r\\nContent-Length: 0\\r\\n\\r\\n').encode()\n"
        f"s.sendto(m,('{SRV}',5060))\n"
        "print(s.recv(2000).decode().split('\\r\\n')[0])\n")
    r = netns.run(car, "python3", "-c", probe, check=False)
    assert r.stdout.startswith("SIP/2.0 403"), r.stdout + r.stderr
