"""Voicemail's mailbox side through the SBC: the API (settings and their
checks, the SMTP relay whose password never comes back, greetings made with
sox, messages: list, audio, heard, delete, 404s, 401), and message waiting
(RFC 3842): a registered phone's SUBSCRIBE to message-summary, its NOTIFYs
on every change, unsubscribing, and what is refused.

Messages come from calls (pbx_vm_app); to test the mailbox side by itself
a message is written into pbx.db the way pbx_vm_store writes it (the
phone system reads it from there), and its changes go through the API."""
import http.client
import json
import os
import sqlite3
import ssl
import subprocess
import tempfile
import time
import wave

import pytest

from conftest import curl, sip_server
from sipua import Phone, tag_of

USERS = (("acme", "100"), ("acme", "101"), ("globex", "100"))


@pytest.fixture(scope="module")
def srv():
    s = sip_server(USERS)
    for ps in ("acme", "globex"):
        r = curl("GET", s.sbc(f"/{ps}/api/v1/users"), token=s.tokens[ps])
        for u in r.json()["users"]:
            s.ids = getattr(s, "ids", {})
            s.ids[(ps, u["extension"])] = u["id"]
    yield s
    s.cleanup()


def api(s, method, path, body=None, ps="acme", token=True):
    return curl(method, s.sbc(f"/{ps}/api/v1{path}"), body,
                token=s.tokens[ps] if token else None)


def raw(s, method, path, data=None, ps="acme"):
    """A request with a binary body or answer: (status, headers, bytes)."""
    c = http.client.HTTPSConnection("127.0.0.1", s.sbc_port,
                                    context=ssl._create_unverified_context(), timeout=20)
    c.request(method, f"/{ps}/api/v1{path}", body=data,
              headers={"Authorization": f"Bearer {s.tokens[ps]}"})
    r = c.getresponse()
    out = (r.status, dict(r.getheaders()), r.read())
    c.close()
    return out


def sox_wav(seconds, rate=16000, fmt="wav", channels=1):
    f = tempfile.NamedTemporaryFile(suffix="." + fmt, delete=False)
    f.close()
    subprocess.run(["sox", "-n", "-r", str(rate), "-b", "16", "-c", str(channels), f.name,
                    "synth", str(seconds), "sine", "440"], check=True)
    data = open(f.name, "rb").read()
    os.unlink(f.name)
    return data


def put_message(s, ext, caller="101", heard=0, ps="acme"):
    """A message as pbx_vm_store leaves it: a row and its WAV."""
    db = sqlite3.connect(os.path.join(s.data, "phone-systems", ps, "pbx.db"), timeout=10)
    wav = sox_wav(0.5, 8000)
    with db:
        cur = db.execute(
            "INSERT INTO voicemails(user_id,caller,caller_name,received,duration_ms,heard,"
            "call_id,reason) VALUES(?,?,?,?,?,?,?,?)",
            (s.ids[(ps, ext)], caller, f"{ps} {caller}", int(time.time()), 500, heard,
             "cid", "noanswer"))
        mid = cur.lastrowid
        db.execute("INSERT INTO voicemail_audio(message_id,wav) VALUES(?,?)", (mid, wav))
    db.close()
    return mid, wav


# ---- the API ----

def test_without_login_401(srv):
    uid = srv.ids[("acme", "100")]
    for path in (f"/voicemail/{uid}", f"/voicemail/{uid}/settings", f"/voicemail/{uid}/greeting",
                 f"/voicemail/{uid}/1.wav", "/smtp"):
        assert api(srv, "GET", path, token=False).status == 401, path
    assert api(srv, "PUT", "/smtp", {"host": "x"}, token=False).status == 401


