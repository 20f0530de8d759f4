"""Call forwarding, do-not-disturb, call waiting and the caller's identity
through the SBC and the B2BUA, with sipua phones: forwarding always, on
busy, on no answer, when unavailable, to an extension and to voicemail;
loops ended with 482; the Diversion (RFC 5806), History-Info (RFC 7044) and
P-Asserted-Identity (RFC 3325) headers the callee sees, a phone's forged
identity never passed on; the feature codes *21 .. *71 set and clear each
rule (checked through the API); the call records' path and cause."""
import re
import time

import pytest

from conftest import sip_server
from pbxsetup import api, bye_all, last_call, phone

EXTS = ("201", "202", "203", "204", "205")


@pytest.fixture(scope="module")
def srv():
    s = sip_server([("acme", e) for e in EXTS], voicemail=False)
    yield s
    s.cleanup()


def forwarding(s, ext, body=None):
    r = api(s, "PUT" if body is not None else "GET", f"/users/{s.ids[ext]}/forwarding", body)
    assert r.status == 200, r
    return r.json()


def voicemail(s, ext, on):
    assert api(s, "PUT", f"/voicemail/{s.ids[ext]}/settings", {"enabled": on}).status == 200


@pytest.fixture(autouse=True)
def clean(srv):
    """Every test starts with nobody forwarding, DND off, call waiting on."""
    none = {"dnd": False, "call_waiting": True, "ring_time": 25,
            "forwards": {k: None for k in ("always", "busy", "noanswer", "unavailable")}}
    for e in EXTS:
        forwarding(srv, e, none)
    yield


def nothing_rings(p, timeout=0.5):
    try:
        m = p.recv(timeout=timeout)
    except OSError:
        return True
    assert m.method != "INVITE", m.raw_text()
    return True


def refuse(p, status=486):
    """The phone's next INVITE, answered with status; the INVITE."""
    inv = p.request("INVITE")
    p.answer(inv, status, tag="t" + inv.h("call-id")[:6])
    assert p.request("ACK")
    return inv


def test_forward_always_names_the_hop_and_asserts_the_caller(srv):
    a, b, c = phone(srv, "201"), phone(srv, "202"), phone(srv, "203")
    try:
        forwarding(srv, "202", {"forwards": {"always": {"target_type": "extension",
                                                          "target": "203"}}})
        # the caller forges an identity: it never reaches the callee
        call = a.call("202", extra="P-Asserted-Identity: \"Boss\" <sip:999@acme>\r\n"
                                   "P-Preferred-Identity: <sip:998@acme>\r\n")
        inv = refuse(c, 603)
        assert a.final(call).status == 603
        nothing_rings(b)  # forwarded always: 202's own phone never rang
        pai = inv.h("p-asserted-identity")
        assert pai == '"acme 201" <sip:201@acme>', inv.raw_text()
        assert len([1 for k, _ in inv.headers if k == "p-asserted-identity"]) == 1
        assert inv.h("p-preferred-identity") is None
        # (the forged URIs, not their digits: a random Call-ID or SDP id may hold "999")
        text = inv.raw_text()
        assert "sip:999@" not in text and "sip:998@" not in text and "Boss" not in text, text
        assert '"acme 201" <sip:201@acme>' in inv.h("from")
        div = inv.h("diversion")
        assert re.fullmatch(r'"acme 202" <sip:202@acme>;reason=unconditional;counter=1', div)
        hi = inv.h("history-info")
        assert hi == ('"acme 202" <sip:202@acme>;index=1,'
                      '"acme 203" <sip:203@acme;cause=302>;index=1.1;mp=1'), hi
        assert "<sip:203@acme>" in inv.h("to")
    finally:
        bye_all(a, b, c)
    rec = last_call(srv)
    assert rec["path"] == "extension:202>extension:203(always)", rec
    assert rec["cause"] == "declined"


