"""Calls out over trunks (issue 18 points 2, 5, 8), against a real carrier:
Debian's Kamailio (tests/e2e/carrier.py) in a namespace of its own,
joined by a veth pair to the namespace of the Zentrale server, with
digest authentication of the trunk's INVITEs; a sipp UAS in the carrier's
namespace is the outside party. A phone (sipua, in the server's namespace)
dials a national number: it reaches the carrier in the trunk's number
format with the user's caller ID in P-Asserted-Identity, from the SBC's
trunk socket, with nothing of the inside on the wire; a carrier's 503
fails over to the next trunk; an emergency number goes out for a user
without outside permission; CLIR withholds the number."""
import os
import pathlib
import re
import subprocess
import tempfile
import time

import pytest

from carrier import Carrier
from conftest import Server, curl
from netns import inside, netns_fixture
from sipua import Phone

PREFIX = os.environ.get("ZENTRALE_NETNS_PREFIX_OUT", "zo-")
SRV, CAR, OTHER = "198.18.23.10", "198.18.23.1", "198.18.23.9"
UAS_PORT = 5070
# what a carrier must never see of the inside
INTERNAL = ("127.0.0.1", "sbc.invalid", "pbx.invalid", "X-Zentrale-", ".sock", "@acme",
            "trunk.")

netns = netns_fixture(PREFIX)


def papi(s, tok, method, path, body=None):
    return curl(method, s.sbc(f"/acme/api/v1{path}"), body, token=tok, netns=s.netns)