def test_settings_round_trip_and_checks(srv):
    uid = srv.ids[("acme", "100")]
    r = api(srv, "GET", f"/voicemail/{uid}/settings")
    assert r.status == 200, r
    assert r.json() == {"enabled": True, "has_pin": False, "max_seconds": 180,
                        "max_messages": 100, "email": "", "email_attach": True,
                        "ring_time": 25, "dnd": False, "has_greeting": False}
    new = {"enabled": False, "pin": "4711", "max_seconds": 60, "max_messages": 5,
           "email": "alice@example.com", "email_attach": False, "ring_time": 15, "dnd": True}
    r = api(srv, "PUT", f"/voicemail/{uid}/settings", new)
    assert r.status == 200, r
    got = api(srv, "GET", f"/voicemail/{uid}/settings").json()
    assert "pin" not in got and got["has_pin"] is True
    assert got == {**{k: v for k, v in new.items() if k != "pin"}, "has_pin": True,
                   "has_greeting": False}
    # a part changes only that part
    assert api(srv, "PUT", f"/voicemail/{uid}/settings", {"enabled": True}).status == 200
    got = api(srv, "GET", f"/voicemail/{uid}/settings").json()
    assert got["enabled"] is True and got["ring_time"] == 15 and got["has_pin"] is True
    bad = [{"pin": "123"}, {"pin": "12345678901"}, {"pin": "12a4"}, {"pin": 1234},
           {"ring_time": 4}, {"ring_time": 301}, {"ring_time": "20"},
           {"max_seconds": 9}, {"max_seconds": 601}, {"max_messages": 0},
           {"max_messages": 1001}, {"email": "alice"}, {"email": "a@b\r\nBcc: x@y"},
           {"email": "<a@example.com>"}, {"enabled": 1}, {"dnd": "yes"}, {"colour": "red"}]
    for b in bad:
        r = api(srv, "PUT", f"/voicemail/{uid}/settings", {"ring_time": 30, **b})
        assert r.status == 400, (b, r)
        assert r.json()["error"], b
    # nothing of a refused request was kept
    assert api(srv, "GET", f"/voicemail/{uid}/settings").json() == got
    # the PIN removed
    assert api(srv, "PUT", f"/voicemail/{uid}/settings", {"pin": ""}).status == 200
    assert api(srv, "GET", f"/voicemail/{uid}/settings").json()["has_pin"] is False
    # the user's row carries ring time, DND and email (routing reads them)
    db = sqlite3.connect(os.path.join(srv.data, "phone-systems", "acme", "pbx.db"))
    assert db.execute("SELECT ring_time, dnd, email FROM users WHERE id=?",
                      (uid,)).fetchone() == (15, 1, "alice@example.com")
    db.close()


def test_smtp_settings_password_never_returned(srv):
    r = api(srv, "GET", "/smtp")
    assert r.status == 200, r
    assert r.json() == {"host": "", "port": 587, "security": "starttls", "username": "",
                        "password_set": False, "from": "", "verify": True}
    cfg = {"host": "mail.example.com", "port": 2525, "security": "tls", "username": "pbx",
           "password": "s3cret-relay-pw", "from": "pbx@example.com", "verify": False}
    r = api(srv, "PUT", "/smtp", cfg)
    assert r.status == 200, r
    assert "s3cret" not in r.text
    got = api(srv, "GET", "/smtp")
    assert "s3cret" not in got.text
    assert got.json() == {**{k: v for k, v in cfg.items() if k != "password"},
                          "password_set": True}
    # the password stays when not given, and only then
    assert api(srv, "PUT", "/smtp", {"port": 465}).status == 200
    assert api(srv, "GET", "/smtp").json()["password_set"] is True
    for b in ({"port": 0}, {"port": 70000}, {"port": "25"}, {"security": "ssl"},
              {"host": "mail example.com"}, {"host": "a\r\nb"}, {"from": "nobody"},
              {"verify": "no"}, {"username": "a\nb"}, {"password": 5}, {"relay": "x"}):
        r = api(srv, "PUT", "/smtp", b)
        assert r.status == 400, (b, r)
    assert api(srv, "GET", "/smtp").json()["port"] == 465
    assert api(srv, "PUT", "/smtp", {"password": ""}).status == 200
    assert api(srv, "GET", "/smtp").json()["password_set"] is False
    # kept in pbx.db's settings (backups carry it); another phone system has its own
    assert api(srv, "GET", "/smtp", ps="globex").json()["host"] == ""


def test_greeting_upload_and_back(srv):
    uid = srv.ids[("acme", "101")]
    st, _, _ = raw(srv, "GET", f"/voicemail/{uid}/greeting")
    assert st == 404
    st, _, body = raw(srv, "PUT", f"/voicemail/{uid}/greeting", sox_wav(1.5, 16000))
    assert st == 200, body
    assert abs(json.loads(body)["duration_ms"] - 1500) <= 20
    assert api(srv, "GET", f"/voicemail/{uid}/settings").json()["has_greeting"] is True
    st, hs, wav = raw(srv, "GET", f"/voicemail/{uid}/greeting")
    assert st == 200 and hs["Content-Type"] == "audio/wav"
    f = tempfile.NamedTemporaryFile(suffix=".wav", delete=False)
    f.write(wav)
    f.close()
    with wave.open(f.name) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        assert abs(w.getnframes() / w.getframerate() - 1.5) < 0.02
    os.unlink(f.name)
    # not audio: 400 with the reason, the greeting unchanged
    st, _, body = raw(srv, "PUT", f"/voicemail/{uid}/greeting", b"not a sound file at all")
    assert st == 400 and json.loads(body)["error"], body
    st, _, body = raw(srv, "PUT", f"/voicemail/{uid}/greeting", b"")
    assert st == 400
    assert raw(srv, "GET", f"/voicemail/{uid}/greeting")[2] == wav
    # a CD-quality stereo WAV of 15 s (2.6 MB: beyond the small body limit), mixed down
    big = sox_wav(15, 44100, channels=2)
    assert len(big) > 2 << 20
    st, _, body = raw(srv, "PUT", f"/voicemail/{uid}/greeting", big)
    assert st == 200 and abs(json.loads(body)["duration_ms"] - 15000) <= 20, body
    # not logged in: the small limit (the SBC answers 413 or the pbx 401)
    c = http.client.HTTPSConnection("127.0.0.1", srv.sbc_port,
                                    context=ssl._create_unverified_context(), timeout=20)
    try:
        c.request("PUT", f"/acme/api/v1/voicemail/{uid}/greeting", body=big)
        assert c.getresponse().status in (401, 413)
    except (ConnectionError, http.client.HTTPException):
        pass  # closed before the whole body was sent: refused either way
    c.close()
    assert raw(srv, "DELETE", f"/voicemail/{uid}/greeting")[0] == 200
    assert raw(srv, "GET", f"/voicemail/{uid}/greeting")[0] == 404


