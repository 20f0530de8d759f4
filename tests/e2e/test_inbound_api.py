"""Inbound numbers (/api/v1/inbound-numbers) and the phonebook
(/api/v1/phonebook) of a phone system: numbers read as people type them and
stored in E.164 with the phone system's numbering, DID blocks of one length,
overlaps on any trunk refused (409), targets that must exist, a trunk's
numbers gone with it; phonebook entries with their derived E.164 and a
bounded search; both the administrator's only; hostile bodies are 400, never
500; the UI pages in a browser."""
import os
import sqlite3

import pytest

from conftest import curl, sip_server
from pbxsetup import api

PS = "inb-co"


@pytest.fixture(scope="module")
def srv():
    s = sip_server([(PS, "100"), (PS, "101"), (PS, "102")])
    r = api(s, "PUT", "/numbering", {"country_code": "49", "area_code": "30"})
    assert r.status == 200, r
    r = api(s, "POST", "/groups", {"extension": "600", "name": "Sales",
                                    "members": [{"user_id": s.ids["100"]}]})
    assert r.status == 201, r
    # 102's mailbox is switched off: it is no voicemail target
    r = api(s, "PUT", f"/voicemail/{s.ids['102']}/settings", {"enabled": False})
    assert r.status == 200, r
    s.trunk = api(s, "POST", "/trunks", {"name": "carrier", "kind": "peer",
                                         "peers": ["203.0.113.5"]}).json()["id"]
    s.trunk2 = api(s, "POST", "/trunks", {"name": "other", "kind": "peer",
                                          "peers": ["203.0.113.6"]}).json()["id"]
    yield s
    s.cleanup()


def add(s, number, target_type="extension", target="100", trunk=None, range_end=None):
    body = {"trunk_id": trunk or s.trunk, "number": number, "target_type": target_type,
            "target": target}
    if range_end is not None:
        body["range_end"] = range_end
    return api(s, "POST", "/inbound-numbers", body)


def numbers(s):
    r = api(s, "GET", "/inbound-numbers")
    assert r.status == 200, r
    return r.json()["numbers"]


def clear(s):
    for n in numbers(s):
        assert api(s, "DELETE", f"/inbound-numbers/{n['id']}").status == 200


def test_numbers_are_stored_in_e164_and_listed_by_number(srv):
    clear(srv)
    r = add(srv, "030 1234-5")
    assert r.status == 201, r
    a = r.json()
    assert a["number"] == "+493012345" and a["range_end"] == "", a
    assert a["trunk_id"] == srv.trunk and a["target_type"] == "extension" and a["target"] == "100"
    r = add(srv, "0049 30 5550", "group", "600", range_end="+49 30 5559")
    assert r.status == 201, r
    assert (r.json()["number"], r.json()["range_end"]) == ("+49305550", "+49305559"), r
    r = add(srv, "+44 20 7946 0000", "voicemail", "101", trunk=srv.trunk2)
    assert r.status == 201, r
    listed = numbers(srv)
    assert [n["number"] for n in listed] == ["+442079460000", "+493012345", "+49305550"]
    assert api(srv, "GET", f"/inbound-numbers/{a['id']}").json() == a
    # a PUT changes what it names; what GET shows can be sent back
    r = api(srv, "PUT", f"/inbound-numbers/{a['id']}", {"target": "101"})
    assert r.status == 200 and r.json()["target"] == "101" and r.json()["number"] == \
        "+493012345", r
    assert api(srv, "PUT", f"/inbound-numbers/{a['id']}", r.json()).status == 200
    r = api(srv, "PUT", f"/inbound-numbers/{a['id']}", {"number": "12346"})  # local
    assert r.status == 200 and r.json()["number"] == "+493012346", r
    assert api(srv, "DELETE", f"/inbound-numbers/{a['id']}").status == 200
    assert api(srv, "GET", f"/inbound-numbers/{a['id']}").status == 404
    assert api(srv, "DELETE", f"/inbound-numbers/{a['id']}").status == 404
    assert api(srv, "PUT", f"/inbound-numbers/{a['id']}", {"target": "100"}).status == 404


