"""Network namespaces for e2e tests: make them, join them with veth pairs,
give them addresses and routes, run processes inside (ip netns exec), and
take everything down again whatever happened. The name prefix is the
caller's (each helper/test file has its own, e.g. "zh-"), so parallel runs
never touch each other's namespaces. Addresses belong to 198.18.0.0/15, the
range set aside for such tests; nothing here touches the host's own links."""
import contextlib
import ctypes
import os
import subprocess
import uuid

import pytest


def sh(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return r.stdout


class Netns:
    """A set of namespaces made under one prefix; close() deletes them all
    and ends the processes started in them (by PID, only ours)."""

    def __init__(self, prefix):
        if os.geteuid() != 0:
            pytest.fail("network namespaces need root (make test runs as root)")
        self.prefix = prefix
        self.tag = uuid.uuid4().hex[:5]
        self.names = []
        self.procs = []

    def add(self, short):
        """A new namespace with lo up; returns its full name (≤ 15 chars
        is not needed for netns, but keeps `ip netns` listings readable)."""
        name = f"{self.prefix}{short}-{self.tag}"
        sh("ip", "netns", "add", name)
        self.names.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def veth(self, ns_a, addr_a, ns_b, addr_b, dev_a="veth0", dev_b="veth1"):
        """A veth pair from ns_a (dev_a, addr_a as "a.b.c.d/len") to ns_b."""
        sh("ip", "-n", ns_a, "link", "add", dev_a, "type", "veth", "peer", "name", dev_b,
           "netns", ns_b)
        for ns, dev, addr in ((ns_a, dev_a, addr_a), (ns_b, dev_b, addr_b)):
            if addr:
                sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")

    def addr(self, ns, dev, addr):
        sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)

    def route(self, ns, dest, via):
        sh("ip", "-n", ns, "route", "add", dest, "via", via)

    def forward(self, ns):
        """Let ns route between its links (a router namespace)."""
        sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")

    def cmd(self, ns, argv):
        return ["ip", "netns", "exec", ns] + list(argv)

    def run(self, ns, *argv, check=True, timeout=60):
        return subprocess.run(self.cmd(ns, argv), capture_output=True, text=True,
                              check=check, timeout=timeout)

    def popen(self, ns, argv, **kw):
        """Start a process in ns; close() ends it if it is still running."""
        p = subprocess.Popen(self.cmd(ns, argv), **kw)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []
        for name in reversed(self.names):
            # anything still inside (a process we did not spawn through
            # popen, e.g. a daemon that forked) is ours: end it by PID
            for pid in sh("ip", "netns", "pids", name, check=False).split():
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", name, check=False)
        self.names = []


_libc = None


@contextlib.contextmanager
def inside(ns):
    """The calling thread in namespace ns for the block (setns(2)): sockets
    made there stay in ns after it, so a test's phones and probes can live
    in a namespace while the test itself runs outside."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    there = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(there, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), f"setns {ns}")
        try:
            yield
        finally:
            if _libc.setns(here, 0x40000000) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(there)
        os.close(here)


def netns_fixture(prefix):
    """A pytest fixture (function scope) yielding a Netns for prefix; its
    finalizer always runs, so a failing test leaves no namespace behind."""

    @pytest.fixture
    def _netns(request):
        n = Netns(prefix)
        request.addfinalizer(n.close)
        return n

    return _netns
