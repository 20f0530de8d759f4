"""System update with signed bundles: `make bundle` builds and signs a
release that reports a newer version; the server verifies it (signature by
a trusted key, every file, the version), stages it, switches, restarts and
checks health, and goes back to the previous release when the new one does
not come up. Bundles with a bad signature, an untrusted key, a tampered
file or an older version are refused and change nothing; a kill -9 in the
middle of an update leaves a server that comes up on one whole release."""
import io
import json
import os
import subprocess
import tarfile
import time

import pytest

from conftest import BIN, ROOT, Server, curl

NEW = "0.1.1"


def running_version(s):
    r = s.api("GET", "/system")
    return r.json()["version"] if r.status == 200 else None


def wait_version(s, version, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            s._token = None
            if running_version(s) == version and s.api("GET", "/update").json()["pending"] is False:
                return True
        except (AssertionError, ValueError, KeyError):
            pass
        time.sleep(0.3)
    return False


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    d = tmp_path_factory.mktemp("bundles")
    for name in ("release", "other"):
        subprocess.run([BIN, "bundle-key", "--out", str(d / name)], check=True,
                       capture_output=True)
    # a real newer build, as a release manager makes it
    r = subprocess.run(["make", "-C", ROOT, "bundle", f"KEY={d / 'release.key'}",
                        f"VERSION={NEW}", f"OUT={d / 'new.bundle'}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # this build again (to go back), one that cannot run, one that never gets healthy
    subprocess.run([BIN, "bundle", "--key", str(d / "release.key"), "--out",
                    str(d / "old.bundle")], check=True, capture_output=True)
    for name, script in (("broken", "#!/bin/sh\nexit 3\n"),
                         ("hang", "#!/bin/sh\nexec sleep 600\n")):
        (d / name).write_text(script)
        subprocess.run([BIN, "bundle", "--key", str(d / "release.key"), "--out",
                        str(d / f"{name}.bundle"), "--binary", str(d / name), "--version",
                        "0.1.2"], check=True, capture_output=True)
    subprocess.run([BIN, "bundle", "--key", str(d / "other.key"), "--out",
                    str(d / "untrusted.bundle"), "--version", "0.1.3"], check=True,
                   capture_output=True)
    # the new bundle with one byte of its binary changed, and one with a bad signature
    for name, change in (("tampered", lambda n, data: data[:-1] + bytes([data[-1] ^ 1])
                          if n == "zentrale" else data),
                         ("badsig", lambda n, data: data.replace(data[4:8], b"AAAA")
                          if n == "manifest.sig" else data)):
        with tarfile.open(d / "new.bundle") as t, tarfile.open(d / f"{name}.bundle", "w:gz") as o:
            for m in t.getmembers():
                data = change(m.name, t.extractfile(m).read())
                m.size = len(data)
                o.addfile(m, io.BytesIO(data))
    return Bundles(d)


class Bundles:
    """The bundles' directory, and the public key they are signed with."""

    def __init__(self, d):
        self.d = d
        self.pub = (d / "release.pub").read_text().strip()

    def __truediv__(self, name):
        return self.d / name


def post_bundle(s, path, force=False):
    r = subprocess.run(["curl", "-sk", "-X", "POST", "--data-binary", f"@{path}", "-H",
                        f"Authorization: Bearer {s.token()}", "-w", "\n%{http_code}",
                        s.mgmt("/update" + ("?force=1" if force else ""))],
                       capture_output=True, text=True)
    body, _, status = r.stdout.rpartition("\n")
    return int(status), json.loads(body) if body.startswith("{") else body


def trust(s, bundles, **extra):
    r = s.api("PUT", "/update/settings", {"trusted_keys": [bundles.pub], **extra})
    assert r.status == 200, r


def test_refused_bundles_change_nothing(server, bundles):
    st, v = post_bundle(server, bundles / "new.bundle")
    assert st == 409 and "trusted" in v["error"]  # no key trusted yet
    trust(server, bundles)
    for name, status, words in (("badsig", 400, "signature"), ("untrusted", 400, "trusted key"),
                                ("tampered", 400, "tampered"), ("old", 409, "same as")):
        st, v = post_bundle(server, bundles / f"{name}.bundle")
        assert st == status and words in v["error"], (name, st, v)
    st, v = post_bundle(server, bundles / "release.pub")  # not a bundle at all
    assert st == 400
    u = server.api("GET", "/update").json()
    assert u["version"] == "0.1.0" and u["current"] is None and u["releases"] == []
    assert os.listdir(os.path.join(server.data, "releases")) == []
    assert server.api("PUT", "/update/settings", {"trusted_keys": ["nonsense"]}).status == 400


def test_update_to_a_new_build_and_back(server, bundles):
    server.create_ps("up-co", "up-admin-pw-1")
    tok = server.pbx_token("up-co", "up-admin-pw-1")
    assert curl("POST", server.sbc("/up-co/api/v1/users"),
                {"display_name": "Ann", "extension": "100"}, token=tok).status == 201
    trust(server, bundles)
    st, v = post_bundle(server, bundles / "new.bundle")
    assert st == 202 and v == {"from": "0.1.0", "to": NEW}, v
    assert wait_version(server, NEW), server.log()
    u = server.api("GET", "/update").json()
    assert u["current"] == f"releases/{NEW}" and u["last"]["result"] == "updated"
    # the phone system kept its data
    assert server.wait_state("up-co", "running")
    tok = server.pbx_token("up-co", "up-admin-pw-1")
    r = curl("GET", server.sbc("/up-co/api/v1/users"), token=tok)
    assert [x["extension"] for x in r.json()["users"]] == ["100"]
    # back to the build before: older, so only when forced
    st, v = post_bundle(server, bundles / "old.bundle")
    assert st == 409 and "older" in v["error"]
    st, v = post_bundle(server, bundles / "old.bundle", force=True)
    assert st == 202, v
    assert wait_version(server, "0.1.0"), server.log()
    assert server.api("GET", "/update").json()["last"]["result"] == "updated"


@pytest.mark.parametrize("name", ["broken", "hang"])
def test_a_release_that_does_not_come_up_is_rolled_back(server, bundles, name):
    trust(server, bundles, health_timeout=8)
    st, v = post_bundle(server, bundles / f"{name}.bundle")
    assert st == 202, v
    deadline = time.time() + 60
    last = None
    while time.time() < deadline:
        if os.path.exists(os.path.join(server.data, "update-result.json")):
            last = json.load(open(os.path.join(server.data, "update-result.json")))
            if last["to"] == "0.1.2":
                break
        time.sleep(0.3)
    assert last and last["result"] == "rolled back", (last, server.log())
    assert wait_version(server, "0.1.0"), server.log()
    assert server.api("GET", "/update").json()["current"] is None
    assert server.wait_log("rolling back")


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.8])
def test_power_cut_during_an_update_leaves_one_whole_release(bundles, delay):
    s = Server().start()
    try:
        trust(s, bundles, health_timeout=30)
        st, v = post_bundle(s, bundles / "new.bundle")
        assert st == 202, v
        time.sleep(delay)
        s.kill_tree()  # everything, at once
        s2 = Server(data_dir=s.data, offset=s.offset)
        s2.start()
        try:
            # it comes up, on the old release or the new one, whichever is whole
            deadline = time.time() + 60
            version = None
            while time.time() < deadline:
                s2._token = None
                try:
                    version = running_version(s2)
                    if s2.api("GET", "/update").json()["pending"] is False:
                        break
                except (AssertionError, ValueError):
                    pass
                time.sleep(0.3)
            assert version in ("0.1.0", NEW), s2.log()
            cur = os.path.join(s.data, "current")
            if os.path.islink(cur):
                exe = os.path.join(cur, "zentrale")
                out = subprocess.run([exe, "version"], capture_output=True, text=True).stdout
                assert out.strip() == f"zentrale {version}"
            else:
                assert version == "0.1.0"
            assert s2.api("GET", "/health").status == 200
        finally:
            s2.stop()
    finally:
        s.cleanup()


HTTPS_SERVER = """
import http.server, ssl, sys, functools
port, cert, key, root = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
print("ready", flush=True)
httpd.serve_forever()
"""


def test_update_picked_up_from_an_https_source(server, bundles, tmp_path):
    from sipua import free_port
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True)
    port = free_port()
    web = subprocess.Popen(["/usr/bin/python3", "-c", HTTPS_SERVER, str(port), str(cert),
                            str(key), str(bundles.d)], stdout=subprocess.PIPE, text=True)
    try:
        assert web.stdout.readline().strip() == "ready"
        url = f"https://localhost:{port}/new.bundle"
        trust(server, bundles, source=url)
        # its certificate is not trusted yet: refused, nothing changes
        r = server.api("POST", "/update/check", {})
        assert r.status == 502 and "certificate" in r.json()["error"], r
        assert running_version(server) == "0.1.0"
        ca = os.path.join(server.data, "update-ca.pem")  # readable by the server's account
        with open(cert) as f, open(ca, "w") as g:
            g.write(f.read())
        os.chmod(ca, 0o644)
        trust(server, bundles, source=url, source_ca=ca)
        r = server.api("POST", "/update/check", {}, timeout=60)
        assert r.status == 202 and r.json()["to"] == NEW, r
        assert wait_version(server, NEW), server.log()
        # the same again: up to date
        server._token = None
        r = server.api("POST", "/update/check", {})
        assert r.status == 200 and r.json()["up_to_date"] is True, r
    finally:
        web.terminate()
        web.wait()


def test_update_picked_up_from_a_directory(server, bundles):
    # the newest bundle signed by a trusted key: not the untrusted 0.1.3
    d = os.path.join(server.data, "updates")
    os.makedirs(d)
    subprocess.run(["cp", str(bundles / "new.bundle"), str(bundles / "untrusted.bundle"), d],
                   check=True)
    trust(server, bundles, source=d)
    r = server.api("POST", "/update/check", {}, timeout=60)
    assert r.status == 202 and r.json()["to"] == NEW, r
    assert wait_version(server, NEW), server.log()