def test_overlaps_on_any_trunk_are_409(srv):
    clear(srv)
    assert add(srv, "+4930700100", range_end="+4930700199").status == 201
    single = add(srv, "+4930800000")
    assert single.status == 201
    for number, end, trunk in (("+4930700100", None, None), ("+4930700199", None, None),
                               ("+4930700150", None, srv.trunk2),
                               ("+4930700000", "+4930700100", None),
                               ("+4930700199", "+4930700299", srv.trunk2),
                               ("+4930700120", "+4930700130", None),
                               ("+4930700000", "+4930799999", None),
                               ("030 800000", None, srv.trunk2)):
        r = add(srv, number, range_end=end, trunk=trunk)
        assert r.status == 409 and "carrier" in r.json()["error"], (number, end, r)
    # next to the block, and numbers of another length, are free
    for number, end in (("+4930700200", "+4930700299"), ("+4930700099", None),
                        ("+493070010", None), ("+49307001000", None)):
        r = add(srv, number, range_end=end)
        assert r.status == 201, (number, r)
    # an entry does not overlap itself when it is changed
    r = api(srv, "PUT", f"/inbound-numbers/{single.json()['id']}", {"target": "101"})
    assert r.status == 200, r
    assert len(numbers(srv)) == 6


BAD = [
    ({"trunk_id": 999999}, "trunk_id"),
    ({"trunk_id": "1"}, "trunk_id"),
    ({"trunk_id": 2 ** 62}, "trunk_id"),
    ({"number": ""}, "number"),
    ({"number": "hello"}, "number"),
    ({"number": "+49 30 12x"}, "number"),
    ({"number": "+4930123456789012"}, "number"),
    ({"number": 4930123}, "number"),
    ({"number": "1" * 10000}, "number"),
    ({"range_end": "+4930"}, "range_end"),
    ({"range_end": "+4930900000"}, "range_end"),  # below number
    ({"range_end": "+4930900100"}, "range_end"),  # equal
    ({"range_end": "abc"}, "range_end"),
    ({"target_type": "ivr"}, "target_type"),
    ({"target_type": ""}, "target_type"),
    ({"target": "999"}, "target"),
    ({"target": ""}, "target"),
    ({"target_type": "group", "target": "100"}, "target"),
    ({"target_type": "group", "target": "601"}, "target"),
    ({"target_type": "voicemail", "target": "102"}, "target"),  # mailbox off
    ({"target_type": "voicemail", "target": "600"}, "target"),
    ({"name": "Main line"}, "unknown key"),
]


@pytest.mark.parametrize("change,word", BAD, ids=[w + str(i) for i, (_, w) in enumerate(BAD)])
def test_a_bad_field_is_400_and_nothing_is_written(srv, change, word):
    before = numbers(srv)
    body = {"trunk_id": srv.trunk, "number": "+4930900100", "target_type": "extension",
            "target": "100", **change}
    r = api(srv, "POST", "/inbound-numbers", body)
    assert r.status == 400 and word in r.json()["error"], r
    assert numbers(srv) == before


def test_a_national_number_needs_the_country_code(srv):
    assert api(srv, "PUT", "/numbering", {"country_code": ""}).status == 200
    try:
        r = add(srv, "030 4444")
        assert r.status == 400 and "country code" in r.json()["error"], r
        r = add(srv, "+49 30 4444")
        assert r.status == 201 and r.json()["number"] == "+49304444", r
    finally:
        assert api(srv, "PUT", "/numbering", {"country_code": "49"}).status == 200


def test_hostile_bodies_are_400_never_500(srv):
    url = srv.sbc(f"/{PS}/api/v1/inbound-numbers")
    tok = srv.tokens[PS]
    for body in ("{", "[]", "null", '"x"', "[" * 5000 + "]" * 5000,
                 '{"number": "+4930\\u0000123", "trunk_id": 1}',
                 '{"trunk_id": 1, "trunk_id": 2}',
                 '{"number": ' + '"' + "9" * 100000 + '"}'):
        for path in ("", "/1"):
            r = curl("POST" if not path else "PUT", url + path, body, token=tok)
            assert r.status in (400, 404), (body[:40], r)
            assert r.status == 400 or path, (body[:40], r)
        r = curl("POST", srv.sbc(f"/{PS}/api/v1/phonebook"), body, token=tok)
        assert r.status == 400, (body[:40], r)
    # a body over the HTTP limit gets HTTP's own answer
    r = curl("POST", url, token=tok, raw='{"number": "' + "1" * (2 << 20) + '"}')
    assert r.status == 413, r


