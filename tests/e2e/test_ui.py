"""The two web UIs in a real browser: Debian's Chromium, headless, driven
by playwright-core (npm, tests/browser) against a real server. Each test
runs one script of tests/browser with node; the script prints a line per
step and fails on any assertion, script error, CSP violation or
unexpected dialog. Screenshots of the main pages land in
build/screenshots/."""
import os
import re
import subprocess
import time
import uuid

import pytest

from conftest import ADMIN_PW, BIN, ROOT, Server, curl, sip_server, udp_bound

BROWSER = os.path.join(ROOT, "tests", "browser")
SHOTS = os.path.join(os.path.dirname(BIN), "screenshots")
UI = os.path.join(ROOT, "src", "ui")


def run_browser(script, s, netns=None, **env):
    e = dict(os.environ, ZT_MGMT_URL=f"https://{s.host}:{s.mgmt_port}",
             ZT_SBC_URL=f"https://{s.host}:{s.sbc_port}", ZT_ADMIN_PW=ADMIN_PW,
             ZT_SCREENSHOTS=SHOTS, **env)
    cmd = ["node", script]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    p = subprocess.run(cmd, cwd=BROWSER, env=e, capture_output=True, text=True,
                       timeout=180)
    print(p.stdout, p.stderr)
    assert p.returncode == 0, p.stdout + p.stderr + "\n--- server log:\n" + s.log()
    assert p.stdout.rstrip().endswith("PASS")


@pytest.fixture(scope="module")
def ui_server():
    s = Server().start()
    yield s
    s.cleanup()


def test_management_ui(ui_server):
    run_browser("mgmt.mjs", ui_server)


def test_phone_system_ui_through_the_sbc(ui_server):
    run_browser("pbx.mjs", ui_server)


def test_recovering_access_in_the_management_ui(ui_server):
    run_browser("admins.mjs", ui_server)


def test_phone_sized_screens_and_german(ui_server):
    ui_server.create_ps("mob-co", "mob-admin-pw-1")
    run_browser("mobile-i18n.mjs", ui_server, ZT_PS="mob-co", ZT_PS_PW="mob-admin-pw-1")


def test_operations_pages(ui_server, tmp_path):
    ui_server.create_ps("ops-co", "ops-admin-pw-1")
    subprocess.run([BIN, "bundle-key", "--out", str(tmp_path / "k")], check=True,
                   capture_output=True)
    subprocess.run([BIN, "bundle", "--key", str(tmp_path / "k.key"), "--out",
                    str(tmp_path / "same.bundle")], check=True, capture_output=True)
    run_browser("ops.mjs", ui_server, ZT_PS="ops-co",
                ZT_UPDATE_PUB=(tmp_path / "k.pub").read_text().strip(),
                ZT_UPDATE_BUNDLE=str(tmp_path / "same.bundle"))


def test_vpn_on_the_sbc_page():
    """The server in a network namespace of its own, so the tun device the VPN
    makes stays there; the browser in another, as an admin's is on another
    machine (Chromium drops requests when its own machine's network changes)."""
    tag = uuid.uuid4().hex[:6]
    srv, web = "zt-us-" + tag, "zt-ub-" + tag

    def ip(*a):
        subprocess.run(["ip", *a], check=True, capture_output=True)
    ip("netns", "add", srv)
    ip("netns", "add", web)
    try:
        ip("-n", srv, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
           "netns", web)
        for ns, dev, addr in ((srv, "veth0", "198.18.8.1"), (web, "veth1", "198.18.8.2")):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "addr", "add", addr + "/24", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
        s = Server(netns=srv, listen=("198.18.8.1",)).start()
        try:
            run_browser("vpn.mjs", s, netns=web)
        finally:
            s.cleanup()
    finally:
        subprocess.run(["ip", "netns", "del", web])
        subprocess.run(["ip", "netns", "del", srv])


def test_users_registration_state_and_settings_page():
    """The users list with registration state, the Settings page (digest
    algorithms), on a server of its own: a challenge counts as unanswered
    after 1.5 s there."""
    s = Server(env={"ZENTRALE_TEST_CHALLENGE_WAIT_MS": "1500"}).start()
    try:
        s.create_ps("reg-co", "reg-admin-pw-1")
        tok = s.pbx_token("reg-co", "reg-admin-pw-1")
        for ext in ("300", "301"):
            s.create_user("reg-co", tok, ext, f"Desk {ext}", f"ui-{ext}-sip-secret")
        assert s.api("PUT", "/sbc", {"plain_sip": True}).status == 200
        run_browser("pbx-registration.mjs", s, ZT_PS="reg-co", ZT_PS_PW="reg-admin-pw-1")
    finally:
        s.cleanup()