def test_a_call_not_forwarded_has_no_diversion(srv):
    a, b = phone(srv, "201"), phone(srv, "202")
    try:
        call = a.call("202")
        inv = refuse(b)
        assert a.final(call).status == 486
        assert inv.h("diversion") is None and inv.h("history-info") is None
        assert inv.h("p-asserted-identity") == '"acme 201" <sip:201@acme>'
    finally:
        bye_all(a, b)


def test_forward_on_busy_then_on_busy_again(srv):
    """Two hops: each Diversion entry names its forwarder, newest first."""
    a, b, c, d = phone(srv, "201"), phone(srv, "202"), phone(srv, "203"), phone(srv, "204")
    try:
        forwarding(srv, "202", {"forwards": {"busy": {"target_type": "extension",
                                                        "target": "203"}}})
        forwarding(srv, "203", {"forwards": {"busy": {"target_type": "extension",
                                                        "target": "204"}}})
        call = a.call("202")
        refuse(b)
        inv = refuse(c)
        assert "reason=user-busy" in inv.h("diversion")
        inv = refuse(d)
        assert a.final(call).status == 486
        assert inv.h("diversion") == ('"acme 203" <sip:203@acme>;reason=user-busy;counter=1,'
                                      '"acme 202" <sip:202@acme>;reason=user-busy;counter=1')
        assert inv.h("history-info").endswith(
            '"acme 204" <sip:204@acme;cause=486>;index=1.1.1;mp=1.1')
    finally:
        bye_all(a, b, c, d)
    rec = last_call(srv)
    assert rec["path"] == "extension:202>extension:203(busy)>extension:204(busy)", rec


def test_forward_on_no_answer_after_the_ring_time(srv):
    a, b, c = phone(srv, "201"), phone(srv, "202"), phone(srv, "203")
    try:
        forwarding(srv, "202", {"ring_time": 5,
                                "forwards": {"noanswer": {"target_type": "extension",
                                                          "target": "203"}}})
        t0 = time.monotonic()
        call = a.call("202")
        inv = b.request("INVITE")
        bc = b.accept(inv)
        b.answer(inv, 180, tag=bc["tag"])
        cancel = b.request("CANCEL", timeout=8)  # the ring time is over
        assert 4.5 <= time.monotonic() - t0 < 7.5
        b.answer(cancel, 200)
        b.answer(inv, 487, tag=bc["tag"])
        inv2 = refuse(c, 603)
        assert "reason=no-answer" in inv2.h("diversion")
        assert "cause=408" in inv2.h("history-info")
        assert a.final(call).status == 603
    finally:
        bye_all(a, b, c)
    assert last_call(srv)["path"] == "extension:202>extension:203(noanswer)"


def test_forward_when_unavailable(srv):
    a, c = phone(srv, "201"), phone(srv, "203")
    try:  # 205 has no device registered
        forwarding(srv, "205", {"forwards": {"unavailable": {"target_type": "extension",
                                                               "target": "203"}}})
        call = a.call("205")
        inv = refuse(c)
        assert "reason=unavailable" in inv.h("diversion")
        assert "cause=503" in inv.h("history-info")
        assert a.final(call).status == 486
        # switched off, the caller hears 480 again
        forwarding(srv, "205", {"forwards": {"unavailable": {
            "enabled": False, "target_type": "extension", "target": "203"}}})
        assert a.final(a.call("205")).status == 480
        nothing_rings(c)
    finally:
        bye_all(a, c)


def test_forward_to_a_ring_group(srv):
    r = api(srv, "POST", "/groups", {"extension": "650", "name": "team", "strategy": "ringall",
                                     "members": [{"user_id": srv.ids["204"], "ring_time": 5}]})
    assert r.status == 201, r
    a, b, d = phone(srv, "201"), phone(srv, "202"), phone(srv, "204")
    try:
        forwarding(srv, "202", {"forwards": {"always": {"target_type": "group",
                                                          "target": "650"}}})
        call = a.call("202")
        inv = refuse(d, 603)
        nothing_rings(b)
        assert "<sip:202@acme>;reason=unconditional" in inv.h("diversion")
        assert inv.h("history-info").endswith("<sip:650@acme;cause=302>;index=1.1;mp=1")
        assert a.final(call).status in (480, 603)
    finally:
        bye_all(a, b, d)
        api(srv, "DELETE", f"/groups/{r.json()['id']}")
    assert last_call(srv)["path"].startswith("extension:202>group:650(always)")