def make_ca(d):
    """A private CA and the carrier's certificate for its address, signed by
    it; readable by the server's unprivileged user (a directory of its own
    under /tmp, not pytest's root-only one)."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="zt-pki-", dir="/tmp"))
    os.chmod(d, 0o755)
    def ossl(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=d)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
         "-days", "2", "-subj", "/CN=Test Carrier CA")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "car.key", "-out", "car.csr",
         "-subj", f"/CN={CAR}")
    (d / "ext").write_text(f"subjectAltName=IP:{CAR}\n")
    ossl("x509", "-req", "-in", "car.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "car.pem", "-days", "2", "-extfile", "ext")
    os.chmod(d / "ca.pem", 0o644)
    return str(d / "ca.pem"), (str(d / "car.pem"), str(d / "car.key"))


def _world(netns, tmp_path, tls=False, trust=True):
    srv = netns.add("srv")
    car = netns.add("car")
    netns.veth(srv, SRV + "/24", car, CAR + "/24")
    netns.addr(car, "veth1", OTHER + "/24")
    ca, cert = make_ca(tmp_path / "pki") if tls else (None, None)
    if not trust:
        ca = None  # the carrier's CA unknown to the server
    c = Carrier(tmp_path / "carrier", CAR, 5060, ns=car, tls_cert=cert,
                subscribers={"zentrale1": "trunk-pw-1", "zentrale2": "trunk-pw-2"}).start()
    uas = netns.popen(car, ["sipp", "-sn", "uas", "-i", CAR, "-p", str(UAS_PORT), "-nostdin",
                            "-trace_err",
                            "-error_file", str(tmp_path / "uas-errors.log")],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    s = Server(netns=srv, listen=("127.0.0.1", SRV),
               env={"ZENTRALE_TEST_TRUNK_CA": ca} if ca else None).start()
    try:
        s.create_ps("acme", "acme-admin-pw")
        tok = s.pbx_token("acme", "acme-admin-pw")
        assert s.api("PUT", "/sbc", {"plain_sip": True}).status == 200
        assert papi(s, tok, "PUT", "/numbering", {"country_code": "49", "area_code": "30"}
                    ).status == 200
        user = s.create_user("acme", tok, "201", "Alice Out", "alice-sip-pw-1")
        yield {"ns": netns, "srv": srv, "car": car, "s": s, "c": c, "tok": tok, "user": user,
               "uas": uas}
    finally:
        s.cleanup()
        c.stop()


@pytest.fixture
def world(netns, tmp_path):
    yield from _world(netns, tmp_path)


@pytest.fixture
def tls_world(netns, tmp_path):
    yield from _world(netns, tmp_path, tls=True)


@pytest.fixture
def untrusted_tls_world(netns, tmp_path):
    yield from _world(netns, tmp_path, tls=True, trust=False)


def add_trunk(w, name, username, password, **kw):
    body = {"name": name, "kind": "register", "transport": "udp", "domain": f"{CAR}:5060",
            "username": username, "password": password, "register": False,
            "number_format": "e164", "cid_header": "pai"}
    body.update(kw)
    r = papi(w["s"], w["tok"], "POST", "/trunks", body)
    assert r.status == 201, r
    return r.json()["id"]


def add_route(w, trunks, patterns=("0.",)):
    r = papi(w["s"], w["tok"], "POST", "/outbound-routes",
             {"name": "out", "patterns": list(patterns), "strip": 0, "prepend": "",
              "trunks": trunks})
    assert r.status == 201, r


def set_user(w, **kw):
    r = papi(w["s"], w["tok"], "PUT", f"/users/{w['user']['id']}", kw)
    assert r.status == 200, r


def phone(w):
    with inside(w["srv"]):
        p = Phone("udp", 5060 + w["s"].offset, "201", "alice-sip-pw-1", "acme")
    assert p.register() == 200
    return p


def wait_trunks_at_sbc(w, n):
    deadline = time.time() + 10
    text = f"sbc: info: {n} trunk"
    while time.time() < deadline:
        if text in w["s"].log(tail=None):
            return
        time.sleep(0.1)
    raise AssertionError(w["s"].log())


def invites_for(c, number):
    return [m for m in c.received() if m[0].startswith(f"INVITE sip:{number}@")]


def hdr(msg, name):
    for line in msg.split("\n"):
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None


def call_out(p, number):
    """Calls number; the final answer (the call hung up again when it was
    answered)."""
    call = p.call(number)
    r = p.final(call, timeout=15)
    if r.status == 200:
        p.confirm(call, r)
        p.in_dialog(call, "BYE")
        assert p.response("BYE").status == 200
    return r


def test_outbound_call_caller_id_number_format_and_no_inside(world):
    w = world
    t1 = add_trunk(w, "carrier", "zentrale1", "trunk-pw-1")
    add_route(w, [t1])
    set_user(w, caller_id="+4930999201")
    wait_trunks_at_sbc(w, 1)
    w["c"].set_dest("+49301234567", f"sip:uas@{CAR}:{UAS_PORT}")
    p = phone(w)
    r = call_out(p, "0301234567")
    assert r.status == 200, (r.raw_text(), w["s"].log(), w["c"].log_text()[-4000:])
    invs = invites_for(w["c"], "+49301234567")
    assert invs, w["c"].log_text()[-4000:]
    authed = [m for m in invs if hdr(m[2], "Proxy-Authorization")]
    assert authed, invs  # the carrier's 407 answered with the trunk's credentials
    msg = authed[-1][2]
    assert authed[-1][1].startswith(f"udp:{SRV}:"), authed[-1][1]
    assert "<sip:+4930999201@" in hdr(msg, "P-Asserted-Identity"), msg
    assert "sip:zentrale1@" in hdr(msg, "From"), msg
    # the carrier sees only the SBC's trunk socket: Via, Contact, Record-Route
    assert f"{SRV}:{5062 + w['s'].offset}" in hdr(msg, "Contact"), msg
    for first, src, m in w["c"].received():
        if src.startswith(f"udp:{SRV}"):
            for bad in INTERNAL:
                assert bad not in m, (bad, m)
    # the pbx answers the phone's BYE at once, then ends the carrier's leg
    w["c"].wait_received(lambda m: m[0].startswith("BYE ") and m[1].startswith(f"udp:{SRV}:"))
    rec = papi(w["s"], w["tok"], "GET", "/calls").json()["calls"][0]
    assert rec["direction"] == "outbound", rec
    assert rec["trunk_id"] == t1 and rec["external_number"] == "+49301234567", rec
    # per trunk in /metrics (the pbx reports every few seconds)
    tok_m = w["s"].api("POST", "/metrics/token").json()["token"]
    want = 'zentrale_trunk_calls_answered_total{phone_system="acme",trunk="carrier",' \
        'direction="outbound"} 1'
    deadline, text = time.time() + 20, ""
    while time.time() < deadline and want not in text:
        text = curl("GET", f"https://127.0.0.1:{w['s'].mgmt_port}/metrics", token=tok_m,
                    netns=w["s"].netns).text
        time.sleep(0.5)
    assert want in text, text[-3000:]
    assert 'zentrale_trunk_call_seconds_total{phone_system="acme",trunk="carrier",' \
        'direction="outbound"}' in text
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_failover_to_the_second_trunk_on_503(world):
    w = world
    t1 = add_trunk(w, "first", "zentrale1", "trunk-pw-1")
    t2 = add_trunk(w, "second", "zentrale2", "trunk-pw-2")
    add_route(w, [t1, t2])
    wait_trunks_at_sbc(w, 2)
    w["c"].set_fail("zentrale1")
    w["c"].set_dest("+49301234567", f"sip:uas@{CAR}:{UAS_PORT}")
    p = phone(w)
    r = call_out(p, "0301234567")
    assert r.status == 200, (r.raw_text(), w["s"].log())
    froms = [hdr(m[2], "From") for m in invites_for(w["c"], "+49301234567")]
    assert any("zentrale1@" in f for f in froms) and any("zentrale2@" in f for f in froms), froms
    assert papi(w["s"], w["tok"], "GET", "/calls").json()["calls"][0]["trunk_id"] == t2


def test_emergency_without_outside_permission(world):
    w = world
    t1 = add_trunk(w, "carrier", "zentrale1", "trunk-pw-1")
    add_route(w, [t1])
    set_user(w, outbound_class="internal")
    wait_trunks_at_sbc(w, 1)
    w["c"].set_dest("+49301234567", f"sip:uas@{CAR}:{UAS_PORT}")
    w["c"].set_dest("+49112", f"sip:uas@{CAR}:{UAS_PORT}")
    w["c"].set_dest("112", f"sip:uas@{CAR}:{UAS_PORT}")
    p = phone(w)
    r = call_out(p, "0301234567")
    assert r.status == 403, r.raw_text()
    assert not invites_for(w["c"], "+49301234567")
    r = call_out(p, "112")
    assert r.status == 200, (r.raw_text(), w["s"].log())
    assert [m for m in w["c"].received() if m[0].startswith("INVITE sip:") and "112@" in m[0]]


def test_clir_withholds_the_number(world):
    w = world
    t1 = add_trunk(w, "carrier", "zentrale1", "trunk-pw-1", cid_header="from")
    add_route(w, [t1])
    set_user(w, caller_id="+4930999201", clir=True)
    wait_trunks_at_sbc(w, 1)
    w["c"].set_dest("+49301234567", f"sip:uas@{CAR}:{UAS_PORT}")
    p = phone(w)
    call_out(p, "0301234567")
    invs = invites_for(w["c"], "+49301234567")
    assert invs, w["s"].log()
    msg = invs[-1][2]
    assert "anonymous" in hdr(msg, "From").lower(), msg
    assert hdr(msg, "Privacy") == "id", msg
    assert "4930999201" not in hdr(msg, "From"), msg


def test_trunk_socket_refuses_other_addresses(world):
    """A request to the trunk socket from an address that is no carrier's
    is refused (403); the carrier's own gets an answer."""
    import socket
    w = world
    add_trunk(w, "carrier", "zentrale1", "trunk-pw-1")
    wait_trunks_at_sbc(w, 1)
    port = 5062 + w["s"].offset

    def options(src):
        with inside(w["car"]):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((src, 0))
        u.settimeout(5)
        lp = u.getsockname()[1]
        u.sendto((f"OPTIONS sip:{SRV}:{port} SIP/2.0\r\n"
                  f"Via: SIP/2.0/UDP {src}:{lp};branch=z9hG4bK{os.urandom(6).hex()};rport\r\n"
                  f"Max-Forwards: 70\r\nFrom: <sip:probe@{src}>;tag=1\r\n"
                  f"To: <sip:{SRV}>\r\nCall-ID: {os.urandom(8).hex()}\r\nCSeq: 1 OPTIONS\r\n"
                  "Content-Length: 0\r\n\r\n").encode(), (SRV, port))
        try:
            return u.recv(65535).decode().split("\r\n", 1)[0]
        finally:
            u.close()

    assert options(OTHER) == "SIP/2.0 403 Forbidden"
    assert options(CAR) == "SIP/2.0 200 OK"