def test_prompts_page_uploads_and_reverts(ui_server):
    ui_server.create_ps("tone-co", "tone-admin-pw-1")
    assert ui_server.wait_state("tone-co", "running", 20)
    run_browser("prompts.mjs", ui_server, ZT_PS="tone-co", ZT_PS_PW="tone-admin-pw-1")


def test_voicemail_page(tmp_path):
    """The Voicemail page (a message written into pbx.db as pbx_vm_store
    leaves it: messages come from calls) and the SMTP relay on Settings."""
    import sqlite3
    s = Server().start()
    try:
        s.create_ps("vm-co", "vm-admin-pw-1")
        tok = s.pbx_token("vm-co", "vm-admin-pw-1")
        r = curl("POST", s.sbc("/vm-co/api/v1/users"),
                 {"display_name": "Desk 301", "extension": "301",
                  "sip_password": "ui-301-sip-secret"}, token=tok)
        assert r.status == 201, r
        uid = r.json()["id"]
        wav = tmp_path / "m.wav"
        subprocess.run(["sox", "-n", "-r", "8000", "-b", "16", "-c", "1", str(wav), "synth",
                        "0.5", "sine", "440"], check=True)
        db = sqlite3.connect(os.path.join(s.data, "phone-systems", "vm-co", "pbx.db"), timeout=10)
        with db:
            mid = db.execute("INSERT INTO voicemails(user_id,caller,caller_name,received,"
                             "duration_ms) VALUES(?,'301','Desk 301',?,500)",
                             (uid, int(time.time()))).lastrowid
            db.execute("INSERT INTO voicemail_audio(message_id,wav) VALUES(?,?)",
                       (mid, wav.read_bytes()))
        db.close()
        run_browser("voicemail.mjs", s, ZT_PS="vm-co", ZT_PS_PW="vm-admin-pw-1",
                    ZT_USER_ID=str(uid), ZT_MSG_ID=str(mid))
    finally:
        s.cleanup()


def test_login_throttling_in_the_ui(server):
    run_browser("throttle.mjs", server)



def test_calls_in_progress_page_hangs_up_a_live_call(tmp_path):
    """A sipp call between two extensions, answered; the browser lists it on
    the calls-in-progress page and hangs it up: both sipp phones get their
    BYE, and the call record says who ended it."""
    import test_calls_live as live
    from sipua import free_port

    s = sip_server([("acme", "100"), ("acme", "101")])
    s.tmp = tmp_path
    callee = caller = None
    try:
        port = free_port()
        rc, out = live.finish(live.sipp(s, "register-101", open(live.REGISTER).read(), "u1",
                                        port, "101"))
        assert rc == 0, out
        callee = live.sipp(s, "callee", live.sipp_callee(), "u1", port, "101")
        udp_bound(port)  # listening before the INVITE comes, however slow its start
        caller = live.sipp(s, "caller", live.sipp_caller(), "t1", None, "100",
                           extra=["-s", "101"])
        live.wait_for(lambda: [c for c in live.active(s) if c["state"] == "answered"],
                      "answered call", timeout=60)
        run_browser("calls.mjs", s, ZT_PS="acme", ZT_PS_PW="acme-admin-pw")
        for p in (caller, callee):
            rc, out = live.finish(p)
            assert rc == 0, out  # the BYE came, with its Reason
        assert live.active(s) == []
        assert live.last_record(s)["cause"] == "admin_hangup"
    finally:
        for p in (caller, callee):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        s.cleanup()


def test_ui_pages_and_assets_are_served_with_their_headers(shared_server):
    s = shared_server
    r = curl("GET", f"https://127.0.0.1:{s.mgmt_port}/")
    assert r.status == 200 and "ui/mgmt/app.js" in r.text
    assert "content-security-policy: default-src 'none'; script-src 'self'" in r.headers.lower()
    etag = re.search(r"(?im)^etag: (.+?)\r?$", r.headers).group(1)
    r2 = curl("GET", f"https://127.0.0.1:{s.mgmt_port}/", headers=[f"If-None-Match: {etag}"])
    assert r2.status == 304
    assert curl("GET", f"https://127.0.0.1:{s.mgmt_port}/ui/common/ui.css").status == 200
    # each UI serves the shared files and its own, not the other's
    assert curl("GET", f"https://127.0.0.1:{s.mgmt_port}/ui/pbx/app.js").status == 404
    s.create_ps("asset-co")
    r = curl("GET", s.sbc("/asset-co/"))
    assert r.status == 200 and "ui/pbx/app.js" in r.text
    assert curl("GET", s.sbc("/asset-co/ui/pbx/app.js")).status == 200
    assert curl("GET", s.sbc("/asset-co/ui/mgmt/app.js")).status == 404


