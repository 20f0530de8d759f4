"""Phones register through the SBC: plain SIP on 5060 (off by default),
SIP over TLS on 5061, digest authentication at the phone system."""
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import ROOT, Server, curl
from sipclient import Client, digest, parse, register, register_with_auth

SIPP = os.path.join(ROOT, "tests/e2e/sipp/register.xml")


@pytest.fixture(scope="module")
def sip(tmp_path_factory):
    s = Server().start()
    s.create_ps("acme", "acme-admin-pw")
    s.create_ps("globex", "globex-admin-pw")
    s.pbx_tokens = {n: s.pbx_token(n, f"{n}-admin-pw") for n in ("acme", "globex")}
    for ps, ext, pw in (("acme", "100", "acme-100-secret"), ("acme", "101", "acme-101-secret"),
                        ("globex", "100", "globex-100-secret")):
        r = curl("POST", s.sbc(f"/{ps}/api/v1/users"),
                 {"display_name": f"{ps} {ext}", "extension": ext, "sip_password": pw},
                 token=s.pbx_tokens[ps])
        assert r.status == 201, r
    s.csv = tmp_path_factory.mktemp("sipp") / "users.csv"
    s.csv.write_text("SEQUENTIAL\n100;unused;acme\n")
    yield s
    s.cleanup()


def registrations(s, ps):
    r = curl("GET", s.sbc(f"/{ps}/api/v1/registrations"), token=s.pbx_tokens[ps])
    return r.json()["registrations"]


def sipp(s, transport, user, password, domain="acme"):
    s.csv.write_text(f"SEQUENTIAL\n{user};unused;{domain}\n")
    return subprocess.run(["sipp", f"127.0.0.1:{5060 + s.offset}", "-t", transport,
                           "-sf", SIPP, "-inf", str(s.csv), "-au", user, "-ap", password,
                           "-m", "1", "-l", "1", "-nostdin", "-timeout", "10",
                           "-p", str(5100 + s.offset + (1 if transport == "t1" else 0))],
                          capture_output=True, text=True, timeout=30, cwd="/tmp").returncode


def still_serving(s, pids):
    """Every process is the one it was, and a phone still registers."""
    assert s.pids() == pids
    c = Client("tls", 5061 + s.offset)
    try:
        assert register_with_auth(c, "101", "acme-101-secret", "acme")[0] == 200
    finally:
        c.close()


def udp_silent(port):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(1)
    c.sendto(b"OPTIONS sip:acme SIP/2.0\r\n\r\n", ("127.0.0.1", port))
    try:
        c.recv(100)
        return False
    except (socket.timeout, ConnectionRefusedError):
        return True
    finally:
        c.close()


def test_plain_sip_off_by_default_and_switched_on(sip):
    assert sip.api("GET", "/sbc").json()["plain_sip"] is False
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", 5060 + sip.offset), timeout=2)
    assert udp_silent(5060 + sip.offset)
    socket.create_connection(("127.0.0.1", 5061 + sip.offset), timeout=2).close()
    assert sip.api("PUT", "/sbc", {"plain_sip": "yes"}).status == 400
    assert sip.api("PUT", "/sbc", {"plain_sip": True}).status == 200
    assert sip.api("GET", "/sbc").json()["plain_sip"] is True
    socket.create_connection(("127.0.0.1", 5060 + sip.offset), timeout=2).close()
    services = {x["service"] for i in sip.api("GET", "/interfaces").json()["interfaces"]
                for x in i["services"]}
    assert {"sip-udp", "sip-tcp", "sip-tls"} <= services


def test_sipp_registers_over_udp_and_tcp(sip):
    assert sip.api("PUT", "/sbc", {"plain_sip": True}).status == 200
    assert sipp(sip, "u1", "100", "acme-100-secret") == 0
    assert sipp(sip, "t1", "100", "acme-100-secret") == 0
    regs = registrations(sip, "acme")
    sources = sorted(r["source"].split()[0] for r in regs if r["user_agent"] == "sipp-test")
    assert sources == ["tcp", "udp"]
    assert all(r["extension"] == "100" for r in regs)
    # a wrong password is refused (sipp gets 403 and fails)
    assert sipp(sip, "u1", "100", "not-the-password") != 0


