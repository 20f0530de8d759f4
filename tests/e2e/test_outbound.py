"""Outbound routes and numbering through the API (/api/v1/outbound-routes,
/api/v1/numbering): create, read, change, order and delete routes with
their dial patterns, strip, prepend and trunks; every refusal of bad
input (400, nothing changed); the numbering settings with their
defaults (00, 0, 110 and 112 always)."""
import pytest

from conftest import sip_server
from pbxsetup import api


@pytest.fixture(scope="module")
def srv():
    s = sip_server([("acme", "200")], voicemail=False)
    yield s
    s.cleanup()


def routes(s):
    r = api(s, "GET", "/outbound-routes")
    assert r.status == 200, r
    return r.json()["routes"]


def test_routes_crud_and_order(srv):
    assert routes(srv) == []
    r = api(srv, "POST", "/outbound-routes",
            {"name": "national", "patterns": ["0.", "+49."], "strip": 1})
    assert r.status == 201, r
    a = r.json()
    assert a["patterns"] == ["0.", "+49."] and a["strip"] == 1
    assert a["prepend"] == "" and a["trunks"] == [] and a["position"] == 1
    r = api(srv, "POST", "/outbound-routes",
            {"name": "emergency", "patterns": ["11[02]"], "prepend": ""})
    assert r.status == 201, r
    b = r.json()
    assert b["position"] == 2
    assert [x["id"] for x in routes(srv)] == [a["id"], b["id"]]
    r = api(srv, "PUT", "/outbound-routes/order", {"order": [b["id"], a["id"]]})
    assert r.status == 200, r
    assert [x["id"] for x in r.json()["routes"]] == [b["id"], a["id"]]
    r = api(srv, "PUT", f"/outbound-routes/{a['id']}", {"prepend": "+49", "strip": 0})
    assert r.status == 200, r
    assert r.json()["prepend"] == "+49" and r.json()["name"] == "national"
    assert api(srv, "GET", f"/outbound-routes/{a['id']}").json()["strip"] == 0
    assert api(srv, "DELETE", f"/outbound-routes/{b['id']}").status == 200
    assert api(srv, "DELETE", f"/outbound-routes/{b['id']}").status == 404
    assert api(srv, "GET", f"/outbound-routes/{b['id']}").status == 404
    assert [x["id"] for x in routes(srv)] == [a["id"]]
    assert api(srv, "DELETE", f"/outbound-routes/{a['id']}").status == 200


@pytest.mark.parametrize("body", [
    {"patterns": ["0."]},                                # no name
    {"name": "x"},                                       # no patterns
    {"name": "x", "patterns": []},
    {"name": "x", "patterns": ["0.1"]},                  # '.' only last
    {"name": "x", "patterns": ["0A"]},
    {"name": "x", "patterns": ["[5-1]"]},
    {"name": "x", "patterns": ["0."], "strip": -1},
    {"name": "x", "patterns": ["0."], "strip": 21},
    {"name": "x", "patterns": ["0."], "prepend": "+49a"},
    {"name": "x", "patterns": ["0."], "trunks": [999]},  # no such trunk
    {"name": "x", "patterns": ["0."], "trunks": "1"},
    {"name": "x", "patterns": ["0."], "colour": "red"},  # unknown key
    ["0."],
])
def test_bad_routes_refused(srv, body):
    r = api(srv, "POST", "/outbound-routes", body)
    assert r.status == 400, r
    assert routes(srv) == []


def test_order_must_name_every_route_once(srv):
    a = api(srv, "POST", "/outbound-routes", {"name": "a", "patterns": ["0."]}).json()
    b = api(srv, "POST", "/outbound-routes", {"name": "b", "patterns": ["+."]}).json()
    for order in ([a["id"]], [a["id"], a["id"]], [a["id"], 999], "x"):
        r = api(srv, "PUT", "/outbound-routes/order", {"order": order})
        assert r.status == 400, (order, r)
    assert [x["id"] for x in routes(srv)] == [a["id"], b["id"]]
    assert api(srv, "PUT", f"/outbound-routes/{a['id']}", {"patterns": ["Q"]}).status == 400
    assert api(srv, "PUT", "/outbound-routes/999", {"name": "z"}).status == 404
    for x in (a, b):
        api(srv, "DELETE", f"/outbound-routes/{x['id']}")


def test_numbering(srv):
    r = api(srv, "GET", "/numbering")
    assert r.status == 200, r
    n = r.json()
    assert n["international_prefix"] == "00" and n["national_prefix"] == "0"
    assert n["country_code"] == "" and set(n["emergency"]) == {"110", "112"}
    r = api(srv, "PUT", "/numbering", {"country_code": "49", "area_code": "30",
                                       "emergency": ["19222"], "premium": ["0900", "0137"]})
    assert r.status == 200, r
    n = r.json()
    assert n["country_code"] == "49" and n["area_code"] == "30"
    assert n["emergency"] == ["110", "112", "19222"] and n["premium"] == ["0900", "0137"]
    for bad in ({"country_code": "+49"}, {"country_code": "1234"}, {"area_code": "3a"},
                {"national_prefix": 0}, {"emergency": ["1"]}, {"premium": [""]},
                {"emergency": "112"}, {"dial": "0"}):
        r = api(srv, "PUT", "/numbering", bad)
        assert r.status == 400, (bad, r)
    assert api(srv, "GET", "/numbering").json() == n


def test_users_outbound_keys(srv):
    uid = srv.ids["200"]
    u = api(srv, "GET", f"/users/{uid}").json()
    assert u["outbound_class"] == "international" and u["caller_id"] == "" and u["clir"] is False
    r = api(srv, "PUT", f"/users/{uid}",
            {"outbound_class": "internal", "caller_id": "+4930123456", "clir": True})
    assert r.status == 200, r
    u = r.json()
    assert (u["outbound_class"], u["caller_id"], u["clir"]) == ("internal", "+4930123456", True)
    for bad in ({"outbound_class": "world"}, {"caller_id": "030 12"}, {"caller_id": 5},
                {"clir": 1}, {"outbound_class": "national", "caller_id": "x"}):
        r = api(srv, "PUT", f"/users/{uid}", bad)
        assert r.status == 400, (bad, r)
    g = api(srv, "GET", f"/users/{uid}").json()  # nothing of a refusal written
    assert (g["outbound_class"], g["caller_id"], g["clir"]) == ("internal", "+4930123456", True)
    r = api(srv, "POST", "/users", {"display_name": "Carol", "extension": "250",
                                    "outbound_class": "premium", "clir": False})
    assert r.status == 201, r
    assert r.json()["outbound_class"] == "premium"
    assert api(srv, "DELETE", f"/users/{r.json()['id']}").status == 200
    api(srv, "PUT", f"/users/{uid}", {"outbound_class": "international", "caller_id": "",
                                      "clir": False})
