"""SIP traces: started through the management API for one phone system
(optionally one user), written by the SBC as a pcap that Debian's tshark
dissects: the decrypted SIP of a real call over TLS and UDP, and the RTP
headers (payload cut off). Other phone systems stay out; a trace ends at
its time and size limits; stop, download, delete."""
import os
import subprocess
import time

import pytest

from conftest import curl, sip_server
from sipua import Phone
from test_sip_media import MediaPhone, establish, hang_up, rtp, rtcp_rr

USERS = (("acme", "100"), ("acme", "101"), ("acme", "102"), ("globex", "100"))


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = sip_server(USERS)
    s.ptoken = s.tokens["acme"]
    s.tmp = tmp_path_factory.mktemp("sipp")  # for test_sipp_calls' helpers
    yield s
    s.cleanup()


def start(s, **body):
    r = s.api("POST", "/traces", body)
    assert r.status == 201, r
    return r.json()


def view(s, tid):
    r = s.api("GET", f"/traces/{tid}")
    assert r.status == 200, r
    return r.json()


def download(s, tid, tmp_path):
    path = tmp_path / f"{tid}.pcap"
    r = subprocess.run(["curl", "-sk", "-o", str(path), "-w", "%{http_code} %{content_type}",
                        "-H", f"Authorization: Bearer {s.token()}",
                        s.mgmt(f"/traces/{tid}/pcap")], capture_output=True, text=True)
    assert r.stdout == "200 application/vnd.tcpdump.pcap", r.stdout
    return path


