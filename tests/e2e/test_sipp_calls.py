"""Calls driven by sipp (Debian's sip-tester): an authenticated caller over
TCP, or over TLS through stunnel (sipp has no TLS), to a sipp callee over
UDP; answered and hung up, busy, unreachable, unknown, and cancelled."""
import os
import socket
import subprocess
import time

import pytest

from conftest import curl, sip_server
from sipua import free_port

REGISTER = os.path.join(os.path.dirname(__file__), "sipp/register.xml")

SDP_PLAIN = """v=0
o=sipp 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [local_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
"""
# what a secure phone offers on 5061 (the SBC requires SRTP there)
SDP_SRTP = SDP_PLAIN.replace("RTP/AVP", "RTP/SAVP") + (
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\n")


DROP = "#drop#"  # an optional header left out


def msg(text):
    lines = [line for line in text.strip("\n").split("\n") if line != DROP]
    return "<![CDATA[\n" + "\n".join(lines) + "\n\n]]>"


def invite(cseq, auth, sdp):
    return msg(f"""
INVITE sip:[service]@acme SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:100@acme>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@acme>
Call-ID: [call_id]
CSeq: {cseq} INVITE
Contact: <sip:100@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
{"[authentication]" if auth else DROP}
Content-Type: application/sdp
Content-Length: [len]

{sdp}""")


def ack(cseq, uri="sip:[service]@acme", via="[last_Via:]", extra=""):
    return msg(f"""
ACK {uri} SIP/2.0
{via}
From: <sip:100@acme>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: {cseq} ACK
{extra}Max-Forwards: 70
Content-Length: 0
""")


def caller(outcome, sdp):
    """A caller scenario: authenticates, then the outcome
    ("answer", "cancel", or a failure status); "refused": the SBC refuses
    the media at once, before any authentication."""
    if outcome == "refused":
        return scenario("refused", [f'<send retrans="500">{invite(1, False, sdp)}</send>',
                                    '<recv response="488"/>', f"<send>{ack(1)}</send>"])
    steps = [f'<send retrans="500">{invite(1, False, sdp)}</send>',
             '<recv response="100" optional="true"/>',
             '<recv response="401" auth="true"/>',
             f"<send>{ack(1)}</send>",
             f'<send retrans="500">{invite(2, True, sdp)}</send>',
             '<recv response="100" optional="true"/>']
    if outcome == "answer":
        steps += ['<recv response="180" optional="true"/>',
                  '<recv response="200" rrs="true"/>',
                  f"<send>{ack(2, '[next_url]', 'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport', '[routes]' + chr(10))}</send>",
                  '<pause milliseconds="1000"/>',
                  '<send retrans="500">' + msg("""
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
[routes]
From: <sip:100@acme>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0
""") + "</send>",
                  '<recv response="200"/>']
    elif outcome == "cancel":
        steps += ['<recv response="180"/>',
                  "<send>" + msg("""
CANCEL sip:[service]@acme SIP/2.0
[last_Via:]
From: <sip:100@acme>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@acme>
Call-ID: [call_id]
CSeq: 2 CANCEL
Max-Forwards: 70
Content-Length: 0
""") + "</send>",
                  '<recv response="200"/>',
                  '<recv response="487"/>',
                  f"<send>{ack(2)}</send>"]
    else:
        steps += ['<recv response="180" optional="true"/>',
                  f'<recv response="{outcome}"/>',
                  f"<send>{ack(2)}</send>"]
    return scenario("caller", steps)


def callee(answer):
    """A callee: rings, then answers (and waits for the BYE), is busy, or
    rings until cancelled."""
    reply = lambda status, body="", cseq="[last_CSeq:]": msg(f"""
SIP/2.0 {status}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
{cseq}
[last_Record-Route:]
Contact: <sip:101@[local_ip]:[local_port]>
{"Content-Type: application/sdp" if body else DROP}
Content-Length: [len]

{body}""")
    steps = ['<recv request="INVITE"/>', f"<send>{reply('180 Ringing')}</send>"]
    if answer == "answer":
        steps += [f'<send retrans="500">{reply("200 OK", SDP_PLAIN)}</send>',
                  '<recv request="ACK"/>', '<recv request="BYE"/>',
                  f"<send>{reply('200 OK')}</send>"]
    elif answer == "busy":
        steps += [f"<send>{reply('486 Busy Here')}</send>", '<recv request="ACK"/>']
    else:  # cancelled
        steps += ['<recv request="CANCEL"/>', f"<send>{reply('200 OK')}</send>",
                  # the 487 answers the INVITE, not the CANCEL just received
                  f"<send>{reply('487 Request Terminated', cseq='CSeq: [last_cseq_number] INVITE')}</send>",
                  '<recv request="ACK"/>']
    return scenario("callee", steps)


def scenario(name, steps):
    return ('<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
            '<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'
            f'<scenario name="{name}">\n' + "\n".join(steps) + "\n</scenario>\n")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = sip_server([("acme", "100"), ("acme", "101"), ("acme", "102")],
                   voicemail=False)
    s.ptoken = s.tokens["acme"]
    s.tmp = tmp_path_factory.mktemp("sipp")
    yield s
    s.cleanup()


def run_sipp(s, name, xml, transport, port, user, extra=(), wait=True, target=None):
    path = s.tmp / f"{name}.xml"
    path.write_text(xml)
    csv = s.tmp / f"{name}.csv"
    csv.write_text(f"SEQUENTIAL\n{user};unused;acme\n")
    # a TCP caller takes the port sipp picks: one free for UDP may be in TIME_WAIT for TCP
    cmd = ["sipp", target or f"127.0.0.1:{5060 + s.offset}", "-t", transport, "-sf", str(path),
           "-m", "1", "-l", "1", "-nostdin", "-timeout", "20",
           *(["-p", str(port)] if port else []),
           "-au", user, "-ap", f"acme-{user}-secret", "-inf", str(csv), *extra]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         cwd=str(s.tmp))
    if wait:
        out, _ = p.communicate(timeout=40)
        return p.returncode, out
    return p


