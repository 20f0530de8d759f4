"""A new voicemail message is mailed through the phone system's SMTP relay:
a local SMTP sink (aiosmtpd, started by the test) gets the email with the
caller in its subject, in the phone system's language (German here), and
the recording attached, byte for byte the message's WAV. The message is
left by a real call (baresip over TLS/SRTP, test_voicemail's phones) to a
user on do not disturb, whose registered device subscribed to message
waiting (RFC 3842) for 60 s: it hears of the message; the subscription,
refreshed for 10 s then (the pbx's shortest lowered from 60 s for the
test), ends by expiry."""
import email
import email.policy
import os
import subprocess
import time

import pytest

from conftest import Server, curl, wait_port
from sipua import Phone, free_port
from test_baresip import wait_for
from test_voicemail import PS, TONE_A, leave_message, message_wav, phones  # noqa: F401
from test_voicemail_api import subscribe


@pytest.fixture(scope="module")
def sink(tmp_path_factory):
    """aiosmtpd writing what it receives into a maildir."""
    d = tmp_path_factory.mktemp("mail")
    # free_port finds a port free for UDP: for TCP another test's connection
    # may hold it as its source port, and aiosmtpd then exits; a fresh one
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen(["/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l",
                                 f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox",
                                 str(d / "md")], stdout=subprocess.DEVNULL,
                                stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while proc.poll() is None and time.time() < deadline and \
                not wait_port("127.0.0.1", port, 0.5):
            pass
        if proc.poll() is None:
            break
    try:
        assert wait_port("127.0.0.1", port, 1), ("aiosmtpd did not start", proc.poll())
        yield port, d / "md"
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture(scope="module")
def srv(sink):
    s = Server(env={"ZENTRALE_TEST_MWI_MIN_EXPIRES": "10"}).start()
    try:
        s.create_ps(PS, f"{PS}-admin-pw")
        s.ptoken = s.pbx_token(PS, f"{PS}-admin-pw")
        s.ids = {}
        for ext in ("100", "102"):
            r = curl("POST", s.sbc(f"/{PS}/api/v1/users"),
                     {"display_name": f"Phone {ext}", "extension": ext,
                      "sip_password": f"{PS}-{ext}-secret"}, token=s.ptoken)
            assert r.status == 201, r
            s.ids[ext] = r.json()["id"]
        for path, body in (("/settings", {"digest_algorithms": ["MD5"], "language": "de"}),
                           ("/smtp", {"host": "127.0.0.1", "port": sink[0], "security": "none",
                                      "from": "pbx@example.com"}),
                           (f"/voicemail/{s.ids['102']}/settings",
                            {"email": "phone102@example.com", "dnd": True})):
            r = curl("PUT", s.sbc(f"/{PS}/api/v1{path}"), body, token=s.ptoken)
            assert r.status == 200, (path, r)
    except BaseException:
        s.stop()
        raise
    yield s
    s.cleanup()


def mails(maildir):
    new = maildir / "new"
    return sorted(new.iterdir()) if new.exists() else []


def test_a_new_message_is_mailed_with_its_recording(srv, sink, phones):  # noqa: F811
    # 102's device: registered (else the SBC drops its idle connection) and
    # subscribed to message waiting for 60 s; on do not disturb, it never rings
    w = Phone("tls", 5061 + srv.offset, "102", f"{PS}-102-secret", PS)
    assert w.register() == 200
    r, sub = subscribe(w, "102", expires=60)
    assert r.status == 200 and r.h("expires") == "60", r.raw_text()
    t0 = time.monotonic()
    assert "Messages-Waiting: no" in w.notify_of(sub["call_id"]).body.decode()
    a = phones("100", TONE_A)
    # the first call also makes the built-in prompts (seconds), then the German greeting
    msg = leave_message(srv, a, "102", talk=4, before=24)
    wait_for(lambda: mails(sink[1]), 20, "the email")
    m = email.message_from_bytes(mails(sink[1])[0].read_bytes(), policy=email.policy.default)
    assert m["To"] == "phone102@example.com" and m["From"] == "pbx@example.com"
    assert str(m["Subject"]) == "Neue Sprachnachricht von Phone 100 (100)", m["Subject"]
    assert m.get_content_type() == "multipart/mixed"
    text = m.get_body(preferencelist=("plain",)).get_content()
    assert "Nebenstelle 102" in text and "Von: Phone 100 (100)" in text, text
    att = [p for p in m.iter_attachments() if p.get_content_type() == "audio/wav"]
    assert len(att) == 1 and att[0].get_filename() == f"voicemail-{msg['id']}.wav"
    assert att[0].get_content() == message_wav(srv, "102", msg["id"])
    assert srv.wait_log("emailed to phone102@example.com", tail=20000)
    # the message reached the subscription; refreshed for 10 s, it then expired
    n = w.notify_of(sub["call_id"])
    assert "Messages-Waiting: yes\r\n" in n.body.decode()
    assert "Voice-Message: 1/0 (0/0)\r\n" in n.body.decode()
    assert time.monotonic() - t0 < 58, "the message took too long to test the expiry"
    r, sub = subscribe(w, "102", expires=10, sub=sub)
    t1 = time.monotonic()
    assert r.status == 200 and r.h("expires") == "10", r.raw_text()
    assert "Messages-Waiting: yes\r\n" in w.notify_of(sub["call_id"]).body.decode()
    n = w.notify_of(sub["call_id"], timeout=20)
    assert n.h("subscription-state") == "terminated;reason=timeout"
    assert time.monotonic() - t1 >= 9
    w.close()
