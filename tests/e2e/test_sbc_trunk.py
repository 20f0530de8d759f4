"""SIP trunks between the pbx and the SBC (issue 18; docs/architecture.md, "Trunks"): a phone
system's trunks table is announced at start (IPC_TRUNKS), kept by the
supervisor, passed to the SBC in the state and built into its trunk table;
a bad announce is refused whole."""
import os
import socket
import sqlite3

import pytest

from conftest import Server


def put_trunks(server, name, rows):
    db = sqlite3.connect(os.path.join(server.data, f"phone-systems/{name}/pbx.db"))
    db.execute("DELETE FROM trunks")
    for r in rows:
        db.execute("INSERT INTO trunks(id, name, kind, domain, proxy, transport, peers, codecs,"
                   " dtmf, srtp, interface, enabled, created, updated)"
                   " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,1,1)", r)
    db.commit()
    db.close()


def closed_udp_port():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    u.close()
    return port


@pytest.fixture
def server():
    # names are looked up at a DNS server that is not there: refused at once
    s = Server(env={"ZENTRALE_TEST_DNS_SERVER": f"127.0.0.1:{closed_udp_port()}"}).start()
    yield s
    s.cleanup()


def test_trunks_reach_the_sbc_and_bad_ones_are_refused(server):
    server.create_ps("tk")
    assert server.wait_state("tk", "running"), server.log()
    # the pbx announces at start: none yet
    assert server.wait_log("announced 0 trunks"), server.log()
    assert server.api("POST", "/phone-systems/tk/stop").status == 200
    assert server.wait_state("tk", "stopped"), server.log()
    put_trunks(server, "tk", [
        (7, "carrier", "peer", "", "", "udp", '["127.0.0.1:5090"]', '["PCMA"]', "rfc4733", 0,
         "", 1),
        (8, "reg", "register", "sip.carrier.example", "", "tls", "[]", "[]", "info", 1, "", 1),
        (9, "off", "peer", "", "", "udp", '["192.0.2.9"]', "[]", "rfc4733", 0, "", 0),
    ])
    assert server.api("POST", "/phone-systems/tk/start").status == 200
    assert server.wait_state("tk", "running"), server.log()
    assert server.wait_log("announced 3 trunks"), server.log()
    # the SBC's table: the two enabled ones; the name is looked up (test_sbc_dns)
    assert server.wait_log("sbc: info: 2 trunks"), server.log()
    assert server.wait_log("(tk/8): sip.carrier.example not resolved", timeout=30), server.log()

    # a pbx gone: its trunks are forgotten; a bad table is refused whole
    assert server.api("POST", "/phone-systems/tk/stop").status == 200
    assert server.wait_state("tk", "stopped"), server.log()
    assert server.wait_log("sbc: info: 0 trunks"), server.log()
    put_trunks(server, "tk", [
        (7, "carrier", "peer", "", "", "sctp", '["127.0.0.1"]', "[]", "rfc4733", 0, "", 1),
    ])
    assert server.api("POST", "/phone-systems/tk/start").status == 200
    assert server.wait_state("tk", "running"), server.log()
    assert server.wait_log("announced trunks that are refused"), server.log()
    assert "transport" in server.log(tail=None).split("announced trunks that are refused")[1][:200]
    assert server.log(tail=None).count("sbc: info: 2 trunks") == 1