def register_callee(s, port):
    rc, out = run_sipp(s, "register-101", open(REGISTER).read(), "u1", port, "101")
    assert rc == 0, out


def last_call(s):
    return curl("GET", s.sbc("/acme/api/v1/calls"), token=s.ptoken).json()["calls"][0]


def call(s, outcome, answer, transport="t1", target=None, sdp=SDP_PLAIN):
    port = free_port()
    register_callee(s, port)
    uas = run_sipp(s, f"callee-{answer}", callee(answer), "u1", port, "101", wait=False,
                   extra=["-bg"] if False else [])
    try:
        time.sleep(0.5)
        rc, out = run_sipp(s, f"caller-{outcome}", caller(outcome, sdp), transport,
                           None, "100", extra=["-s", "101"], target=target)
        uas_out, _ = uas.communicate(timeout=30)
    finally:
        if uas.poll() is None:
            uas.kill()
            uas.wait()
    run_sipp(s, "unregister-101", open(REGISTER).read().replace("Expires: 600", "Expires: 0"),
             "u1", port, "101")
    return rc, out, uas.returncode, uas_out


def test_sipp_call_answered_and_hung_up(srv):
    rc, out, urc, uout = call(srv, "answer", "answer")
    assert rc == 0 and urc == 0, out + uout
    rec = last_call(srv)
    assert rec["cause"] == "caller_hangup" and rec["answer"] is not None


def test_sipp_callee_busy(srv):
    rc, out, urc, uout = call(srv, "486", "busy")
    assert rc == 0 and urc == 0, out + uout
    assert last_call(srv)["cause"] == "busy"


def test_sipp_caller_cancels(srv):
    rc, out, urc, uout = call(srv, "cancel", "cancelled")
    assert rc == 0 and urc == 0, out + uout
    assert last_call(srv)["cause"] == "cancelled"


@pytest.mark.parametrize("callee_ext,status", [("102", 480), ("999", 404)])
def test_sipp_unreachable_and_unknown(srv, callee_ext, status):
    rc, out = run_sipp(srv, f"caller-{status}", caller(str(status), SDP_PLAIN), "t1",
                       None, "100", extra=["-s", callee_ext])
    assert rc == 0, out


def test_sipp_call_over_tls_through_stunnel(srv):
    with socket.socket() as t:  # a TCP port for stunnel to accept on
        t.bind(("127.0.0.1", 0))
        local = t.getsockname()[1]
    conf = srv.tmp / "stunnel.conf"
    conf.write_text(f"""foreground = yes
pid =
[sip]
client = yes
accept = 127.0.0.1:{local}
connect = 127.0.0.1:{5061 + srv.offset}
verifyChain = no
""")
    tunnel = subprocess.Popen(["stunnel4", str(conf)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        # RTP over TLS is refused; SRTP gets through
        rc, out = run_sipp(srv, "caller-488", caller("refused", SDP_PLAIN), "t1", None,
                           "100", extra=["-s", "101"], target=f"127.0.0.1:{local}")
        assert rc == 0, out
        rc, out, urc, uout = call(srv, "answer", "answer", target=f"127.0.0.1:{local}",
                                  sdp=SDP_SRTP)
        assert rc == 0 and urc == 0, out + uout
    finally:
        tunnel.terminate()
        tunnel.wait(5)


@pytest.mark.parametrize("method", ["REGISTER", "INVITE", "OPTIONS"])
def test_svwar_cannot_tell_existing_extensions(srv, method):
    """sipvicious' extension scanner, forced past its own sanity check, finds
    nothing: existing (100-102) and missing extensions are answered alike."""
    out = subprocess.run(["svwar", "--force", "-e95-110", "-m", method, "-p",
                          str(5060 + srv.offset), "-b", "127.0.0.1", "-P", str(free_port()),
                          "-t", "0.05", "127.0.0.1"],
                         capture_output=True, text=True, timeout=120, cwd=str(srv.tmp))
    text = out.stdout + out.stderr
    assert "found nothing" in text, text
    for ext in ("100", "101", "102"):
        assert f"| {ext} " not in text, text
