"""A small SIP client for tests (UDP, TCP, TLS), written from RFC 3261 and
7616 independently of the server's code: builds REGISTERs, answers digest
challenges with Python's hashlib."""
import hashlib
import os
import re
import socket
import ssl


def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("SIP/2.0") else 0
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
        elif ":" in line:
            k, _, v = line.partition(":")
            headers.append((k.strip().lower(), v.strip()))
    return status, headers, lines[0], body


class Client:
    def __init__(self, transport, port, host="127.0.0.1"):
        self.t = transport
        self.addr = (host, port)
        if transport == "udp":
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.s = socket.socket(family, socket.SOCK_DGRAM)
            self.s.connect(self.addr)
        else:
            raw = socket.create_connection(self.addr, timeout=5)
            if transport == "tls":
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                raw = ctx.wrap_socket(raw)
            self.s = raw
        self.s.settimeout(5)
        self.local = self.s.getsockname()
        self.buf = b""

    def send(self, msg):
        data = msg.encode() if isinstance(msg, str) else msg
        if self.t == "udp":
            self.s.send(data)
        else:
            self.s.sendall(data)

    def recv(self):
        if self.t == "udp":
            return parse(self.s.recv(65535))
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?im)^(content-length|l)\s*:\s*(\d+)", head)
                n = int(m.group(2)) if m else 0
                if len(rest) >= n:
                    msg = head + sep + rest[:n]
                    self.buf = rest[n:]
                    return parse(msg)
            chunk = self.s.recv(65535)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def close(self):
        self.s.close()


def register(c, user, domain, auth=None, cseq=1, branch=None, expires=600, contact=None,
             call_id="reg-test"):
    branch = branch or "z9hG4bK" + os.urandom(6).hex()
    host, port = c.local[0], c.local[1]
    host = f"[{host}]" if ":" in host else host
    contact = contact or f"<sip:{user}@{host}:{port};transport={c.t}>"
    return (f"REGISTER sip:{domain} SIP/2.0\r\n"
            f"Via: SIP/2.0/{c.t.upper()} {host}:{port};branch={branch};rport\r\n"
            f"From: <sip:{user}@{domain}>;tag=t{cseq}\r\n"
            f"To: <sip:{user}@{domain}>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
            f"Contact: {contact}\r\nExpires: {expires}\r\nMax-Forwards: 70\r\n"
            f"User-Agent: zentrale-test-client\r\n"
            + (f"Authorization: {auth}\r\n" if auth else "")
            + "Content-Length: 0\r\n\r\n")


def digest(headers, user, password, uri, method="REGISTER", alg="MD5"):
    """Answers the challenge for `alg` among the WWW-Authenticate headers."""
    for k, v in headers:
        if k == "www-authenticate" and f"algorithm={alg}" in v:
            realm = re.search(r'realm="([^"]*)"', v).group(1)
            nonce = re.search(r'nonce="([^"]*)"', v).group(1)
            break
    else:
        raise AssertionError(f"no {alg} challenge in {headers}")
    h = (lambda s: hashlib.new("md5" if alg == "MD5" else "sha256", s.encode()).hexdigest())
    ha1 = h(f"{user}:{realm}:{password}")
    ha2 = h(f"{method}:{uri}")
    cnonce, nc = os.urandom(4).hex(), "00000001"
    resp = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{resp}", algorithm={alg}, qop=auth, nc={nc}, cnonce="{cnonce}"')


def register_with_auth(c, user, password, domain, alg="MD5", **kw):
    """REGISTER, the challenge, the answer: returns the final (status, headers)."""
    c.send(register(c, user, domain, cseq=1, **kw))
    st, hs, _, _ = c.recv()
    if st != 401:
        return st, hs
    c.send(register(c, user, domain, cseq=2,
                    auth=digest(hs, user, password, f"sip:{domain}", alg=alg), **kw))
    st, hs, _, _ = c.recv()
    return st, hs
