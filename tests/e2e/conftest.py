"""End-to-end harness: starts the real `zentrale server` (temporary data dir,
its own port offset) and drives it with real clients (curl, openssl)."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("ZENTRALE_BIN", os.path.join(ROOT, "build", "zentrale"))
ADMIN_PW = "admin-secret-1"


# The largest service port (8885, VPN) and the media range's start: a
# server's TCP and UDP ports (offset + 22 ... 8885) stay below every
# server's media range (offset + 30000 ...) and below the kernel's ephemeral
# range, where a client's socket can hold any port at any moment (CI failed
# on 127.0.0.1:33362 taken when a server with offset 28300 started).
_TOP_SERVICE_PORT = 8885
_MEDIA_MIN = 30000


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _run_base():
    return int(os.environ.get("ZENTRALE_TEST_OFFSET_BASE", "1000"))


def _offset_top(base, step=100):
    """The largest offset of the cycle: its ports below the ephemeral range
    and below the media range of the run's lowest offset."""
    limit = min(_ephemeral_low(), _MEDIA_MIN + _run_base()) - 1 - _TOP_SERVICE_PORT
    return base + max(0, (limit - base) // step * step)


def _offset_cycle(base, step=100):
    """base, base+100, ... up to the top, then base again: a whole run starts
    more servers than the cycle holds, and those of earlier test files are
    stopped by then (those still held are skipped, _next_offset)."""
    top = _offset_top(base, step)
    while True:
        yield from range(base, top + 1, step)


def _worker_base():
    """The first offset of this pytest process. Under pytest-xdist each
    worker (gw0, gw1, ...) starts 50 above the one before, so the servers of
    concurrent workers never share a port: their offsets interleave in the
    cycle's steps of 100."""
    base = _run_base()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    n = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    return base + 50 * n


_offsets = _offset_cycle(_worker_base())
_servers = weakref.WeakSet()  # this process's servers, to skip their offsets


def _next_offset():
    """The next offset of the cycle that no server of this process holds
    (one made and not yet cleaned up, or still running): the cycle wraps
    during a whole run, and a module's server can outlive a hundred others."""
    for _ in range(400):
        offset = next(_offsets)
        if not any(s.offset == offset and s.holds_offset() for s in list(_servers)):
            return offset
    raise RuntimeError("every test offset is held by a server of this process")


def wait_port(host, port, timeout=10.0, netns=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if netns:
            r = subprocess.run(["ip", "netns", "exec", netns, "bash", "-c",
                                f"exec 3<>/dev/tcp/{host}/{port}"], capture_output=True)
            if r.returncode == 0:
                return True
        else:
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return True
            except OSError:
                pass
        time.sleep(0.05)
    return False


class Response:
    def __init__(self, status, body, headers=""):
        self.status = status
        self.text = body
        self.headers = headers

    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        return f"<{self.status} {self.text[:200]!r}>"


def curl(method, url, body=None, token=None, headers=(), netns=None, timeout=20, raw=None):
    """One request with curl; returns Response(status, body, headers)."""
    # HEAD by -I: with -X HEAD curl waits for the body Content-Length names
    how = ["-I"] if method == "HEAD" else ["-X", method, "-D", "-"]
    cmd = ["curl", "-sk", *how, "--max-time", str(timeout), "-w", "\n__STATUS__%{http_code}"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    for h in headers:
        cmd += ["-H", h]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "--data-binary",
                body if isinstance(body, str) else json.dumps(body)]
    if raw is not None:  # large bodies go through stdin
        cmd += ["--data-binary", "@-"]
    cmd.append(url)
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                         input=raw).stdout
    out, _, status = out.rpartition("\n__STATUS__")
    # text mode turned CRLF into LF
    head, _, text = out.partition("\n\n")
    while head.startswith("HTTP/1.1 100"):
        head, _, text = text.partition("\n\n")
    return Response(int(status or 0), text, head)


# The built-in prompt set (pbx_prompts.h) is made at a data dir's first
# start, ~8 s of CPU under the sanitizers: the servers of one test run
# share one set (a symlink prompts/ in each fresh data dir), which the
# first pbx makes under the set's lock. test_prompts checks the making.
_prompts_dir = None


def shared_prompts_dir():
    global _prompts_dir
    if _prompts_dir is None:
        _prompts_dir = tempfile.mkdtemp(prefix="zt-prompts-", dir="/tmp")
        if os.geteuid() == 0:
            try:
                import pwd
                pw = pwd.getpwnam("zentrale")
                os.chown(_prompts_dir, pw.pw_uid, pw.pw_gid)
            except KeyError:
                pass
    return _prompts_dir


class Server:
    def __init__(self, data_dir=None, offset=None, listen=("127.0.0.1",), env=None, netns=None,
                 admin_password=ADMIN_PW):
        self.own_dir = data_dir is None
        self.data = data_dir or tempfile.mkdtemp(prefix="zt-", dir="/tmp")
        if self.own_dir:
            os.symlink(shared_prompts_dir(), os.path.join(self.data, "prompts"))
        self.auto_offset = offset is None
        self.started = self.cleaned = False
        self.offset = _next_offset() if offset is None else offset
        self.listen = list(listen)
        self.netns = netns
        self.env = dict(os.environ)
        if admin_password:
            self.env["ZENTRALE_ADMIN_PASSWORD"] = admin_password
        self.env.update(env or {})
        self.proc = None
        self.log_path = f"{self.data.rstrip('/')}-{self.offset}.log"
        self.host = self.listen[0] if self.listen else "127.0.0.1"
        self._token = None
        _servers.add(self)

    def holds_offset(self):
        return not self.cleaned and (self.proc is None or self.proc.poll() is None)

    # ports
    @property
    def mgmt_port(self):
        return 8443 + self.offset

    @property
    def sbc_port(self):
        return 443 + self.offset

    def mgmt(self, path):
        return f"https://{self.host}:{self.mgmt_port}/api/v1{path}"

    def sbc(self, path):
        return f"https://{self.host}:{self.sbc_port}{path}"

    def command(self):
        cmd = [BIN, "server", "--data-dir", self.data, "--port-offset", str(self.offset)]
        for a in self.listen:
            cmd += ["--listen", a]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        return cmd

    def start(self, wait=True):
        for attempt in range(3):
            self.logf = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self.command(), stdout=self.logf,
                                         stderr=subprocess.STDOUT, env=self.env,
                                         start_new_session=True)
            if not wait:
                break
            try:
                assert self.wait_own_port(self.mgmt_port), self.log()
                assert self.wait_own_port(self.sbc_port), self.log()
                self.wait_ready()
                break
            except BaseException:
                self.stop()  # never leave a server behind
                # a port of its offset held by another program (the offsets
                # stay out of the ephemeral range, but not every program's
                # ports): another offset, on a first start whose offset the
                # test left to us
                if (self.auto_offset and not self.started and attempt < 2
                        and "Address already in use" in self.log()):
                    self.offset = _next_offset()
                    self.log_path = f"{self.data.rstrip('/')}-{self.offset}.log"
                    continue
                raise
        self.started = True
        return self

    def wait_own_port(self, port, timeout=15):
        """True once our server listens on port: a connection alone can
        reach another program that holds it (our server then fails)."""
        deadline = time.time() + timeout
        while time.time() < deadline and self.proc.poll() is None:
            cmd = ["ss", "-Htlnp", f"sport = :{port}"]
            if self.netns:
                cmd = ["ip", "netns", "exec", self.netns] + cmd
            out = subprocess.run(cmd, capture_output=True, text=True).stdout
            for pid in re.findall(r"pid=(\d+)", out):
                try:
                    if os.getsid(int(pid)) == self.proc.pid:
                        return True
                except OSError:  # gone meanwhile
                    pass
            time.sleep(0.05)
        return False

    def wait_ready(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            # a request without a token (a failed login would count against us)
            r = curl("GET", self.mgmt("/system"), netns=self.netns)
            if r.status == 401:
                return
            time.sleep(0.1)
        raise AssertionError("management never answered\n" + self.log())

    def log(self, tail=6000):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace")
                return text[-tail:] if tail else text
        except OSError:
            return ""

    def wait_log(self, text, tail=None, timeout=10):
        """Whether `text` comes in the log within `timeout` s: children's lines
        reach the file through the supervisor's pipe, so a line logged before a
        reply was sent can land after the reply came."""
        deadline = time.monotonic() + timeout
        while True:
            if text in self.log(tail):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def pids(self):
        """role/name -> pid, from ps titles of our process group."""
        out = subprocess.run(["ps", "-o", "pid=,args=", "-s", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        res = {}
        for line in out.splitlines():
            pid, _, args = line.strip().partition(" ")
            if args.startswith("zentrale: "):
                res[args[len("zentrale: "):].strip()] = int(pid)
        return res

    def stop(self, timeout=10):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            self.logf.close()
        return self.proc.returncode if self.proc else None

    def kill_tree(self):
        """kill -9 of the whole process tree, as a power cut would."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.logf.close()
        # children die with the supervisor; wait until they are gone
        deadline = time.time() + 5
        while time.time() < deadline:
            r = subprocess.run(["pgrep", "-s", str(self.proc.pid)], capture_output=True)
            if r.returncode != 0:
                break
            time.sleep(0.05)

    def sanitizer_reports(self):
        marks = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
        return [l for l in self.log(tail=None).splitlines() if any(m in l for m in marks)]

    def cleanup(self):
        self.stop()
        self.cleaned = True
        if self.own_dir:
            shutil.rmtree(self.data, ignore_errors=True)
        # every process of the server ran under ASan/UBSan: any report fails the test
        reports = self.sanitizer_reports()
        assert not reports, "sanitizer reports:\n" + self.log()

    # API helpers
    def token(self):
        if not self._token:
            r = curl("POST", self.mgmt("/login"), {"username": "admin", "password": ADMIN_PW},
                     netns=self.netns)
            assert r.status == 200, r
            self._token = r.json()["token"]
        return self._token

    def api(self, method, path, body=None, token=None, **kw):
        return curl(method, self.mgmt(path), body, token=token or self.token(),
                    netns=self.netns, **kw)

    def create_ps(self, name, password="pbx-secret-1"):
        r = self.api("POST", "/phone-systems", {"name": name, "admin_password": password})
        assert r.status == 201, r
        return r

    def pbx_token(self, name, password):
        """Logs in as a phone system's admin, through the SBC."""
        r = curl("POST", self.sbc(f"/{name}/api/v1/login"),
                 {"username": "admin", "password": password}, netns=self.netns)
        assert r.status == 200, r
        return r.json()["token"]

    def create_user(self, ps, token, ext, display=None, password=None):
        """A user of phone system ps (token: its admin's), named display
        ("<ps> <ext>"), SIP password password ("<ps>-<ext>-secret"): its JSON."""
        r = curl("POST", self.sbc(f"/{ps}/api/v1/users"),
                 {"display_name": display or f"{ps} {ext}", "extension": ext,
                  "sip_password": password or f"{ps}-{ext}-secret"}, token=token,
                 netns=self.netns)
        assert r.status == 201, r
        return r.json()

    def ps_state(self, name):
        r = self.api("GET", f"/phone-systems/{name}")
        return r.json().get("state") if r.status == 200 else None

    def wait_state(self, name, state, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.ps_state(name) == state:
                return True
            time.sleep(0.05)
        return False


@pytest.fixture
def server():
    s = Server().start()
    yield s
    s.cleanup()


@pytest.fixture(scope="module")
def shared_server():
    """One server for tests that only read or add uniquely named things."""
    s = Server().start()
    yield s
    s.cleanup()


def sip_server(users, plain_sip=True, listen=("127.0.0.1",), voicemail=True,
               display="{ps} {ext}", digest_algorithms=None):
    """A started server with phone systems and users for SIP tests: users is
    [(phone system, extension)]; each user's SIP password is
    "<ps>-<ext>-secret" and display name display ("<ps> <ext>"). s.tokens
    holds each phone system's admin token (its admin password is
    "<ps>-admin-pw"), s.ps the first phone system's name and s.ids its
    users' ids by extension.
    voicemail False switches every user's mailbox off: calls that nobody
    answers then fail with their SIP status, as without voicemail.
    digest_algorithms: each phone system's setting, if given."""
    s = Server(listen=listen).start()
    try:
        s.tokens, s.ids = {}, {}
        for ps, ext in users:
            if ps not in s.tokens:
                s.create_ps(ps, f"{ps}-admin-pw")
                s.tokens[ps] = s.pbx_token(ps, f"{ps}-admin-pw")
                s.ps = getattr(s, "ps", ps)
                if digest_algorithms is not None:
                    r = curl("PUT", s.sbc(f"/{ps}/api/v1/settings"),
                             {"digest_algorithms": digest_algorithms}, token=s.tokens[ps])
                    assert r.status == 200, r
                    assert r.json()["digest_algorithms"] == digest_algorithms, r
            user = s.create_user(ps, s.tokens[ps], ext, display.format(ps=ps, ext=ext))
            if ps == s.ps:
                s.ids[ext] = user["id"]
            if not voicemail:
                r = curl("PUT", s.sbc(f"/{ps}/api/v1/voicemail/{user['id']}/settings"),
                         {"enabled": False}, token=s.tokens[ps])
                assert r.status == 200, r
        if plain_sip:
            assert s.api("PUT", "/sbc", {"plain_sip": True}).status == 200
    except BaseException:
        s.stop()
        raise
    return s

def udp_bound(port, timeout=60):
    """Waits until some socket of this machine is bound to UDP `port` (a
    sipp started a moment ago), read from /proc/net/udp{,6}."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for f in ("/proc/net/udp", "/proc/net/udp6"):
            try:
                lines = open(f).read().splitlines()[1:]
            except OSError:
                continue
            if any(int(ln.split()[1].rsplit(":", 1)[1], 16) == port for ln in lines):
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing bound to UDP port {port} within {timeout} s")