def test_outbound_call_over_tcp(world):
    """A trunk whose transport is TCP: the SBC opens a connection of its own
    to the carrier and the call and its BYE go over it."""
    w = world
    t1 = add_trunk(w, "carrier", "zentrale1", "trunk-pw-1", transport="tcp")
    add_route(w, [t1])
    wait_trunks_at_sbc(w, 1)
    w["c"].set_dest("+49301234567", f"sip:uas@{CAR}:{UAS_PORT}")
    p = phone(w)
    r = call_out(p, "0301234567")
    assert r.status == 200, (r.raw_text(), w["s"].log())
    invs = invites_for(w["c"], "+49301234567")
    assert invs and all(m[1].startswith(f"tcp:{SRV}:") for m in invs), invs
    msg = invs[-1][2]
    assert "transport=tcp" in hdr(msg, "Contact") and "SIP/2.0/TCP" in hdr(msg, "Via"), msg
    w["c"].wait_received(lambda m: m[0].startswith("BYE ") and m[1].startswith(f"tcp:{SRV}:"))


def test_outbound_call_over_tls_checks_the_carriers_certificate(tls_world):
    """A TLS trunk: the carrier's certificate (signed by the test's CA,
    naming its address) is verified, and the call goes over TLS."""
    w = tls_world
    t1 = add_trunk(w, "carrier", "zentrale1", "trunk-pw-1", transport="tls",
                   domain=f"{CAR}:5061")
    add_route(w, [t1])
    wait_trunks_at_sbc(w, 1)
    w["c"].set_dest("+49301234567", f"sip:uas@{CAR}:{UAS_PORT}")
    p = phone(w)
    r = call_out(p, "0301234567")
    assert r.status == 200, (r.raw_text(), w["s"].log())
    invs = invites_for(w["c"], "+49301234567")
    assert invs and all(m[1].startswith(f"tls:{SRV}:") for m in invs), invs
    assert "transport=tls" in hdr(invs[-1][2], "Contact")