def answered_by_pbx(a, call):
    """A call the phone system answers itself (voicemail, a feature code):
    200 with SDP, ACK; then its BYE (after the prompt) or ours."""
    ok = a.final(call, timeout=8)
    assert ok.status == 200 and b"m=audio" in ok.body, ok.raw_text()
    a.confirm(call, ok)
    return ok


def test_forward_to_voicemail_own_and_another(srv):
    a = phone(srv, "201")
    voicemail(srv, "202", True)
    voicemail(srv, "203", True)
    try:
        for target, path in (("", "voicemail:202(always)"), ("203", "voicemail:203(always)")):
            forwarding(srv, "202", {"forwards": {"always": {"target_type": "voicemail",
                                                              "target": target}}})
            call = a.call("202")
            answered_by_pbx(a, call)
            a.in_dialog(call, "BYE")
            assert a.response("BYE").status == 200
            rec = last_call(srv)
            assert rec["path"] == "extension:202>" + path, rec
            assert rec["cause"] == "voicemail"
    finally:
        voicemail(srv, "202", False)
        voicemail(srv, "203", False)
        bye_all(a)


def test_loops_end_with_482(srv):
    a, b, c, d = phone(srv, "201"), phone(srv, "202"), phone(srv, "203"), phone(srv, "204")
    try:
        to = lambda e: {"forwards": {"always": {"target_type": "extension", "target": e}}}
        forwarding(srv, "202", to("203"))
        forwarding(srv, "203", to("202"))
        r = a.final(a.call("202"))
        assert r.status == 482, r.raw_text()
        rec = last_call(srv)
        assert rec["cause"] == "forward_loop" and rec["status"] == 482, rec
        assert rec["path"] == "extension:202>extension:203(always)>extension:202(always)"
        # longer: 202 → 203 → 204 → 202
        forwarding(srv, "203", to("204"))
        forwarding(srv, "204", to("202"))
        assert a.final(a.call("202")).status == 482
        assert last_call(srv)["cause"] == "forward_loop"
        for p in (b, c, d):
            nothing_rings(p, 0.2)
    finally:
        bye_all(a, b, c, d)


def test_external_targets_need_a_trunk_and_bad_ones_are_refused(srv):
    uid = srv.ids["202"]
    for body, why in (
            ({"forwards": {"always": {"target_type": "external", "target": "+49301234"}}},
             "external numbers need a trunk"),
            ({"forwards": {"busy": {"target_type": "extension", "target": "999"}}},
             "no user has extension 999"),
            ({"forwards": {"busy": {"target_type": "extension", "target": "202"}}},
             "own extension"),
            ({"forwards": {"sometimes": None}}, "unknown kind")):
        r = api(srv, "PUT", f"/users/{uid}/forwarding", body)
        assert r.status == 400 and why in r.text, (r, body)
    assert forwarding(srv, "202")["forwards"]["always"] is None


def test_dnd_refuses_or_goes_to_voicemail(srv):
    a, b = phone(srv, "201"), phone(srv, "202")
    try:
        forwarding(srv, "202", {"dnd": True})
        r = a.final(a.call("202"))
        assert r.status == 486
        nothing_rings(b)
        voicemail(srv, "202", True)
        call = a.call("202")
        answered_by_pbx(a, call)
        a.in_dialog(call, "BYE")
        assert a.response("BYE").status == 200
        assert last_call(srv)["path"] == "extension:202>voicemail:202(dnd)"
    finally:
        voicemail(srv, "202", False)
        bye_all(a, b)