def test_deleting_the_trunk_deletes_its_numbers(srv):
    t = api(srv, "POST", "/trunks", {"name": "short-lived", "kind": "peer",
                                     "peers": ["203.0.113.7"]}).json()["id"]
    assert add(srv, "+4989111", trunk=t).status == 201
    assert add(srv, "+4989200", range_end="+4989299", trunk=t).status == 201
    assert sum(n["trunk_id"] == t for n in numbers(srv)) == 2
    assert api(srv, "DELETE", f"/trunks/{t}").status == 200
    assert sum(n["trunk_id"] == t for n in numbers(srv)) == 0
    db = sqlite3.connect(os.path.join(srv.data, f"phone-systems/{PS}/pbx.db"))
    assert db.execute("SELECT count(*) FROM trunk_numbers WHERE trunk_id=?", (t,)).fetchone() \
        == (0,)
    db.close()
    # and its number is free again
    assert add(srv, "+4989111").status == 201


def test_phonebook_entries_keep_the_number_as_typed(srv):
    r = api(srv, "POST", "/phonebook", {"name": "Müller GmbH", "number": "030 98765-0"})
    assert r.status == 201, r
    m = r.json()
    assert (m["name"], m["number"], m["e164"]) == ("Müller GmbH", "030 98765-0",
                                                   "+4930987650"), m
    r = api(srv, "POST", "/phonebook", {"name": "Ahmed", "number": "+44 20 7946 0958",
                                        "e164": "+1999"})  # e164 is derived, never taken
    assert r.status == 201 and r.json()["e164"] == "+442079460958", r
    r = api(srv, "POST", "/phonebook", {"name": "Pizza", "number": "ask Tony"})
    assert r.status == 201 and r.json()["e164"] == "", r
    pizza = r.json()
    assert api(srv, "GET", f"/phonebook/{m['id']}").json() == m
    r = api(srv, "PUT", f"/phonebook/{m['id']}", {"number": "+49 40 1234"})
    assert r.status == 200 and r.json()["e164"] == "+49401234" and r.json()["name"] == \
        "Müller GmbH", r
    assert api(srv, "PUT", f"/phonebook/{m['id']}", r.json()).status == 200
    names = [e["name"] for e in api(srv, "GET", "/phonebook").json()["entries"]]
    assert names == ["Ahmed", "Müller GmbH", "Pizza"], names
    assert api(srv, "DELETE", f"/phonebook/{pizza['id']}").status == 200
    assert api(srv, "GET", f"/phonebook/{pizza['id']}").status == 404
    assert api(srv, "DELETE", f"/phonebook/{pizza['id']}").status == 404


def search(s, q, **extra):
    from urllib.parse import urlencode
    return api(s, "GET", "/phonebook?" + urlencode({"q": q, **extra}))


def test_phonebook_search_by_name_and_number(srv):
    for i in range(5):
        assert api(srv, "POST", "/phonebook", {"name": f"Search {i}",
                                               "number": f"+49 89 55{i}"}).status == 201
    assert [e["name"] for e in search(srv, "müller").json()["entries"]] == ["Müller GmbH"]
    assert [e["name"] for e in search(srv, "Müller").json()["entries"]] == ["Müller GmbH"]
    assert [e["name"] for e in search(srv, "GMBH").json()["entries"]] == ["Müller GmbH"]
    assert [e["name"] for e in search(srv, "7946").json()["entries"]] == ["Ahmed"]
    assert [e["name"] for e in search(srv, "+4989553").json()["entries"]] == ["Search 3"]
    # a number in another form than the entry's finds it by E.164
    assert [e["name"] for e in search(srv, "040 1234").json()["entries"]] == ["Müller GmbH"]
    assert [e["name"] for e in search(srv, "0044 20 7946").json()["entries"]] == ["Ahmed"]
    assert len(search(srv, "search").json()["entries"]) == 5
    assert search(srv, "nobody").json()["entries"] == []
    got = search(srv, "search", limit=2, offset=1).json()["entries"]
    assert [e["name"] for e in got] == ["Search 1", "Search 2"]
    assert search(srv, "%").json()["entries"] == []  # no LIKE patterns
    assert search(srv, "x" * 65).status == 400
    assert search(srv, "x" * 5000).status == 400
    assert search(srv, "a\nb").status == 400
    assert search(srv, "", limit=201).status == 400
    assert search(srv, "", limit=0).status == 400


