"""Ring groups through the SBC and the B2BUA, with sipua phones: ringall
(the first to answer gets the call, the others are cancelled), order (each
member for its ring time, the group's timeout over all), round robin
spreading 9 calls 3/3/3, longest idle first, the fallback when nobody
answers (an extension; none: 480), busy and logged-out members skipped
(*46<group> / *45<group> from the phone), the call record's answered_by
and path; and the API's validation (/api/v1/groups), users and groups
never sharing an extension."""
import time

import pytest

from conftest import curl, sip_server
from pbxsetup import api, bye_all, last_call, phone

EXTS = ("200", "201", "202", "203", "204", "205")  # 200 calls; 201-203 members


@pytest.fixture(scope="module")
def srv():
    s = sip_server([("acme", e) for e in EXTS], voicemail=False)
    yield s
    s.cleanup()


def group(s, ext, members, strategy="ringall", ring_time=5, **kw):
    body = {"extension": ext, "name": f"team {ext}", "strategy": strategy,
            "members": [{"user_id": s.ids[m], "ring_time": ring_time} for m in members]}
    body.update(kw)
    r = api(s, "POST", "/groups", body)
    assert r.status == 201, r
    return r.json()


def invite_at(phones, timeout=5):
    """The first phone of phones that an INVITE reaches, and the INVITE."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for p in phones:
            try:
                return p, p.expect(lambda m: m.method == "INVITE", timeout=0.05)
            except OSError:
                pass
    raise AssertionError("no phone was rung")


def nothing_rings(p, timeout=0.3):
    try:
        m = p.expect(lambda m: m.method == "INVITE", timeout=timeout)
    except OSError:
        return
    raise AssertionError(f"{p.user} was rung: {m.raw_text()}")


def ringing(callee, inv):
    c = callee.accept(inv)
    callee.answer(inv, 180, tag=c["tag"])
    return c


def hang_up(a, call, callee):
    a.in_dialog(call, "BYE")
    callee.answer(callee.request("BYE"), 200)
    assert a.response("BYE").status == 200


def cancelled(p, inv, c):
    """A ringing phone gets the CANCEL: 200 to it, 487 to the INVITE."""
    p.answer(p.request("CANCEL", timeout=10), 200)  # after a ring time, maybe
    p.answer(inv, 487, tag=c["tag"])
    p.request("ACK")


def test_ringall_first_answer_wins_the_others_are_cancelled(srv):
    group(srv, "600", ["201", "202", "203"])
    a, m1, m2, m3 = (phone(srv, e) for e in ("200", "201", "202", "203"))
    try:
        call = a.call("600")
        invs = {p.user: (p, p.request("INVITE")) for p in (m1, m2, m3)}
        dialogs = {u: ringing(p, inv) for u, (p, inv) in invs.items()}
        assert "<sip:600@acme>" in invs["201"][1].h("to")
        a.answered(call, m2, invs["202"][1], dialogs["202"])
        for u in ("201", "203"):
            cancelled(invs[u][0], invs[u][1], dialogs[u])
        hang_up(a, call, m2)
    finally:
        bye_all(a, m1, m2, m3)
    rec = last_call(srv)
    assert rec["answered_by"] == "202" and rec["callee"] == "600", rec
    assert rec["path"].startswith("group:600"), rec


def test_order_rings_each_member_for_its_ring_time(srv):
    g = group(srv, "601", ["202", "201"], strategy="order", ring_time=5)
    assert [m["extension"] for m in g["members"]] == ["202", "201"]
    a, m1, m2 = (phone(srv, e) for e in ("200", "201", "202"))
    try:
        call = a.call("601")
        inv = m2.request("INVITE")
        t0 = time.monotonic()
        c = ringing(m2, inv)
        nothing_rings(m1)
        cancelled(m2, inv, c)  # its 5 s are over
        inv = m1.request("INVITE", timeout=3)
        assert 4 <= time.monotonic() - t0 <= 10
        a.answered(call, m1, inv)
        hang_up(a, call, m1)
    finally:
        bye_all(a, m1, m2)
    assert last_call(srv)["answered_by"] == "201"


def test_roundrobin_spreads_calls_evenly(srv):
    group(srv, "602", ["201", "202", "203"], strategy="roundrobin")
    a = phone(srv, "200")
    members = [phone(srv, e) for e in ("201", "202", "203")]
    count, order = {"201": 0, "202": 0, "203": 0}, []
    try:
        for _ in range(9):
            call = a.call("602")
            p, inv = invite_at(members)
            for other in members:
                if other is not p:
                    nothing_rings(other, 0.05)
            a.answered(call, p, inv)
            hang_up(a, call, p)
            count[p.user] += 1
            order.append(p.user)
    finally:
        bye_all(a, *members)
    assert count == {"201": 3, "202": 3, "203": 3}, order
    assert order[:3] == ["201", "202", "203"] and order[3:6] == order[:3], order


def test_longest_idle_member_first(srv):
    group(srv, "603", ["201", "202", "203"], strategy="longest_idle")
    a, m1, m2, m3 = (phone(srv, e) for e in ("200", "201", "202", "203"))
    try:
        # calls that end one after the other: 203 idle longest, then 201, then 202
        for i, p in enumerate((m3, m1, m2)):
            if i:
                time.sleep(1.05)  # users.last_call_end is in seconds
            call = a.call(p.user)
            a.answered(call, p, p.request("INVITE"))
            hang_up(a, call, p)
        seen = []
        for _ in range(2):
            call = a.call("603")
            p, inv = invite_at([m1, m2, m3])
            seen.append(p.user)
            a.answered(call, p, inv)
            time.sleep(1.05)
            hang_up(a, call, p)
    finally:
        bye_all(a, m1, m2, m3)
    # 203 first; after its call, 201 is the one idle longest
    assert seen == ["203", "201"], seen


def test_busy_member_is_skipped(srv):
    group(srv, "604", ["201", "202"], strategy="order")
    a, m1, m2, d = (phone(srv, e) for e in ("200", "201", "202", "204"))
    try:
        busy = d.call("201")  # 201 is in a call with 204
        d.answered(busy, m1, m1.request("INVITE"))
        call = a.call("604")
        inv = m2.request("INVITE")
        nothing_rings(m1)
        a.answered(call, m2, inv)
        hang_up(a, call, m2)
        hang_up(d, busy, m1)
    finally:
        bye_all(a, m1, m2, d)
    assert last_call(srv)["answered_by"] == "201"  # the last to end: 204 → 201
    calls = api(srv, "GET", "/calls").json()["calls"]
    assert calls[1]["answered_by"] == "202" and calls[1]["callee"] == "604", calls[1]


def dial_code(p, code):
    """A feature code: answered by the phone system, which says its prompt
    and hangs up."""
    call = p.call(code)
    ok = p.final(call, timeout=8)
    assert ok.status == 200 and b"m=audio" in ok.body, ok.raw_text()
    p.confirm(call, ok)
    p.answer(p.request("BYE", timeout=8), 200)


def logged_in(s, gid):
    r = api(s, "GET", f"/groups/{gid}")
    assert r.status == 200, r
    return {m["extension"]: m["logged_in"] for m in r.json()["members"]}


def test_logged_out_member_is_skipped_until_logged_in_again(srv):
    g = group(srv, "605", ["201", "202"])
    a, m1, m2, other = (phone(srv, e) for e in ("200", "201", "202", "205"))
    try:
        dial_code(m1, "*46605")
        dial_code(other, "*46605")  # not a member: nothing changes
        assert logged_in(srv, g["id"]) == {"201": False, "202": True}
        call = a.call("605")
        inv = m2.request("INVITE")
        nothing_rings(m1)
        a.answered(call, m2, inv)
        hang_up(a, call, m2)
        dial_code(m1, "*45605")
        assert logged_in(srv, g["id"]) == {"201": True, "202": True}
        call = a.call("605")
        inv1, inv2 = m1.request("INVITE"), m2.request("INVITE")
        c2 = ringing(m2, inv2)
        a.answered(call, m1, inv1)
        cancelled(m2, inv2, c2)
        hang_up(a, call, m1)
    finally:
        bye_all(a, m1, m2, other)
    assert last_call(srv)["answered_by"] == "201"


def test_fallback_when_nobody_answers(srv):
    # no member can ring (205 has no device): straight to the fallback extension
    group(srv, "606", ["205"], fallback_type="extension", fallback_target="204")
    # the group's timeout (5 s) cuts the member's 20 s short; no fallback: 480
    group(srv, "607", ["201"], strategy="order", ring_time=20, timeout=5)
    a, m1, d = (phone(srv, e) for e in ("200", "201", "204"))
    try:
        call = a.call("606")
        a.answered(call, d, d.request("INVITE"))
        hang_up(a, call, d)
        rec = last_call(srv)
        assert rec["answered_by"] == "204" and rec["path"] == "group:606>extension:204", rec
        t0 = time.monotonic()
        call = a.call("607")
        inv = m1.request("INVITE")
        cancelled(m1, inv, ringing(m1, inv))
        r = a.final(call, timeout=10)
        assert r.status == 480 and 4 <= time.monotonic() - t0 <= 10, r.raw_text()
    finally:
        bye_all(a, m1, d)
    rec = last_call(srv)
    assert rec["cause"] == "no_answer" and rec["answered_by"] == "", rec


def test_fallback_to_a_group_and_to_voicemail(srv):
    group(srv, "608", ["205"], fallback_type="group", fallback_target="606")  # → 204
    group(srv, "609", ["205"], fallback_type="voicemail", fallback_target="204")
    assert api(srv, "PUT", f"/voicemail/{srv.ids['204']}/settings",
               {"enabled": True}).status == 200
    a, d = phone(srv, "200"), phone(srv, "204")
    try:
        call = a.call("608")
        a.answered(call, d, d.request("INVITE"))
        hang_up(a, call, d)
        assert last_call(srv)["path"] == "group:608>group:606>extension:204"
        call = a.call("609")
        ok = a.final(call, timeout=8)  # the mailbox answers
        assert ok.status == 200 and b"m=audio" in ok.body, ok.raw_text()
        a.confirm(call, ok)
        nothing_rings(d)
        a.in_dialog(call, "BYE")
        assert a.response("BYE").status == 200
    finally:
        assert api(srv, "PUT", f"/voicemail/{srv.ids['204']}/settings",
                   {"enabled": False}).status == 200
        bye_all(a, d)
    rec = last_call(srv)
    assert rec["path"] == "group:609>voicemail:204" and rec["cause"] == "voicemail", rec


def test_api_validates_and_keeps_extensions_apart(srv):
    ok = {"extension": "650", "name": "Support", "members": [{"user_id": srv.ids["201"]}]}
    bad = [
        ({"strategy": "random"}, 400),
        ({"timeout": 4}, 400),
        ({"timeout": 601}, 400),
        ({"members": [{"user_id": srv.ids["201"], "ring_time": 4}]}, 400),
        ({"members": [{"user_id": srv.ids["201"], "ring_time": 301}]}, 400),
        ({"members": [{"user_id": 99999}]}, 400),
        ({"members": [{"user_id": srv.ids["201"]}, {"user_id": srv.ids["201"]}]}, 400),
        ({"extension": "6a0"}, 400),
        ({"extension": "201"}, 409),  # a user's
        ({"extension": "700"}, 409),  # park
        ({"fallback_type": "pager", "fallback_target": "201"}, 400),
        ({"fallback_type": "extension", "fallback_target": "299"}, 400),
        ({"fallback_type": "group", "fallback_target": "650"}, 400),  # itself
        ({"colour": "red"}, 400),
    ]
    for change, status in bad:
        r = api(srv, "POST", "/groups", {**ok, **change})
        assert r.status == status, (change, r)
    r = api(srv, "POST", "/groups", ok)
    assert r.status == 201, r
    g = r.json()
    assert g["strategy"] == "ringall" and g["timeout"] == 60 and g["fallback_type"] == "none"
    assert g["members"][0]["ring_time"] == 20 and g["members"][0]["logged_in"] is True
    assert api(srv, "POST", "/groups", ok).status == 409  # taken by a group
    # a user cannot take a group's extension
    r = api(srv, "POST", "/users", {"display_name": "x", "extension": "650",
                                    "sip_password": "a-long-sip-password"})
    assert r.status == 409, r
    r = api(srv, "PUT", f"/users/{srv.ids['205']}", {"extension": "650"})
    assert r.status == 409, r
    r = api(srv, "PUT", f"/groups/{g['id']}",
            {"strategy": "longest_idle", "timeout": 30, "fallback_type": "voicemail",
             "fallback_target": "201",
             "members": [{"user_id": srv.ids["202"], "ring_time": 10},
                         {"user_id": srv.ids["201"], "logged_in": False}]})
    assert r.status == 200, r
    g = r.json()
    assert g["strategy"] == "longest_idle" and g["timeout"] == 30
    assert [(m["extension"], m["position"], m["ring_time"], m["logged_in"])
            for m in g["members"]] == [("202", 0, 10, True), ("201", 1, 20, False)]
    assert api(srv, "PUT", f"/groups/{g['id']}", {"timeout": 0}).status == 400
    assert api(srv, "GET", f"/groups/{g['id']}").json() == g  # unchanged
    assert any(x["id"] == g["id"] for x in api(srv, "GET", "/groups").json()["groups"])
    assert api(srv, "DELETE", f"/groups/{g['id']}").status == 200
    assert api(srv, "GET", f"/groups/{g['id']}").status == 404
    assert api(srv, "DELETE", f"/groups/{g['id']}").status == 404
    r = curl("GET", srv.sbc("/acme/api/v1/groups"))
    assert r.status == 401, r
    # a user's own login is no administrator's: 403 on every method
    assert api(srv, "PUT", f"/users/{srv.ids['203']}",
               {"login_password": "carol-login-pw-1"}).status == 200
    r = curl("POST", srv.sbc("/acme/api/v1/login"),
             {"username": "203", "password": "carol-login-pw-1"})
    assert r.status == 200, r
    user = r.json()["token"]
    for method, path, body in (("GET", "", None), ("POST", "", ok), ("GET", "/1", None),
                               ("PUT", "/1", {"name": "x"}), ("DELETE", "/1", None)):
        r = curl(method, srv.sbc(f"/acme/api/v1/groups{path}"), body, token=user)
        assert r.status == 403, (method, path, r)


def test_groups_page_in_the_browser(srv):
    """tests/browser/groups.mjs: create, edit (a member logged out), the
    list in German, delete — with the mouse (a phone system of its own)."""
    from test_ui import run_browser
    srv.create_ps("teams", "teams-admin-pw")
    tok = srv.pbx_token("teams", "teams-admin-pw")
    for ext in ("301", "302"):
        srv.create_user("teams", tok, ext, f"Desk {ext}")
    run_browser("groups.mjs", srv, ZT_PS="teams", ZT_PS_PW="teams-admin-pw")
