"""The phone system of the call tests and the small helpers they share: a
started server with one phone system and its users for real softphones
(phone_system), the phone system's API as its admin (its calls, call
records, registrations), and sipua phones registered as its users.
Every helper takes the server; the phone system is s.ps unless named."""
import contextlib
import time

from conftest import curl, sip_server
from sipua import Phone


def phone_system(ps, exts, plain_sip=False, **kw):
    """sip_server with phone system ps and users exts named "Phone <ext>",
    digest MD5 only: baresip 1.0 (libre) gives up on a challenge set that
    includes SHA-256. plain_sip: SIP on 5060 too (for sipua). s.ptoken is
    the phone system's admin token."""
    s = sip_server([(ps, ext) for ext in exts], plain_sip=plain_sip, display="Phone {ext}",
                   digest_algorithms=["MD5"], **kw)
    s.ptoken = s.tokens[ps]
    return s


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def api(s, method, path, body=None, ps=None):
    """A request to phone system ps's API (/<ps>/api/v1<path>) as its admin."""
    ps = ps or s.ps
    return curl(method, s.sbc(f"/{ps}/api/v1{path}"), body, token=s.tokens[ps])


def active(s):
    return api(s, "GET", "/calls/active").json()["calls"]


def talking(s, a, b):
    """Whether extensions a and b are in one answered call."""
    return any(c["state"] == "answered" and {c["caller"]["extension"],
                                             c["callee"]["extension"]} == {a, b}
               for c in active(s))


def records(s):
    return api(s, "GET", "/calls").json()["calls"]


def last_call(s):
    r = api(s, "GET", "/calls")
    assert r.status == 200, r
    return r.json()["calls"][0]


def registered(s, exts, what=None):
    """Waits until every extension of exts has a registration."""
    def pred():
        r = api(s, "GET", "/registrations")
        return set(exts) <= {x["extension"] for x in r.json()["registrations"]}
    wait_for(pred, 15, what or f"{exts} to register")


def phone(s, ext, transport="tcp", ps=None, **kw):
    """A sipua phone registered as user ext (plain SIP on 5060, or TLS on 5061)."""
    ps = ps or s.ps
    port = (5061 if transport == "tls" else 5060) + s.offset
    p = Phone(transport, port, ext, f"{ps}-{ext}-secret", ps, **kw)
    assert p.register() == 200
    return p


def bye_all(*phones):
    """Each phone's binding removed (none left for the tests after), its connection closed."""
    for p in phones:
        p.register(expires=0)
        p.close()


@contextlib.contextmanager
def phones(s, exts, transport="tcp"):
    """sipua phones of users exts, registered meanwhile: bye_all at the end."""
    ps = [Phone(transport, (5061 if transport == "tls" else 5060) + s.offset, ext,
                f"{s.ps}-{ext}-secret", s.ps) for ext in exts]
    try:
        for p in ps:
            assert p.register() == 200
        yield ps
    finally:
        bye_all(*ps)