def tshark(path, *args):
    r = subprocess.run(["tshark", "-n", "-r", str(path), *args], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def sip_lines(path):
    """(method or status, From user, To user) of each SIP message."""
    out = tshark(path, "-Y", "sip", "-T", "fields", "-E", "separator=|", "-e", "sip.Method",
                 "-e", "sip.Status-Code", "-e", "sip.from.user", "-e", "sip.to.user",
                 "-e", "sip.from.host")
    return [tuple(l.split("|")) for l in out.splitlines() if l]


def test_a_call_is_traced_with_decrypted_sip_and_rtp_headers(srv, tmp_path):
    t = start(srv, phone_system="acme", seconds=120)
    assert view(srv, t["id"])["capturing"] is True
    other = Phone("udp", 5060 + srv.offset, "100", "globex-100-secret", "globex")
    a, b = MediaPhone(srv, "100", "tls"), MediaPhone(srv, "101", "udp")
    try:
        assert other.register() == 200  # another phone system: not in the trace
        call, bc, a_media, b_media = establish(a, b)
        relay_addr, relay_port = b_media[0], b_media[1]
        for seq in range(5):  # b speaks plain RTP to the relay
            b.rtp.sendto(rtp(seq + 1, b"\x55" * 160), (relay_addr, relay_port))
        b.rtcp.sendto(rtcp_rr(), (relay_addr, relay_port + 1))
        time.sleep(0.5)
        hang_up(a, b, call)
    finally:
        a.close()
        b.close()
        other.register(expires=0)
        other.close()
    assert srv.api("POST", f"/traces/{t['id']}/stop").status == 200
    v = view(srv, t["id"])
    assert v["capturing"] is False and v["bytes"] > 1000 and v["stopped"]
    pcap = download(srv, t["id"], tmp_path)
    msgs = sip_lines(pcap)
    kinds = {m[0] or m[1] for m in msgs}
    # both phones' registrations, the call set-up and the hang-up, over TLS (decrypted) and UDP
    assert {"REGISTER", "INVITE", "ACK", "BYE", "200", "401"} <= kinds, msgs
    assert any(m[0] == "INVITE" and m[2] == "100" and m[3] == "101" for m in msgs), msgs
    assert all(m[4] != "globex" for m in msgs), msgs
    assert "globex" not in tshark(pcap, "-Y", "sip", "-V")
    # RTP: the five packets' headers, their payload cut off (200 bytes long, 40 kept)
    rtp_out = tshark(pcap, "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp", "-T", "fields",
                     "-e", "rtp.seq", "-e", "frame.len", "-e", "frame.cap_len")
    rows = [l.split("\t") for l in rtp_out.splitlines() if l]
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5"], rtp_out
    assert all(r[1] == "200" and r[2] == "40" for r in rows), rtp_out
    assert "rtcp" in tshark(pcap, "-o", "rtcp.heuristic_rtcp:TRUE", "-Y", "rtcp", "-T",
                            "fields", "-e", "frame.protocols")


def test_a_call_between_two_sipp_phones_is_traced(srv, tmp_path):
    from test_sipp_calls import call as sipp_call
    t = start(srv, phone_system="acme", user="101", seconds=120)
    rc, out, urc, uout = sipp_call(srv, "answer", "answer")  # 100 (TCP) calls 101 (UDP)
    assert rc == 0 and urc == 0, out + uout
    assert srv.api("POST", f"/traces/{t['id']}/stop").status == 200
    pcap = download(srv, t["id"], tmp_path)
    msgs = sip_lines(pcap)
    kinds = [m[0] or m[1] for m in msgs]
    for k in ("REGISTER", "INVITE", "180", "200", "ACK", "BYE"):
        assert k in kinds, msgs
    # both legs: the caller's INVITE from 100 and the one the callee got
    invites = [m for m in msgs if m[0] == "INVITE" and m[3] == "101"]
    assert len(invites) >= 2, msgs
    assert "sipp" in tshark(pcap, "-Y", "sip.Method == \"INVITE\"", "-V")


def test_a_trace_of_one_user_holds_only_what_names_it(srv, tmp_path):
    t = start(srv, phone_system="acme", user="102", seconds=120)
    a, b = Phone("udp", 5060 + srv.offset, "100", "acme-100-secret", "acme"), \
        Phone("tcp", 5060 + srv.offset, "102", "acme-102-secret", "acme")
    try:
        assert a.register() == 200
        assert b.register() == 200
    finally:
        a.register(expires=0)
        b.register(expires=0)
        a.close()
        b.close()
    assert srv.api("POST", f"/traces/{t['id']}/stop").status == 200
    msgs = sip_lines(download(srv, t["id"], tmp_path))
    assert msgs and all(m[2] == "102" or m[3] == "102" for m in msgs), msgs
    assert any(m[0] == "REGISTER" for m in msgs)


def test_a_trace_ends_at_its_limits(srv, tmp_path):
    short = start(srv, phone_system="acme", seconds=1)
    small = start(srv, phone_system="acme", seconds=300, max_bytes=65536)
    p = Phone("udp", 5060 + srv.offset, "100", "acme-100-secret", "acme")
    try:
        time.sleep(1.5)
        for i in range(40):  # ~ 2 kB of SIP each: well over 64 kB
            assert p.register(expires=600 + i) == 200  # a new Call-ID each
    finally:
        p.register(expires=0)
        p.close()
    v = view(srv, short["id"])
    assert v["capturing"] is False and v["bytes"] == 24  # the pcap header only
    v = view(srv, small["id"])
    assert 30000 < v["bytes"] <= 65536, v
    assert len(sip_lines(download(srv, small["id"], tmp_path))) > 10
    for tid in (short["id"], small["id"]):
        srv.api("POST", f"/traces/{tid}/stop")


def test_list_delete_and_refusals(srv):
    t = start(srv, phone_system="globex", seconds=60)
    ids = [x["id"] for x in srv.api("GET", "/traces").json()["traces"]]
    assert ids[0] == t["id"]  # newest first
    assert srv.api("DELETE", f"/traces/{t['id']}").status == 200
    assert srv.api("GET", f"/traces/{t['id']}").status == 404
    assert srv.api("GET", f"/traces/{t['id']}/pcap").status == 404
    assert not os.path.exists(os.path.join(srv.data, "traces", f"{t['id']}.pcap"))
    for body, status in (({"phone_system": "nobody"}, 404),
                         ({"phone_system": "acme", "seconds": 0}, 400),
                         ({"phone_system": "acme", "seconds": 3601}, 400),
                         ({"phone_system": "acme", "max_bytes": 10}, 400),
                         ({"phone_system": "acme", "user": "a b"}, 400),
                         ({"phone_system": "../x"}, 400)):
        assert srv.api("POST", "/traces", body).status == status, body
    for path in ("/traces/..%2Fsystem", "/traces/nothing-here-0"):
        assert srv.api("GET", path).status == 404
    running = [start(srv, phone_system="acme", seconds=60) for _ in range(4)]
    assert srv.api("POST", "/traces", {"phone_system": "acme"}).status == 409
    for x in running:
        assert srv.api("DELETE", f"/traces/{x['id']}").status == 200
    assert curl("GET", srv.mgmt("/traces")).status == 401