def test_tls_registration_with_sha256(sip):
    c = Client("tls", 5061 + sip.offset)
    try:
        st, hs = register_with_auth(c, "101", "acme-101-secret", "acme", alg="SHA-256")
        assert st == 200, hs
        contacts = [v for k, v in hs if k == "contact"]
        assert len(contacts) == 1 and "expires=600" in contacts[0]
        vias = [v for k, v in hs if k == "via"]
        assert len(vias) == 1 and "received=127.0.0.1" in vias[0] and "sbc.invalid" not in vias[0]
        assert not any(k.startswith("x-zentrale") or k == "path" for k, _ in hs)
    finally:
        c.close()
    regs = [r for r in registrations(sip, "acme") if r["extension"] == "101"]
    assert len(regs) == 1 and regs[0]["source"].startswith("tls 127.0.0.1:")


def answers(sip, transport, user, password, domain):
    """The statuses and header names a client sees for one registration attempt."""
    c = Client(transport, (5060 if transport == "udp" else 5061) + sip.offset)
    try:
        c.send(register(c, user, domain))
        st1, hs1, _, _ = c.recv()
        if st1 != 401:
            return (st1,)
        c.send(register(c, user, domain, cseq=2,
                        auth=digest(hs1, user, password, f"sip:{domain}")))
        st2, hs2, line, _ = c.recv()
        return (st1, tuple(sorted(k for k, _ in hs1)), st2, line, tuple(sorted(k for k, _ in hs2)))
    finally:
        c.close()


def test_unknown_users_and_domains_answer_like_a_wrong_password(sip):
    wrong = answers(sip, "tls", "100", "wrong-password-x", "acme")
    assert wrong[0] == 401 and wrong[2] == 403
    assert answers(sip, "tls", "999", "whatever-password", "acme") == wrong
    assert answers(sip, "tls", "100", "acme-100-secret", "no-such-company") == wrong
    assert answers(sip, "tls", "100", "acme-100-secret", "globex") == wrong  # A's user in B


def test_tenants_are_separate(sip):
    c = Client("tls", 5061 + sip.offset)
    try:
        st, _ = register_with_auth(c, "100", "globex-100-secret", "globex")
        assert st == 200
    finally:
        c.close()
    assert [r["display_name"] for r in registrations(sip, "globex")] == ["globex 100"]
    assert "globex 100" not in [r["display_name"] for r in registrations(sip, "acme")]


def test_domain_aliases(sip):
    r = sip.api("PUT", "/phone-systems/acme/aliases", {"aliases": ["voip.acme.test", "acme2"]})
    assert r.status == 200, r
    assert sip.api("GET", "/phone-systems/acme").json()["aliases"] == ["acme2", "voip.acme.test"]
    c = Client("tls", 5061 + sip.offset)
    try:
        assert register_with_auth(c, "101", "acme-101-secret", "voip.acme.test")[0] == 200
    finally:
        c.close()
    # only SIP: the web UI is under the name
    assert curl("GET", sip.sbc("/voip.acme.test/")).status == 404
    # refused: another phone system's name, another's alias, not a domain
    for body, status in (({"aliases": ["globex"]}, 400), ({"aliases": ["Bad_Domain"]}, 400),
                         ({"aliases": "acme3"}, 400)):
        assert sip.api("PUT", "/phone-systems/acme/aliases", body).status == status
    r = sip.api("PUT", "/phone-systems/globex/aliases", {"aliases": ["voip.acme.test"]})
    assert r.status == 409 and "already" in r.json()["error"]
    assert sip.api("GET", "/phone-systems/globex").json()["aliases"] == []
    # cleared: the alias is an unknown domain again
    assert sip.api("PUT", "/phone-systems/acme/aliases", {"aliases": []}).status == 200
    assert answers(sip, "tls", "101", "acme-101-secret", "voip.acme.test") == \
        answers(sip, "tls", "101", "wrong-password-z", "acme")