def test_tls_trunk_refuses_an_untrusted_certificate(untrusted_tls_world):
    """A carrier whose certificate no CA of the server's vouches for: no
    call goes out (the handshake fails), and nothing crashes."""
    w = untrusted_tls_world
    t1 = add_trunk(w, "carrier", "zentrale1", "trunk-pw-1", transport="tls",
                   domain=f"{CAR}:5061")
    add_route(w, [t1])
    wait_trunks_at_sbc(w, 1)
    p = phone(w)
    r = call_out(p, "0301234567")
    assert r.status >= 400, r.raw_text()
    assert not invites_for(w["c"], "+49301234567")


def test_a_phones_rfc4733_digit_reaches_an_info_trunk_as_sip_info(world):
    """A trunk whose carrier takes DTMF as SIP INFO: the digit a phone sends
    as RFC 4733 telephone-events reaches the carrier as an INFO
    (application/dtmf-relay, Signal=5) in the call's dialog."""
    import socket
    import struct
    w = world
    t1 = add_trunk(w, "carrier", "zentrale1", "trunk-pw-1", dtmf="info")
    add_route(w, [t1])
    wait_trunks_at_sbc(w, 1)
    w["c"].set_dest("+49301234567", f"sip:uas@{CAR}:{UAS_PORT}")
    p = phone(w)
    with inside(w["srv"]):
        media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    media.bind((p.ip, p.rtp_port))
    call = p.call("0301234567")
    r = p.final(call, timeout=15)
    assert r.status == 200, r.raw_text()
    p.confirm(call, r)
    body = r.body.decode() if isinstance(r.body, bytes) else r.body
    addr = re.search(r"c=IN IP4 (\S+)", body).group(1)
    port = int(re.search(r"m=audio (\d+)", body).group(1))
    # digit 5: three updates, then the end three times (RFC 4733 2.5.1.4)
    seq, ts = 100, 16000
    for i, (end, dur) in enumerate([(0, 160), (0, 320), (0, 480), (1, 640), (1, 640),
                                    (1, 640)]):
        pkt = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | 101, seq + i, ts, 0x4242)
        pkt += struct.pack("!BBH", 5, (0x80 if end else 0) | 10, dur)
        media.sendto(pkt, (addr, port))
        time.sleep(0.02)
    info = w["c"].wait_received(lambda m: m[0].startswith("INFO ")
                                and m[1].startswith(f"udp:{SRV}:"), timeout=10)
    assert "application/dtmf-relay" in (hdr(info[2], "Content-Type") or ""), info[2]
    assert "Signal=5" in info[2], info[2]
    p.in_dialog(call, "BYE")
    media.close()


def test_the_trunks_interface_is_where_it_sends_from(world):
    """A trunk bound to the SBC's interface veth0 sends from its address; one
    bound to an interface the SBC does not have sends nothing (503, and the
    SBC says why)."""
    w = world
    t1 = add_trunk(w, "carrier", "zentrale1", "trunk-pw-1", interface="veth0")
    t2 = add_trunk(w, "nowhere", "zentrale2", "trunk-pw-2", interface="nosuch0")
    wait_trunks_at_sbc(w, 2)
    w["c"].set_dest("+49301234567", f"sip:uas@{CAR}:{UAS_PORT}")
    add_route(w, [t2], patterns=("03.",))
    p = phone(w)
    r = call_out(p, "0301234567")
    assert r.status == 503, r.raw_text()
    assert not invites_for(w["c"], "+49301234567")
    assert "interface nosuch0 has no IPv4 address" in w["s"].log(tail=None)
    add_route(w, [t1], patterns=("00.",))
    w["c"].set_dest("+4930123", f"sip:uas@{CAR}:{UAS_PORT}")
    r = call_out(p, "004930123")
    assert r.status == 200, (r.raw_text(), w["s"].log())
    assert all(m[1].startswith(f"udp:{SRV}:") for m in invites_for(w["c"], "+4930123"))
