"""Every party against every other party's objects on every platform endpoint: 404, nothing changed.

Three parties — two rivals and a civil ANSP — each file operations that conflict with
both others' (so every pair has a conflict reference). Each party then tries, with a
token holding every scope, to read, change, move and acknowledge what belongs to the
others, using the real ids, current versions and references. Every attempt must answer
404 exactly as for an id that does not exist, and the store must be unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apihelpers import Api, filing, make_api, wire_volumes

from builders import circle_op
from deconfliction.store import PartyKind, Store
from deconfliction.store.events import AuditRepo, EventsRepo

PARTIES = ("RED", "BLUE", "CIV")


def _snapshot(api: Api) -> dict[str, Any]:
    with api.store.transaction() as tx:
        return {
            "ops": [(o.party, o.id, o.version, o.state.value, o.priority) for o in tx.list_operations()],
            "conflicts": {p: len(tx.conflicts_of(p)) for p in PARTIES},
            "events": {p: tx.repo(EventsRepo).last_seq(p) for p in PARTIES},
            "audit": {p: tx.repo(AuditRepo).head(p) for p in PARTIES},
        }


@pytest.fixture
def world(store: Store, tmp_path: Path) -> tuple[Api, dict[str, dict[str, str]], dict[str, Any]]:
    api = make_api(store, tmp_path)
    api.party("RED")
    api.party("BLUE")
    api.party("CIV", PartyKind.CIVIL, "ar")
    headers = {p: api.headers(p, "read,file,message,admin") for p in PARTIES}
    # Two operations each, all within a few km: every pair of parties conflicts. One of
    # each party's operations is accepted so activate/end have something to act on.
    for n, party in enumerate(PARTIES):
        for k in range(2):
            op = circle_op(party, f"{party}-op{k}", lon=40.0 + 0.01 * n + 0.005 * k)
            r = api.client.post("/v1/operations", headers=headers[party], json=filing(op, purpose="secret"))
            assert r.status_code == 201, r.text
        r = api.client.post(f"/v1/operations/{party}-op1/accept", headers=headers[party], json={"version": 1})
        assert r.status_code == 200, r.text
    refs: dict[str, Any] = {}
    for party in PARTIES:
        conflicts = api.client.get("/v1/conflicts", headers=headers[party]).json()
        refs[party] = {(c["other_party"], c["reference"]) for c in conflicts}
        assert {other for other, _ in refs[party]} == set(PARTIES) - {party}
    return api, headers, refs


def _attempts(api: Api, owner: str, headers: dict[str, str]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every owned endpoint, aimed at ``owner``'s objects with valid bodies."""
    out: list[tuple[str, str, dict[str, Any] | None]] = []
    with api.store.transaction() as tx:
        ops = tx.list_operations(owner)
    for op in ops:
        base = f"/v1/operations/{op.id}"
        v = {"version": op.version}
        moved = wire_volumes(circle_op(owner, op.id, lon=45.0))
        out += [
            ("GET", base, None),
            ("GET", f"{base}/conflicts", None),
            ("PUT", base, {**v, "priority": 77}),
            ("PUT", base, {**v, "volumes": moved}),
            ("POST", f"{base}/accept", v),
            ("POST", f"{base}/activate", v),
            ("POST", f"{base}/end", v),
            ("POST", f"{base}/cancel", v),
        ]
    return out


def test_no_party_reaches_another_partys_objects(
    world: tuple[Api, dict[str, dict[str, str]], dict[str, Any]],
) -> None:
    api, headers, refs = world
    before = _snapshot(api)
    tried = 0
    for actor in PARTIES:
        for owner in PARTIES:
            if owner == actor:
                continue
            for method, path, body in _attempts(api, owner, headers[owner]):
                r = api.client.request(method, path, headers=headers[actor], json=body)
                assert r.status_code == 404, (actor, method, path, r.status_code, r.text)
                assert r.json()["error"]["type"] == "NotFound"
                tried += 1
        # references of conflicts between the two other parties
        for owner in PARTIES:
            for other, reference in refs[owner]:
                if actor in (owner, other):
                    continue
                r = api.client.post(f"/v1/conflicts/{reference}/acknowledge", headers=headers[actor])
                assert r.status_code == 404, (actor, reference)
                tried += 1
    # 3 actors x 2 owners x 2 operations x 8 calls, plus each actor x the other pair's 4
    # conflict references as each of its 2 parties lists them
    assert tried == 3 * 2 * 2 * 8 + 3 * 2 * 4
    assert _snapshot(api) == before


def test_a_foreign_id_answers_like_a_missing_one(
    world: tuple[Api, dict[str, dict[str, str]], dict[str, Any]],
) -> None:
    api, headers, _ = world
    foreign = api.client.get("/v1/operations/BLUE-op0", headers=headers["RED"]).json()
    missing = api.client.get("/v1/operations/NO-SUCH-op0", headers=headers["RED"]).json()
    assert foreign["error"]["type"] == missing["error"]["type"] == "NotFound"
    # the message names only the id asked for and the caller, never the owner
    assert "BLUE" not in foreign["error"]["message"].replace("BLUE-op0", "")


def test_lists_show_only_own_objects(world: tuple[Api, dict[str, dict[str, str]], dict[str, Any]]) -> None:
    api, headers, _ = world
    for party in PARTIES:
        ops = api.client.get("/v1/operations", headers=headers[party]).json()
        assert {o["party"] for o in ops} == {party}
        for conflict in api.client.get("/v1/conflicts", headers=headers[party]).json():
            assert conflict["operation_id"].startswith(f"{party}-")
            assert conflict["other_party"] != party
            assert "secret" not in str(conflict)
        with api.store.transaction() as tx:
            events = tx.repo(EventsRepo).after(party, 0)
        for event in events:
            text = str(event.payload)
            for other in set(PARTIES) - {party}:
                assert f"{other}-op" not in text, (party, event.kind)
