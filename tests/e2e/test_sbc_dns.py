"""The SBC looks its trunks' names up (issue 18; docs/architecture.md,
"Trunks"): RFC 3263 with c-ares against a real DNS server (dnsmasq, on a
free loopback port, ZENTRALE_TEST_DNS_SERVER) — NAPTR → SRV → A in the
NAPTR's order and filtered to the trunk's transport, SRV alone in priority
order, A alone, a port given (A only), a name that does not exist (logged,
nothing breaks), and a changed address found again when its TTL runs out
(ZENTRALE_TEST_DNS_MIN_TTL=1)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import Server, curl

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
PS = "dnsco"
PW = "dnsco-admin-pw"


def free_port():
    """A loopback port free for UDP and TCP now (dnsmasq takes both)."""
    while True:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            t.close()
            u.close()


def records():
    return [
        # NAPTR: TCP first by order, then UDP; each to its own SRV name, so
        # only following the NAPTR finds them (no _sip._udp.naptr.test)
        "--naptr-record=naptr.test,10,50,s,SIP+D2T,,tcp.naptr.test",
        "--naptr-record=naptr.test,20,50,s,SIP+D2U,,udp.naptr.test",
        "--naptr-record=naptr.test,30,50,s,SIPS+D2T,,tls.naptr.test",
        "--srv-host=udp.naptr.test,a2.naptr.test,5072,20",
        "--srv-host=udp.naptr.test,a1.naptr.test,5071,10",
        "--srv-host=tcp.naptr.test,t1.naptr.test,5081,10",
        "--host-record=a1.naptr.test,127.0.1.1",
        "--host-record=a2.naptr.test,127.0.1.2",
        "--host-record=t1.naptr.test,127.0.1.3",
        # SRV without NAPTR: priority 5 before 10
        "--srv-host=_sip._udp.srvonly.test,s1.srvonly.test,5091,10",
        "--srv-host=_sip._udp.srvonly.test,s2.srvonly.test,5092,5",
        "--host-record=s1.srvonly.test,127.0.2.1",
        "--host-record=s2.srvonly.test,127.0.2.2",
        # an address only
        "--host-record=aonly.test,127.0.3.1",
    ]


@pytest.fixture
def dns():
    d = tempfile.mkdtemp(prefix="zt-dns-")
    hosts = os.path.join(d, "hosts")
    with open(hosts, "w") as f:
        f.write("127.0.4.1 ttl.test\n")
    port = free_port()
    log = open(os.path.join(d, "log"), "wb")
    p = subprocess.Popen([DNSMASQ, "--no-daemon", "--no-resolv", "--no-hosts",
                          f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces",
                          "--local=/test/", "--local-ttl=1", f"--addn-hosts={hosts}",
                          "--pid-file=", "--log-queries"] + records(),
                         stdout=log, stderr=subprocess.STDOUT)
    # up when it answers a query (a TCP connect is enough to know it listens)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert p.poll() is None, open(os.path.join(d, "log")).read()
            time.sleep(0.05)
    p.addr = f"127.0.0.1:{port}"
    p.hosts = hosts
    p.queries = lambda name: open(os.path.join(d, "log"), errors="replace").read().count(
        f"query[A] {name} from")
    yield p
    p.terminate()
    p.wait(timeout=10)
    log.close()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def server(dns):
    s = Server(env={"ZENTRALE_TEST_DNS_SERVER": dns.addr,
                    "ZENTRALE_TEST_DNS_MIN_TTL": "1"}).start()
    s.create_ps(PS, PW)
    s.token_ps = s.pbx_token(PS, PW)
    yield s
    s.cleanup()


def add_trunk(s, name, transport, domain="", proxy="", peers=()):
    """A peer trunk when peers are given, else an account that registers."""
    body = {"name": name, "kind": "peer", "transport": transport, "domain": domain,
            "proxy": proxy, "peers": list(peers)}
    if not peers:
        body.update(kind="register", username="4930123", password="trunk-secret-1")
    r = curl("POST", s.sbc(f"/{PS}/api/v1/trunks"), body, token=s.token_ps)
    assert r.status == 201, r
    return r.json()["id"]


def resolved(s, tid, host, timeout=20):
    """The addresses the SBC logged for host of trunk tid, as one string."""
    pat = re.compile(r"trunk z[0-9a-f]{16} \(" + PS + "/" + str(tid) + r"\): " +
                     re.escape(host) + r" (→ .*|not resolved .*)")
    deadline = time.time() + timeout
    while time.time() < deadline:
        for line in s.log(tail=None).splitlines():
            m = pat.search(line)
            if m:
                return m.group(1)
        time.sleep(0.1)
    raise AssertionError(f"nothing logged for {host}\n" + s.log())


def test_naptr_srv_a_in_order_and_filtered_by_transport(server):
    udp = add_trunk(server, "naptr-udp", "udp", domain="naptr.test")
    tcp = add_trunk(server, "naptr-tcp", "tcp", domain="naptr.test")
    tls = add_trunk(server, "naptr-tls", "tls", domain="naptr.test")
    srv = add_trunk(server, "srv", "udp", domain="srvonly.test")
    a = add_trunk(server, "a", "udp", proxy="aonly.test", domain="example.invalid",
                  peers=["aonly.test:5099", "192.0.2.10"])
    missing = add_trunk(server, "missing", "udp", domain="missing.test")
    # the UDP NAPTR only, its SRV records by priority
    assert resolved(server, udp, "naptr.test") == \
        "→ 127.0.1.1:5071/udp, 127.0.1.2:5072/udp"
    assert resolved(server, tcp, "naptr.test") == "→ 127.0.1.3:5081/tcp"
    # a NAPTR to an SRV name without records: A of the name itself, none here
    assert resolved(server, tls, "naptr.test").startswith("not resolved (")
    assert resolved(server, srv, "srvonly.test") == \
        "→ 127.0.2.2:5092/udp, 127.0.2.1:5091/udp"
    # the proxy, not the domain beside it; a port given: the address with it
    assert resolved(server, a, "aonly.test") == "→ 127.0.3.1:5060/udp"
    assert resolved(server, a, "aonly.test:5099") == "→ 127.0.3.1:5099/udp"
    assert "example.invalid" not in server.log(tail=None)
    why = resolved(server, missing, "missing.test")
    assert why.startswith("not resolved (") and "not found" in why, why
    assert server.sanitizer_reports() == []
    assert server.ps_state(PS) == "running"


def wait_queries(dns, name, n):
    deadline = time.time() + 60
    while time.time() < deadline and dns.queries(name) < n:
        time.sleep(0.1)
    assert dns.queries(name) >= n, f"{name} asked {dns.queries(name)} times"


def test_a_changed_address_is_found_again_at_ttl(server, dns):
    t = add_trunk(server, "ttl", "udp", domain="ttl.test")
    missing = add_trunk(server, "missing", "udp", domain="missing.test")
    assert resolved(server, t, "ttl.test") == "→ 127.0.4.1:5060/udp"
    assert resolved(server, missing, "missing.test").startswith("not resolved (")
    # looked up again at each TTL (1 s here): said once while nothing changes
    wait_queries(dns, "ttl.test", 3)
    wait_queries(dns, "missing.test", 3)
    log = server.log(tail=None)
    assert log.count(f"({PS}/{t}): ttl.test →") == 1, log
    assert log.count(f"({PS}/{missing}): missing.test not resolved") == 1, log
    with open(dns.hosts, "w") as f:
        f.write("127.0.4.2 ttl.test\n")
    dns.send_signal(signal.SIGHUP)  # dnsmasq reads its hosts files again
    want = f"({PS}/{t}): ttl.test → 127.0.4.2:5060/udp"
    deadline = time.time() + 30
    while time.time() < deadline and want not in server.log(tail=None):
        time.sleep(0.1)
    assert server.wait_log(want), server.log()
    # a trunk deleted: its name is no longer looked up, nothing breaks
    r = curl("DELETE", server.sbc(f"/{PS}/api/v1/trunks/{t}"), token=server.token_ps)
    assert r.status in (200, 204), r
    assert server.ps_state(PS) == "running"


def options_from(server, src):
    """An OPTIONS from src to the SBC's trunk socket: the answer's status."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((src, 0))
    sock.settimeout(15)
    port = sock.getsockname()[1]
    msg = (f"OPTIONS sip:{PS}@127.0.0.1 SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP {src}:{port};branch=z9hG4bK-dns-{port}\r\n"
           "Max-Forwards: 70\r\n"
           f"From: <sip:carrier@{src}>;tag=dns{port}\r\n"
           f"To: <sip:{PS}@127.0.0.1>\r\n"
           f"Call-ID: dns-{port}@{src}\r\n"
           "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    try:
        sock.sendto(msg.encode(), ("127.0.0.1", 5062 + server.offset))
        while True:
            data = sock.recv(65535).decode(errors="replace")
            status = int(data.split(" ", 2)[1])
            if status >= 200:
                return status
    finally:
        sock.close()


def test_requests_from_a_resolved_peer_are_the_carriers(server):
    t = add_trunk(server, "peer", "udp", peers=["aonly.test"])
    assert resolved(server, t, "aonly.test") == "→ 127.0.3.1:5060/udp"
    # the resolved address is a carrier's (sbc_trunks_by_addr); a neighbour is not
    assert options_from(server, "127.0.3.9") == 403
    assert server.wait_log("trunk socket from 127.0.3.9, which is no carrier's")
    assert options_from(server, "127.0.3.1") != 403
    assert "from 127.0.3.1, which is no carrier's" not in server.log(tail=None)