def test_messages_and_404s(srv):
    a, b = srv.ids[("acme", "100")], srv.ids[("acme", "101")]
    mid, wav = put_message(srv, "100")
    other, _ = put_message(srv, "101")
    r = api(srv, "GET", f"/voicemail/{a}")
    assert r.status == 200, r
    j = r.json()
    assert j["new"] == 1 and j["old"] == 0
    m = [x for x in j["messages"] if x["id"] == mid][0]
    assert m == {"id": mid, "caller": "101", "caller_name": "acme 101",
                 "received": m["received"], "duration_ms": 500, "heard": False,
                 "reason": "noanswer"}
    st, hs, got = raw(srv, "GET", f"/voicemail/{a}/{mid}.wav")
    assert st == 200 and got == wav and hs["Content-Type"] == "audio/wav"
    r = api(srv, "PATCH", f"/voicemail/{a}/{mid}", {"heard": True})
    assert r.status == 200, r
    j = api(srv, "GET", f"/voicemail/{a}").json()
    assert j["new"] == 0 and j["old"] == 1
    assert api(srv, "PATCH", f"/voicemail/{a}/{mid}", {"heard": "yes"}).status == 400
    # another user's message is none of this user's
    assert raw(srv, "GET", f"/voicemail/{a}/{other}.wav")[0] == 404
    assert api(srv, "PATCH", f"/voicemail/{a}/{other}", {"heard": True}).status == 404
    assert api(srv, "DELETE", f"/voicemail/{a}/{other}").status == 404
    assert api(srv, "GET", f"/voicemail/{b}").json()["new"] == 1
    # unknown users and messages; another phone system's user id
    assert api(srv, "GET", "/voicemail/99999").status == 404
    assert api(srv, "GET", "/voicemail/99999/settings").status == 404
    assert api(srv, "PUT", "/voicemail/99999/settings", {"dnd": True}).status == 404
    assert api(srv, "GET", "/voicemail/abc").status == 404
    assert api(srv, "GET", f"/voicemail/{a}/99999.wav").status == 404
    assert api(srv, "DELETE", f"/voicemail/{a}/99999").status == 404
    assert api(srv, "GET", f"/voicemail/{a}/{mid}.mp3").status == 404
    assert api(srv, "GET", f"/voicemail/{a}/{mid}", ps="globex").status == 404
    assert api(srv, "DELETE", f"/voicemail/{a}/{mid}").status == 200
    assert raw(srv, "GET", f"/voicemail/{a}/{mid}.wav")[0] == 404
    assert api(srv, "DELETE", f"/voicemail/{b}/{other}").status == 200


# ---- message waiting ----

def phone(s, ext, ps="acme"):
    p = Phone("tcp", 5060 + s.offset, ext, f"{ps}-{ext}-secret", ps)
    assert p.register() == 200
    return p


def subscribe(p, target, event="message-summary", **kw):
    """An MWI SUBSCRIBE (RFC 3842): the final answer and the subscription."""
    return p.subscribe(target, event, "application/simple-message-summary", **kw)


