"""The two web UIs in a real browser: Debian's Chromium, headless, driven
by playwright-core (npm, tests/browser) against a real server. Each test
runs one script of tests/browser with node; the script prints a line per
step and fails on any assertion, script error, CSP violation or
unexpected dialog. Screenshots of the main pages land in
build/screenshots/."""
import os
import re
import subprocess
import uuid

import pytest

from conftest import ADMIN_PW, BIN, ROOT, Server, curl

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
            r = curl("POST", s.sbc("/reg-co/api/v1/users"),
                     {"display_name": f"Desk {ext}", "extension": ext,
                      "sip_password": f"ui-{ext}-sip-secret"}, token=tok)
            assert r.status == 201, r
        assert s.api("PUT", "/sbc", {"plain_sip": True}).status == 200
        run_browser("pbx-registration.mjs", s, ZT_PS="reg-co", ZT_PS_PW="reg-admin-pw-1")
    finally:
        s.cleanup()


def test_login_throttling_in_the_ui(server):
    run_browser("throttle.mjs", server)


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
