"""Backups through the management API, checked with Debian's tar and
sha256sum: a running phone system with users and registrations is backed
up, deleted, restored and found whole; restored over itself and as a clone;
encrypted; uploaded, downloaded, listed and deleted; a whole server backed
up and restored onto a fresh installation with `zentrale restore`; every
refused archive (truncated, corrupted, tampered, wrongly encrypted,
foreign, from a newer schema) changes nothing; an older schema is
migrated; a kill -9 during a backup leaves nothing half made; daily
backups keep their number."""
import hashlib
import io
import json
import os
import pathlib
import shutil
import signal
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import time

import pytest

from conftest import ADMIN_PW, BIN, Server, curl
from sipua import Phone

PW = "bk-admin-pw-1"


def users_of(s, name, tok):
    r = curl("GET", s.sbc(f"/{name}/api/v1/users"), token=tok)
    assert r.status == 200, r
    return sorted(u["extension"] for u in r.json()["users"])


def add_user(s, name, tok, ext):
    r = curl("POST", s.sbc(f"/{name}/api/v1/users"),
             {"display_name": f"user {ext}", "extension": ext,
              "sip_password": f"{name}-{ext}-secret-pw"}, token=tok)
    assert r.status == 201, r


def backup(s, **body):
    r = s.api("POST", "/backups", body)
    assert r.status == 201, r
    return r.json()


def download(s, bid, path):
    r = subprocess.run(["curl", "-sk", "-o", str(path), "-w", "%{http_code}", "-H",
                        f"Authorization: Bearer {s.token()}",
                        s.mgmt(f"/backups/{bid}/archive")], capture_output=True, text=True)
    assert r.stdout == "200"
    return path


def upload(s, path):
    r = subprocess.run(["curl", "-sk", "-X", "POST", "--data-binary", f"@{path}", "-H",
                        f"Authorization: Bearer {s.token()}", "-w", "\n%{http_code}",
                        s.mgmt("/backups/upload")], capture_output=True, text=True)
    body, _, status = r.stdout.rpartition("\n")
    return int(status), json.loads(body) if body.startswith("{") else body


def restore(s, bid, **body):
    return s.api("POST", f"/backups/{bid}/restore", body, timeout=60)


def leftovers(s):
    found = []
    for d in ("phone-systems", "backups"):
        p = os.path.join(s.data, d)
        if os.path.isdir(p):
            found += [f for f in os.listdir(p) if f.startswith((".tmp-", ".restore-", ".old-"))]
    return found


@pytest.fixture
def bk(server):
    """A running phone system with two users, one of them registered."""
    server.create_ps("bk-co", PW)
    server.tok = server.pbx_token("bk-co", PW)
    add_user(server, "bk-co", server.tok, "100")
    add_user(server, "bk-co", server.tok, "101")
    r = server.api("PUT", "/sbc", {"plain_sip": True})
    assert r.status == 200
    p = Phone("udp", 5060 + server.offset, "100", "bk-co-100-secret-pw", "bk-co")
    assert p.register(expires=3600) == 200
    p.close()
    return server


def registrations(s, name, tok):
    r = curl("GET", s.sbc(f"/{name}/api/v1/registrations"), token=tok)
    return [x["extension"] for x in r.json()["registrations"]]


