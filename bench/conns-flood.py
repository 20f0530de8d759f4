#!/usr/bin/python3
"""Connection floods against a running server (issue 12, point 5), on loopback.

  bench/conns-flood.py hold BINARY   how many TLS connections one address
      (127.0.0.2) holds on 443, 8443 and 5061 before it is refused, and
      whether a client from 127.0.0.1 is still served (and how fast) then
  bench/conns-flood.py rss BINARY N  the SBC's VmRSS with N idle SIP-TLS
      connections from 64 addresses (127.0.1.x), and after they close

Use a build without sanitizers (buildtype=release) for memory figures."""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

OFF = int(os.environ.get("ZENTRALE_BENCH_OFFSET", "25950"))
PW = "bench-admin-pw"
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
if os.environ.get("ZENTRALE_BENCH_TLS12"):  # as many phones speak: sessions cached by the server
    CTX.maximum_version = ssl.TLSVersion.TLSv1_2


def start(binary):
    data = tempfile.mkdtemp(prefix="zt-flood-")
    env = dict(os.environ, ZENTRALE_ADMIN_PASSWORD=PW)
    log = open(data + ".log", "wb")
    p = subprocess.Popen([binary, "server", "--data-dir", data, "--port-offset", str(OFF),
                          "--listen", "127.0.0.1"], stdout=log, stderr=subprocess.STDOUT,
                         env=env, start_new_session=True)
    for _ in range(200):
        r = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
                            f"https://127.0.0.1:{8443 + OFF}/api/v1/system"],
                           capture_output=True, text=True)
        if r.stdout == "401":
            break
        time.sleep(0.1)
    for _ in range(100):
        if sbc_pid(p):
            break
        time.sleep(0.1)
    time.sleep(0.5)
    return p, data


def sbc_pid(p):
    out = subprocess.run(["ps", "-o", "pid=,args=", "-s", str(p.pid)], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        if args.strip() == "zentrale: sbc":
            return int(pid)
    return None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tls_conn(src, port, timeout=3):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    t = CTX.wrap_socket(s)
    return t


def alive(t):
    """Whether the server has not closed t (nothing to read, no EOF)."""
    t.setblocking(False)
    try:
        return t.recv(1) != b""
    except (BlockingIOError, ssl.SSLWantReadError):
        return True
    except OSError:
        return False
    finally:
        t.settimeout(3)


def legit(port):
    """Seconds for a TLS handshake and a first answer from 127.0.0.1, or None."""
    t0 = time.time()
    try:
        t = tls_conn("127.0.0.1", port, timeout=5)
        if port == 5061 + OFF:
            t.sendall(b"OPTIONS sip:x@acme SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:1;branch="
                      b"z9hG4bKbench\r\nFrom: <sip:a@acme>;tag=1\r\nTo: <sip:x@acme>\r\n"
                      b"Call-ID: bench\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                      b"Content-Length: 0\r\n\r\n")
        else:
            t.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = t.recv(100)
        t.close()
        return time.time() - t0 if data else None
    except OSError:
        return None


def hold(binary):
    p, data = start(binary)
    try:
        for name, port in (("443", 443 + OFF), ("8443", 8443 + OFF), ("5061", 5061 + OFF)):
            conns = []
            base = legit(port)
            while len(conns) < 9000:
                try:
                    t = tls_conn("127.0.0.2", port, timeout=2)
                    if name != "5061":  # keep-alive after one request, as a browser
                        t.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                        if not t.recv(4096):
                            break
                    conns.append(t)
                except OSError:
                    break
                if len(conns) % 64 == 0:
                    time.sleep(0.05)
                    if not alive(conns[-1]):
                        break
            # the last few may have been closed after the handshake
            time.sleep(0.5)
            held = sum(1 for t in conns if alive(t))
            lat = legit(port)
            print(f"port {name}: 127.0.0.2 held {held} TLS connections; 127.0.0.1 then: "
                  + (f"served in {lat * 1000:.0f} ms" if lat else "NOT served")
                  + (f" (before the flood {base * 1000:.0f} ms)" if base else ""), flush=True)
            for t in conns:
                t.close()
            time.sleep(1)
    finally:
        p.terminate()
        p.wait()


def rss(binary, n):
    p, data = start(binary)
    try:
        pid = sbc_pid(p)
        print(f"SBC pid {pid}; " + open(f"/proc/{pid}/limits").read().split("\n")[8].strip())
        time.sleep(1)
        r0 = rss_kib(pid)
        conns = []
        t0 = time.time()
        for i in range(n):
            try:
                conns.append(tls_conn(f"127.0.1.{1 + i % 64}", 5061 + OFF))
            except OSError as e:
                print(f"connection {i}: {e}")
                break
        time.sleep(2)
        live = sum(1 for t in conns if alive(t))
        r1 = rss_kib(pid)
        print(f"{live} idle SIP-TLS connections open ({time.time() - t0:.1f} s to open): "
              f"RSS {r0 / 1024:.1f} MiB -> {r1 / 1024:.1f} MiB, "
              f"{(r1 - r0) / max(live, 1):.1f} KiB per connection")
        for t in conns:
            t.close()
        for wait in (2, 15):
            time.sleep(wait)
            print(f"after closing them, +{wait} s: RSS {rss_kib(pid) / 1024:.1f} MiB")
    finally:
        p.terminate()
        p.wait()


if __name__ == "__main__":
    if sys.argv[1] == "hold":
        hold(sys.argv[2])
    else:
        rss(sys.argv[2], int(sys.argv[3]))