def test_phonebook_search_is_bounded(srv):
    db = sqlite3.connect(os.path.join(srv.data, f"phone-systems/{PS}/pbx.db"), timeout=10)
    db.executemany("INSERT INTO phonebook(name, number, e164, created) VALUES(?, ?, '', 0)",
                   [(f"Bulk {i:04d}", str(i)) for i in range(250)])
    db.commit()
    try:
        got = search(srv, "Bulk").json()["entries"]
        assert len(got) == 200 and got[0]["name"] == "Bulk 0000"
        assert len(api(srv, "GET", "/phonebook").json()["entries"]) == 200
    finally:
        db.execute("DELETE FROM phonebook WHERE name LIKE 'Bulk %'")
        db.commit()
        db.close()


PB_BAD = [
    ({"name": ""}, "name"),
    ({"name": "x" * 129}, "name"),
    ({"name": "a\tb"}, "name"),
    ({"name": 5}, "name"),
    ({"number": ""}, "number"),
    ({"number": "1" * 33}, "number"),
    ({"number": "030\r\n123"}, "number"),
    ({"number": None}, "number"),
    ({"email": "a@b"}, "unknown key"),
]


@pytest.mark.parametrize("change,word", PB_BAD, ids=[w + str(i) for i, (_, w) in
                                                    enumerate(PB_BAD)])
def test_a_bad_phonebook_entry_is_400(srv, change, word):
    before = api(srv, "GET", "/phonebook").json()["entries"]
    r = api(srv, "POST", "/phonebook", {"name": "Bad", "number": "030 1", **change})
    assert r.status == 400 and word in r.json()["error"], r
    assert api(srv, "GET", "/phonebook").json()["entries"] == before


def test_a_name_of_128_characters_is_taken(srv):
    r = api(srv, "POST", "/phonebook", {"name": "ß" * 128, "number": "1"})
    assert r.status == 201 and r.json()["name"] == "ß" * 128, r
    assert api(srv, "DELETE", f"/phonebook/{r.json()['id']}").status == 200


def test_users_and_strangers_are_refused(srv):
    r = api(srv, "POST", "/users", {"display_name": "Lou", "extension": "150",
                                    "sip_password": "lou-sip-password-1",
                                    "login_password": "lou-login-pw-1"})
    assert r.status == 201, r
    r = curl("POST", srv.sbc(f"/{PS}/api/v1/login"), {"username": "150",
                                                      "password": "lou-login-pw-1"})
    assert r.status == 200 and r.json()["role"] == "user", r
    tok = r.json()["token"]
    for path in ("/inbound-numbers", "/inbound-numbers/1", "/phonebook", "/phonebook/1",
                 "/phonebook?q=a"):
        for method in ("GET", "POST", "PUT", "DELETE"):
            r = curl(method, srv.sbc(f"/{PS}/api/v1{path}"), {} if method in ("POST", "PUT")
                     else None, token=tok)
            assert r.status == 403, (method, path, r)
            assert curl(method, srv.sbc(f"/{PS}/api/v1{path}")).status == 401


def test_method_and_id_errors(srv):
    assert api(srv, "PATCH", "/inbound-numbers").status == 405
    assert api(srv, "GET", "/inbound-numbers/0").status == 404
    assert api(srv, "GET", "/inbound-numbers/x").status == 404
    assert api(srv, "GET", "/phonebook/-1").status == 404
    assert api(srv, "PATCH", "/phonebook/1").status == 405


def test_inbound_and_phonebook_pages_in_the_browser(srv):
    """tests/browser/inbound.mjs: on the Trunks page add inbound numbers
    (one refused with its reason) and phonebook entries with the mouse,
    search the phonebook, both sections in German, delete them."""
    from test_ui import run_browser
    srv.create_ps("inb-ui", "inb-ui-admin-pw")
    srv.tokens["inb-ui"] = srv.pbx_token("inb-ui", "inb-ui-admin-pw")
    uid = srv.create_user("inb-ui", srv.tokens["inb-ui"], "100", "Uta Ui")["id"]
    for path, body in (("/numbering", {"country_code": "49", "area_code": "30"}),
                       ("/groups", {"extension": "600", "name": "Sales",
                                    "members": [{"user_id": uid}]}),
                       ("/trunks", {"name": "carrier", "kind": "peer",
                                    "peers": ["203.0.113.5"]})):
        r = api(srv, "PUT" if path == "/numbering" else "POST", path, body, ps="inb-ui")
        assert r.status in (200, 201), r
    run_browser("inbound.mjs", srv, ZT_PS="inb-ui", ZT_PS_PW="inb-ui-admin-pw")