def ui_files():
    for d, _, files in os.walk(UI):
        for f in files:
            if not f.endswith((".c", ".h")):
                yield os.path.join(d, f)


def test_every_text_has_a_german_translation():
    i18n = open(os.path.join(UI, "common", "i18n.js"), encoding="utf-8").read()
    de = i18n[i18n.index("const DE = {"):]
    keys = set()
    for path in ui_files():
        if path.endswith(".js"):
            src = open(path, encoding="utf-8").read()
            keys |= set(re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', src))
            keys |= set(re.findall(r'label: "([^"]*)"', src))
    assert len(keys) > 100
    missing = [k for k in sorted(keys)
               if f'"{k}":' not in de and not re.search(rf"\n\s+{re.escape(k)}:", de)]
    assert not missing, f"no German for: {missing}"


def test_pages_have_no_inline_script_style_or_html_injection_points():
    for path in ui_files():
        src = open(path, encoding="utf-8").read()
        name = os.path.relpath(path, UI)
        if path.endswith(".html"):
            assert not re.search(r"<script(?![^>]*\bsrc=)", src), name
            assert not re.search(r"\sstyle=|\son\w+=", src), name
        if path.endswith(".js"):
            for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
                assert bad not in src, f"{name} uses {bad}"


def test_every_ui_file_is_compiled_in():
    meson = open(os.path.join(ROOT, "meson.build"), encoding="utf-8").read()
    for path in ui_files():
        rel = os.path.relpath(path, ROOT)
        assert f"'{rel}'" in meson, f"{rel} is not listed in meson.build"


def test_pages_that_tell_the_truth(ui_server):
    """The certificate page and download, the Connect page (the certificate
    to trust, a new SIP password per user: it registers, the old one does
    not), Backups, the VPN hint, a down interface, spans and dates, and the
    navigation at 1280 px in English and German (tests/browser/pages.mjs)."""
    from sipclient import Client, register_with_auth
    s = ui_server
    s.create_ps("pages-co", "pages-admin-pw-1")
    tok = s.pbx_token("pages-co", "pages-admin-pw-1")
    r = curl("POST", s.sbc("/pages-co/api/v1/users"),
             {"display_name": "Paula Pages", "extension": "401",
              "sip_password": "pages-401-old-secret"}, token=tok)
    assert r.status == 201, r
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{s.sbc_port}"],
                         input="", capture_output=True, text=True, timeout=20).stdout
    pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", out,
                    re.S).group(0)
    fp = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=pem,
                        capture_output=True, text=True, check=True).stdout
    fp = fp.strip().split("=", 1)[1]
    e = dict(os.environ, ZT_MGMT_URL=f"https://{s.host}:{s.mgmt_port}",
             ZT_SBC_URL=f"https://{s.host}:{s.sbc_port}", ZT_ADMIN_PW=ADMIN_PW,
             ZT_SCREENSHOTS=SHOTS, ZT_PS="pages-co", ZT_PS_PW="pages-admin-pw-1",
             ZT_USER_EXT="401", ZT_CERT_PEM=pem, ZT_CERT_SHA256=fp)
    p = subprocess.run(["node", "pages.mjs"], cwd=BROWSER, env=e, capture_output=True,
                       text=True, timeout=180)
    print(p.stdout, p.stderr)
    assert p.returncode == 0 and p.stdout.rstrip().endswith("PASS"), \
        p.stdout + p.stderr + "\n--- server log:\n" + s.log()
    new_pw = re.search(r"NEW_SIP_PASSWORD=(\S+)", p.stdout).group(1)
    # the password the page showed is the one the phone system now takes
    for pw, want in (("pages-401-old-secret", 403), (new_pw, 200)):
        c = Client("tls", 5061 + s.offset)
        try:
            st = register_with_auth(c, "401", pw, "pages-co")[0]
        finally:
            c.close()
        assert (st == 200) == (want == 200), (pw, st)
