"""The "carrier" of the trunk tests: Debian's Kamailio (registrar with
digest authentication, stateful proxy) from tests/e2e/carrier/kamailio.cfg,
running in a network namespace of its own. Subscribers (user → password),
numbers routed to outside parties (number → sip:host:port), numbers mapped
to a subscriber's registration (DID → user) and numbers/users answered with
503 are set at start and changed at run time through kamcmd (htable RPCs).
received() returns every request/reply the carrier got, in full, parsed
from its log, so tests can check the wire from the carrier's side."""
import os
import re
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CFG = os.path.join(HERE, "carrier", "kamailio.cfg")


def sip_options_ok(ns, addr, port, timeout=15):
    """True once the carrier answers an OPTIONS on UDP (sent from inside ns)."""
    probe = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(0.3)\n"
        f"m=('OPTIONS sip:{addr}:{port} SIP/2.0\\r\\nVia: SIP/2.0/UDP {addr}:9;branch=z9hG4bKp1;rport\\r\\n'"
        f"'From: <sip:probe@{addr}>;tag=1\\r\\nTo: <sip:{addr}>\\r\\nCall-ID: probe1\\r\\n'"
        "'CSeq: 1 OPTIONS\\r\\nMax-Forwards: 5\\r\\nContent-Length: 0\\r\\n\\r\\n').encode()\n"
        f"s.sendto(m,('{addr}',{port}))\n"
        "try: print(s.recv(2000).decode().split('\\r\\n')[0])\n"
        "except Exception: pass\n")
    deadline = time.time() + timeout
    while time.time() < deadline:
        cmd = ["python3", "-c", probe]
        if ns:
            cmd = ["ip", "netns", "exec", ns] + cmd
        out = subprocess.run(cmd, capture_output=True, text=True).stdout
        if "SIP/2.0 200" in out:
            return True
        time.sleep(0.2)
    return False


class Carrier:
    """Kamailio in namespace ns (None: the caller's) on addr:port."""

    def __init__(self, workdir, addr, port=5060, ns=None, domain="carrier.test",
                 algorithm="MD5", subscribers=None, dests=None, dids=None, fail=(),
                 tls_cert=None):
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.ns, self.addr, self.port, self.domain = ns, addr, port, domain
        self.algorithm = algorithm
        self.subscribers = dict(subscribers or {})
        self.dests = dict(dests or {})
        self.dids = dict(dids or {})
        self.fail = set(fail)
        # (certificate, key): TLS on port+1 as well
        self.tls_cert = tls_cert
        self.log = os.path.join(self.dir, "kamailio.log")
        self.cfg = os.path.join(self.dir, "kamailio.cfg")
        self.proc = None

    def _init_lines(self):
        lines = []
        for table, items in (("subs", self.subscribers), ("dest", self.dests),
                             ("did", self.dids), ("fail", {k: "1" for k in self.fail})):
            for k, v in items.items():
                for s in (k, v):
                    if not re.fullmatch(r"[A-Za-z0-9+._:@;=-]+", s):
                        raise ValueError(f"carrier: bad htable item {s!r}")
                lines.append(f'    $sht({table}=>{k}) = "{v}";')
        return "\n".join(lines)

    def _tls_global(self):
        if not self.tls_cert:
            return ""
        return f"enable_tls=yes\nlisten=tls:{self.addr}:{self.port + 1}"

    def _tls_module(self):
        if not self.tls_cert:
            return ""
        cfg = os.path.join(self.dir, "tls.cfg")
        with open(cfg, "w") as f:
            f.write(f"[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\n"
                    f"require_certificate = no\ncertificate = {self.tls_cert[0]}\n"
                    f"private_key = {self.tls_cert[1]}\n\n[client:default]\n"
                    "verify_certificate = no\nrequire_certificate = no\n")
        return f'loadmodule "tls.so"\nmodparam("tls", "config", "{cfg}")'

    def write_cfg(self):
        with open(CFG) as f:
            text = f.read()
        for k, v in (("ADDR", self.addr), ("PORT", str(self.port)), ("DOMAIN", self.domain),
                     ("DIR", self.dir), ("ALGORITHM", self.algorithm),
                     ("INIT", self._init_lines()), ("TLS_GLOBAL", self._tls_global()),
                     ("TLS_MODULE", self._tls_module())):
            text = text.replace(f"@@{k}@@", v)
        with open(self.cfg, "w") as f:
            f.write(text)

    def _cmd(self, argv):
        return (["ip", "netns", "exec", self.ns] if self.ns else []) + argv

    def start(self):
        self.write_cfg()
        check = subprocess.run(["kamailio", "-c", "-f", self.cfg], capture_output=True,
                               text=True)
        if check.returncode != 0:
            raise RuntimeError("carrier: kamailio.cfg refused:\n" + check.stderr[-3000:])
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen(
            self._cmd(["kamailio", "-f", self.cfg, "-DD", "-E", "-m", "64", "-M", "8",
                       "-P", os.path.join(self.dir, "kamailio.pid"), "-Y", self.dir]),
            stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True)
        if not sip_options_ok(self.ns, self.addr, self.port):
            self.stop()
            raise RuntimeError("carrier: no SIP answer:\n" + self.log_text()[-3000:])
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def kamcmd(self, *args):
        r = subprocess.run(["kamcmd", "-s", "unix:" + os.path.join(self.dir, "kamailio_ctl")]
                           + list(args), capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError(f"kamcmd {args}: {r.stdout}{r.stderr}")
        return r.stdout

    def set_fail(self, key, on=True):
        """Answer 503 for a number (R-URI user) or a subscriber (From/To user)."""
        if on:
            self.kamcmd("htable.sets", "fail", "s:" + key, "s:1")
            self.fail.add(key)
        else:
            self.kamcmd("htable.delete", "fail", "s:" + key)
            self.fail.discard(key)

    def set_dest(self, number, uri):
        self.kamcmd("htable.sets", "dest", "s:" + number, "s:" + uri)
        self.dests[number] = uri

    def set_did(self, number, subscriber):
        """Calls to number go to subscriber's registration."""
        self.kamcmd("htable.sets", "did", "s:" + number, "s:" + subscriber)
        self.dids[number] = subscriber

    def registrations(self):
        return self.kamcmd("ul.dump")

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def received(self):
        """[(first line, source "proto:ip:port", full message)] of everything
        the carrier received, in order."""
        out = []
        for m in re.finditer(r"=== RX (.*?) from (\S+)\n(.*?)\n=== END", self.log_text(),
                             re.S):
            body = m.group(3)
            # Kamailio's log puts a prefix before the first line only
            out.append((body.split("\n", 1)[0].strip(), m.group(2), body))
        return out

    def wait_received(self, pred, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for item in self.received():
                if pred(item):
                    return item
            time.sleep(0.1)
        raise AssertionError("carrier did not receive it; got:\n" +
                             "\n".join(f"{a} ({b})" for a, b, _ in self.received()))