def test_udp_retransmission_answered_once(sip):
    sip.api("PUT", "/sbc", {"plain_sip": True})
    c = Client("udp", 5060 + sip.offset)
    try:
        c.send(register(c, "101", "acme", call_id="retx"))
        _, hs, _, _ = c.recv()
        auth = digest(hs, "101", "acme-101-secret", "sip:acme")
        msg = register(c, "101", "acme", cseq=2, auth=auth, branch="z9hG4bKretx1",
                       call_id="retx")
        before = sip.log(tail=None).count("101 registered")
        c.send(msg)
        st1, _, _, _ = c.recv()
        c.send(msg)  # the same request again, as after a lost answer
        st2, _, _, _ = c.recv()
        assert st1 == st2 == 200
        time.sleep(0.3)
        assert sip.log(tail=None).count("101 registered") == before + 1
    finally:
        c.close()


def test_bindings_survive_a_phone_system_restart(sip):
    before = registrations(sip, "acme")
    assert before
    os.kill(sip.pids()["pbx acme"], signal.SIGKILL)
    assert sip.wait_state("acme", "running", 10)
    deadline = time.time() + 5
    while time.time() < deadline:
        r = curl("GET", sip.sbc("/acme/api/v1/registrations"), token=sip.pbx_tokens["acme"])
        if r.status == 200:
            break
        time.sleep(0.1)
    assert {(r["contact"]) for r in registrations(sip, "acme")} == {r["contact"] for r in before}


def test_malformed_sip_never_stops_the_sbc_or_phone_system(sip):
    sip.api("PUT", "/sbc", {"plain_sip": True})
    corpus = os.path.join(ROOT, "tests/unit/rfc4475")
    pids = sip.pids()
    answered = 0
    for verdict in sorted(os.listdir(corpus)):
        for name in sorted(os.listdir(os.path.join(corpus, verdict))):
            data = open(os.path.join(corpus, verdict, name), "rb").read()
            data = data.replace(b"sip:registrar.example.com", b"sip:acme")
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(0.5)
            u.sendto(data, ("127.0.0.1", 5060 + sip.offset))
            try:
                st = parse(u.recv(65535))[0]
                answered += 1
                if verdict in ("400", "505", "416"):
                    assert st == int(verdict), (name, st)
            except socket.timeout:
                pass
            u.close()
            t = socket.create_connection(("127.0.0.1", 5060 + sip.offset), timeout=2)
            t.sendall(data)
            t.settimeout(0.5)
            try:
                t.recv(65535)
            except (socket.timeout, ConnectionResetError):
                pass
            t.close()
    assert answered >= 20
    still_serving(sip, pids)


def test_failed_authentications_block_the_address(sip):
    assert sip.api("GET", "/sbc").json()["block"] == {"failures": 20, "window": 60,
                                                      "seconds": 600}
    assert sip.api("PUT", "/sbc", {"block": {"failures": 0}}).status == 400
    assert sip.api("PUT", "/sbc", {"block": {"failures": 3, "seconds": 120}}).status == 200
    assert sip.api("GET", "/sbc").json()["block"] == {"failures": 3, "window": 60,
                                                      "seconds": 120}
    time.sleep(0.5)  # the SBC takes the new numbers (and forgets earlier counts)

    def attempt(password):
        c = Client("tls", 5061 + sip.offset)
        try:
            return register_with_auth(c, "100", password, "acme")[0]
        except (socket.timeout, ConnectionError):
            return None  # no answer at all
        finally:
            c.close()

    for _ in range(3):
        assert attempt("wrong-password-y") == 403
    assert attempt("acme-100-secret") is None  # blocked: not a word, even for the right one
    assert sip.wait_log("blocked for 120 s after 3 failed authentications", tail=6000)
    blocked = sip.api("GET", "/blocked").json()["blocked"]
    assert [(b["address"], b["reason"]) for b in blocked] == \
        [("127.0.0.1", "failed SIP authentication")]
    assert 100 < blocked[0]["seconds_left"] <= 120
    # management logins are a separate count: not blocked
    assert curl("GET", sip.mgmt("/system"), token=sip.token()).status == 200
    assert sip.api("DELETE", "/blocked/127.0.0.1").status == 200
    deadline = time.time() + 5
    while sip.api("GET", "/blocked").json()["blocked"] and time.time() < deadline:
        time.sleep(0.1)
    assert attempt("acme-100-secret") == 200
    assert sip.api("DELETE", "/blocked/127.0.0.1").status == 404
    assert sip.api("PUT", "/sbc", {"block": {"failures": 20, "seconds": 600}}).status == 200