def test_call_waiting_on_rings_a_busy_user_off_refuses_or_forwards(srv):
    a, b, c, d = phone(srv, "201"), phone(srv, "202"), phone(srv, "203"), phone(srv, "204")
    try:
        call, _ = a.established(b, "202")
        # on (the default): the second call rings 202's phone
        second = c.call("202")
        refuse(b)
        assert c.final(second).status == 486
        # off: busy at once, 202's phone does not ring
        forwarding(srv, "202", {"call_waiting": False})
        assert c.final(c.call("202")).status == 486
        nothing_rings(b)
        assert last_call(srv)["cause"] == "busy"
        # off, with a forward on busy: it goes there
        forwarding(srv, "202", {"forwards": {"busy": {"target_type": "extension",
                                                        "target": "204"}}})
        third = c.call("202")
        inv = refuse(d, 603)
        assert "reason=user-busy" in inv.h("diversion")
        assert c.final(third).status == 603
        nothing_rings(b)
        # the call itself went on meanwhile
        a.in_dialog(call, "BYE")
        b.answer(b.request("BYE"), 200)
        assert a.response("BYE").status == 200
    finally:
        bye_all(a, b, c, d)


def dial_codes(*dials):
    """Dials feature codes as phones do ('#' as %23), one per phone, all at
    once: each is answered, says its prompt and the phone system hangs up."""
    calls = [(p, p.call(code.replace("#", "%23"))) for p, code in dials]
    for p, call in calls:
        answered_by_pbx(p, call)
    for p, call in calls:
        bye = p.request("BYE", timeout=8)
        p.answer(bye, 200)


def test_feature_codes_set_and_clear_every_rule(srv):
    kinds = (("21", "always"), ("67", "busy"), ("61", "noanswer"), ("62", "unavailable"))
    exts = ("201", "202", "203", "204")  # one user per kind, dialling at the same time
    ps = [phone(srv, e) for e in exts]
    rule = lambda e, k: forwarding(srv, e)["forwards"][k]
    try:
        # not codes: nothing answers them, nothing is stored
        for bad in ("*21*", "*21*2*3%23", "*21*%2", "%2321", "*21*205%2523", "*72", "*21*205"):
            r = ps[0].final(ps[0].call(bad))
            assert r.status in (400, 404), (bad, r.status)
        assert forwarding(srv, "201")["forwards"]["always"] is None
        dial_codes(*[(p, f"*{code}*205#") for p, (code, _) in zip(ps, kinds)])
        for e, (_, kind) in zip(exts, kinds):
            assert rule(e, kind) == {"enabled": True, "target_type": "extension",
                                     "target": "205"}, kind
        dial_codes(*[(p, f"*{code}**#") for p, (code, _) in zip(ps, kinds)])  # own voicemail
        for e, (_, kind) in zip(exts, kinds):
            assert rule(e, kind) == {"enabled": True, "target_type": "voicemail",
                                     "target": ""}, kind
        dial_codes(*[(p, f"#{code}#") for p, (code, _) in zip(ps, kinds)])
        for e, (_, kind) in zip(exts, kinds):
            assert rule(e, kind) is None, kind
        # 205's voicemail; a number nobody has (refused, nothing stored);
        # do-not-disturb and call waiting
        dial_codes((ps[0], "*21**205#"), (ps[1], "*61*999#"), (ps[2], "*78"), (ps[3], "*71"))
        assert rule("201", "always") == {"enabled": True, "target_type": "voicemail",
                                         "target": "205"}
        assert rule("202", "noanswer") is None
        assert forwarding(srv, "203")["dnd"] is True
        assert forwarding(srv, "204")["call_waiting"] is False
        dial_codes((ps[2], "*79"), (ps[3], "*70"))
        assert forwarding(srv, "203")["dnd"] is False
        assert forwarding(srv, "204")["call_waiting"] is True
    finally:
        bye_all(*ps)
    rec = last_call(srv)
    assert rec["cause"] == "feature_code" and rec["callee"] in ("*79", "*70"), rec
