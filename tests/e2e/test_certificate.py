"""The TLS certificate, visible (issue 15, point 4): management describes the
certificate it presents and offers it for download; the SBC serves the one
its own handshake presents at /certificate.pem and .crt on 443, without a
login. Checked against the real thing: `openssl s_client` for what each
handshake presents, `openssl x509` for its fields. Also what 443 answers
without a phone system (a short page that names no phone system), and that
an interface that is down serves nothing."""
import calendar
import ipaddress
import os
import re
import socket
import ssl
import subprocess
import time
import uuid

import pytest

from conftest import Server, curl


def presented(port, host="127.0.0.1", netns=None):
    """The PEM of the certificate the TLS handshake on port presents."""
    cmd = ["openssl", "s_client", "-connect", f"{host}:{port}", "-servername", "localhost"]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    out = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=20).stdout
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", out, re.S)
    assert m, out
    return m.group(0)


def head(port, path):
    """A HEAD request on its own connection (closed by the server after the
    answer): the status, the Content-Length and whatever followed the header."""
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as c:
            c.sendall(f"HEAD {path} HTTP/1.1\r\nHost: localhost\r\n"
                      "Connection: close\r\n\r\n".encode())
            data = b""
            while chunk := c.recv(65536):
                data += chunk
    top, _, rest = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", top)
    return int(top.split()[1]), int(m.group(1)) if m else None, rest


def x509(pem, *args, binary=False):
    return subprocess.run(["openssl", "x509", "-noout" if not binary else "-outform", *args],
                          input=pem.encode(), capture_output=True, check=True).stdout


def openssl_fields(pem):
    """What `openssl x509` says of the certificate, in the API's terms."""
    text = x509(pem, "-subject", "-issuer", "-nameopt", "RFC2253", "-fingerprint", "-sha256",
                "-startdate", "-enddate", "-serial", "-ext", "subjectAltName").decode()
    val = lambda k: re.search(rf"(?m)^{k}=\s*(.*)$", text).group(1).strip()

    def unix(s):
        return calendar.timegm(time.strptime(s.replace("  ", " "), "%b %d %H:%M:%S %Y GMT"))
    names = []
    san = text.split("X509v3 Subject Alternative Name:", 1)[1].strip().splitlines()[0]
    for n in san.split(", "):
        kind, _, v = n.partition(":")
        names.append(f"DNS:{v}" if kind == "DNS" else f"IP:{ipaddress.ip_address(v)}")
    return {"subject": val("subject"), "issuer": val("issuer"),
            "sha256": val("sha256 Fingerprint"), "not_before": unix(val("notBefore")),
            "not_after": unix(val("notAfter")), "serial": val("serial").upper(),
            "names": names}


@pytest.fixture(scope="module")
def srv():
    s = Server().start()
    yield s
    s.cleanup()


def test_certificate_api_matches_openssl_and_the_handshakes(srv):
    pem = presented(srv.mgmt_port)
    assert presented(srv.sbc_port) == pem == presented(5061 + srv.offset)
    r = srv.api("GET", "/certificate")
    assert r.status == 200, r
    j = r.json()
    want = openssl_fields(pem)
    got = dict(j, names=[n if n.startswith("DNS:") else f"IP:{ipaddress.ip_address(n[3:])}"
                         for n in j["names"]])
    for k, v in want.items():
        assert got[k] == v, (k, got[k], v)
    assert j["self_signed"] is True and j["subject"] == j["issuer"]
    assert j["subject_cn"] and f"CN={j['subject_cn']}" in j["subject"]
    assert "DNS:localhost" in j["names"] and "IP:127.0.0.1" in j["names"]
    assert j["key"] == "EC P-256"
    assert j["not_before"] < time.time() < j["not_after"]

    # the downloads are that certificate, PEM and DER
    r = srv.api("GET", "/certificate/pem")
    assert r.status == 200 and r.text == pem
    assert "application/x-pem-file" in r.headers and "attachment" in r.headers
    der = subprocess.run(["curl", "-sk", "-H", f"Authorization: Bearer {srv.token()}",
                          srv.mgmt("/certificate/der")], capture_output=True).stdout
    assert der == x509(pem, "DER", binary=True)

    # a session is needed, like everything in management; wrong paths and methods
    assert curl("GET", srv.mgmt("/certificate")).status == 401
    assert srv.api("GET", "/certificate/key").status == 404
    assert srv.api("DELETE", "/certificate").status == 405


