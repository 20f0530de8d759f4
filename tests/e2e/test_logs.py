"""GET /api/v1/logs: recent lines filtered by process, phone system and
level, and followed live: with `after` and `wait` a request is held until a
wanted line is written (long polling)."""
import threading
import time

from conftest import curl


def logs(s, query):
    r = s.api("GET", f"/logs?{query}")
    assert r.status == 200, r
    return r.json()


def test_filters_by_process_phone_system_and_level(server):
    server.create_ps("logged-co")
    j = logs(server, "lines=500")
    assert j["offset"] > 0 and j["lines"]
    assert {"time", "pid", "process", "phone_system", "level", "message"} <= set(j["lines"][0])
    pbx = logs(server, "process=pbx&phone_system=logged-co&lines=500")["lines"]
    assert pbx and all(l["process"] == "pbx" and l["phone_system"] == "logged-co" for l in pbx)
    warn = logs(server, "level=warn&lines=500")["lines"]
    assert all(l["level"] in ("warn", "error") for l in warn)
    assert len(logs(server, "lines=1")["lines"]) == 1
    for bad in ("lines=0", "lines=5001", "level=loud", "wait=61", "wait=-1"):
        assert server.api("GET", f"/logs?{bad}").status == 400, bad


def quiet_offset(s):
    """The log's end once the server has finished logging its start-up (a
    loaded machine may still be starting the SBC when mgmt answers)."""
    off = logs(s, "lines=1")["offset"]
    for _ in range(20):
        time.sleep(1)
        now = logs(s, "lines=1")["offset"]
        if now == off:
            return off
        off = now
    return off


def test_follow_holds_the_request_until_a_line_is_written(server):
    off = quiet_offset(server)
    got = {}

    def follow():
        t0 = time.time()
        got["r"] = server.api("GET", f"/logs?after={off}&wait=20&process=supervisor",
                              timeout=30)
        got["t"] = time.time() - t0

    t = threading.Thread(target=follow)
    t.start()
    time.sleep(1.5)
    assert "r" not in got  # still held: nothing new from the supervisor yet
    server.create_ps("followed-co")
    t.join(25)
    assert got["r"].status == 200
    lines = got["r"].json()["lines"]
    assert any("followed-co" in l["message"] for l in lines), lines
    assert 1.5 <= got["t"] < 15
    assert got["r"].json()["offset"] > off


def test_follow_answers_empty_when_the_wait_is_over(server):
    off = logs(server, "lines=1")["offset"]
    t0 = time.time()
    j = logs(server, f"after={off}&wait=2&phone_system=nobody-here")
    assert j["lines"] == [] and 1.5 <= time.time() - t0 < 6
    # without `after` there is nothing to wait for: answered at once
    t0 = time.time()
    logs(server, "wait=20&phone_system=nobody-here")
    assert time.time() - t0 < 2