def test_plain_sip_switched_off_again(sip):
    assert sip.api("PUT", "/sbc", {"plain_sip": False}).status == 200
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", 5060 + sip.offset), timeout=2)
    assert udp_silent(5060 + sip.offset)


def test_stop_with_the_sbc_link_open_frees_everything():
    """A phone system stopped while the SBC's SIP link to it is open exits
    cleanly (LeakSanitizer checks it at exit; cleanup fails on a report)."""
    s = Server().start()
    try:
        s.create_ps("acme", "acme-admin-pw")
        tok = s.pbx_token("acme", "acme-admin-pw")
        curl("POST", s.sbc("/acme/api/v1/users"),
             {"display_name": "A", "extension": "100", "sip_password": "acme-100-secret"},
             token=tok)
        c = Client("tls", 5061 + s.offset)
        assert register_with_auth(c, "100", "acme-100-secret", "acme")[0] == 200
        c.close()
        assert s.api("POST", "/phone-systems/acme/stop").status == 200
        assert s.api("POST", "/phone-systems/acme/start").status == 200
        c = Client("tls", 5061 + s.offset)
        assert register_with_auth(c, "100", "acme-100-secret", "acme")[0] == 200
        c.close()
    finally:
        s.cleanup()


def test_hostile_sip_for_ten_seconds(sip):
    """Mutated RFC 4475 messages and random bytes, cut at random points, over
    UDP, TCP and TLS: every process stays up and keeps serving."""
    import random
    import ssl
    sip.api("PUT", "/sbc", {"plain_sip": True})
    corpus = []
    for d, _, files in os.walk(os.path.join(ROOT, "tests/unit/rfc4475")):
        corpus += [open(os.path.join(d, f), "rb").read() for f in files]
    rnd = random.Random(4475)

    def mutate(b):
        b = bytearray(b)
        for _ in range(rnd.randint(1, 8)):
            i = rnd.randrange(len(b)) if b else 0
            op = rnd.random()
            if op < 0.4 and b:
                b[i] = rnd.randrange(256)
            elif op < 0.7:
                b[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 20)))
            elif b:
                del b[i:i + rnd.randint(1, 30)]
        return bytes(b)

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    pids = sip.pids()
    t0, sent = time.time(), 0
    while time.time() - t0 < 10:
        msg = mutate(rnd.choice(corpus)) if rnd.random() < 0.8 else \
            bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 2000)))
        kind = rnd.choice(["udp", "tcp", "tls"])
        try:
            if kind == "udp":
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.sendto(msg, ("127.0.0.1", 5060 + sip.offset))
                u.close()
            else:
                port = (5060 if kind == "tcp" else 5061) + sip.offset
                c = socket.create_connection(("127.0.0.1", port), timeout=2)
                if kind == "tls":
                    c = ctx.wrap_socket(c)
                for i in range(0, len(msg), 300):
                    c.sendall(msg[i:i + 300])
                c.close()
        except (OSError, ssl.SSLError):
            pass
        sent += 1
    assert sent > 1000
    still_serving(sip, pids)
