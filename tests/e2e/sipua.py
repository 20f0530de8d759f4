"""A small SIP user agent for call tests, on top of sipclient.Client: it
registers, places calls (answering the digest challenge), answers, hangs
up, cancels and re-INVITEs, following RFC 3261 dialogs itself. Written
independently of the server's code."""
import base64
import os
import re
import socket

from sipclient import Client, digest, register_with_auth

SDP = ("v=0\r\no=- {id} 1 IN {ipv} {ip}\r\ns=-\r\nc=IN {ipv} {ip}\r\nt=0 0\r\n"
       "m=audio {port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 "
       "telephone-event/8000\r\na={dir}\r\n")


def hdr(headers, name):
    for k, v in headers:
        if k == name:
            return v
    return None


def hdrs(headers, name):
    return [v for k, v in headers if k == name]


def tag_of(value):
    m = re.search(r";\s*tag=([^;>\s]+)", value or "")
    return m.group(1) if m else None


def uri_of(value):
    m = re.search(r"<([^>]*)>", value)
    return m.group(1) if m else value.split(";")[0].strip()


class Msg:
    def __init__(self, parsed):
        self.status, self.headers, self.first, self.body = parsed
        self.method = None if self.status else self.first.split()[0]

    def h(self, name):
        return hdr(self.headers, name)

    def raw_text(self):
        return self.first + "\n" + "\n".join(f"{k}: {v}" for k, v in self.headers)


