"""The carrier harness by itself, without Zentrale: Kamailio in a namespace
of its own registers a sipp subscriber with digest authentication (MD5 with
sipp; SHA-256 answered by hand, since sipp knows only MD5), refuses a wrong
password, relays a call between two sipps in another namespace by number
and to a registered contact by DID, answers 503 when told to, and records
what it received."""
import os
import subprocess

import pytest

from carrier import Carrier
from netns import netns_fixture

PREFIX = os.environ.get("ZENTRALE_NETNS_PREFIX", "zh-")
CAR, OUT = "198.18.21.1", "198.18.21.2"
HERE = os.path.dirname(os.path.abspath(__file__))
REGISTER = os.path.join(HERE, "sipp", "register.xml")

netns = netns_fixture(PREFIX)


@pytest.fixture
def world(netns, tmp_path):
    car = netns.add("car")
    out = netns.add("out")
    netns.veth(car, CAR + "/24", out, OUT + "/24")
    c = Carrier(tmp_path / "carrier", CAR, 5060, ns=car,
                subscribers={"trunk1": "s3cret"}, dests={"4930555": f"sip:{OUT}:5070"},
                dids={"4940777": "trunk1"})
    c.start()
    yield netns, car, out, c, tmp_path
    c.stop()


def sipp(netns, ns, tmp_path, args, timeout=30, name="sipp"):
    return subprocess.run(["ip", "netns", "exec", ns, "sipp"] + args +
                          ["-trace_err", "-error_file", str(tmp_path / f"{name}.err")],
                          capture_output=True, text=True, timeout=timeout,
                          cwd=str(tmp_path))


def register(netns, ns, tmp_path, user, password, port):
    csv = tmp_path / f"reg-{user}-{port}.csv"
    csv.write_text(f"SEQUENTIAL\n{user};x;carrier.test\n")
    return sipp(netns, ns, tmp_path, [f"{CAR}:5060", "-sf", REGISTER, "-inf", str(csv),
                                      "-i", OUT, "-p", str(port), "-m", "1", "-au", user,
                                      "-ap", password, "-timeout", "10", "-timeout_error"],
                name=f"reg{port}")


def test_register_digest_md5(world):
    netns, car, out, c, tmp = world
    r = register(netns, out, tmp, "trunk1", "s3cret", 5080)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "trunk1" in c.registrations()
    got = [x for x in c.received() if x[0].startswith("REGISTER")]
    assert len(got) == 2
    assert "Authorization: Digest" in got[1][2] and 'algorithm=MD5' in got[1][2]
    bad = register(netns, out, tmp, "trunk1", "wrong", 5081)
    assert bad.returncode != 0


def test_register_digest_sha256(netns, tmp_path):
    car = netns.add("car")
    out = netns.add("out")
    netns.veth(car, CAR + "/24", out, OUT + "/24")
    c = Carrier(tmp_path / "c", CAR, 5060, ns=car, algorithm="SHA-256",
                subscribers={"trunk2": "pw256"}).start()
    try:
        code = r"""
import hashlib,re,socket,sys
car,me,user,pw=sys.argv[1:5]
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind((me,5090));s.settimeout(3)
def req(cseq,auth=''):
    m=(f'REGISTER sip:carrier.test SIP/2.0\r\nVia: SIP/2.0/UDP {me}:5090;branch=z9hG4bKr{cseq};rport\r\n'
       f'From: <sip:{user}@carrier.test>;tag=t1\r\nTo: <sip:{user}@carrier.test>\r\nCall-ID: sha1\r\n'
       f'CSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{me}:5090>\r\nExpires: 60\r\nMax-Forwards: 70\r\n{auth}Content-Length: 0\r\n\r\n')
    s.sendto(m.encode(),(car,5060)); return s.recv(4000).decode()
r=req(1); print(r.split('\r\n')[0])
ch=re.search(r'WWW-Authenticate: Digest (.*)',r).group(1)
kv=dict(re.findall(r'(\w+)="?([^",]*)"?',ch)); print('alg',kv.get('algorithm'))
H=lambda x: hashlib.sha256(x.encode()).hexdigest()
ha1=H(f"{user}:{kv['realm']}:{pw}"); ha2=H('REGISTER:sip:carrier.test')
resp=H(f"{ha1}:{kv['nonce']}:00000001:abcd:auth:{ha2}")
a=(f'Authorization: Digest username="{user}", realm="{kv["realm"]}", nonce="{kv["nonce"]}", uri="sip:carrier.test", '
   f'response="{resp}", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="abcd"\r\n')
print(req(2,a).split('\r\n')[0])
"""
        r = netns.run(out, "python3", "-c", code, CAR, OUT, "trunk2", "pw256")
        lines = r.stdout.splitlines()
        assert lines[0].startswith("SIP/2.0 401"), r.stdout + r.stderr
        assert lines[1] == "alg SHA-256"
        assert lines[2].startswith("SIP/2.0 200"), r.stdout + c.log_text()[-2000:]
    finally:
        c.stop()


def uas(netns, ns, tmp, port, name):
    return netns.popen(ns, ["sipp", "-sn", "uas", "-i", OUT, "-p", str(port), "-m", "1",
                            "-timeout", "20", "-timeout_error"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(tmp))


def uac(netns, ns, tmp, number, port):
    return sipp(netns, ns, tmp, [f"{CAR}:5060", "-sn", "uac", "-s", number, "-i", OUT,
                                 "-p", str(port), "-m", "1", "-timeout", "15",
                                 "-timeout_error"], name=f"uac{port}")


def test_call_through_carrier_by_number(world):
    netns, car, out, c, tmp = world
    callee = uas(netns, out, tmp, 5070, "callee")
    r = uac(netns, out, tmp, "4930555", 5071)
    assert r.returncode == 0, r.stdout[-2000:]
    assert callee.wait(timeout=20) == 0
    inv = c.wait_received(lambda x: x[0].startswith("INVITE sip:4930555@"))
    assert f"udp:{OUT}:5071" == inv[1]
    assert any(x[0].startswith("SIP/2.0 200") for x in c.received())


def test_call_to_registered_did(world):
    netns, car, out, c, tmp = world
    assert register(netns, out, tmp, "trunk1", "s3cret", 5082).returncode == 0
    callee = uas(netns, out, tmp, 5082, "trunk")
    r = uac(netns, out, tmp, "4940777", 5072)
    assert r.returncode == 0, r.stdout[-2000:]
    assert callee.wait(timeout=20) == 0


def test_503_when_told(world):
    netns, car, out, c, tmp = world
    c.set_fail("4930555")
    r = uac(netns, out, tmp, "4930555", 5073)
    assert r.returncode != 0
    assert "SIP/2.0 503" in (tmp / "uac5073.err").read_text(errors="replace")
    assert not any(x[0].startswith("INVITE") and "4930555" in x[0] and x[1].endswith(":5060")
                   for x in c.received())
    c.set_fail("4930555", False)
    callee = uas(netns, out, tmp, 5070, "callee")
    assert uac(netns, out, tmp, "4930555", 5074).returncode == 0
    assert callee.wait(timeout=20) == 0
