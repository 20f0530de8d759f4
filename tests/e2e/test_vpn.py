"""The phones' VPN on TCP 8885: switched on through the API, a client made,
its profile imported by Debian's openvpn in a phone's network namespace, and
through the tunnel the phone reaches the phone system's web UI and registers
over SIP/TLS; revoked, it is cut off and cannot come back; switched off,
nothing is left. The server runs in a network namespace of its own, so its
tun device never appears on the machine (198.18.0.0/15 is the range set
aside for such tests)."""
import json
import os
import pwd
import re
import subprocess
import time
import uuid

import pytest

from conftest import BIN, Server, curl, wait_port

SRV, PHONE = "198.18.7.1", "198.18.7.2"
SUBNET, TUNNEL = "10.77.0.0/24", "10.77.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))


def sh(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def nets():
    """(server namespace, phone namespace), joined by a veth pair."""
    if os.geteuid() != 0:
        pytest.fail("network namespaces need root (make test runs as root)")
    tag = uuid.uuid4().hex[:6]
    srv, phone = "zt-vs-" + tag, "zt-vp-" + tag
    sh("ip", "netns", "add", srv)
    sh("ip", "netns", "add", phone)
    try:
        for ns in (srv, phone):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", srv, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
           "netns", phone)
        sh("ip", "-n", srv, "addr", "add", SRV + "/24", "dev", "veth0")
        sh("ip", "-n", phone, "addr", "add", PHONE + "/24", "dev", "veth1")
        sh("ip", "-n", srv, "link", "set", "veth0", "up")
        sh("ip", "-n", phone, "link", "set", "veth1", "up")
        yield srv, phone
    finally:
        subprocess.run(["ip", "netns", "del", phone])
        subprocess.run(["ip", "netns", "del", srv])


def addresses(ns):
    return sh("ip", "-n", ns, "-4", "-o", "addr", "show")


