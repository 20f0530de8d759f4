"""The media relay's port pool (issue 14, points 2, 4 and 5): after 10,000
INVITEs that were never answered, never authenticated or abandoned, every
port pair is free again within the transaction's lifetime; the range is
set through the API while a call is in progress, which keeps its ports,
and the next call gets ports from the new range. Raw SIP over python UDP
sockets; the relay's sockets are counted in /proc (independently of the
server's own figures), and the pool's state is read from /metrics."""
import collections
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import BIN, curl, sip_server
from sipclient import digest, parse, register_with_auth, Client
from test_sip_media import MediaPhone, establish, hang_up, rtp

TX_LIFE_MS = 3000  # ZENTRALE_TEST_SIP_TX_LIFE_MS: Timer B and Timer C, shortened


def _above_ephemeral():
    """A media range no other program on the machine takes ports from: above
    the kernel's ephemeral range, and above every test server's default range
    (offset + 30000 ... offset + 35000, offsets below 22,100: conftest). The
    flood holds hundreds of consecutive pairs from its range's low end; in the
    default range they were another server's low end, whose call then found
    64 pairs taken in a row and no free one (a full run, test_media_rtcp_mux)."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        top = int(f.read().split()[1])
    lo = top + 1 + (top + 1) % 2  # an even first port
    assert 65535 - lo >= 2000, f"ephemeral range ends at {top}: no room above it"
    return lo, 65535


@pytest.fixture(scope="module")
def srv():
    old = os.environ.get("ZENTRALE_TEST_SIP_TX_LIFE_MS")
    os.environ["ZENTRALE_TEST_SIP_TX_LIFE_MS"] = str(TX_LIFE_MS)
    try:
        s = sip_server([("acme", "100"), ("acme", "101"), ("acme", "102"), ("acme", "103")])
    finally:
        if old is None:
            del os.environ["ZENTRALE_TEST_SIP_TX_LIFE_MS"]
        else:
            os.environ["ZENTRALE_TEST_SIP_TX_LIFE_MS"] = old
    yield s
    s.cleanup()


def _udp_ports_of(inodes):
    """inode -> port of those UDP sockets, from one reading of /proc/net/udp{,6}."""
    found = {}
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        with open(name) as f:
            for line in f.read().splitlines()[1:]:
                p = line.split()
                if p[9] in inodes:
                    found[p[9]] = int(p[1].rsplit(":", 1)[1], 16)
    return found


def relay_ports(s):
    """The SBC's own UDP ports (from /proc), whatever range they are in.
    /proc/net/udp is read in pages, and sockets another server opens or closes
    between two pages can repeat or skip lines (CI once saw one port three
    times): lines are keyed by inode, and the table is read until two readings
    agree."""
    pid = s.pids()["sbc"]
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    last = _udp_ports_of(inodes)
    for _ in range(20):
        now = _udp_ports_of(inodes)
        if now == last:
            break
        last = now
    return list(last.values())


def relay_pairs(s, lo=None, hi=None):
    lo = 30000 + s.offset if lo is None else lo
    hi = 35000 + s.offset if hi is None else hi
    return len([p for p in relay_ports(s) if lo <= p < hi]) // 2


def pool(s):
    """zentrale_relay_port_pairs{state} and the legs, from /metrics."""
    r = curl("GET", f"https://127.0.0.1:{s.mgmt_port}/metrics", token=s.token())
    assert r.status == 200, r
    out = {st: float(v) for st, v in
           re.findall(r'^zentrale_relay_port_pairs\{state="(\w+)"\} (\S+)$', r.text, re.M)}
    m = re.search(r"^zentrale_relay_ports_in_use (\S+)$", r.text, re.M)
    out["legs"] = float(m.group(1)) if m else None
    return out


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while not pred() and time.time() < deadline:
        time.sleep(0.1)
    return pred()


SDP = ("v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
       "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


class Caller:
    """One UDP socket from one address, placing many INVITEs at once."""

    def __init__(self, s, src, user="100", domain="acme"):
        self.s, self.user, self.domain = s, user, domain
        self.u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.u.bind((src, 0))
        self.u.connect(("127.0.0.1", 5060 + s.offset))
        self.local = self.u.getsockname()
        self.sent = {}  # the last request per Call-ID, for retransmissions

    def invite(self, cid, to, cseq, auth=None, method="INVITE"):
        ip, port = self.local
        body = SDP.format(ip=ip, port=40000) if method == "INVITE" else ""
        msg = (f"{method} sip:{to}@{self.domain} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {ip}:{port};branch=z9hG4bK{cid}-{cseq};rport\r\n"
               f"From: <sip:{self.user}@{self.domain}>;tag=f{cid}\r\n"
               f"To: <sip:{to}@{self.domain}>\r\nCall-ID: {cid}\r\n"
               f"CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
               f"Contact: <sip:{self.user}@{ip}:{port}>\r\n"
               + (f"Authorization: {auth}\r\n" if auth else "")
               + ("Content-Type: application/sdp\r\n" if body else "")
               + f"Content-Length: {len(body)}\r\n\r\n{body}")
        self.sent[cid] = msg.encode()
        self.u.send(self.sent[cid])

    def ack(self, cid, to, cseq, to_hdr):
        ip, port = self.local
        self.u.send((f"ACK sip:{to}@{self.domain} SIP/2.0\r\n"
                     f"Via: SIP/2.0/UDP {ip}:{port};branch=z9hG4bK{cid}-{cseq};rport\r\n"
                     f"From: <sip:{self.user}@{self.domain}>;tag=f{cid}\r\nTo: {to_hdr}\r\n"
                     f"Call-ID: {cid}\r\nCSeq: {cseq} ACK\r\nMax-Forwards: 70\r\n"
                     f"Content-Length: 0\r\n\r\n").encode())

    def collect(self, want, timeout=6):
        """Answers until want(cid, status, method, headers) has had its fill:
        want returns True once a Call-ID is done; returns {cid: [(st, meth,
        h, hs)]} and the Call-IDs done. As a UA over UDP does, a request
        still unanswered after 0.5 s is sent again (a burst may be lost on a
        busy machine)."""
        got, done = {}, set()
        deadline = time.time() + timeout
        self.u.settimeout(0.5)
        while not want.done(done) and time.time() < deadline:
            try:
                st, hs, _, _ = parse(self.u.recv(65535))
            except socket.timeout:
                for cid in want.cids - done:
                    self.u.send(self.sent[cid])
                continue
            h = dict(hs)
            cid = h.get("call-id")
            meth = h.get("cseq", " ").split()[-1]
            got.setdefault(cid, []).append((st, meth, h, hs))
            if want(cid, st, meth, h):
                done.add(cid)
        return got, done


class Want:
    def __init__(self, cids, pred):
        self.cids, self.pred = set(cids), pred

    def __call__(self, cid, st, meth, h):
        return cid in self.cids and self.pred(st, meth)

    def done(self, done):
        return self.cids <= done


class Callee(threading.Thread):
    """A registered phone over UDP that rings (180) at every INVITE and
    answers nothing else, or (deaf) answers nothing at all."""

    def __init__(self, s, user, deaf):
        super().__init__(daemon=True)
        self.c = Client("udp", 5060 + s.offset)
        self.deaf, self.stop, self.invites = deaf, threading.Event(), 0
        st, _ = register_with_auth(self.c, user, f"acme-{user}-secret", "acme",
                                   call_id=f"reg-{user}-pool")
        assert st == 200
        self.user = user
        self.c.s.settimeout(0.2)

    def close(self):
        self.stop.set()
        self.join()
        register_with_auth(self.c, self.user, f"acme-{self.user}-secret", "acme",
                           call_id=f"reg-{self.user}-pool", expires=0)
        self.c.close()

    def run(self):
        while not self.stop.is_set():
            try:
                data = self.c.s.recv(65535)
            except (socket.timeout, OSError):
                continue
            if not data.startswith(b"INVITE "):
                continue
            self.invites += 1
            if self.deaf:
                continue
            head = data.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
            keep = [ln for ln in head[1:] if ln.split(":", 1)[0].lower() in
                    ("via", "from", "call-id", "cseq", "record-route")]
            to = [ln for ln in head[1:] if ln.lower().startswith("to:")][0]
            resp = ("SIP/2.0 180 Ringing\r\n" + "\r\n".join(keep) + f"\r\n{to};tag=ring\r\n"
                    f"Contact: <sip:x@{self.c.local[0]}:{self.c.local[1]}>\r\n"
                    "Content-Length: 0\r\n\r\n")
            self.c.send(resp)


def unauthenticated(s, n, srcs):
    """n INVITEs without credentials, from srcs in turn, 32 at a time (a
    burst the SBC's socket buffer holds): their 401 frees their ports at
    once. How many got each final answer."""
    callers = [Caller(s, src) for src in srcs]
    finals = collections.Counter()
    for i in range(0, n, 32):
        c = callers[(i // 32) % len(callers)]
        cids = [f"un-{i}-{j}" for j in range(32) if i + j < n]
        for cid in cids:
            c.invite(cid, "101", 1)
        got, done = c.collect(Want(cids, lambda st, m: st >= 200 and m == "INVITE"))
        for cid in done:
            st, _, h, _ = [a for a in got[cid] if a[0] >= 200][-1]
            finals[st] += 1
            c.ack(cid, "101", 1, h["to"])
    finals[None] = n - sum(finals.values())
    return finals


def authenticated(s, callers, per_caller, to, tag, abandon):
    """INVITEs of user 100 to `to`: each first challenged (401, unauthenticated,
    its ports freed at once), then sent with credentials; the phone system
    takes it (100) and forks to the callee. Abandoned ones are CANCELed once
    they ring (the phone system's 487 frees the caller's leg at once; the
    callee's leg goes with its transaction, which saw 180 and no final
    answer); the others are left unanswered (the callee is deaf: both legs
    go with their transactions). How many reached the phone system."""
    batch = {c: [f"{tag}-{k}-{j}" for j in range(per_caller)] for k, c in enumerate(callers)}
    auths = {}
    for c, cids in batch.items():
        for cid in cids:
            c.invite(cid, to, 1)
        got, done = c.collect(Want(cids, lambda st, m: st == 401))
        for cid in done:
            _, _, h, hs = [a for a in got[cid] if a[0] == 401][-1]
            c.ack(cid, to, 1, h["to"])
            auths[cid] = hs
    taken = 0
    for c, cids in batch.items():
        for cid in cids:
            if cid in auths:
                c.invite(cid, to, 2, auth=digest(auths[cid], "100", "acme-100-secret",
                                                 f"sip:{to}@acme", "INVITE"))
        # taken: the phone system's 100 (a lost one is not sent again, so
        # an abandoned call is cancelled after its 100 or its 180)
        got, done = c.collect(Want([x for x in cids if x in auths],
                                   lambda st, m: st in (100, 180) and m == "INVITE"), 3)
        taken += len(done)
        if not abandon:
            continue
        for cid in done:
            c.invite(cid, to, 2, method="CANCEL")
        got, fin = c.collect(Want(done, lambda st, m: st == 487 and m == "INVITE"))
        for cid in fin:
            h = [a for a in got[cid] if a[0] == 487][-1][2]
            c.ack(cid, to, 2, h["to"])
    return taken


def test_the_pool_is_whole_after_10000_unanswered_unauthenticated_and_abandoned_invites(srv):
    ringer, deaf = Callee(srv, "101", False), Callee(srv, "102", True)
    lo, hi = _above_ephemeral()
    r = srv.api("PUT", "/sbc", {"media": {"port_min": lo, "port_max": hi}})
    assert r.status == 200, r
    assert wait_for(lambda: f"relay ports {lo}-" in srv.log(100000), 5), srv.log()
    pairs = int(re.findall(rf"relay ports {lo}-\d+ now \((\d+) port pairs", srv.log(100000))[-1])
    ringer.start()
    deaf.start()
    try:
        assert relay_pairs(srv, lo, hi + 1) == 0
        # 6,000 without credentials
        finals = unauthenticated(srv, 6000, [f"127.0.1.{k}" for k in range(1, 9)])
        assert finals[401] >= 5700 and not finals[None], finals
        # 1,000 abandoned while ringing and 1,000 never answered (each after
        # its challenge: 2,000 more unauthenticated), 500 at a time: within
        # the per-address (64) and per-phone-system (625) bounds
        held_max = 0
        for r in range(2):
            callers = [Caller(srv, f"127.0.2.{10 * r + k}") for k in range(1, 11)]
            assert authenticated(srv, callers, 50, "101", f"ab{r}", True) >= 475
            callers = [Caller(srv, f"127.0.3.{10 * r + k}") for k in range(1, 11)]
            assert authenticated(srv, callers, 50, "102", f"na{r}", False) >= 475
            held_max = max(held_max, relay_pairs(srv, lo, hi + 1))
            # a round's legs go with their transactions before the next round
            assert wait_for(lambda: relay_pairs(srv, lo, hi + 1) == 0, TX_LIFE_MS / 1000 + 3), \
                (relay_pairs(srv, lo, hi + 1), srv.log())
        assert held_max >= 200  # they did hold ports until their transactions ended
        assert ringer.invites >= 950 and deaf.invites >= 950
        # the pool as the SBC reports it (every 5 s): no pair in use, every
        # one free or set aside (a port of it held by another program, such
        # as another test's server on this machine)
        assert wait_for(lambda: pool(srv).get("in_use") == 0, 12), pool(srv)
        p = pool(srv)
        assert p["free"] + p["aside"] == pairs and p["half"] == 0 and p["legs"] == 0, p
    finally:
        ringer.close()
        deaf.close()
        # the module's other tests use the default range, once the SBC has it
        line = f"relay ports {30000 + srv.offset}-"
        before = srv.log(tail=None).count(line)
        r = srv.api("PUT", "/sbc", {"media": {"port_min": 30000 + srv.offset,
                                              "port_max": 35000 + srv.offset}})
        assert r.status == 200, r
        assert wait_for(lambda: srv.log(tail=None).count(line) > before, 5), srv.log()
    assert not srv.sanitizer_reports(), srv.log()


def flows(a, b, a_media, b_media, tag):
    """RTP both ways between two phones of a call, through its relay ports."""
    (a_addr, a_port, _, _), (b_addr, b_port, _, _) = a_media, b_media
    for sock in (a.rtp, b.rtp):  # what earlier packets left behind
        sock.settimeout(0.05)
        try:
            while True:
                sock.recvfrom(2048)
        except socket.timeout:
            pass
        sock.settimeout(2)
    for i in range(3):
        a.rtp.sendto(rtp(i, tag + b"a" * 159), (a_addr, a_port))
        b.rtp.sendto(rtp(i, tag + b"b" * 159, 0x99), (b_addr, b_port))
    return (b.rtp.recvfrom(2048)[0][12:] == tag + b"a" * 159 and
            a.rtp.recvfrom(2048)[0][12:] == tag + b"b" * 159)


def test_a_range_set_by_the_api_keeps_calls_in_progress_and_gives_new_calls_its_ports(srv):
    lo, hi = 30000 + srv.offset, 35000 + srv.offset
    new_lo, new_hi = hi + 1000, hi + 1099  # 100 ports: 50 pairs, 25 calls
    a, b = MediaPhone(srv, "103", "udp"), MediaPhone(srv, "100", "udp")
    try:
        call1, _, a1, b1 = establish(a, b)
        assert lo <= a1[1] < hi and lo <= b1[1] < hi
        assert flows(a, b, a1, b1, b"1")
        # refused, and nothing changes: out of bounds, too small, not numbers
        for bad in ({"port_min": 80}, {"port_max": 70000}, {"port_min": hi + 10},
                    {"port_min": 40000, "port_max": 40002}, {"port_min": "40000"}):
            r = srv.api("PUT", "/sbc", {"media": bad})
            assert r.status == 400 and "media.port_m" in r.json()["error"], (bad, r)
        media = srv.api("GET", "/sbc").json()["media"]
        assert (media["port_min"], media["port_max"]) == (lo, hi)
        r = srv.api("PUT", "/sbc", {"media": {"port_min": new_lo, "port_max": new_hi}})
        assert r.status == 200, r
        media = srv.api("GET", "/sbc").json()["media"]
        assert (media["port_min"], media["port_max"]) == (new_lo, new_hi)
        assert wait_for(lambda: f"relay ports {new_lo}-{new_hi}" in srv.log(100000), 5)
        # the call in progress keeps its ports, outside the new range, and its media
        assert flows(a, b, a1, b1, b"2")
        # a new call (while the first goes on) gets ports from the new range
        call2, _, a2, b2 = establish(a, b)
        assert new_lo <= a2[1] <= new_hi and new_lo <= b2[1] <= new_hi, (a2[1], b2[1])
        assert flows(a, b, a2, b2, b"3") and flows(a, b, a1, b1, b"4")
        # the pool is the new range's: 50 pairs, two in use (the second call)
        assert wait_for(lambda: pool(srv).get("in_use") == 2, 12), pool(srv)
        p = pool(srv)
        assert p["free"] + p["aside"] + p["in_use"] + p["half"] == 50, p
        hang_up(a, b, call1)
        hang_up(a, b, call2)
        assert wait_for(lambda: relay_pairs(srv, lo, new_hi + 1) == 0, 3), relay_ports(srv)
        assert wait_for(lambda: pool(srv).get("in_use") == 0, 12), pool(srv)
    finally:
        a.close()
        b.close()
    assert not srv.sanitizer_reports(), srv.log()



def test_the_cli_sets_the_range_and_shows_the_calls_it_holds(srv):
    def ctl(*args):
        return subprocess.run([BIN, "ctl", "--data-dir", srv.data, *args],
                              capture_output=True, text=True, timeout=20)
    lo = 40000  # a range of its own: 2,000 ports, 500 calls
    r = ctl("sbc", "media-ports", str(lo), str(lo + 1999))
    assert r.returncode == 0 and f"ports {lo}-{lo + 1999}" in r.stdout, r
    media = srv.api("GET", "/sbc").json()["media"]
    assert (media["port_min"], media["port_max"]) == (lo, lo + 1999)
    r = ctl("sbc", "show")
    assert r.returncode == 0 and f"media relay ports: {lo}-{lo + 1999} (500 calls" in r.stdout, r
    # the supervisor's check, as for the API: refused, and nothing changes
    r = ctl("sbc", "media-ports", str(lo + 10), str(lo + 11))
    assert r.returncode != 0 and "media.port_m" in r.stderr + r.stdout, r
    assert ctl("sbc", "media-ports", "x", "1").returncode == 2  # not numbers: usage
    media = srv.api("GET", "/sbc").json()["media"]
    assert (media["port_min"], media["port_max"]) == (lo, lo + 1999)
