"""The SBC behind NAT (issue 18 point 3), on the wire. Three namespaces:
the server's (10.77.0.2 on lan0, its default route the router), a router
that masquerades what leaves for its public side (198.18.77.1 on wan0,
nftables) and forwards SIP (UDP 5060 and 5062, TLS 5061) and the media
range to the server, as an administrator sets it up, and the outside
(198.18.77.9), which reaches nothing but the router's public address. A phone outside and a
phone inside the server's network (its own namespace) call each other:
with the external address set (by hand, or found by a STUN server in the
outside namespace — a small RFC 5389 responder here), what the outside
phone receives names only the router's public address (Via,
Record-Route, SDP c=/o=), what the inside phone receives only the
server's own, and RTP crosses the NAT both ways to the ports the SDP
named."""
import os
import re
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import BIN, Server, curl
from netns import inside, netns_fixture
from sipua import Phone, hdrs

PREFIX = os.environ.get("ZENTRALE_NETNS_PREFIX_NAT", "zn-")
SRV, RTR_IN = "10.77.0.2", "10.77.0.1"
PUBLIC, OUT = "198.18.77.1", "198.18.77.9"
MEDIA = (40000, 40099)
STUN_PORT = 3478

netns = netns_fixture(PREFIX)


def stun_responder(ns, seen):
    """A STUN server (RFC 5389 Binding, XOR-MAPPED-ADDRESS) on OUT:3478 in
    ns, answering every request with the address it came from; seen gets
    each request's source. Runs in a thread until the socket is closed."""
    with inside(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((OUT, STUN_PORT))

    def serve():
        while True:
            try:
                data, src = s.recvfrom(2048)
            except OSError:
                return
            if len(data) < 20 or struct.unpack("!HHI", data[:8])[2] != 0x2112A442:
                continue
            if struct.unpack("!H", data[:2])[0] != 0x0001:
                continue
            seen.append(src)
            tid = data[8:20]
            ip = struct.unpack("!I", socket.inet_aton(src[0]))[0] ^ 0x2112A442
            attr = struct.pack("!HHBBHI", 0x0020, 8, 0, 1, src[1] ^ 0x2112, ip)
            s.sendto(struct.pack("!HHI", 0x0101, len(attr), 0x2112A442) + tid + attr, src)

    threading.Thread(target=serve, daemon=True).start()
    return s


# The server on its addresses, or on the wildcard (dual-stack "::": our
# address from each datagram's IP_PKTINFO, IPv4 peers as IPv4-mapped).
ON_ADDRESSES, ON_WILDCARD = ("127.0.0.1", SRV), ()


@pytest.fixture
def world(netns, tmp_path, request):
    srv, rtr, out = netns.add("srv"), netns.add("rtr"), netns.add("out")
    netns.veth(srv, SRV + "/24", rtr, RTR_IN + "/24", dev_a="lan0", dev_b="in0")
    netns.veth(rtr, PUBLIC + "/24", out, OUT + "/24", dev_a="wan0", dev_b="eth0")
    netns.route(srv, "default", RTR_IN)
    netns.forward(rtr)
    s = Server(netns=srv, listen=getattr(request, "param", ON_ADDRESSES))
    s.host = "127.0.0.1"
    o = s.offset
    rules = f"""table ip zn {{
  chain pre {{
    type nat hook prerouting priority -100;
    iifname "wan0" udp dport {{ {5060 + o}, {5062 + o}, {MEDIA[0]}-{MEDIA[1]} }} dnat to {SRV}
    iifname "wan0" tcp dport {5061 + o} dnat to {SRV}
  }}
  chain post {{
    type nat hook postrouting priority 100;
    oifname "wan0" masquerade
  }}
}}
"""
    (tmp_path / "nat.nft").write_text(rules)
    netns.run(rtr, "nft", "-f", str(tmp_path / "nat.nft"))
    s.start()
    try:
        s.create_ps("acme", "acme-admin-pw")
        tok = s.pbx_token("acme", "acme-admin-pw")
        r = s.api("PUT", "/sbc", {"plain_sip": True,
                                  "media": {"port_min": MEDIA[0], "port_max": MEDIA[1]}})
        assert r.status == 200, r
        s.create_user("acme", tok, "201", "Inside", "inside-sip-pw-1")
        s.create_user("acme", tok, "202", "Outside", "outside-sip-pw-1")
        yield {"ns": netns, "srv": srv, "rtr": rtr, "out": out, "s": s, "tok": tok}
    finally:
        s.cleanup()


def phones(w):
    port = 5060 + w["s"].offset
    with inside(w["srv"]):
        inner = Phone("udp", port, "201", "inside-sip-pw-1", "acme", rtp_port=41000,
                      server=SRV)
        inner_rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        inner_rtp.bind((SRV, 41000))
    with inside(w["out"]):
        outer = Phone("udp", port, "202", "outside-sip-pw-1", "acme", rtp_port=42000,
                      server=PUBLIC)
        outer_rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        outer_rtp.bind((OUT, 42000))
    assert outer.ip == OUT and inner.ip == SRV
    assert inner.register() == 200
    assert outer.register() == 200
    return inner, inner_rtp, outer, outer_rtp


def sdp_addr(body):
    body = body.decode()
    c = re.search(r"^c=IN IP4 (\S+)", body, re.M).group(1)
    o = re.search(r"^o=.* IN IP4 (\S+)", body, re.M).group(1)
    port = int(re.search(r"^m=audio (\d+)", body, re.M).group(1))
    return c, o, port


def call_across(w, public):
    """201 (inside) calls 202 (outside) and 202 answers: checks what each
    received, and that RTP crosses both ways."""
    inner, inner_rtp, outer, outer_rtp = phones(w)
    sip = 5060 + w["s"].offset
    call = inner.call("202")
    inv = outer.request("INVITE")
    text = inv.raw_text() + "\n" + inv.body.decode()
    # the outside phone is told only the public address
    assert SRV not in text and "127.0.0.1" not in text, text
    assert inv.h("via").startswith(f"SIP/2.0/UDP {public}:{sip};"), text
    assert [rr for rr in hdrs(inv.headers, "record-route")] == [f"<sip:{public}:{sip};lr>"], text
    c, o, out_media = sdp_addr(inv.body)
    assert c == public and o == public, inv.body
    assert MEDIA[0] <= out_media <= MEDIA[1]
    dialog = outer.accept(inv)
    outer.answer(inv, 200, body=outer.sdp(), tag=dialog["tag"])
    ok = inner.final(call)
    assert ok.status == 200, ok.raw_text()
    text = ok.raw_text() + "\n" + ok.body.decode()
    # the inside phone is told only the server's own address
    assert public not in text, text
    assert [rr for rr in hdrs(ok.headers, "record-route")] == [f"<sip:{SRV}:{sip};lr>"], text
    c, o, in_media = sdp_addr(ok.body)
    assert c == SRV and o == SRV, ok.body
    inner.confirm(call, ok)
    outer.request("ACK")
    # RTP: outside -> router's public address -> relay -> inside, and back
    rtp = bytes([0x80, 0]) + b"\x00\x01" + b"\x00" * 8 + b"hello from outside"
    inner_rtp.settimeout(5)
    outer_rtp.settimeout(5)
    got = None
    for _ in range(20):  # the relay takes media once the 2xx was seen
        outer_rtp.sendto(rtp, (public, out_media))
        try:
            got, src = inner_rtp.recvfrom(2048)
            break
        except socket.timeout:
            continue
    assert got and got.endswith(b"hello from outside"), got
    assert src == (SRV, in_media), src
    inner_rtp.sendto(bytes([0x80, 0]) + b"\x00\x01" + b"\x00" * 8 + b"hello from inside",
                     (SRV, in_media))
    back, src = outer_rtp.recvfrom(2048)
    assert back.endswith(b"hello from inside") and src == (public, out_media), (back, src)
    inner.in_dialog(call, "BYE")
    assert inner.response("BYE").status == 200
    for p in (inner, outer):
        p.close()
    for sk in (inner_rtp, outer_rtp):
        sk.close()


def nat_of(s, iface="lan0"):
    for n in s.api("GET", "/sbc").json()["nat"]:
        if n["interface"] == iface:
            return n
    return None


@pytest.mark.parametrize("world", [ON_ADDRESSES, ON_WILDCARD], indirect=True,
                         ids=["addresses", "wildcard"])
def test_external_address_outside_inside_address_inside(world):
    w = world
    s = w["s"]
    r = s.api("PUT", "/sbc/nat/lan0", {"external_address": PUBLIC})
    assert r.status == 200, r
    n = nat_of(s)
    assert n["external_address"] == PUBLIC and n["stun_server"] == ""
    assert n["inside"] == ["10.77.0.0/24"], n  # the interface's own subnet by default
    call_across(w, PUBLIC)
    assert s.wait_log(f"nat: lan0: external address {PUBLIC} (configured)")
    # switched off: the outside phone is told the server's own address again
    assert s.api("DELETE", "/sbc/nat/lan0").status == 200
    assert nat_of(s) is None
    inner, inner_rtp, outer, outer_rtp = phones(w)
    inner.call("202")
    inv = outer.request("INVITE")
    assert inv.h("via").startswith(f"SIP/2.0/UDP {SRV}:"), inv.raw_text()
    assert f"c=IN IP4 {SRV}" in inv.body.decode(), inv.body


def wait_nat(s, done, timeout=30):
    """GET /sbc's nat of lan0 once done(it) holds (the SBC reports every
    few seconds); the last one seen when the time is up."""
    deadline = time.time() + timeout
    while True:
        n = nat_of(s)
        if (n and done(n)) or time.time() > deadline:
            return n
        time.sleep(0.3)


@pytest.mark.parametrize("world", [ON_ADDRESSES, ON_WILDCARD], indirect=True,
                         ids=["addresses", "wildcard"])
def test_stun_finds_the_routers_public_address(world):
    w = world
    s = w["s"]
    seen = []
    sock = stun_responder(w["out"], seen)
    try:
        # a server that does not answer: the failure is reported
        r = s.api("PUT", "/sbc/nat/lan0", {"stun_server": f"{OUT}:{STUN_PORT + 1}"})
        assert r.status == 200, r
        n = wait_nat(s, lambda n: n["stun_error"] == "no answer")
        assert n["stun_error"] == "no answer" and n["in_use"] is None, (n, s.log())
        assert s.wait_log(f"STUN server {OUT}:{STUN_PORT + 1}: no answer")
        r = s.api("PUT", "/sbc/nat/lan0", {"stun_server": f"{OUT}:{STUN_PORT}"})
        assert r.status == 200, r
        n = wait_nat(s, lambda n: n["in_use"])
        assert n["in_use"] == PUBLIC and n["stun_error"] == "", (n, s.log())
        # asked from the SIP trunk socket, as the router maps it for carriers
        assert seen and seen[0] == (PUBLIC, 5062 + s.offset), seen
        assert s.wait_log(f"STUN server {OUT}:{STUN_PORT} says we are {PUBLIC}")
        m = curl("GET", f"https://127.0.0.1:{s.mgmt_port}/metrics", token=s.token(),
                 netns=s.netns)
        assert f'zentrale_sbc_nat_external{{interface="lan0",address="{PUBLIC}"}} 1' in m.text, m
        call_across(w, PUBLIC)
        # a new SBC (killed, restarted by the supervisor) asks again at its start
        before = len(seen)
        os.kill(s.pids()["sbc"], 9)
        n = wait_nat(s, lambda n: len(seen) > before and n["in_use"])
        assert len(seen) > before and n["in_use"] == PUBLIC, (seen, n, s.log())
        call_across(w, PUBLIC)
    finally:
        sock.close()


def test_settings_are_checked(world):
    s = world["s"]
    for body, says in (
            ({}, "either external_address"),
            ({"external_address": "198.18.77"}, "not an IPv4 or IPv6 address"),
            ({"external_address": "127.0.0.1"}, "loopback"),
            ({"external_address": PUBLIC, "stun_server": "stun.example:3478"}, "either"),
            ({"stun_server": "stun.example:70000"}, "1-65535"),
            ({"external_address": PUBLIC, "local_networks": ["10.0.0.1/8"]}, "host bits"),
            ({"external_address": PUBLIC, "local_networks": "10.0.0.0/8"}, "a list"),
            ({"external_address": PUBLIC, "nat": True}, "no such setting")):
        r = s.api("PUT", "/sbc/nat/lan0", body)
        assert r.status == 400 and says in r.json()["error"], (body, r)
    assert s.api("PUT", "/sbc/nat/lan0", {"external_address": PUBLIC}).status == 200
    # a body of null or a list is no way to switch it off (DELETE is)
    assert s.api("PUT", "/sbc/nat/lan0", "null").status == 400
    r = s.api("PUT", "/sbc/nat/lan0", [])
    assert r.status == 400 and "JSON object" in r.json()["error"], r
    assert nat_of(s)["external_address"] == PUBLIC
    r = s.api("PUT", "/sbc/nat/nosuch0", {"external_address": PUBLIC})
    assert r.status == 404 and "does not exist" in r.json()["error"], r
    r = s.api("PUT", "/sbc/nat/lan0", {"external_address": "2001:db8::5",
                                       "local_networks": ["10.0.0.0/8", "fd00::/8"]})
    assert r.status == 200, r
    n = nat_of(s)
    assert n["inside"] == ["10.0.0.0/8", "fd00::/8"] and n["in_use"] in (None, "2001:db8::5")
    assert nat_of(s)["external_address"] == "2001:db8::5"


def test_the_cli_sets_shows_and_switches_off(world):
    s = world["s"]

    def ctl(*args):
        return subprocess.run([BIN, "ctl", "--data-dir", s.data, *args],
                              capture_output=True, text=True, timeout=20)
    r = ctl("sbc", "nat", "lan0", "external", PUBLIC, "10.77.0.0/24", "192.168.0.0/16")
    assert r.returncode == 0 and f"told {PUBLIC}" in r.stdout, r
    n = nat_of(s)
    assert n["external_address"] == PUBLIC, n
    assert n["inside"] == ["10.77.0.0/24", "192.168.0.0/16"], n
    r = ctl("sbc", "show")
    assert r.returncode == 0 and f"NAT on lan0: external address {PUBLIC}" in r.stdout, r
    # the supervisor's check, as for the API
    r = ctl("sbc", "nat", "lan0", "external", "198.18.77")
    assert r.returncode != 0 and "not an IPv4 or IPv6 address" in r.stdout + r.stderr, r
    assert ctl("sbc", "nat", "lan0", "sideways", "x").returncode == 2  # usage
    assert nat_of(s)["external_address"] == PUBLIC
    r = ctl("sbc", "nat", "lan0", "off")
    assert r.returncode == 0, r
    assert nat_of(s) is None


def test_a_carrier_outside_is_told_the_public_address(world):
    """A call out over a peer trunk to a carrier outside (a UDP socket
    that answers 486): its INVITE comes from the router's public address
    and our trunk port, and its Via, Contact, Record-Route and SDP name
    that address and nothing of the inside."""
    w = world
    s = w["s"]
    assert s.api("PUT", "/sbc/nat/lan0", {"external_address": PUBLIC}).status == 200
    with inside(w["out"]):
        car = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        car.bind((OUT, 5070))
    car.settimeout(15)

    def papi(method, path, body):
        r = curl(method, s.sbc(f"/acme/api/v1{path}"), body, token=w["tok"], netns=s.netns)
        assert r.status in (200, 201), r
        return r.json()
    papi("PUT", "/numbering", {"country_code": "49", "area_code": "30"})
    tid = papi("POST", "/trunks", {"name": "carrier", "kind": "peer", "transport": "udp",
                                    "peers": [f"{OUT}:5070"], "number_format": "e164",
                                    "cid_header": "pai"})["id"]
    papi("POST", "/outbound-routes", {"name": "out", "patterns": ["0."], "strip": 0,
                                      "prepend": "", "trunks": [tid]})
    deadline = time.time() + 10
    while "sbc: info: 1 trunk" not in s.log(tail=None) and time.time() < deadline:
        time.sleep(0.1)
    inner, inner_rtp, outer, outer_rtp = phones(w)
    inner.call("0301234567")
    trunk = 5062 + s.offset
    while True:
        data, src = car.recvfrom(65535)
        if data.startswith(b"INVITE "):
            break
    text = data.decode()
    head, _, body = text.partition("\r\n\r\n")
    assert src == (PUBLIC, trunk), src  # masqueraded, our port kept
    assert SRV not in text and "127.0.0.1" not in text and "sbc.invalid" not in text, text
    lines = {ln.split(":", 1)[0].lower(): ln.split(":", 1)[1].strip()
             for ln in head.split("\r\n")[1:] if ":" in ln}
    assert lines["via"].startswith(f"SIP/2.0/UDP {PUBLIC}:{trunk};"), head
    assert re.fullmatch(rf"<sip:z[0-9a-f]{{16}}@{re.escape(PUBLIC)}:{trunk}>.*", lines["contact"]), head
    assert f"@{PUBLIC}:{trunk};lr>" in lines["record-route"], head
    c, o, port = sdp_addr(body.encode())
    assert c == PUBLIC and o == PUBLIC and MEDIA[0] <= port <= MEDIA[1], body
    # the carrier refuses: the phone gets the failure
    vias = [ln for ln in head.split("\r\n") if ln.lower().startswith("via:")]
    keep = [f"From: {lines['from']}", f"To: {lines['to']};tag=carrier1",
            f"Call-ID: {lines['call-id']}", f"CSeq: {lines['cseq']}"]
    car.sendto(("SIP/2.0 486 Busy Here\r\n" + "\r\n".join(vias + keep)
                + "\r\nContent-Length: 0\r\n\r\n").encode(), src)
    assert inner.response("INVITE", timeout=10).status >= 400
    car.close()


def test_a_tls_phone_outside_is_told_the_public_address(world):
    """Over TLS (5061, forwarded): our address as the connection's peer
    sees it, rewritten the same way — Via and Record-Route of the INVITE
    to the outside phone, and its SDP."""
    w = world
    s = w["s"]
    assert s.api("PUT", "/sbc/nat/lan0", {"external_address": PUBLIC}).status == 200
    tls = 5061 + s.offset
    with inside(w["srv"]):
        inner = Phone("udp", 5060 + s.offset, "201", "inside-sip-pw-1", "acme", server=SRV)
    with inside(w["out"]):
        outer = Phone("tls", tls, "202", "outside-sip-pw-1", "acme", server=PUBLIC)
    assert inner.register() == 200 and outer.register() == 200
    inner.call("202")
    inv = outer.request("INVITE")
    text = inv.raw_text() + "\n" + inv.body.decode()
    assert SRV not in text and "127.0.0.1" not in text, text
    assert inv.h("via").startswith(f"SIP/2.0/TLS {PUBLIC}:{tls};"), text
    assert hdrs(inv.headers, "record-route") == [f"<sip:{PUBLIC}:{tls};transport=tls;lr>"], text
    c, o, _ = sdp_addr(inv.body)
    assert c == PUBLIC and o == PUBLIC, inv.body
    inner.close()
    outer.close()