class Phone:
    def __init__(self, transport, port, user, password, domain, rtp_port=40000,
                 server="127.0.0.1"):
        self.c = Client(transport, port, server)
        self.user, self.password, self.domain = user, password, domain
        self.ip, self.port = self.c.local[0], self.c.local[1]
        self.host = f"[{self.ip}]" if ":" in self.ip else self.ip  # for URIs
        self.rtp_port = rtp_port
        self.key = os.urandom(30)
        self.cseq = 10
        self.pending = []  # messages read while waiting for another

    # ---- transport ----
    def send(self, text):
        self.c.send(text)

    def recv(self, timeout=5):
        if self.pending:
            return self.pending.pop(0)
        self.c.s.settimeout(timeout)
        return Msg(self.c.recv())

    def expect(self, pred, timeout=5):
        """The next message for which pred is true; others are kept for later."""
        for i, m in enumerate(self.pending):
            if pred(m):
                return self.pending.pop(i)
        while True:
            self.c.s.settimeout(timeout)
            m = Msg(self.c.recv())
            if pred(m):
                return m
            self.pending.append(m)

    def response(self, method, timeout=5, skip_100=True):
        return self.expect(lambda m: m.status and m.h("cseq").split()[1] == method and
                           not (skip_100 and m.status == 100), timeout)

    def request(self, method, timeout=5):
        return self.expect(lambda m: m.method == method, timeout)

    def via(self):
        return (f"SIP/2.0/{self.c.t.upper()} {self.host}:{self.port};"
                f"branch=z9hG4bK{os.urandom(6).hex()};rport")

    def contact(self):
        return f"<sip:{self.user}@{self.host}:{self.port};transport={self.c.t}>"

    def register(self, expires=600):
        st, _ = register_with_auth(self.c, self.user, self.password, self.domain,
                                   contact=self.contact(), expires=expires,
                                   call_id=f"reg-{self.user}-{self.port}-{expires}")
        return st

    def answer(self, req, status, body=None, tag=None, extra=""):
        """A response to a request we received."""
        lines = [f"SIP/2.0 {status} {'OK' if status == 200 else 'X'}"]
        for k, v in req.headers:
            if k in ("via", "from", "call-id", "cseq", "record-route") or k == "v":
                lines.append(f"{k.title() if k != 'call-id' else 'Call-ID'}: {v}")
            elif k == "to":
                lines.append(f"To: {v}" + (f";tag={tag}" if tag and not tag_of(v) else ""))
        if 100 < status < 300:
            lines.append(f"Contact: {self.contact()}")
        body = body or ""
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(extra.rstrip("\r\n")) if extra else None
        lines.append(f"Content-Length: {len(body.encode())}")
        self.send("\r\n".join(lines) + "\r\n\r\n" + body)

    def sdp(self, direction="sendrecv"):
        """RTP, or on TLS SRTP with an SDES key (the SBC requires it there)."""
        text = SDP.format(id=os.getpid(), port=self.rtp_port, dir=direction, ip=self.ip,
                          ipv="IP6" if ":" in self.ip else "IP4")
        if self.c.t == "tls":
            text = text.replace("RTP/AVP", "RTP/SAVP") + (
                "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"
                + base64.b64encode(self.key).decode() + "\r\n")
        return text

    # ---- calls ----
    def invite(self, to, body=None, expires=None, auth=None, call=None, extra=""):
        call = call or {"call_id": os.urandom(8).hex(), "tag": os.urandom(4).hex()}
        self.cseq += 1
        call["cseq"] = self.cseq
        call["uri"] = f"sip:{to}@{self.domain}"
        call["via"] = self.via()
        body = self.sdp() if body is None else body
        msg = (f"INVITE {call['uri']} SIP/2.0\r\nVia: {call['via']}\r\nMax-Forwards: 70\r\n"
               f"From: <sip:{self.user}@{self.domain}>;tag={call['tag']}\r\n"
               f"To: <sip:{to}@{self.domain}>\r\nCall-ID: {call['call_id']}\r\n"
               f"CSeq: {self.cseq} INVITE\r\nContact: {self.contact()}\r\n"
               + (f"Expires: {expires}\r\n" if expires else "")
               + (f"Authorization: {auth}\r\n" if auth else "")
               + extra
               + f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}")
        self.send(msg)
        return call

    def call(self, to, **kw):
        """INVITE with authentication; returns the call state with the first
        response that is not a challenge in call['resp'] (100 Trying, often)."""
        call = self.invite(to, **kw)
        r = self.response("INVITE")
        if r.status == 401:
            self.ack_failure(call, r)
            kw["auth"] = digest(r.headers, self.user, self.password, call["uri"], "INVITE")
            call = self.invite(to, call=call, **kw)
            r = self.response("INVITE", skip_100=False)
        call["resp"] = r
        return call

    def final(self, call, timeout=5):
        """The final response to the call's INVITE (ACKed if it is a failure)."""
        r = call["resp"]
        while r.status < 200:
            r = self.response("INVITE", timeout)
        if r.status >= 300:
            self.ack_failure(call, r)
        return r

    def ack_failure(self, call, r):
        self.send(f"ACK {call['uri']} SIP/2.0\r\nVia: {call['via']}\r\nMax-Forwards: 70\r\n"
                  f"From: <sip:{self.user}@{self.domain}>;tag={call['tag']}\r\n"
                  f"To: {r.h('to')}\r\nCall-ID: {call['call_id']}\r\n"
                  f"CSeq: {call['cseq']} ACK\r\nContent-Length: 0\r\n\r\n")

    def confirm(self, call, r, body=""):
        """The dialog from a 2xx (as caller), and its ACK (with the answer to
        the 2xx's offer, after a late offer)."""
        call["remote"] = r.h("to")
        call["target"] = uri_of(r.h("contact"))
        call["route"] = list(reversed(hdrs(r.headers, "record-route")))
        call["local"] = f"<sip:{self.user}@{self.domain}>;tag={call['tag']}"
        self.in_dialog(call, "ACK", body=body, cseq=call["cseq"])

    def accept(self, req):
        """The dialog from an INVITE we received (as callee)."""
        return {"call_id": req.h("call-id"), "tag": os.urandom(4).hex(),
                "remote": req.h("from"), "target": uri_of(req.h("contact")),
                "route": hdrs(req.headers, "record-route"), "cseq": 100, "req": req}

    def in_dialog(self, call, method, body="", cseq=None, local=None, extra=""):
        if cseq is None:
            call["cseq"] = call.get("cseq", 100) + 1
            cseq = call["cseq"]
        local = local or call.get("local")
        route = "".join(f"Route: {r}\r\n" for r in call.get("route", []))
        msg = (f"{method} {call['target']} SIP/2.0\r\nVia: {self.via()}\r\nMax-Forwards: 70\r\n"
               f"{route}From: {local}\r\nTo: {call['remote']}\r\nCall-ID: {call['call_id']}\r\n"
               f"CSeq: {cseq} {method}\r\nContact: {self.contact()}\r\n" + extra
               + (f"Content-Type: application/sdp\r\n" if body else "")
               + f"Content-Length: {len(body)}\r\n\r\n{body}")
        self.send(msg)

    def answered(self, call, callee, inv=None, dialog=None):
        """callee's phone answers call (this phone's INVITE to it, inv if it
        was read already; dialog if accepted already) with 200 and its SDP,
        this phone ACKs the 200: callee's dialog (its INVITE in "req")."""
        inv = inv or callee.request("INVITE")
        dialog = dialog or callee.accept(inv)
        callee.answer(inv, 200, body=callee.sdp(), tag=dialog["tag"])
        ok = self.final(call)
        assert ok.status == 200, ok.raw_text()
        self.confirm(call, ok)
        callee.request("ACK")
        return dialog

    def established(self, callee, to=None, **kw):
        """This phone calls to (callee's user if None), callee's phone answers:
        (the call, callee's dialog)."""
        call = self.call(to or callee.user, **kw)
        return call, self.answered(call, callee)

    def refer(self, call, target, callee=False):
        """A REFER (RFC 3515) in call's dialog to Refer-To target; as the
        dialog's callee (call from accept) with Referred-By (RFC 3892)."""
        extra = f"Refer-To: <{target}>\r\n"
        if callee:
            extra += f"Referred-By: <sip:{self.user}@{self.domain}>\r\n"
        self.in_dialog(call, "REFER", local=self.callee_local(call) if callee else None,
                       extra=extra)

    def callee_local(self, call):
        to = call["req"].h("to")
        return to if tag_of(to) else f"{to};tag={call['tag']}"

    def cancel(self, call):
        self.send(f"CANCEL {call['uri']} SIP/2.0\r\nVia: {call['via']}\r\nMax-Forwards: 70\r\n"
                  f"From: <sip:{self.user}@{self.domain}>;tag={call['tag']}\r\n"
                  f"To: <sip:x@{self.domain}>\r\nCall-ID: {call['call_id']}\r\n"
                  f"CSeq: {call['cseq']} CANCEL\r\nContent-Length: 0\r\n\r\n"
                  .replace(f"<sip:x@{self.domain}>", call["uri"].join("<>")))

    def ring_then_cancel(self, callee, while_ringing=lambda: None):
        """Calls callee's phone, lets it ring (180), then cancels: the CANCEL
        reaches the callee, which answers 200 and 487, and the 487 comes
        back here (and is acknowledged)."""
        call = self.call(callee.user)
        inv = callee.request("INVITE")
        c = callee.accept(inv)
        callee.answer(inv, 180, tag=c["tag"])
        assert self.response("INVITE").status == 180
        while_ringing()
        self.cancel(call)
        assert self.response("CANCEL").status == 200
        callee.answer(callee.request("CANCEL"), 200)
        callee.answer(inv, 487, tag=c["tag"])
        r = self.response("INVITE")
        assert r.status == 487
        self.ack_failure(call, r)

    # ---- subscriptions (RFC 6665) ----
    def subscribe(self, target, event, accept=None, expires=600, sub=None, password=None,
                  auth=True):
        """SUBSCRIBE to target's event (Accept: accept if given), answering the
        challenge (with password if given) unless not auth: the final answer
        and the subscription (call_id, tag, to_tag; pass it as sub to refresh)."""
        sub = sub or {"call_id": os.urandom(8).hex(), "tag": os.urandom(4).hex(), "to_tag": None}
        uri = f"sip:{target}@{self.domain}"

        def send(authz=None):
            self.cseq += 1
            self.send(f"SUBSCRIBE {uri} SIP/2.0\r\nVia: {self.via()}\r\nMax-Forwards: 70\r\n"
                      f"From: <sip:{self.user}@{self.domain}>;tag={sub['tag']}\r\n"
                      f"To: <{uri}>" + (f";tag={sub['to_tag']}" if sub["to_tag"] else "")
                      + f"\r\nCall-ID: {sub['call_id']}\r\nCSeq: {self.cseq} SUBSCRIBE\r\n"
                      f"Contact: {self.contact()}\r\nEvent: {event}\r\nExpires: {expires}\r\n"
                      + (f"Accept: {accept}\r\n" if accept else "")
                      + (f"Authorization: {authz}\r\n" if authz else "")
                      + "Content-Length: 0\r\n\r\n")
            return self.response("SUBSCRIBE")

        r = send()
        if r.status == 401 and auth:
            r = send(digest(r.headers, self.user, password or self.password, uri, "SUBSCRIBE"))
        if r.status == 200:
            sub["to_tag"] = tag_of(r.h("to"))
        return r, sub

    def notify_of(self, call_id, timeout=5):
        """The next NOTIFY of subscription call_id, answered 200."""
        n = self.expect(lambda m: m.method == "NOTIFY" and m.h("call-id") == call_id, timeout)
        self.answer(n, 200)
        return n

    def no_notify(self, call_id, wait=0.5):
        """True if no NOTIFY of subscription call_id comes within wait s."""
        try:
            self.expect(lambda m: m.method == "NOTIFY" and m.h("call-id") == call_id, wait)
        except OSError:  # a timeout: nothing came
            return True
        return False

    def close(self):
        try:
            self.c.close()
        except OSError:
            pass


def free_port(host="127.0.0.1"):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rtp_pair(host="127.0.0.1"):
    """An even UDP port and the odd one above it, both bound now (RTP and
    RTCP): (port, rtp socket, rtcp socket). A port found free and bound
    later, or its neighbour, can meanwhile be another client's."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(200):
        rtp = socket.socket(family, socket.SOCK_DGRAM)
        rtp.bind((host, 0))
        port = rtp.getsockname()[1]
        if port % 2 == 0 and port < 65535:
            rtcp = socket.socket(family, socket.SOCK_DGRAM)
            try:
                rtcp.bind((host, port + 1))
                return port, rtp, rtcp
            except OSError:
                rtcp.close()
        rtp.close()
    raise OSError("no free even/odd UDP port pair")