def test_subscribe_notify_on_changes_and_unsubscribe(srv):
    p = phone(srv, "100")
    other = phone(srv, "100")  # a second device of the user, not subscribing
    try:
        r, sub = subscribe(p, "100", expires=100000)
        assert r.status == 200, r.raw_text()
        assert 60 <= int(r.h("expires")) <= 3600  # bounded
        n = p.notify_of(sub["call_id"])
        assert n.h("event") == "message-summary"
        assert n.h("subscription-state").startswith("active;expires=")
        assert n.h("content-type") == "application/simple-message-summary"
        assert tag_of(n.h("from")) == sub["to_tag"] and tag_of(n.h("to")) == sub["tag"]
        body = n.body.decode()
        assert "Messages-Waiting: no\r\n" in body
        assert "Message-Account: sip:100@acme\r\n" in body
        assert "Voice-Message: 0/0 (0/0)\r\n" in body
        # a change: a NOTIFY in the subscription; the device that did not
        # subscribe gets one unsolicited (out of dialog), the subscribed one not
        a = srv.ids[("acme", "100")]
        mid, _ = put_message(srv, "100", heard=1)
        assert api(srv, "PATCH", f"/voicemail/{a}/{mid}", {"heard": False}).status == 200
        n = p.notify_of(sub["call_id"])
        assert "Messages-Waiting: yes\r\n" in n.body.decode()
        assert "Voice-Message: 1/0 (0/0)\r\n" in n.body.decode()
        u = other.request("NOTIFY")
        other.answer(u, 200)
        assert not tag_of(u.h("to")) and "Messages-Waiting: yes" in u.body.decode()
        assert u.h("event") == "message-summary" and not u.h("subscription-state")
        assert "<sip:100@acme>" in u.h("to")
        try:
            extra = p.expect(lambda m: m.method == "NOTIFY", 0.5)
            raise AssertionError(f"a second NOTIFY to the subscribed device: {extra.raw_text()}")
        except OSError:
            pass
        # a refresh gets a NOTIFY too; then deleted: no longer waiting
        r, sub = subscribe(p, "100", expires=300, sub=sub)
        assert r.status == 200 and r.h("expires") == "300", r.raw_text()
        p.notify_of(sub["call_id"])
        assert api(srv, "DELETE", f"/voicemail/{a}/{mid}").status == 200
        n = p.notify_of(sub["call_id"])
        assert "Messages-Waiting: no\r\n" in n.body.decode()
        # Expires: 0 ends it with a last NOTIFY; later changes reach no dialog
        r, sub = subscribe(p, "100", expires=0, sub=sub)
        assert r.status == 200
        n = p.notify_of(sub["call_id"])
        assert n.h("subscription-state") == "terminated"
        mid, _ = put_message(srv, "100")
        assert api(srv, "DELETE", f"/voicemail/{a}/{mid}").status == 200
        assert p.no_notify(sub["call_id"], 1.0)
        r, _ = subscribe(p, "100", sub=sub)  # the dialog is gone
        assert r.status == 481
    finally:
        p.close()
        other.close()


def test_a_481_to_a_notify_ends_the_subscription(srv):
    p = phone(srv, "101")
    try:
        r, sub = subscribe(p, "101")
        assert r.status == 200
        n = p.expect(lambda m: m.method == "NOTIFY" and m.h("call-id") == sub["call_id"])
        p.answer(n, 481)
        time.sleep(0.3)
        r, _ = subscribe(p, "101", sub=sub)
        assert r.status == 481
    finally:
        p.close()


def test_subscribe_refused(srv):
    p = phone(srv, "100")
    try:
        # no credentials: challenged, never subscribed
        r, sub = subscribe(p, "100", auth=False)
        assert r.status == 401
        assert p.no_notify(sub["call_id"], 0.5)
        r, sub = subscribe(p, "100", password="wrong-password-1")
        assert r.status in (401, 403)
        assert p.no_notify(sub["call_id"], 0.5)
        # another user's mailbox
        r, sub = subscribe(p, "101")
        assert r.status == 403
        assert p.no_notify(sub["call_id"], 0.5)
        # an event we do not serve
        r, _ = subscribe(p, "100", event="presence")
        assert r.status == 489
        # too brief
        r, _ = subscribe(p, "100", expires=5)
        assert r.status == 423
    finally:
        p.close()
    # another phone system's user: acme's credentials mean nothing at globex
    g = Phone("tcp", 5060 + srv.offset, "100", "acme-100-secret", "globex")
    try:
        r, sub = subscribe(g, "100")
        assert r.status in (401, 403), r.raw_text()
        assert g.no_notify(sub["call_id"], 0.5)
    finally:
        g.close()


def test_subscriptions_per_user_are_bounded(srv):
    """Ten per user: the eleventh replaces the oldest, which is told so."""
    p = phone(srv, "101")
    try:
        subs = []
        for _ in range(10):
            r, sub = subscribe(p, "101")
            assert r.status == 200, r.raw_text()
            p.notify_of(sub["call_id"])
            subs.append(sub)
        r, newest = subscribe(p, "101")
        assert r.status == 200
        n = p.notify_of(subs[0]["call_id"])
        assert n.h("subscription-state") == "terminated;reason=deactivated"
        p.notify_of(newest["call_id"])
        assert subscribe(p, "101", sub=subs[0])[0].status == 481
        assert subscribe(p, "101", sub=subs[1])[0].status == 200
        for s in subs[1:] + [newest]:  # ended: nothing stays behind for the next test
            assert subscribe(p, "101", expires=0, sub=s)[0].status == 200
    finally:
        p.close()
