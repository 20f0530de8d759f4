"""SSH on 22: admin login (password or key) to the CLI, with real clients:
OpenSSH (with sshpass for passwords), paramiko, and tmux for the prompt."""
import json
import os
import re
import subprocess
import tempfile
import threading
import time

import paramiko
import pytest

from conftest import ADMIN_PW, BIN, Server, curl


@pytest.fixture(scope="module")
def srv():
    s = Server().start()
    yield s
    s.cleanup()


def ssh_opts(s):
    return ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", "-p", str(22 + s.offset)]


def ssh_pw(s, *command, password=ADMIN_PW, user="admin", extra=()):
    cmd = ["sshpass", "-p", password, "ssh", *ssh_opts(s), "-o", "PubkeyAuthentication=no",
           *extra, f"{user}@127.0.0.1", *command]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def key(srv):
    d = tempfile.mkdtemp()
    path = os.path.join(d, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test@zentrale",
                    "-f", path], check=True)
    return path


def ssh_key(s, key, *command, extra=()):
    cmd = ["ssh", *ssh_opts(s), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", key,
           *extra, "admin@127.0.0.1", *command]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_host_keys_made_once_and_shown(srv):
    j = srv.api("GET", "/ssh").json()
    types = {k["type"]: k["fingerprint"] for k in j["host_keys"]}
    assert set(types) == {"ssh-ed25519", "ecdsa-sha2-nistp256"}
    for fp in types.values():
        assert fp.startswith("SHA256:") and fp in srv.log()  # printed on first start
    # the fingerprint the OpenSSH client sees is the one the API shows
    out = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-p", str(22 + srv.offset),
                          "127.0.0.1"], capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w") as f:
        f.write(out)
        f.flush()
        fp = subprocess.run(["ssh-keygen", "-lf", f.name], capture_output=True,
                            text=True).stdout
    assert types["ssh-ed25519"] in fp
    assert os.stat(os.path.join(srv.data, "certs/ssh_host_ed25519_key")).st_mode & 0o077 == 0


def test_password_login_runs_commands_with_exit_codes(srv):
    r = ssh_pw(srv, "phone-system", "create", "acme", "--admin-password", "acme-pass-1")
    assert r.returncode == 0, r.stderr
    assert "created phone system acme" in r.stdout
    r = ssh_pw(srv, "phone-system", "list")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert re.match(r"NAME\s+STATE\s+SINCE\s+RESTARTS\s+PATH", lines[0])
    assert re.match(r"acme\s+running\s", lines[1])
    # the same phone system is visible to the API: one implementation
    assert srv.ps_state("acme") == "running"
    r = ssh_pw(srv, "phone-system", "show", "nope")
    assert r.returncode == 1 and r.stderr.strip() == "error: no such phone system"
    r = ssh_pw(srv, "phone-system", "create", "Bad_Name")
    assert r.returncode == 1
    assert r.stderr.strip() == \
        "error: name may only contain lower-case letters a-z, digits and '-'"
    r = ssh_pw(srv, "no-such-command")
    assert r.returncode == 2 and "unknown command" in r.stderr
    r = ssh_pw(srv, "phone-system", "create")
    assert r.returncode == 2 and r.stderr.startswith("usage: phone-system create")


def test_every_command_non_interactively(srv, key):
    def ok(*cmd):
        r = ssh_pw(srv, *cmd)
        assert r.returncode == 0, (cmd, r.stdout, r.stderr)
        return r.stdout

    assert "version" in ok("status") and "phone systems" in ok("status")
    ok("phone-system", "create", "cli-ps")
    assert "stopped" in ok("phone-system", "stop", "cli-ps")
    assert srv.ps_state("cli-ps") == "stopped"
    assert "running" in ok("phone-system", "start", "cli-ps")
    assert "state     running" in ok("phone-system", "show", "cli-ps")
    r = ssh_pw(srv, "phone-system", "delete", "cli-ps")
    assert r.returncode == 1 and "--yes" in r.stderr  # no prompt without a terminal
    ok("phone-system", "delete", "cli-ps", "--yes")
    assert srv.api("GET", "/phone-systems/cli-ps").status == 404

    out = ok("interface", "list")
    assert re.search(r"^lo\s+up\s", out, re.M) and "mgmt-https" in out and "ssh" in out
    r = ssh_pw(srv, "interface", "set", "sbc", "lo")
    assert r.returncode == 1 and "--listen" in r.stderr  # this server's are fixed
    out = ok("sbc", "show")
    assert "sbc-https" in out and "sip-tls" in out and "plain SIP on 5060: off" in out
    assert "is on" in ok("sbc", "plain-sip", "on")
    assert "plain SIP on 5060: on" in ok("sbc", "show")
    assert srv.api("GET", "/sbc").json()["plain_sip"] is True
    ok("sbc", "plain-sip", "off")
    assert ssh_pw(srv, "sbc", "plain-sip", "maybe").returncode == 2
    assert "no address is blocked" in ok("blocked", "list")
    r = ssh_pw(srv, "blocked", "remove", "192.0.2.99")
    assert r.returncode == 1 and "not blocked" in r.stderr

    pub = open(key + ".pub").read().strip()
    out = ok("ssh-key", "add", pub)
    kid = re.search(r"added key (\d+)", out).group(1)
    assert "test@zentrale" in ok("ssh-key", "list")
    ok("ssh-key", "delete", kid)
    assert "test@zentrale" not in ok("ssh-key", "list")
    r = ssh_pw(srv, "ssh-key", "add", "ssh-ed25519", "AAAAnotakey")
    assert r.returncode == 1 and "not valid" in r.stderr

    assert "session-ttl" in ok("settings", "show")
    ok("settings", "set", "session-ttl", "7200")
    assert srv.api("GET", "/settings").json()["session_ttl"] == 7200
    assert ssh_pw(srv, "settings", "set", "session-ttl", "1").returncode == 1

    out = ok("logs", "-n", "5", "--process", "supervisor")
    assert 0 < len(out.splitlines()) <= 5
    assert all(" supervisor " in l for l in out.splitlines())
    assert "phone-system create" in ok("help")
    assert "logs" in ok("help", "logs")

    # --json for scripts
    j = json.loads(ok("phone-system", "list", "--json"))
    assert "acme" in [p["name"] for p in j["phone_systems"]]
    j = json.loads(ok("status", "--json"))
    assert j["phone_systems"]["total"] >= 1