def test_the_sbc_serves_the_certificate_its_handshake_presents(srv):
    for port in (srv.sbc_port, 5061 + srv.offset):
        pem = presented(port)
        r = curl("GET", srv.sbc("/certificate.pem"))  # no login: it is public
        assert r.status == 200 and r.text == pem
        assert "application/x-pem-file" in r.headers
        der = subprocess.run(["curl", "-sk", srv.sbc("/certificate.crt")],
                             capture_output=True).stdout
        assert der == x509(pem, "DER", binary=True)
    # HEAD: the GET's length, no body
    assert head(srv.sbc_port, "/certificate.pem") == (200, len(pem), b"")
    assert curl("POST", srv.sbc("/certificate.pem"), {}).status == 405
    assert curl("GET", srv.sbc("/certificate.key")).status == 404
    assert curl("GET", srv.sbc("/certificate.pem/x")).status == 404


def test_the_root_of_443_names_the_product_and_no_phone_system(srv):
    for n in ("landing-alpha", "landing-beta"):
        srv.create_ps(n)
    r = curl("GET", srv.sbc("/"))
    assert r.status == 200, r
    assert "text/html" in r.headers and "content-security-policy: default-src 'none'" in \
        r.headers.lower()
    assert "<h1>Zentrale</h1>" in r.text
    assert "landing" not in r.text and "alpha" not in r.text
    # it links to nothing but the public certificate
    assert set(re.findall(r'href="([^"]*)"', r.text)) == {"/certificate.pem", "/certificate.crt"}
    assert "<script" not in r.text and "api" not in r.text
    assert curl("GET", srv.sbc("/?x=1")).status == 200
    assert head(srv.sbc_port, "/") == (200, len(r.text.encode()), b"")
    assert curl("POST", srv.sbc("/"), {}).status == 405
    # unknown names are still 404, phone systems still theirs
    assert curl("GET", srv.sbc("/nobody/")).status == 404
    assert curl("GET", srv.sbc("/landing-alpha/")).status == 200


@pytest.fixture
def netns_pages():
    name = "zt-pages-" + uuid.uuid4().hex[:6]
    sh = lambda *a: subprocess.run(["ip", *a], check=True, capture_output=True)
    sh("netns", "add", name)
    try:
        sh("-n", name, "link", "set", "lo", "up")
        # an interface with an address that is down (its peer is down too)
        sh("-n", name, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
        sh("-n", name, "addr", "add", "198.18.40.1/24", "dev", "veth0")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name])


def test_an_interface_that_is_down_serves_nothing(netns_pages):
    s = Server(listen=(), netns=netns_pages)
    s.host = "127.0.0.1"
    s.start()
    try:
        ifs = {i["name"]: i for i in s.api("GET", "/interfaces").json()["interfaces"]}
        assert ifs["veth0"]["up"] is False and "198.18.40.1" in ifs["veth0"]["addresses"]
        assert ifs["veth0"]["services"] == []
        assert ifs["veth1"]["services"] == []
        assert {x["service"] for x in ifs["lo"]["services"]} == {
            "mgmt-https", "sbc-https", "sip-tls", "ssh", "sip-trunk-udp",
        "sip-trunk-tcp", "sip-trunk-tls"}
        # once up, the same interface serves (every service listens everywhere)
        subprocess.run(["ip", "-n", netns_pages, "link", "set", "veth1", "up"], check=True)
        subprocess.run(["ip", "-n", netns_pages, "link", "set", "veth0", "up"], check=True)
        deadline = time.time() + 5
        while time.time() < deadline:
            v = {i["name"]: i for i in s.api("GET", "/interfaces").json()["interfaces"]}["veth0"]
            if v["up"]:
                break
            time.sleep(0.1)
        assert v["up"] and {x["service"] for x in v["services"]} == {
            "mgmt-https", "sbc-https", "sip-tls", "ssh", "sip-trunk-udp",
        "sip-trunk-tcp", "sip-trunk-tls"}
    finally:
        s.cleanup()
