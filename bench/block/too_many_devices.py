"""403 Too Many Devices from one address: answered until blocked (old) or always (new)."""
import os, sys, socket, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/e2e"))
from conftest import Server, curl
from sipclient import Client, register_with_auth
s = Server().start()
try:
    s.create_ps("acme", "acme-admin-pw"); s.create_ps("globex", "g-admin-pw")
    tok = s.pbx_token("acme", "acme-admin-pw")
    curl("POST", s.sbc("/acme/api/v1/users"), {"display_name": "a", "extension": "100", "sip_password": "acme-100-secret"}, token=tok)
    s.api("PUT", "/sbc", {"plain_sip": True}); time.sleep(0.5)   # default: 20 failures
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.50.0.1", 0)); u.connect(("127.0.0.1", 5060 + s.offset)); u.settimeout(2)
    c = Client.__new__(Client); c.t, c.s, c.local, c.buf = "udp", u, u.getsockname(), b""
    many = ", ".join(f"<sip:100@{c.local[0]}:{c.local[1] + k};ob>" for k in range(11))
    n = 0
    for i in range(40):
        try:
            st, _ = register_with_auth(c, "100", "acme-100-secret", "acme", call_id=f"tmd-{i}", contact=many)
        except socket.timeout:
            break
        n += st == 403
    print(f"403 Too Many Devices answered {n} of 40 (default 20 failures) before silence" if n < 40 else "40 of 40 answered, never blocked")
finally:
    s.stop()