def test_logs_follow(srv):
    p = subprocess.Popen(["sshpass", "-p", ADMIN_PW, "ssh", *ssh_opts(srv),
                          "-o", "PubkeyAuthentication=no", "admin@127.0.0.1",
                          "logs", "-n", "1", "--follow"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(p.stdout.readline, "")),
                                  daemon=True)
        reader.start()
        time.sleep(2)
        srv.create_ps("followed")
        deadline = time.time() + 10
        while time.time() < deadline and \
                not any("created phone system followed" in l for l in lines):
            time.sleep(0.2)
        assert any("created phone system followed" in l for l in lines), lines
    finally:
        p.kill()
        p.wait()


def test_public_key_login(srv, key):
    assert ssh_key(srv, key, "status").returncode == 255  # not authorized yet
    pub = open(key + ".pub").read().strip()
    r = srv.api("POST", "/ssh/keys", {"key": pub})
    assert r.status == 201, r
    r = ssh_key(srv, key, "status")
    assert r.returncode == 0 and "version" in r.stdout, r.stderr
    assert srv.wait_log("with a public key", tail=6000)
    assert srv.api("POST", "/ssh/keys", {"key": pub}).status == 409
    assert srv.api("POST", "/ssh/keys", {"key": "ssh-dss AAAA"}).status == 400
    assert srv.api("DELETE", f"/ssh/keys/{r_id(srv)}").status == 200
    assert ssh_key(srv, key, "status").returncode == 255


def r_id(srv):
    return srv.api("GET", "/ssh/keys").json()["authorized_keys"][0]["id"]


def test_only_admin_and_no_forwarding(srv):
    r = ssh_pw(srv, "status", user="root")
    assert r.returncode != 0 and "version" not in r.stdout
    # stdio forwarding (direct-tcpip) is refused
    r = ssh_pw(srv, extra=["-W", f"127.0.0.1:{srv.mgmt_port}"])
    assert r.returncode == 255 and re.search("open failed|forwarding failed", r.stderr)
    # remote forwarding is refused
    r = ssh_pw(srv, "status", extra=["-o", "ExitOnForwardFailure=yes",
                                     "-R", "0:127.0.0.1:9"])
    assert r.returncode == 255 and "forwarding failed" in r.stderr
    # no SFTP
    r = subprocess.run(["sshpass", "-p", ADMIN_PW, "sftp", *ssh_opts(srv)[:-2],
                        "-P", str(22 + srv.offset), "-o", "PubkeyAuthentication=no",
                        "admin@127.0.0.1"], input="ls\n", capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0


def paramiko_session(srv):
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=22 + srv.offset, username="admin", password=ADMIN_PW,
              look_for_keys=False, allow_agent=False)
    return c


