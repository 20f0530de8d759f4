"""Choosing the interfaces management and the SBC listen on, in a network
namespace of our own with a veth pair (198.18.0.0/15 is the range set aside
for such tests)."""
import os
import subprocess
import uuid

import pytest

from conftest import BIN, Server, curl, wait_port

VETH_ADDR = "198.18.0.1"


def sh(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


@pytest.fixture
def netns():
    if os.geteuid() != 0:
        pytest.fail("network namespaces need root (make test runs as root)")
    name = "zt-" + uuid.uuid4().hex[:8]
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "set", "lo", "up")
        sh("ip", "-n", name, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
        sh("ip", "-n", name, "addr", "add", VETH_ADDR + "/24", "dev", "veth0")
        sh("ip", "-n", name, "link", "set", "veth1", "up")
        sh("ip", "-n", name, "link", "set", "veth0", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name])


def reachable(ns, host, port):
    return wait_port(host, port, timeout=0.5, netns=ns)


def test_put_interfaces_moves_listeners_without_restarting_phone_systems(netns):
    s = Server(listen=(), netns=netns)
    s.host = "127.0.0.1"
    s.start()
    try:
        s.create_ps("my-company")
        pbx_pid = s.pids()["pbx my-company"]
        j = s.api("GET", "/interfaces").json()
        names = {i["name"]: i for i in j["interfaces"]}
        assert VETH_ADDR in names["veth0"]["addresses"]
        assert names["veth0"]["mac"] and names["veth0"]["up"] is True
        ssh_port = 22 + s.offset
        assert reachable(netns, VETH_ADDR, ssh_port)
        # by default everything listens everywhere
        trunks = {"sip-trunk-udp", "sip-trunk-tcp", "sip-trunk-tls"}
        assert {x["service"] for x in names["veth0"]["services"]} == {
            "mgmt-https", "sbc-https", "sip-tls", "ssh"} | trunks
        assert j["listen"] == {"management": [], "sbc": []}

        # the SBC only on veth0, management only on lo
        r = s.api("PUT", "/interfaces", {"sbc": ["veth0"], "management": ["lo"]})
        assert r.status == 200, r
        r = curl("GET", f"https://{VETH_ADDR}:{s.sbc_port}/my-company/api/v1/session",
                 netns=netns)
        assert r.status == 200 and r.json() == {"logged_in": False}
        assert not reachable(netns, "127.0.0.1", s.sbc_port)
        assert not reachable(netns, VETH_ADDR, s.mgmt_port)
        # SSH belongs to management: it moved with it
        assert reachable(netns, "127.0.0.1", ssh_port)
        assert not reachable(netns, VETH_ADDR, ssh_port)
        j = s.api("GET", "/interfaces").json()
        names = {i["name"]: i for i in j["interfaces"]}
        assert {x["service"] for x in names["veth0"]["services"]} == {"sbc-https",
                                                                      "sip-tls"} | trunks
        assert {x["service"] for x in names["lo"]["services"]} == {"mgmt-https", "ssh"}
        assert j["listen"] == {"management": ["lo"], "sbc": ["veth0"]}
        # phone systems were not restarted
        assert s.pids()["pbx my-company"] == pbx_pid

        # refused: unknown interfaces, wrong types; nothing changes
        r = s.api("PUT", "/interfaces", {"sbc": ["eth99"]})
        assert r.status == 400 and "eth99" in r.json()["error"]
        assert s.api("PUT", "/interfaces", {"sbc": "veth0"}).status == 400
        assert s.api("PUT", "/interfaces", {}).status == 400
        assert reachable(netns, VETH_ADDR, s.sbc_port)

        # the choice survives a restart
        s.stop()
        s2 = Server(data_dir=s.data, listen=(), netns=netns)
        s2.host = "127.0.0.1"
        s2.start(wait=False)  # the SBC is not on lo any more
        try:
            assert wait_port("127.0.0.1", s2.mgmt_port, 15, netns), s2.log()
            s2.wait_ready()
            assert wait_port(VETH_ADDR, s2.sbc_port, 15, netns), s2.log()
            assert reachable(netns, VETH_ADDR, s2.sbc_port)
            assert not reachable(netns, "127.0.0.1", s2.sbc_port)
            # back to every interface, this time through the CLI
            r = subprocess.run([BIN, "ctl", "--data-dir", s2.data, "interface", "set", "sbc",
                                "all"], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            assert reachable(netns, "127.0.0.1", s2.sbc_port)
            r = subprocess.run([BIN, "ctl", "--data-dir", s2.data, "interface", "set", "sbc",
                                "eth99"], capture_output=True, text=True)
            assert r.returncode == 1 and "eth99" in r.stderr
        finally:
            s2.cleanup()
    finally:
        s.cleanup()


ASK = """
import socket, sys
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.bind(("127.0.0.1", 0))
c.connect((sys.argv[1], int(sys.argv[2])))  # takes only what comes from there
host, port = c.getsockname()
c.send((f"OPTIONS sip:any SIP/2.0\\r\\nVia: SIP/2.0/UDP {host}:{port};branch=z9hG4bKpk1\\r\\n"
        f"From: <sip:a@b>;tag=1\\r\\nTo: <sip:any>\\r\\nCall-ID: pk1\\r\\nCSeq: 1 OPTIONS\\r\\n"
        f"Max-Forwards: 70\\r\\nContent-Length: 0\\r\\n\\r\\n").encode())
c.settimeout(3)
try:
    print(c.recv(4096).split(b"\\r\\n")[0].decode())
except socket.timeout:
    print("no answer")
"""


def test_sip_over_udp_answers_from_the_address_it_was_sent_to(netns):
    """Listening on every address, the SBC answers a datagram from the very
    address it came to, not from whichever address the route back prefers."""
    s = Server(listen=(), netns=netns)
    s.start()
    try:
        assert s.api("PUT", "/sbc", {"plain_sip": True}).status == 200
        s.create_ps("acme", "acme-admin-pw")
        for target in (VETH_ADDR, "127.0.0.1"):
            out = subprocess.run(["ip", "netns", "exec", netns, "/usr/bin/python3", "-c", ASK,
                                  target, str(5060 + s.offset)],
                                 capture_output=True, text=True, timeout=20).stdout.strip()
            assert out.startswith("SIP/2.0 "), (target, out)
    finally:
        s.cleanup()