def test_back_up_a_running_phone_system_delete_it_and_restore_it(bk, tmp_path):
    b = backup(bk, phone_system="bk-co")
    assert b["kind"] == "phone-system" and b["phone_system"] == "bk-co" and not b["encrypted"]
    assert any(x["id"] == b["id"] for x in bk.api("GET", "/backups").json()["backups"])
    # Debian's tar reads it; the manifest's checksums are those of its members
    path = download(bk, b["id"], tmp_path / "b.tar.gz")
    names = subprocess.run(["tar", "-tzf", path], capture_output=True, text=True).stdout.split()
    assert names == ["manifest.json", "phone-systems/bk-co/pbx.db"]
    subprocess.run(["tar", "-xzf", path, "-C", tmp_path], check=True)
    man = json.load(open(tmp_path / "manifest.json"))
    assert man["format"] == 1 and man["product"] == "zentrale" and man["schemas"]["pbx"] >= 1
    digest = hashlib.sha256(open(tmp_path / "phone-systems/bk-co/pbx.db", "rb").read())
    assert man["files"]["phone-systems/bk-co/pbx.db"] == digest.hexdigest()

    assert bk.api("DELETE", "/phone-systems/bk-co").status == 200
    assert bk.api("GET", "/phone-systems/bk-co").status == 404
    r = restore(bk, b["id"])
    assert r.status == 201, r
    assert bk.wait_state("bk-co", "running")
    tok = bk.pbx_token("bk-co", PW)  # the phone system's own admin password came back
    assert users_of(bk, "bk-co", tok) == ["100", "101"]
    assert registrations(bk, "bk-co", tok) == ["100"]
    # and its SIP passwords: 101 registers with the password it had
    p = Phone("udp", 5060 + bk.offset, "101", "bk-co-101-secret-pw", "bk-co")
    assert p.register() == 200
    p.register(expires=0)
    p.close()
    assert leftovers(bk) == []


def test_restore_over_itself_and_as_a_clone(bk):
    b = backup(bk, phone_system="bk-co")
    add_user(bk, "bk-co", bk.tok, "102")  # after the backup
    r = restore(bk, b["id"])
    assert r.status == 200, r
    assert bk.wait_state("bk-co", "running")
    tok = bk.pbx_token("bk-co", PW)
    assert users_of(bk, "bk-co", tok) == ["100", "101"]  # replaced by the backup
    r = restore(bk, b["id"], phone_system="bk-clone")
    assert r.status == 201, r
    assert bk.wait_state("bk-clone", "running")
    assert users_of(bk, "bk-clone", bk.pbx_token("bk-clone", PW)) == ["100", "101"]
    assert users_of(bk, "bk-co", tok) == ["100", "101"]
    assert leftovers(bk) == []


def test_encrypted_backups_need_their_passphrase(bk, tmp_path):
    b = backup(bk, phone_system="bk-co", passphrase="correct horse battery")
    assert b["encrypted"] is True
    path = download(bk, b["id"], tmp_path / "b.enc")
    data = open(path, "rb").read()
    assert data.startswith(b"ZTBACKUP") and b"pbx.db" not in data and b"SQLite" not in data
    r = restore(bk, b["id"])
    assert r.status == 400 and "passphrase" in r.json()["error"]
    r = restore(bk, b["id"], passphrase="wrong horse battery")
    assert r.status == 400 and "wrong passphrase" in r.json()["error"]
    r = restore(bk, b["id"], passphrase="correct horse battery", phone_system="bk-secret")
    assert r.status == 201, r
    assert users_of(bk, "bk-secret", bk.pbx_token("bk-secret", PW)) == ["100", "101"]
    # cut off: refused as truncated
    open(tmp_path / "cut.enc", "wb").write(data[:len(data) - 100])
    st, v = upload(bk, tmp_path / "cut.enc")
    assert st == 201 and v["encrypted"]
    r = restore(bk, v["id"], passphrase="correct horse battery", phone_system="bk-cut")
    assert r.status == 400 and "truncated" in r.json()["error"], r
    assert bk.api("GET", "/phone-systems/bk-cut").status == 404
    assert leftovers(bk) == []


def repack(src, dst, change):
    """A copy of an archive with change(name, data) -> data applied to its members,
    the manifest left as it was unless change alters it too."""
    with tarfile.open(src) as t, tarfile.open(dst, "w:gz") as out:
        for m in t.getmembers():
            data = change(m.name, t.extractfile(m).read())
            m.size = len(data)
            out.addfile(m, io.BytesIO(data))