def test_agent_and_x11_and_subsystems_refused_paramiko(srv):
    """One session channel per connection, each a fresh connection here."""
    c = paramiko_session(srv)
    with pytest.raises(paramiko.ChannelException):
        c.get_transport().open_channel("direct-tcpip", ("127.0.0.1", srv.mgmt_port),
                                       ("127.0.0.1", 1))
    c.close()
    c = paramiko_session(srv)
    with pytest.raises(paramiko.SSHException):
        c.get_transport().open_session().invoke_subsystem("sftp")
    c.close()
    c = paramiko_session(srv)
    with pytest.raises(paramiko.SSHException):
        c.get_transport().open_session().request_x11()
    c.close()
    c = paramiko_session(srv)
    t = c.get_transport()
    ch = t.open_session()
    m = paramiko.Message()
    m.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
    m.add_int(ch.remote_chanid)
    m.add_string("auth-agent-req@openssh.com")
    m.add_boolean(True)
    ch._event_pending()
    t._send_user_message(m)
    with pytest.raises(paramiko.SSHException):
        ch._wait_for_event()
    c.close()
    # a plain command through paramiko works
    c = paramiko_session(srv)
    _, out, _ = c.exec_command("phone-system list --json")
    text = out.read().decode()
    assert out.channel.recv_exit_status() == 0 and "phone_systems" in text
    c.close()


def test_failed_logins_block_like_management(server):
    s = server
    for i in range(10):
        r = ssh_pw(s, "status", password=f"wrong-{i}")
        assert r.returncode != 0
    r = ssh_pw(s, "status")
    assert r.returncode != 0 and "version" not in r.stdout
    # one throttle: the management API refuses this address too, and lists it
    assert curl("POST", s.mgmt("/login"),
                {"username": "admin", "password": ADMIN_PW}).status == 429
    r = subprocess.run([BIN, "ctl", "--data-dir", s.data, "blocked", "list"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "127.0.0.1" in r.stdout
    r = subprocess.run([BIN, "ctl", "--data-dir", s.data, "blocked", "remove", "127.0.0.1"],
                       capture_output=True, text=True)
    assert r.returncode == 0
    assert ssh_pw(s, "status").returncode == 0


def tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True)


def screen(name):
    return tmux("capture-pane", "-p", "-t", name).stdout


def wait_screen(name, pattern, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = screen(name)
        if re.search(pattern, out, re.M):
            return out
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} never appeared:\n{screen(name)}")


def test_interactive_prompt_editing_history_completion(srv):
    name = f"zt-{srv.offset}-{os.getpid()}"
    cmd = " ".join(["sshpass", "-p", ADMIN_PW, "ssh", "-tt", *ssh_opts(srv),
                    "-o", "PubkeyAuthentication=no", "admin@127.0.0.1"])
    tmux("new-session", "-d", "-s", name, "-x", "160", "-y", "50", cmd)
    try:
        wait_screen(name, r"^zentrale>")
        # Tab completes commands, then sub-commands, then phone-system names
        tmux("send-keys", "-t", name, "phone-sy", "Tab")
        wait_screen(name, r"zentrale> phone-system\s*$")
        tmux("send-keys", "-t", name, "sh", "Tab")
        wait_screen(name, r"zentrale> phone-system show\s*$")
        tmux("send-keys", "-t", name, "ac", "Tab", "Enter")
        wait_screen(name, r"^name\s+acme")
        # line editing: type, move left, fix a typo
        tmux("send-keys", "-t", name, "sttus", "C-a", "Right", "Right", "a", "Enter")
        wait_screen(name, r"^version\s+\d")
        # history: Up twice brings back the phone-system show command
        tmux("send-keys", "-t", name, "clear-nothing", "C-u", "Up", "Up", "Enter")
        out = wait_screen(name, r"(?s)version.*zentrale> phone-system show acme\s*\nname")
        tmux("send-keys", "-t", name, "help", "Enter")
        wait_screen(name, r"phone-system create NAME")
        tmux("send-keys", "-t", name, "phone-system delete acme-none", "Enter")
        wait_screen(name, r"Delete phone system acme-none and all its data\? \[y/N\]")
        tmux("send-keys", "-t", name, "n", "Enter")
        wait_screen(name, r"error: not deleted")
        tmux("send-keys", "-t", name, "exit", "Enter")
        deadline = time.time() + 10
        while time.time() < deadline and tmux("has-session", "-t", name).returncode == 0:
            time.sleep(0.1)
        assert tmux("has-session", "-t", name).returncode != 0, "session did not end"
    finally:
        tmux("kill-session", "-t", name)


def test_zentrale_ctl_locally(srv):
    def ctl(*args):
        return subprocess.run([BIN, "ctl", "--data-dir", srv.data, *args],
                              capture_output=True, text=True, timeout=30)

    r = ctl("phone-system", "create", "local-ps")
    assert r.returncode == 0 and "its admin password (shown once):" in r.stdout
    assert srv.ps_state("local-ps") == "running"
    r = ctl("--json", "phone-system", "show", "local-ps")
    assert r.returncode == 0 and json.loads(r.stdout)["state"] == "running"
    r = ctl("phone-system", "show", "missing")
    assert r.returncode == 1 and r.stderr == "error: no such phone system\n"
    r = subprocess.run([BIN, "ctl", "--data-dir", "/nonexistent", "status"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "not running" in r.stderr
