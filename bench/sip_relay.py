"""bench/sip's signalling for the relay part: many calls set up and held
through Zentrale's SBC from one Python process, so that the RTP generator
(bench/rtpgen.c) learns each leg's relay port from the SDP.

One UAC socket (the caller, user 1000) and one UAS socket (the callee, user
2000, registered from that socket; or a carrier at a trunk's peer address,
the caller dialling an outside number) do INVITE / 401 / ACK / INVITE with digest
/ 200 / ACK and, at the end, BYE / 200, with Timer A retransmissions. Every
call's SDP names the same media address on each side (the generator's two
sockets), so the relay's port for a leg is all that tells the calls apart:
the UAC reads it from the 200's SDP (the caller leg), the UAS from the
INVITE's SDP (the callee leg). Both offer and answer rtcp-mux (RFC 5761);
whether the SBC kept it is read from its answers. At most `window` INVITEs
are open at once (the SBC bounds the legs an address holds unanswered).
Only bench/sip uses this; the SIP load itself is sipp's.
"""
import base64
import hashlib
import os
import re
import select
import socket
import time

T1 = 0.5


def _hdr(msg, name):
    m = re.search(r"^" + name + r":\s*(.*?)\r?$", msg, re.M | re.I)
    return m.group(1).strip() if m else None


def _hdrs(msg, name):
    return [v.strip() for v in re.findall(r"^" + name + r":\s*(.*?)\r?$", msg, re.M | re.I)]