def test_refused_archives_change_nothing(bk, tmp_path):
    b = backup(bk, phone_system="bk-co")
    good = download(bk, b["id"], tmp_path / "good.tar.gz")
    data = open(good, "rb").read()
    before = users_of(bk, "bk-co", bk.tok)
    cases = {}
    cases["truncated"] = data[:len(data) // 2]
    corrupt = bytearray(data)
    corrupt[len(data) // 2] ^= 0xFF
    cases["corrupted"] = bytes(corrupt)
    repack(good, tmp_path / "t.tar.gz",
           lambda n, d: d.replace(b"user 101", b"user 666") if n.endswith("pbx.db") else d)
    cases["tampered"] = open(tmp_path / "t.tar.gz", "rb").read()
    cases["foreign"] = os.urandom(5000)
    with tarfile.open(tmp_path / "f.tar.gz", "w:gz") as t:
        t.add(__file__, arcname="notes.txt")
    cases["foreign tar"] = open(tmp_path / "f.tar.gz", "rb").read()
    for what, blob in cases.items():
        p = tmp_path / "case"
        p.write_bytes(blob)
        st, v = upload(bk, p)
        assert st == 400, (what, st, v)
    assert users_of(bk, "bk-co", bk.tok) == before
    assert leftovers(bk) == []


def test_newer_schema_is_refused_and_older_migrated(bk, tmp_path):
    b = backup(bk, phone_system="bk-co")
    good = download(bk, b["id"], tmp_path / "good.tar.gz")

    def newer(name, d):
        if name == "manifest.json":
            m = json.loads(d)
            m["schemas"]["pbx"] = 999
            m["product_version"] = "9.9.9"
            return json.dumps(m).encode()
        return d
    repack(good, tmp_path / "newer.tar.gz", newer)
    st, v = upload(bk, tmp_path / "newer.tar.gz")
    assert st == 201
    r = restore(bk, v["id"])
    assert r.status == 409 and "newer" in r.json()["error"], r
    assert users_of(bk, "bk-co", bk.tok) == ["100", "101"]

    # an older schema: the last migration (trunks') undone, version lowered
    subprocess.run(["tar", "-xzf", good, "-C", tmp_path], check=True)
    db = tmp_path / "phone-systems/bk-co/pbx.db"
    con = sqlite3.connect(db)
    version = con.execute("PRAGMA user_version").fetchone()[0]
    for t in ("trunk_numbers", "trunks", "outbound_routes", "phonebook"):
        con.execute(f"DROP TABLE {t}")
    for c in ("outbound_class", "caller_id", "clir"):
        con.execute(f"ALTER TABLE users DROP COLUMN {c}")
    for c in ("direction", "trunk_id", "external_number"):
        con.execute(f"ALTER TABLE cdrs DROP COLUMN {c}")
    con.execute(f"PRAGMA user_version={version - 1}")
    con.commit()
    con.close()
    old = db.read_bytes()

    def older(name, d):
        if name == "manifest.json":
            m = json.loads(d)
            m["schemas"]["pbx"] = version - 1
            m["files"]["phone-systems/bk-co/pbx.db"] = hashlib.sha256(old).hexdigest()
            return json.dumps(m).encode()
        return old
    repack(good, tmp_path / "older.tar.gz", older)
    st, v = upload(bk, tmp_path / "older.tar.gz")
    assert st == 201, v
    r = restore(bk, v["id"], phone_system="bk-old")
    assert r.status == 201, r
    assert users_of(bk, "bk-old", bk.pbx_token("bk-old", PW)) == ["100", "101"]
    con = sqlite3.connect(os.path.join(bk.data, "phone-systems/bk-old/pbx.db"))
    assert con.execute("PRAGMA user_version").fetchone()[0] == version
    assert con.execute("SELECT name FROM sqlite_master WHERE name='trunks'").fetchone()
    assert con.execute("SELECT outbound_class, clir FROM users WHERE extension='100'"
                       ).fetchone() == ("international", 0)
    con.close()


def test_list_download_upload_delete(bk, tmp_path):
    b = backup(bk, phone_system="bk-co")
    path = download(bk, b["id"], tmp_path / "x.tar.gz")
    st, v = upload(bk, path)
    assert st == 201 and v["kind"] == "phone-system" and v["phone_system"] == "bk-co"
    ids = [x["id"] for x in bk.api("GET", "/backups").json()["backups"]]
    assert b["id"] in ids and v["id"] in ids
    assert bk.api("DELETE", f"/backups/{v['id']}").status == 200
    assert bk.api("GET", f"/backups/{v['id']}").status == 404
    assert bk.api("GET", "/backups/..%2Fsystem").status == 404
    assert bk.api("POST", "/backups", {"phone_system": "nobody"}).status == 404
    assert bk.api("POST", "/backups", {"passphrase": "short"}).status == 400
    assert curl("GET", bk.mgmt("/backups")).status == 401
    # an upload without a session is refused before its body is taken
    r = subprocess.run(["curl", "-sk", "-X", "POST", "--data-binary", f"@{path}", "-o",
                        "/dev/null", "-w", "%{http_code}", bk.mgmt("/backups/upload")],
                       capture_output=True, text=True)
    assert r.stdout == "401"


def test_whole_server_backup_restored_onto_a_fresh_installation(bk, tmp_path):
    b = backup(bk, passphrase="server passphrase")
    assert b["kind"] == "server"
    r = restore(bk, b["id"], passphrase="server passphrase")
    assert r.status == 409  # not through the API: onto a fresh installation
    path = download(bk, b["id"], tmp_path / "server.enc")
    (tmp_path / "pass").write_text("server passphrase\n")
    # the server drops to its own account: the data dir must be reachable for it
    fresh = pathlib.Path(tempfile.mkdtemp(prefix="zt-", dir="/tmp"))  # empty: fresh
    r = subprocess.run([BIN, "restore", "--data-dir", str(fresh), str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "encrypted" in r.stderr
    r = subprocess.run([BIN, "restore", "--data-dir", str(fresh), "--passphrase-file",
                        str(tmp_path / "pass"), str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # onto a data dir in use: refused
    r = subprocess.run([BIN, "restore", "--data-dir", bk.data, "--passphrase-file",
                        str(tmp_path / "pass"), str(path)], capture_output=True, text=True)
    assert r.returncode == 1 and "in use" in r.stderr
    s2 = Server(data_dir=str(fresh), admin_password=None).start()
    try:
        assert s2.wait_state("bk-co", "running")
        tok = s2.pbx_token("bk-co", PW)
        assert users_of(s2, "bk-co", tok) == ["100", "101"]
        # the same admin password and the same certificate
        assert curl("POST", s2.mgmt("/login"),
                    {"username": "admin", "password": ADMIN_PW}).status == 200
        assert open(os.path.join(bk.data, "certs/server.crt")).read() == \
            open(fresh / "certs/server.crt").read()
    finally:
        s2.cleanup()
        shutil.rmtree(fresh, ignore_errors=True)


def test_kill_during_a_backup_leaves_nothing_half_made(bk):
    good = backup(bk, phone_system="bk-co")
    media = os.path.join(bk.data, "phone-systems/bk-co/voicemail")
    os.makedirs(media, exist_ok=True)
    with open(os.path.join(media, "big.wav"), "wb") as f:
        for _ in range(48):
            f.write(os.urandom(1 << 20))
    mgmt_pid = next(p["pid"] for p in bk.api("GET", "/system").json()["processes"]
                    if p["role"] == "mgmt")
    t = threading.Thread(target=lambda: bk.api("POST", "/backups",
                                                {"phone_system": "bk-co", "media": True},
                                                timeout=60))
    t.start()
    deadline = time.time() + 10
    while time.time() < deadline and not any(
            f.startswith(".tmp-") for f in os.listdir(os.path.join(bk.data, "backups"))):
        time.sleep(0.02)
    time.sleep(0.3)
    os.kill(mgmt_pid, signal.SIGKILL)
    t.join(30)
    # management comes back (the supervisor restarts it) and clears the half backup
    deadline = time.time() + 20
    while time.time() < deadline:
        r = curl("GET", bk.mgmt("/health"))
        if r.status == 200 and not leftovers(bk):
            break
        time.sleep(0.2)
    bk._token = None
    ids = [x["id"] for x in bk.api("GET", "/backups").json()["backups"]]
    assert ids == [good["id"]], ids
    assert leftovers(bk) == []
    os.unlink(os.path.join(media, "big.wav"))
    assert restore(bk, good["id"]).status == 200
    assert bk.wait_state("bk-co", "running")
    assert users_of(bk, "bk-co", bk.pbx_token("bk-co", PW)) == ["100", "101"]


def test_management_answers_during_a_large_backup_and_refuses_a_restore_of_it(bk):
    good = backup(bk, phone_system="bk-co")
    media = os.path.join(bk.data, "phone-systems/bk-co/voicemail")
    os.makedirs(media, exist_ok=True)
    for i in range(20):
        with open(os.path.join(media, f"m{i}.wav"), "wb") as f:
            f.write(os.urandom(5 << 20))  # 100 MB that gzip cannot shrink
    res = {}
    t = threading.Thread(target=lambda: res.update(r=bk.api(
        "POST", "/backups", {"phone_system": "bk-co", "media": True}, timeout=60)))
    t.start()
    deadline = time.time() + 10
    while time.time() < deadline and not any(
            f.startswith(".tmp-") for f in os.listdir(os.path.join(bk.data, "backups"))):
        time.sleep(0.02)
    # while the archive is written, management answers at once ...
    t0 = time.monotonic()
    h = curl("GET", bk.mgmt("/health"))
    took = time.monotonic() - t0
    # ... and refuses to swap the data the backup is reading
    r = restore(bk, good["id"])
    running = t.is_alive()
    t.join(60)
    assert h.status in (200, 503) and took < 0.5, (h, took)
    assert running, "the backup ended too soon to tell"
    assert r.status == 409 and "running" in r.json()["error"], r
    assert res["r"].status == 201 and res["r"].json()["media"] is True, res
    for i in range(20):
        os.unlink(os.path.join(media, f"m{i}.wav"))
    assert restore(bk, good["id"]).status == 200
    assert bk.wait_state("bk-co", "running")


def test_daily_backups_keep_their_number(bk):
    manual = backup(bk, phone_system="bk-co")
    for _ in range(2):  # two earlier scheduled backups
        old = backup(bk, phone_system="bk-co")
        side = os.path.join(bk.data, "backups", f"{old['id']}.json")
        info = json.load(open(side))
        info["scheduled"] = True
        info["created"] -= 86400
        json.dump(info, open(side, "w"))
    assert bk.api("GET", "/backups/schedule").json()["enabled"] is False
    assert bk.api("PUT", "/backups/schedule", {"time": "25:00"}).status == 400
    now = time.localtime()
    r = bk.api("PUT", "/backups/schedule", {"enabled": True, "keep": 1, "phone_system": "bk-co",
                                            "time": time.strftime("%H:%M", now)})
    assert r.status == 200, r
    deadline = time.time() + 15
    while time.time() < deadline:
        sched = [x for x in bk.api("GET", "/backups").json()["backups"]
                 if x.get("scheduled")]
        if len(sched) == 1 and sched[0]["created"] > time.time() - 60:
            break
        time.sleep(0.5)
    assert len(sched) == 1 and sched[0]["created"] > time.time() - 60, sched
    ids = [x["id"] for x in bk.api("GET", "/backups").json()["backups"]]
    assert manual["id"] in ids  # made by hand: kept
    assert bk.api("GET", "/backups/schedule").json()["last_run"] > 0


def test_a_restore_that_does_not_start_gives_the_old_data_back(bk, tmp_path):
    b = backup(bk, phone_system="bk-co")
    good = download(bk, b["id"], tmp_path / "good.tar.gz")
    junk = b"this is no SQLite database" * 100

    def broken(name, d):
        if name == "manifest.json":  # consistent with what it holds: it passes the checks
            m = json.loads(d)
            m["files"]["phone-systems/bk-co/pbx.db"] = hashlib.sha256(junk).hexdigest()
            return json.dumps(m).encode()
        return junk
    repack(good, tmp_path / "broken.tar.gz", broken)
    st, v = upload(bk, tmp_path / "broken.tar.gz")
    assert st == 201, v
    add_user(bk, "bk-co", bk.tok, "102")
    r = restore(bk, v["id"])
    assert r.status == 500 and "data from before" in r.json()["error"], r
    assert bk.wait_state("bk-co", "running", timeout=20), bk.log()
    tok = bk.pbx_token("bk-co", PW)
    assert users_of(bk, "bk-co", tok) == ["100", "101", "102"]  # as before the restore
    assert leftovers(bk) == []