class Phone:
    """Debian's openvpn with a profile from the API, in the phone's namespace."""

    def __init__(self, ns, profile, tmp_path, name):
        self.ns = ns
        self.conf = tmp_path / f"{name}.ovpn"
        self.conf.write_text(profile)
        self.log = tmp_path / f"{name}.log"
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "openvpn", "--config", str(self.conf),
             "--dev", "tun-" + name[:8]],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT)

    def address(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(r"inet (10\.77\.0\.\d+)/24", addresses(self.ns))
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError("no tunnel:\n" + self.log.read_text())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def register_in(ns, port, user, password, domain):
    """A REGISTER over SIP/TLS from inside the namespace; the final status."""
    code = (f"import sys; sys.path.insert(0, {HERE!r}); import sipclient as s; "
            f"c = s.Client('tls', {port}, {TUNNEL!r}); "
            f"print(s.register_with_auth(c, {user!r}, {password!r}, {domain!r})[0])")
    out = subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", code],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


def ctl(s, *args):
    """The CLI (the same as over SSH) through the local control socket."""
    return subprocess.run([BIN, "ctl", "--data-dir", s.data, *args], capture_output=True,
                          text=True, timeout=30)


def openvpn_pid(ns):
    pids = [int(p) for p in sh("ip", "netns", "pids", ns).split()
            if open(f"/proc/{p}/comm").read().strip() == "openvpn"]
    assert len(pids) == 1, pids
    return pids[0]


def vpn(s):
    r = s.api("GET", "/vpn")
    assert r.status == 200, r
    return r.json()


def test_a_phone_reaches_its_phone_system_through_the_vpn(nets, tmp_path):
    srv_ns, phone_ns = nets
    s = Server(listen=(SRV,), netns=srv_ns).start()
    phone = None
    try:
        port = 8885 + s.offset
        st = vpn(s)
        assert st["enabled"] is False and st["running"] is False and st["clients"] == []
        assert not wait_port(SRV, port, 0.5, srv_ns), "8885 is off by default"

        # refused settings leave everything as it was
        for bad in ({"subnet": "8.8.8.0/24"}, {"subnet": "10.77.0.5/24"},
                    {"subnet": "10.0.0.0/8"}, {"enabled": "yes"}, {"host": "a b"}):
            r = s.api("PUT", "/vpn", bad)
            assert r.status == 400, (bad, r)
        r = s.api("PUT", "/vpn", {"enabled": True, "subnet": SUBNET, "host": SRV})
        assert r.status == 200, r
        st = r.json()
        assert st["running"] is True and st["address"] == TUNNEL and st["port"] == port
        assert wait_port(SRV, port, 10, srv_ns), s.log()
        ifname = st["interface"]
        assert re.search(rf"{ifname}\s+inet {TUNNEL}/24", addresses(srv_ns)), addresses(srv_ns)

        # openvpn runs as the server's account, with no capability
        pid = openvpn_pid(srv_ns)
        assert pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name == "zentrale"
        assert re.search(r"CapEff:\s+0+\n", open(f"/proc/{pid}/status").read())

        # clients
        assert s.api("POST", "/vpn/clients", {"name": "../evil"}).status == 400
        r = s.api("POST", "/vpn/clients", {"name": "desk-1"})
        assert r.status == 201, r
        assert s.api("POST", "/vpn/clients", {"name": "desk-1"}).status == 409
        r = s.api("GET", "/vpn/clients/desk-1/profile")
        assert r.status == 200, r
        assert 'filename="desk-1.ovpn"' in r.headers and "no-store" in r.headers, r.headers
        profile = r.text
        assert f"remote {SRV} {port}" in profile and "BEGIN PRIVATE KEY" in profile
        assert s.api("GET", "/vpn/clients/nobody/profile").status == 404

        # the phone's side: a phone system and a user to register as
        s.create_ps("acme", "acme-admin-pw")
        tok = s.pbx_token("acme", "acme-admin-pw")
        r = curl("POST", s.sbc("/acme/api/v1/users"),
                 {"display_name": "Desk", "extension": "201", "sip_password": "acme-201-secret"},
                 token=tok, netns=srv_ns)
        assert r.status == 201, r

        phone = Phone(phone_ns, profile, tmp_path, "desk-1")
        inside = phone.address()
        # through the tunnel: the phone system's page on 443, SIP over TLS on 5061
        r = curl("GET", f"https://{TUNNEL}:{443 + s.offset}/acme/", netns=phone_ns)
        assert r.status == 200 and "<html" in r.text.lower(), r
        assert register_in(phone_ns, 5061 + s.offset, "201", "acme-201-secret", "acme") == 200
        regs = curl("GET", s.sbc("/acme/api/v1/registrations"), token=tok, netns=srv_ns).json()
        assert inside in str(regs), regs

        # a call from the phone in the tunnel to one outside, media both ways;
        # the SBC offers the phone in the tunnel its tunnel address
        assert s.api("PUT", "/sbc", {"plain_sip": True}).status == 200
        r = curl("POST", s.sbc("/acme/api/v1/users"),
                 {"display_name": "Out", "extension": "202", "sip_password": "acme-202-secret"},
                 token=tok, netns=srv_ns)
        assert r.status == 201, r
        out = subprocess.run(["ip", "netns", "exec", phone_ns, "/usr/bin/python3",
                              os.path.join(HERE, "vpn_call.py"), str(s.offset), TUNNEL, SRV],
                             capture_output=True, text=True, timeout=60, cwd=HERE)
        assert out.returncode == 0, out.stderr + s.log()
        seen = json.loads(out.stdout)
        assert seen["a_ip"] == inside and seen["a_media"] == TUNNEL and seen["b_media"] == SRV
        assert seen["b_got"] == "A" * 160 and seen["a_got"] == "B" * 160, seen
        st = vpn(s)
        conn = st["clients"][0]["connected"]
        assert st["clients"][0]["name"] == "desk-1" and conn["vpn_address"] == inside, st

        # revoked: cut off at once, and a reconnect is refused
        assert s.api("DELETE", "/vpn/clients/desk-1").status == 200
        deadline = time.time() + 15
        while time.time() < deadline and vpn(s)["clients"]:
            time.sleep(0.2)
        assert vpn(s)["clients"] == []
        assert s.api("GET", "/vpn/clients/desk-1/profile").status == 404
        refused = re.compile(r"openvpn: .*(CRL CHECK FAILED|certificate revoked)")
        deadline = time.time() + 20
        while time.time() < deadline and not refused.search(s.log(tail=None)):
            time.sleep(0.3)
        assert refused.search(s.log(tail=None)), s.log()
        assert curl("GET", f"https://{TUNNEL}:{443 + s.offset}/acme/", netns=phone_ns,
                    timeout=3).status != 200
        phone.stop()

        # switched off: openvpn gone, the device gone, the port closed
        r = s.api("PUT", "/vpn", {"enabled": False})
        assert r.status == 200 and r.json()["running"] is False, r
        assert ifname not in addresses(srv_ns)
        assert not wait_port(SRV, port, 0.5, srv_ns)
        assert not os.path.exists(f"/proc/{pid}") or \
            open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    finally:
        if phone:
            phone.stop()
        s.cleanup()


def test_the_vpn_comes_back_after_a_restart_and_after_openvpn_dies(nets, tmp_path):
    srv_ns, phone_ns = nets
    s = Server(listen=(SRV,), netns=srv_ns).start()
    try:
        r = s.api("PUT", "/vpn", {"enabled": True, "subnet": SUBNET})
        assert r.status == 200, r
        ifname = r.json()["interface"]
        assert s.api("POST", "/vpn/clients", {"name": "soft-phone"}).status == 201
        # without a host set, the profile names the address the admin used
        r = s.api("GET", "/vpn/clients/soft-phone/profile")
        assert f"remote {SRV} {8885 + s.offset}" in r.text, r

        # a whole-server backup carries the VPN's CA and its clients
        b = s.api("POST", "/backups", {})
        assert b.status == 201, b
        archive = tmp_path / "server.tar.gz"
        sh("ip", "netns", "exec", srv_ns, "curl", "-sfk", "-o", str(archive), "-H",
           f"Authorization: Bearer {s.token()}", s.mgmt(f"/backups/{b.json()['id']}/archive"))
        names = sh("tar", "-tzf", str(archive)).split()
        assert {"certs/vpn/ca.key", "certs/vpn/crl.pem", "certs/vpn/clients/soft-phone.key",
                "system.db"} <= set(names), names

        # openvpn killed: the supervisor starts it again
        first = openvpn_pid(srv_ns)
        os.kill(first, 9)
        deadline = time.time() + 15
        while time.time() < deadline and not vpn(s)["running"]:
            time.sleep(0.2)
        st = vpn(s)
        assert st["running"] is True, s.log()
        assert openvpn_pid(srv_ns) != first
        assert s.wait_log("openvpn exited")

        # a stop removes the device; the next start brings everything back
        assert s.stop() == 0
        assert ifname not in addresses(srv_ns)
        s.start()
        st = vpn(s)
        assert st["enabled"] and st["running"] and st["address"] == TUNNEL, st
        assert [c["name"] for c in st["clients"]] == ["soft-phone"]
        # the CLI: state, clients, a profile (which needs the host: the CLI's
        # own connection says nothing about where phones find the server)
        out = ctl(s, "vpn", "show")
        assert out.returncode == 0 and "running on TCP" in out.stdout, out
        assert re.search(r"soft-phone\s+-\s+not connected", out.stdout), \
            (out.stdout, ctl(s, "--json", "vpn", "show").stdout, vpn(s))
        out = ctl(s, "vpn", "profile", "soft-phone")
        assert out.returncode != 0 and "host" in out.stderr, out
        assert ctl(s, "vpn", "set", "host", "pbx.example.org").returncode == 0
        out = ctl(s, "vpn", "profile", "soft-phone")
        assert out.returncode == 0 and f"remote pbx.example.org {8885 + s.offset}" in out.stdout
        assert ctl(s, "vpn", "add", "cli-phone").returncode == 0
        assert ctl(s, "vpn", "revoke", "cli-phone").returncode == 0
        assert ctl(s, "vpn", "revoke", "cli-phone").returncode != 0
        assert ctl(s, "vpn", "set", "subnet", "8.8.8.0/24").returncode != 0

        phone = Phone(phone_ns, r.text, tmp_path, "soft")
        try:
            phone.address()
            r = curl("GET", f"https://{TUNNEL}:{443 + s.offset}/", netns=phone_ns)
            # the SBC answered: its landing page (sbc_public.c)
            assert r.status == 200 and "<h1>Zentrale</h1>" in r.text, r
        finally:
            phone.stop()

        # a power cut leaves the device behind: the next start takes it over,
        # and a start with the VPN off removes it
        s.kill_tree()
        assert ifname in addresses(srv_ns)
        s.start()
        assert vpn(s)["running"]
        assert s.api("PUT", "/vpn", {"enabled": False}).status == 200
        s.kill_tree()
        sh("ip", "-n", srv_ns, "tuntap", "add", "dev", ifname, "mode", "tun")
        s.start()
        assert ifname not in sh("ip", "-n", srv_ns, "link", "show")
        assert s.wait_log("left from before")
    finally:
        s.cleanup()


def test_openvpn_that_cannot_run_shows_in_health_and_follows_the_sbcs_interfaces(nets):
    srv_ns, _ = nets
    s = Server(listen=(), netns=srv_ns)  # every interface of its namespace
    s.host = "127.0.0.1"
    s.start()
    blocker = None
    try:
        port = 8885 + s.offset
        # something else holds the VPN's port: openvpn cannot listen and exits
        blocker = subprocess.Popen(
            ["ip", "netns", "exec", srv_ns, "/usr/bin/python3", "-c",
             f"import socket,time; s=socket.socket(socket.AF_INET6); "
             f"s.bind(('::', {port})); s.listen(); time.sleep(60)"])
        assert wait_port("127.0.0.1", port, 5, srv_ns)
        assert s.api("PUT", "/vpn", {"enabled": True, "subnet": SUBNET}).status == 200
        deadline = time.time() + 10
        while time.time() < deadline and not vpn(s)["error"]:
            time.sleep(0.2)
        st = vpn(s)
        assert st["enabled"] and not st["running"] and "openvpn exited" in st["error"], st
        r = s.api("GET", "/health")
        assert r.status == 503 and "VPN" in r.text, r
        # the port free again: the next restart (backoff) runs
        blocker.kill()
        blocker.wait()
        deadline = time.time() + 20
        while time.time() < deadline and not vpn(s)["running"]:
            time.sleep(0.3)
        assert vpn(s)["running"], s.log()
        assert s.api("GET", "/health").status == 200

        # the SBC moved to one interface: openvpn listens there, and only there
        r = s.api("PUT", "/interfaces", {"sbc": ["veth0"]})
        assert r.status == 200, r
        assert s.wait_log("openvpn restarts on them")
        assert wait_port(SRV, port, 10, srv_ns)
        assert not wait_port("127.0.0.1", port, 0.5, srv_ns)
        assert vpn(s)["running"]
    finally:
        if blocker and blocker.poll() is None:
            blocker.kill()
        s.cleanup()


def test_phones_in_the_vpn_reach_the_sbc_and_nothing_else(nets, tmp_path):
    """Management and SSH listen on every address here, and the machine routes
    (ip_forward=1) to a LAN in a third namespace: through the tunnel a phone
    still reaches only the SBC."""
    srv_ns, phone_ns = nets
    lan = "zt-vl-" + uuid.uuid4().hex[:6]
    sh("ip", "netns", "add", lan)
    s = phone = listener = None
    try:
        sh("ip", "-n", srv_ns, "link", "add", "veth2", "type", "veth", "peer", "name", "veth3",
           "netns", lan)
        sh("ip", "-n", srv_ns, "addr", "add", "198.18.11.1/24", "dev", "veth2")
        sh("ip", "-n", lan, "addr", "add", "198.18.11.2/24", "dev", "veth3")
        for ns, dev in ((srv_ns, "veth2"), (lan, "veth3"), (lan, "lo")):
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", lan, "route", "add", "10.77.0.0/24", "via", "198.18.11.1")
        sh("ip", "netns", "exec", srv_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        listener = subprocess.Popen(
            ["ip", "netns", "exec", lan, "/usr/bin/python3", "-c",
             "import socket\ns=socket.create_server(('198.18.11.2', 9999))\n"
             "while True:\n c,_=s.accept(); c.sendall(b'lan'); c.close()"])
        assert wait_port("198.18.11.2", 9999, 5, srv_ns)  # the LAN is there

        s = Server(listen=(), netns=srv_ns)
        s.host = SRV
        s.start()
        assert s.api("PUT", "/vpn", {"enabled": True, "subnet": SUBNET}).status == 200
        assert s.api("POST", "/vpn/clients", {"name": "desk"}).status == 201
        profile = s.api("GET", "/vpn/clients/desk/profile").text
        phone = Phone(phone_ns, profile, tmp_path, "desk")
        phone.address()
        dev = re.search(r"\d+: (tun-\S+)\s+inet 10\.77", addresses(phone_ns)).group(1)
        sh("ip", "-n", phone_ns, "route", "add", "198.18.11.0/24", "via", TUNNEL, "dev", dev)

        # the SBC answers at the tunnel's address
        r = curl("GET", f"https://{TUNNEL}:{443 + s.offset}/", netns=phone_ns, timeout=5)
        assert r.status == 200 and "<h1>Zentrale</h1>" in r.text, r  # its landing page
        # management and SSH listen there too, but close such connections at once
        r = curl("GET", f"https://{TUNNEL}:{8443 + s.offset}/api/v1/health", netns=phone_ns,
                 timeout=5)
        assert r.status == 0, r
        assert curl("GET", f"https://{SRV}:{8443 + s.offset}/api/v1/health", netns=phone_ns,
                    timeout=5).status == 200  # outside the tunnel it is management
        probe = ("import socket; c=socket.create_connection(('{}', {}), timeout=3); "
                 "print(repr(c.recv(64)))")
        out = sh("ip", "netns", "exec", phone_ns, "/usr/bin/python3", "-c",
                 probe.format(TUNNEL, 22 + s.offset))
        assert out.strip() == "b''", out
        out = sh("ip", "netns", "exec", phone_ns, "/usr/bin/python3", "-c",
                 probe.format(SRV, 22 + s.offset))
        assert out.startswith("b'SSH-2.0"), out
        # nothing is routed on from the tunnel
        r = subprocess.run(["ip", "netns", "exec", phone_ns, "/usr/bin/python3", "-c",
                            probe.format("198.18.11.2", 9999)], capture_output=True, text=True)
        assert r.returncode != 0 and "lan" not in r.stdout, r
    finally:
        if phone:
            phone.stop()
        if s:
            s.cleanup()
        if listener:
            listener.kill()
            listener.wait()
        subprocess.run(["ip", "netns", "del", lan])