def _digest(chal, method, uri, user, pw):
    """An Authorization for a WWW-Authenticate challenge (MD5, qop=auth)."""
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', chal))
    realm, nonce = params.get("realm", ""), params["nonce"]
    ha1 = hashlib.md5(f"{user}:{realm}:{pw}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    out = f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}"'
    if "auth" in params.get("qop", "").split(","):
        cnonce, nc = os.urandom(8).hex(), "00000001"
        resp = hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
        out += f', qop=auth, nc={nc}, cnonce="{cnonce}"'
    else:
        resp = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
    if "opaque" in params:
        out += f', opaque="{params["opaque"]}"'
    return out + f', response="{resp}", algorithm=MD5'


def _md5_challenge(msg):
    chals = _hdrs(msg, "WWW-Authenticate")
    for c in chals:
        if "algorithm=sha-256" not in c.lower().replace('"', ""):
            return c
    return chals[0] if chals else None


def _sdp(port):
    return ("v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp-mux\r\na=sendrecv\r\n")


def _sdp_srtp(port, tag, key):
    """An answer with SDES-SRTP (RFC 4568): our key and salt, 30 bytes."""
    return _sdp(port).replace("RTP/AVP", "RTP/SAVP").replace(
        "a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:0 PCMU/8000\r\na=crypto:%s AES_CM_128_HMAC_SHA1_80 "
        "inline:%s\r\n" % (tag, base64.b64encode(key).decode()))


def _crypto(body):
    """(tag, 30-byte key and salt) of an offer's AES_CM_128_HMAC_SHA1_80 line, or None."""
    m = re.search(r"^a=crypto:(\d+) AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)", body, re.M)
    if not m:
        return None
    key = base64.b64decode(m.group(2))
    return (m.group(1), key) if len(key) == 30 else None


def _body(msg):
    i = msg.find("\r\n\r\n")
    return msg[i + 4:] if i >= 0 else ""


def _media_port(msg):
    m = re.search(r"^m=audio (\d+)", _body(msg), re.M)
    return int(m.group(1)) if m else None


class Calls:
    def __init__(self, server, domain, secret, uac_port, uas_port, media_a, media_b,
                 callee="2000"):
        self.server = server  # (host, port) of the SBC
        # what the caller dials: the registered callee, or (bench/sip's trunk
        # part) an outside number whose carrier is the UAS socket, at the
        # trunk's peer address, with nothing to register
        self.callee = callee
        self.domain, self.secret = domain, secret
        self.media_a, self.media_b = media_a, media_b
        self.uac = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.uac.bind(("127.0.0.1", uac_port))
        self.uas = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.uas.bind(("127.0.0.1", uas_port))
        for s in (self.uac, self.uas):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            s.setblocking(False)
        self.calls = {}      # call-id -> state (UAC side)
        self.uas_calls = {}  # call-id -> {"port", "reply", "mux"} (UAS side)
        self.n = 0

    def close(self):
        self.uac.close()
        self.uas.close()

    # ---- the callee ----
    def register_callee(self, timeout=10):
        lp = self.uas.getsockname()[1]
        cid = f"reg-{os.urandom(6).hex()}@bench"
        for cseq, auth in ((1, None), (2, "x")):
            chal = getattr(self, "_reg_chal", None)
            extra = f"Authorization: {_digest(chal, 'REGISTER', 'sip:' + self.domain, '2000', self.secret)}\r\n" if auth else ""
            msg = (f"REGISTER sip:{self.domain} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK{os.urandom(6).hex()};rport\r\n"
                   f"From: <sip:2000@{self.domain}>;tag=r{cseq}\r\nTo: <sip:2000@{self.domain}>\r\n"
                   f"Call-ID: {cid}\r\nCSeq: {cseq} REGISTER\r\n"
                   f"Contact: <sip:2000@127.0.0.1:{lp}>\r\nExpires: 3600\r\nMax-Forwards: 70\r\n"
                   f"{extra}Content-Length: 0\r\n\r\n")
            end = time.time() + timeout
            got = None
            while time.time() < end and not got:
                self.uas.sendto(msg.encode(), self.server)
                t = time.time() + T1
                while time.time() < t:
                    r, _, _ = select.select([self.uas], [], [], 0.05)
                    if not r:
                        continue
                    data = self.uas.recv(65535).decode(errors="replace")
                    code = data.split(" ", 2)[1] if data.startswith("SIP/2.0") else ""
                    if code in ("401", "200") or (code and code[0] in "3456"):
                        got = data
                        break
            if not got:
                raise RuntimeError("the callee's REGISTER got no answer")
            code = got.split(" ", 2)[1]
            if cseq == 1 and code == "401":
                self._reg_chal = _md5_challenge(got)
                continue
            if code != "200":
                raise RuntimeError(f"the callee's REGISTER: {got.splitlines()[0]}")
            return

    # ---- messages ----
    def _invite(self, c, auth):
        lp = self.uac.getsockname()[1]
        c["branch"] = "z9hG4bK" + os.urandom(8).hex()
        body = _sdp(self.media_a)
        extra = ""
        if auth:
            extra = "Authorization: " + _digest(c["chal"], "INVITE", c["uri"], "1000",
                                                self.secret) + "\r\n"
        return (f"INVITE {c['uri']} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{lp};branch={c['branch']};rport\r\n"
                f"From: <sip:1000@{self.domain}>;tag={c['tag']}\r\nTo: <{c['uri']}>\r\n"
                f"Call-ID: {c['cid']}\r\nCSeq: {c['cseq']} INVITE\r\n"
                f"Contact: <sip:1000@127.0.0.1:{lp}>\r\nMax-Forwards: 70\r\n{extra}"
                f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}")

    def _in_dialog(self, c, method, cseq, branch=None):
        lp = self.uac.getsockname()[1]
        routes = "".join(f"Route: {r}\r\n" for r in c["routes"])
        return (f"{method} {c['target']} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{lp};branch={branch or 'z9hG4bK' + os.urandom(8).hex()};rport\r\n"
                f"{routes}From: <sip:1000@{self.domain}>;tag={c['tag']}\r\nTo: {c['to']}\r\n"
                f"Call-ID: {c['cid']}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
                f"Content-Length: 0\r\n\r\n")

    def _send(self, c, msg):
        c["last"], c["sent_at"], c["retries"] = msg, time.time(), 0
        self.uac.sendto(msg.encode(), self.server)

    # ---- the loop ----
    def _uac_recv(self, data):
        if not data.startswith("SIP/2.0"):
            return
        cid = _hdr(data, "Call-ID")
        c = self.calls.get(cid)
        if not c:
            return
        code = int(data.split(" ", 2)[1])
        cseq_m = (_hdr(data, "CSeq") or "").split()
        if len(cseq_m) != 2:
            return
        num, meth = int(cseq_m[0]), cseq_m[1]
        if meth == "INVITE" and code >= 300:
            # a failure's ACK: same branch, the To of the answer
            ack = (f"ACK {c['uri']} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP 127.0.0.1:{self.uac.getsockname()[1]};branch={c['branch']};rport\r\n"
                   f"From: <sip:1000@{self.domain}>;tag={c['tag']}\r\nTo: {_hdr(data, 'To')}\r\n"
                   f"Call-ID: {c['cid']}\r\nCSeq: {num} ACK\r\nMax-Forwards: 70\r\n"
                   f"Content-Length: 0\r\n\r\n")
            self.uac.sendto(ack.encode(), self.server)
        if meth == "INVITE" and code >= 300 and c["state"] == "inviting" and num == c["cseq"] \
                and not (code == 401 and num == 1):
            c["state"], c["error"], c["last"] = "failed", data.splitlines()[0], None
            c["failed_at"] = time.time()
            if not hasattr(self, "first_refusal"):
                self.first_refusal = data  # kept for a look (bench/sip --keep)
            return
        if meth == "INVITE" and code == 401 and num == 1 and c["state"] == "inviting" \
                and c["cseq"] == 1:
            c["chal"] = _md5_challenge(data)
            c["cseq"] = 2
            self._send(c, self._invite(c, True))
            return
        if meth == "INVITE" and code < 200:
            c["provisional"] = True
            return
        if meth == "INVITE" and 200 <= code < 300:
            if c["state"] == "inviting":
                c["to"] = _hdr(data, "To")
                contact = re.search(r"<([^>]+)>", _hdr(data, "Contact") or "")
                c["target"] = contact.group(1) if contact else c["uri"]
                rr = []
                for v in _hdrs(data, "Record-Route"):
                    rr += [x.strip() for x in re.findall(r"<[^>]+>[^,]*", v)]
                c["routes"] = list(reversed(rr))
                c["relay_port"] = _media_port(data)
                c["mux"] = "a=rtcp-mux" in _body(data)
                c["state"] = "up"
            # an ACK for every 2xx (also a retransmitted one)
            self.uac.sendto(self._in_dialog(c, "ACK", num).encode(), self.server)
            c["last"] = None
            return
        if meth == "BYE" and code >= 200:
            c["state"] = "ended" if code < 300 else "bye-failed"
            c["last"] = None

    def _uas_recv(self, data, addr):
        if data.startswith("SIP/2.0"):
            return
        method = data.split(" ", 1)[0]
        cid = _hdr(data, "Call-ID")
        if method == "INVITE":
            st = self.uas_calls.get(cid)
            if not st:
                self.n += 1
                mux = "a=rtcp-mux" in _body(data)
                # an SRTP offer (a trunk with srtp): answered with a key of our own
                offer = _crypto(_body(data)) if "RTP/SAVP" in _body(data) else None
                ours = os.urandom(30)
                body = _sdp_srtp(self.media_b, offer[0], ours) if offer else _sdp(self.media_b)
                if not mux:
                    body = body.replace("a=rtcp-mux\r\n", "")
                lp = self.uas.getsockname()[1]
                heads = "".join(f"Via: {v}\r\n" for v in _hdrs(data, "Via"))
                heads += "".join(f"Record-Route: {v}\r\n" for v in _hdrs(data, "Record-Route"))
                reply = (f"SIP/2.0 200 OK\r\n{heads}From: {_hdr(data, 'From')}\r\n"
                         f"To: {_hdr(data, 'To')};tag=b{self.n}\r\nCall-ID: {cid}\r\n"
                         f"CSeq: {_hdr(data, 'CSeq')}\r\nContact: <sip:2000@127.0.0.1:{lp}>\r\n"
                         f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n"
                         f"{body}")
                st = self.uas_calls[cid] = {"port": _media_port(data), "reply": reply,
                                            "mux": mux, "acked": False,
                                            "keys": (ours.hex(), offer[1].hex()) if offer
                                            else None}
            self.uas.sendto(st["reply"].encode(), addr)
        elif method == "ACK":
            if cid in self.uas_calls:
                self.uas_calls[cid]["acked"] = True
        elif method in ("BYE", "CANCEL", "OPTIONS", "NOTIFY"):
            heads = "".join(f"Via: {v}\r\n" for v in _hdrs(data, "Via"))
            to = _hdr(data, "To") or ""
            reply = (f"SIP/2.0 200 OK\r\n{heads}From: {_hdr(data, 'From')}\r\nTo: {to}\r\n"
                     f"Call-ID: {cid}\r\nCSeq: {_hdr(data, 'CSeq')}\r\nContent-Length: 0\r\n\r\n")
            self.uas.sendto(reply.encode(), addr)
            if method == "BYE":
                self.uas_calls.pop(cid, None)
            elif method == "CANCEL" and cid in self.uas_calls:
                self.uas_calls[cid]["cancelled"] = True

    def _pump(self, timeout):
        r, _, _ = select.select([self.uac, self.uas], [], [], timeout)
        for s in r:
            for _ in range(256):
                try:
                    data, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                text = data.decode(errors="replace")
                if s is self.uac:
                    self._uac_recv(text)
                else:
                    self._uas_recv(text, addr)
        now = time.time()
        for c in self.calls.values():
            if c.get("last") and now - c["sent_at"] > T1 * (2 ** min(c["retries"], 3)):
                if c["retries"] >= 6:
                    c["state"], c["error"], c["last"] = "failed", "no answer", None
                    continue
                c["retries"] += 1
                c["sent_at"] = now
                self.uac.sendto(c["last"].encode(), self.server)

    def setup(self, n, window=32, timeout=40):
        """n calls up and held; returns (streams, failures, mux): streams is
        [("a", relay port of a caller leg), ("b", relay port of a callee leg)
        and, where the callee leg speaks SRTP, its two keys]."""
        self.calls, self.uas_calls = {}, {}
        started, end = 0, time.time() + timeout
        self.retried = 0
        while time.time() < end:
            pending = sum(1 for c in self.calls.values() if c["state"] == "inviting")
            # a call refused for now (503, 480) is tried again, as a phone
            # would, up to n times in all: the count is reported
            for c in self.calls.values():
                if c["state"] == "failed" and not c.get("retried") and \
                        re.match(r"SIP/2.0 (503|480)", c.get("error", "")) and \
                        time.time() - c.get("failed_at", 0) >= 1 and self.retried < n:
                    c["retried"] = True
                    self.retried += 1
                    started -= 1
            # the last calls one at a time: at a full range, INVITEs in flight
            # hold legs that the callee sides of the others then miss
            while started < n and pending < (window if started < n - 2 * window else 1):
                cid = f"relay-{started}-{os.urandom(4).hex()}@bench"
                c = self.calls[cid] = {"cid": cid, "tag": f"a{started}", "cseq": 1,
                                       "uri": f"sip:{self.callee}@{self.domain}",
                                       "state": "inviting",
                                       "routes": []}
                self._send(c, self._invite(c, False))
                started += 1
                pending += 1
            self._pump(0.01)
            waiting = any(c["state"] == "failed" and not c.get("retried") and
                          re.match(r"SIP/2.0 (503|480)", c.get("error", "")) and
                          self.retried < n for c in self.calls.values())
            if started == n and pending == 0 and not waiting:
                break
        # the callee's side: the ACKs of the calls that are up (a callee leg
        # of a call that failed gets none and carries no stream)
        t = time.time() + 2
        while time.time() < t and sum(1 for s in self.uas_calls.values() if s["acked"]) < \
                sum(1 for c in self.calls.values() if c["state"] == "up"):
            self._pump(0.01)
        up = [c for c in self.calls.values() if c["state"] == "up"]
        streams = [("a", c["relay_port"]) for c in up if c.get("relay_port")]
        # a callee leg with SRTP: ("b", port, our key, the relay's key) in hex
        streams += [("b", s["port"]) + (s["keys"] if s.get("keys") else ())
                    for s in self.uas_calls.values()
                    if s.get("port") and s["acked"] and not s.get("cancelled")]
        errors = {}
        for c in self.calls.values():
            if c["state"] != "up" and not c.get("retried"):
                errors[c.get("error", c["state"])] = errors.get(c.get("error", c["state"]), 0) + 1
        mux = bool(up) and all(c.get("mux") for c in up)
        return streams, errors, mux

    def teardown(self, window=64, timeout=30):
        """BYE for every call that is up; the number that ended with 200."""
        up = [c for c in self.calls.values() if c["state"] == "up"]
        i, end = 0, time.time() + timeout
        while time.time() < end:
            busy = sum(1 for c in up if c["state"] == "bye")
            while i < len(up) and busy < window:
                up[i]["state"] = "bye"
                self._send(up[i], self._in_dialog(up[i], "BYE", 3))
                i += 1
                busy += 1
            self._pump(0.01)
            if i == len(up) and busy == 0:
                break
        # what the SBC still sends (retransmissions, NOTIFYs) is answered a moment longer
        t = time.time() + 0.5
        while time.time() < t:
            self._pump(0.05)
        return sum(1 for c in up if c["state"] == "ended")
