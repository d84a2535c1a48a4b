"""Admin routes: admin scope only; parties, desks, credentials, pair policies."""

from __future__ import annotations

from pathlib import Path

import pytest
from apihelpers import Api, make_api

from deconfliction.store import Store
from deconfliction.store.events import AuditRepo


@pytest.fixture
def api(store: Store, tmp_path: Path) -> Api:
    api = make_api(store, tmp_path)
    api.party("OPS")
    return api


def test_admin_routes_need_the_admin_scope(api: Api) -> None:
    plain = api.headers("OPS", "read,file,message")
    for method, path in [
        ("get", "/v1/admin/parties"),
        ("post", "/v1/admin/parties"),
        ("get", "/v1/admin/credentials"),
        ("put", "/v1/admin/policies/OPS/X"),
    ]:
        r = api.client.request(method, path, headers=plain, json={})
        assert r.status_code == 403, (method, path)
    assert api.client.get("/v1/admin/parties").status_code == 401


def test_admin_sets_up_parties_desks_credentials_and_policies(api: Api) -> None:
    admin = api.headers("OPS", "admin")
    r = api.client.post(
        "/v1/admin/parties",
        headers=admin,
        json={"id": "RED", "name": "Red", "kind": "military", "language": "ru"},
    )
    assert r.status_code == 201, r.text
    api.client.post("/v1/admin/parties", headers=admin, json={"id": "BLUE", "name": "Blue"})
    again = api.client.post("/v1/admin/parties", headers=admin, json={"id": "RED", "name": "Red"})
    assert again.status_code == 409
    r = api.client.post(
        "/v1/admin/parties/RED/desks",
        headers=admin,
        json={"id": "night", "language": "ar", "escalation": ["duty"]},
    )
    assert r.status_code == 201, r.text
    desks = api.client.get("/v1/admin/parties/RED/desks", headers=admin).json()
    assert [(d["id"], d["language"], d["escalation"]) for d in desks] == [
        ("duty", "ru", []),
        ("night", "ar", ["duty"]),
    ]
    bad = api.client.post(
        "/v1/admin/parties/RED/desks",
        headers=admin,
        json={"id": "x", "language": "en", "escalation": ["nope"]},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "escalation[0]"

    issued = api.client.post(
        "/v1/admin/credentials", headers=admin, json={"party": "RED", "scopes": ["read"]}
    )
    assert issued.status_code == 201
    cred = issued.json()
    token = api.client.post(
        "/v1/auth/token", json={"client_id": cred["client_id"], "client_secret": cred["client_secret"]}
    )
    assert token.status_code == 200
    listed = api.client.get("/v1/admin/credentials?party=RED", headers=admin).json()
    assert listed == [{"client_id": cred["client_id"], "party": "RED", "scopes": ["read"], "active": True}]
    revoked = api.client.post(f"/v1/admin/credentials/{cred['client_id']}/revoke", headers=admin)
    assert revoked.json()["active"] is False
    token = api.client.post(
        "/v1/auth/token", json={"client_id": cred["client_id"], "client_secret": cred["client_secret"]}
    )
    assert token.status_code == 401

    r = api.client.put(
        "/v1/admin/policies/RED/BLUE",
        headers=admin,
        json={
            "minima": {"horizontal": {"value": 3, "units": "nm"}, "vertical": {"value": 1000, "units": "ft"}},
            "min_lead_s": 1800,
            "sees": {"RED": "window"},
        },
    )
    assert r.status_code == 200, r.text
    policy = r.json()
    assert policy["parties"] == ["BLUE", "RED"]
    assert policy["min_lead_s"] == 1800
    assert policy["sees"] == {"BLUE": "overlap", "RED": "window"}
    assert policy["minima"]["horizontal_m"] == pytest.approx(5556.0)
    # a party reads its own terms with "read"
    red = api.headers("RED", "read")
    mine = api.client.get("/v1/policies", headers=red).json()
    assert [p["parties"] for p in mine] == [["BLUE", "RED"], ["OPS", "RED"]]
    # recorded in both parties' chains, with the same body
    with api.store.transaction() as tx:
        red_entry = tx.repo(AuditRepo).entries("RED")[-1]
        blue_entry = tx.repo(AuditRepo).entries("BLUE")[-1]
    assert red_entry.kind == blue_entry.kind == "policy.set"
    assert red_entry.body_hash == blue_entry.body_hash


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"min_lead_s": -1}, "min_lead_s"),
        ({"sees": {"RED": "everything"}}, "sees.RED"),
        ({"sees": {"OPS": "overlap"}}, "sees"),
        ({"minima": {"horizontal": {"value": 0, "units": "nm"}}}, "minima.horizontal"),
        ({"minima": {"horizontal": {"value": 3, "units": "furlong"}}}, "minima.horizontal.units"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_policy_is_422_and_changes_nothing(api: Api, body: dict[str, object], field: str) -> None:
    admin = api.headers("OPS", "admin")
    api.party("RED")
    api.party("BLUE")
    before = api.client.get("/v1/admin/policies/RED/BLUE", headers=admin).json()
    r = api.client.put("/v1/admin/policies/RED/BLUE", headers=admin, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert api.client.get("/v1/admin/policies/RED/BLUE", headers=admin).json() == before


def test_policy_of_unknown_party_is_404(api: Api) -> None:
    admin = api.headers("OPS", "admin")
    assert api.client.put("/v1/admin/policies/OPS/NOPE", headers=admin, json={}).status_code == 404


def test_admin_links_a_uss_to_a_party(api: Api) -> None:
    admin = api.headers("OPS", "admin")
    plain = api.headers("OPS", "read,file,message")
    assert api.client.put("/v1/admin/uss/uss1", json={"party": "OPS"}).status_code == 401
    assert api.client.put("/v1/admin/uss/uss1", headers=plain, json={"party": "OPS"}).status_code == 403
    assert api.client.get("/v1/admin/uss", headers=plain).status_code == 403
    assert api.client.delete("/v1/admin/uss/uss1", headers=plain).status_code == 403
    missing = api.client.put("/v1/admin/uss/uss1", headers=admin, json={"party": "NOBODY"})
    assert missing.status_code == 404
    for body, field in (
        ({}, "party"),
        ({"party": ""}, "party"),
        ({"party": 7}, "party"),
        ({"party": "OPS", "more": 1}, "more"),
        ({"party": "P" * 65}, "party"),
    ):
        bad = api.client.put("/v1/admin/uss/uss1", headers=admin, json=body)
        assert bad.status_code == 422, body
        assert bad.json()["error"]["field"] == field, bad.text
    assert api.client.get("/v1/admin/uss", headers=admin).json() == []
    linked = api.client.put("/v1/admin/uss/uss1", headers=admin, json={"party": "OPS"})
    assert linked.status_code == 200, linked.text
    assert linked.json() == {"client_id": "uss1", "party": "OPS"}
    assert api.client.get("/v1/admin/uss", headers=admin).json() == [{"client_id": "uss1", "party": "OPS"}]
    with api.store.transaction() as tx:
        [entry] = [e for e in tx.repo(AuditRepo).entries("OPS") if e.kind == "f3548.uss.linked"]
    assert entry.body == {"client_id": "uss1", "party": "OPS"}
    assert api.client.delete("/v1/admin/uss/uss1", headers=admin).status_code == 204
    assert api.client.delete("/v1/admin/uss/uss1", headers=admin).status_code == 404
    assert api.client.get("/v1/admin/uss", headers=admin).json() == []
