"""Operations over HTTP: filing, versions, lifecycle, lead time, need-to-know notices."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import shapely
from apihelpers import Api, client_for, filing, make_api, wire_volumes

from builders import circle_op
from deconfliction.client import ApiError, Client
from deconfliction.geo.frame import GEOD
from deconfliction.geo.grid import DEFAULT_GRID
from deconfliction.store import Store
from deconfliction.store.events import AuditRepo, EventsRepo
from deconfliction.units import NAUTICAL_MILE_M

SECRET_PURPOSE = "strike on target ALPHA at dawn"


@pytest.fixture
def api(store: Store, tmp_path: Path) -> Api:
    api = make_api(store, tmp_path)
    for party in ("RED", "BLUE", "CIV"):
        api.party(party)
    return api


def _events(api: Api, party: str) -> list[Any]:
    with api.store.transaction() as tx:
        return tx.repo(EventsRepo).after(party, 0)


def _audit(api: Api, party: str) -> list[Any]:
    with api.store.transaction() as tx:
        return tx.repo(AuditRepo).entries(party)


def test_file_show_list_and_stale_version(api: Api) -> None:
    red = client_for(api, "RED")
    filed = red.file_operation(filing(circle_op("RED", "R1"), purpose="training"))
    op = filed["operation"]
    assert (op["party"], op["id"], op["version"], op["state"]) == ("RED", "R1", 1, "proposed")
    assert op["purpose"] == "training"
    assert op["notice"]["lead_s"] == 86_400  # filed a day before it starts
    assert op["notice"]["late"] is False
    assert filed["conflicts"] == []
    assert red.operation("R1")["volumes"] == wire_volumes(circle_op("RED", "R1"))
    assert [o["id"] for o in red.operations()] == ["R1"]
    assert red.operations(["accepted"]) == []
    with pytest.raises(ApiError) as taken:
        red.file_operation(filing(circle_op("RED", "R1")))
    assert taken.value.status == 409
    changed = red.update_operation("R1", 1, priority=5)
    assert changed["operation"]["version"] == 2
    assert changed["operation"]["purpose"] == "training"  # kept
    with pytest.raises(ApiError) as empty:
        red.update_operation("R1", 2)
    assert empty.value.status == 422
    with pytest.raises(ApiError) as stale:
        red.update_operation("R1", 1, priority=6)
    assert stale.value.status == 409
    assert stale.value.type == "StaleVersion"
    assert red.operation("R1")["priority"] == 5
    accepted = red.accept("R1", 2)
    assert accepted["operation"]["state"] == "accepted"
    with pytest.raises(ApiError) as wrong:
        red.end("R1", 3)  # accepted -> ended is not a transition
    assert wrong.value.type == "InvalidTransition"
    assert red.activate("R1", 3)["operation"]["state"] == "activated"
    assert red.end("R1", 4)["operation"]["state"] == "ended"
    with pytest.raises(ApiError) as final:
        red.update_operation("R1", 5, priority=1)
    assert final.value.status == 409
    assert final.value.type == "InvalidTransition"
    # (each accept and activation also publishes the operation to USSs: f3548.bridge.*)
    kinds = [e.kind for e in _audit(api, "RED") if e.kind.startswith("operation.")]
    assert kinds[-5:] == [
        "operation.filed",
        "operation.updated",
        "operation.accepted",
        "operation.activated",
        "operation.ended",
    ]


def test_conflict_notices_carry_only_the_overlap(api: Api) -> None:
    red, blue = client_for(api, "RED"), client_for(api, "BLUE")
    red.file_operation(filing(circle_op("RED", "R1", lon=40.0)))
    blue_op = circle_op("BLUE", "blue-secret-op", lon=40.12, radius_m=8000.0)
    filed = blue.file_operation(filing(blue_op, purpose=SECRET_PURPOSE, affiliation="BLUE 3rd wing"))
    [seen_by_blue] = filed["conflicts"]
    assert seen_by_blue["other_party"] == "RED"
    assert seen_by_blue["operation_id"] == "blue-secret-op"
    assert seen_by_blue["reference"].startswith("CX-")

    [seen_by_red] = red.conflicts()
    assert seen_by_red["reference"] == seen_by_blue["reference"]
    assert seen_by_red["other_party"] == "BLUE"
    assert seen_by_red["operation_id"] == "R1"
    assert seen_by_red["acknowledged"] is False
    # both windows are 06:00-08:00; the overlap window is grown by half the 300 s buffer
    # (05:57:30-08:02:30), then out to the default grid's 15-minute slots
    assert seen_by_red["window"] == {"start": "2026-01-01T05:45:00Z", "end": "2026-01-01T08:15:00Z"}
    assert seen_by_red["disclosure"] == {"rule": "grid", "resolution": 6, "band_ft": 1000.0, "slot_s": 900.0}
    # Nothing RED receives names BLUE's operation, purpose or affiliation, or its footprint.
    [notice] = [e for e in _events(api, "RED") if e.kind == "conflict.notice"]
    for text in (json.dumps(notice.payload), json.dumps(red.conflicts()), json.dumps(red.conflicts("R1"))):
        for secret in ("blue-secret-op", SECRET_PURPOSE, "3rd wing", "40.12", "8000"):
            assert secret not in text
    assert notice.payload["conflict"]["other_party"] == "BLUE"
    assert notice.payload["notice"]["lead_s"] == 86_400
    # The region lies within the grid cells that RED's own footprint, grown by half the
    # horizontal minimum, touches: it tells RED nothing about where BLUE flies outside
    # the area RED itself claims, to the grid's grain.
    reach_m = 5000 + 2.5 * NAUTICAL_MILE_M + DEFAULT_GRID.reach_m
    for overlap in seen_by_red["overlaps"]:
        region = shapely.geometry.shape(overlap["region"])
        lons, lats = zip(*shapely.get_coordinates(region).tolist(), strict=True)
        _, _, dist = GEOD.inv([40.0] * len(lons), [35.0] * len(lats), lons, lats)
        assert max(dist) <= reach_m
    # Both chains record the notice with the same body; CIV heard nothing.
    red_entry = next(e for e in _audit(api, "RED") if e.kind == "conflict.notice")
    blue_entry = next(e for e in _audit(api, "BLUE") if e.kind == "conflict.notice")
    assert red_entry.body_hash == blue_entry.body_hash
    assert red_entry.body == {"reference": seen_by_red["reference"], "parties": ["BLUE", "RED"]}
    assert [e.kind for e in _events(api, "CIV")] == []


def test_visibility_levels_per_side(api: Api) -> None:
    admin = client_for(api, "CIV", "admin")
    admin.set_policy("RED", "BLUE", sees={"RED": "reference", "BLUE": "window"})
    red, blue = client_for(api, "RED"), client_for(api, "BLUE")
    red.file_operation(filing(circle_op("RED", "R1")))
    blue.file_operation(filing(circle_op("BLUE", "B1", lon=40.05)))
    [r] = red.conflicts()
    assert r["visibility"] == "reference"
    assert r.get("window") is None
    assert r.get("overlaps") is None
    [b] = blue.conflicts()
    assert b["visibility"] == "window"
    assert b["window"] is not None
    assert all(o.get("region") is None for o in b["overlaps"])
    assert all("altitude" in o for o in b["overlaps"])
    [notice] = [e for e in _events(api, "RED") if e.kind == "conflict.notice"]
    assert "overlaps" not in notice.payload["conflict"]


def test_late_filing_is_accepted_flagged_and_recorded(api: Api) -> None:
    admin = client_for(api, "CIV", "admin")
    admin.set_policy("RED", "BLUE", min_lead_s=2 * 86_400)
    red, blue = client_for(api, "RED"), client_for(api, "BLUE")
    blue.file_operation(filing(circle_op("BLUE", "B1", lon=40.05)))
    filed = red.file_operation(filing(circle_op("RED", "R1")))
    notice = filed["operation"]["notice"]
    assert notice == {
        "filed_at": "2025-12-31T06:00:00Z",
        "lead_s": 86_400.0,
        "late": True,
        "late_for": ["BLUE"],
    }
    assert red.operation("R1")["notice"] == notice
    [event] = [e for e in _events(api, "BLUE") if e.kind == "conflict.notice"]
    assert event.payload["notice"]["late_for"] == ["BLUE"]
    filed_entry = next(e for e in _audit(api, "RED") if e.kind == "operation.filed")
    assert filed_entry.body["notice"]["late_for"] == ["BLUE"]


def test_moving_away_clears_and_both_sides_hear(api: Api) -> None:
    red, blue = client_for(api, "RED"), client_for(api, "BLUE")
    red.file_operation(filing(circle_op("RED", "R1")))
    blue.file_operation(filing(circle_op("BLUE", "B1", lon=40.05)))
    [before] = red.conflicts()
    moved = blue.update_operation("B1", 1, volumes=wire_volumes(circle_op("BLUE", "B1", lon=42.0)))
    assert moved["conflicts"] == []
    assert red.conflicts() == []
    for party in ("RED", "BLUE"):
        kinds = [e.kind for e in _events(api, party)]
        assert kinds == ["conflict.notice", "conflict.cleared"]
        cleared = _events(api, party)[-1].payload
        assert cleared["reference"] == before["reference"]


def test_awareness_needs_a_fresh_acknowledgement_per_version(api: Api) -> None:
    red, blue = client_for(api, "RED"), client_for(api, "BLUE")
    red.file_operation(filing(circle_op("RED", "R1")))
    red.accept("R1", 1)
    blue.file_operation(filing(circle_op("BLUE", "B1", lon=40.05), purpose=SECRET_PURPOSE))
    with pytest.raises(ApiError) as refused:
        red.activate("R1", 2)
    assert refused.value.status == 409
    assert refused.value.type == "AwarenessRequired"
    assert refused.value.details is not None
    [listed] = refused.value.details
    assert listed["other_party"] == "BLUE"
    assert SECRET_PURPOSE not in json.dumps(refused.value.details)
    assert "B1" not in json.dumps(refused.value.details)
    assert red.operation("R1")["state"] == "accepted"  # nothing changed

    ack = red.acknowledge(listed["reference"])
    assert ack["new"] is True
    assert red.acknowledge(listed["reference"])["new"] is False  # idempotent
    assert red.conflicts()[0]["acknowledged"] is True
    # the other side changes its version: the old acknowledgement no longer covers it
    blue.update_operation("B1", 1, priority=9)
    with pytest.raises(ApiError) as again:
        red.activate("R1", 2)
    assert again.value.type == "AwarenessRequired"
    [fresh] = again.value.details or []
    assert fresh["reference"] != listed["reference"]
    assert fresh["acknowledged"] is False
    # both sides heard that the reference changed, and from what
    for party in ("RED", "BLUE"):
        changed = [e for e in _events(api, party) if e.kind == "conflict.changed"]
        assert [(e.payload["previous_reference"], e.payload["reference"]) for e in changed] == [
            (listed["reference"], fresh["reference"])
        ]
    with pytest.raises(ApiError) as old_ref:
        red.acknowledge(listed["reference"])
    assert old_ref.value.status == 404
    red.acknowledge(fresh["reference"])
    activated = red.activate("R1", 2)
    assert activated["operation"]["state"] == "activated"
    # acknowledgements are in both chains, with the same body
    red_acks = [e for e in _audit(api, "RED") if e.kind == "conflict.acknowledged"]
    blue_acks = [e for e in _audit(api, "BLUE") if e.kind == "conflict.acknowledged"]
    assert len(red_acks) == len(blue_acks) == 2
    assert [e.body_hash for e in red_acks] == [e.body_hash for e in blue_acks]
    assert "conflict.acknowledged" in [e.kind for e in _events(api, "BLUE")]


def test_unrelated_party_cannot_acknowledge(api: Api) -> None:
    red, blue, civ = client_for(api, "RED"), client_for(api, "BLUE"), client_for(api, "CIV")
    red.file_operation(filing(circle_op("RED", "R1")))
    blue.file_operation(filing(circle_op("BLUE", "B1", lon=40.05)))
    [conflict] = red.conflicts()
    with pytest.raises(ApiError) as hidden:
        civ.acknowledge(conflict["reference"])
    assert hidden.value.status == 404


_BAD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"volumes": []}, "id"),
    ({"id": "X1", "volumes": []}, "volumes"),
    ({"id": "bad id!", "volumes": "VOLS"}, "id"),
    ({"id": "X1", "volumes": "VOLS", "colour": "red"}, "colour"),
    ({"id": "X1", "volumes": "VOLS", "priority": 101}, "priority"),
]


@pytest.mark.parametrize(("body", "field"), _BAD_BODIES)
def test_schema_invalid_bodies_are_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    headers = api.headers("RED")
    if body.get("volumes") == "VOLS":
        body = {**body, "volumes": wire_volumes(circle_op("RED", "X1"))}
    r = api.client.post("/v1/operations", headers=headers, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    with api.store.transaction() as tx:
        assert tx.count_operations() == 0


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("footprint", "radius", "units"), "furlong", "volumes[0].footprint.radius.units"),
        (("footprint", "radius", "value"), -5, "volumes[0].footprint.radius"),
        (("altitude", "units"), "cubits", "volumes[0].altitude.units"),
        (("time", "start"), "2026-01-01T06:00:00", "volumes[0].time.start"),
        (("time", "end"), "2025-01-01T00:00:00Z", "volumes[0].time.end"),
        (("geometry", "coordinates"), [200.0, 35.0], "volumes[0].geometry.coordinates[0]"),
        (("geometry", "type"), "Polygon", "volumes[0].geometry.type"),
    ],
)
def test_rule_breaking_volumes_are_422_naming_the_field(
    api: Api, path: tuple[str, ...], value: Any, field: str
) -> None:
    body = filing(circle_op("RED", "X1"))
    target = body["volumes"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    r = api.client.post("/v1/operations", headers=api.headers("RED"), json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    with api.store.transaction() as tx:
        assert tx.count_operations() == 0
    assert _events(api, "RED") == []


def test_oversized_payload_is_413_and_nothing_stored(store: Store, tmp_path: Path) -> None:
    api = make_api(store, tmp_path, max_body_bytes=2000)
    api.party("RED")
    body = filing(circle_op("RED", "X1"), purpose="x" * 1900)
    r = api.client.post("/v1/operations", headers=api.headers("RED"), json=body)
    assert r.status_code == 413
    with api.store.transaction() as tx:
        assert tx.count_operations() == 0


def test_read_scope_cannot_file(api: Api) -> None:
    reader = client_for(api, "RED", "read")
    with pytest.raises(ApiError) as denied:
        reader.file_operation(filing(circle_op("RED", "X1")))
    assert denied.value.status == 403
    assert reader.operations() == []


def test_client_refreshes_an_expired_token(api: Api) -> None:
    red: Client = client_for(api, "RED", "read")
    assert red.operations() == []
    api.clock.advance(timedelta(hours=1))  # the server's clock: the token has expired
    assert red.operations() == []  # 401, new token, retried


def test_a_batch_files_all_with_notices_audit_and_events(api: Api) -> None:
    red, blue = client_for(api, "RED"), client_for(api, "BLUE")
    blue.file_operation(filing(circle_op("BLUE", "B1", lon=40.0)))
    plan = [
        filing(circle_op("RED", "R1", lon=40.05), purpose="training"),
        filing(circle_op("RED", "R2", lon=42.0)),
        filing(circle_op("RED", "R3", lon=39.95)),
    ]
    outcomes = red.file_operations(plan)
    assert [o["operation"]["id"] for o in outcomes] == ["R1", "R2", "R3"]
    assert outcomes[0]["operation"]["purpose"] == "training"
    assert [len(o["conflicts"]) for o in outcomes] == [1, 0, 1]
    # each outcome is what the operation's own conflicts say, and what filing one gives
    for outcome in outcomes:
        assert outcome["conflicts"] == red.conflicts(outcome["operation"]["id"])
    single = red.file_operation(filing(circle_op("RED", "R4", lon=40.05)))
    assert [c["overlaps"] for c in single["conflicts"]] == [c["overlaps"] for c in outcomes[0]["conflicts"]]
    # BLUE heard of both conflicts; both chains recorded them; RED's filings are audited
    assert len([e for e in _events(api, "BLUE") if e.kind == "conflict.notice"]) == 3
    assert [e.kind for e in _audit(api, "RED")].count("operation.filed") == 4
    assert len(blue.conflicts("B1")) == 3


def _batch_snapshot(api: Api) -> tuple[int, int, int]:
    with api.store.transaction() as tx:
        count = tx.count_operations()
    return count, len(_events(api, "BLUE")), len(_audit(api, "RED"))


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        (
            lambda b: b["operations"][2]["volumes"][0]["footprint"]["radius"].update(value=-5),
            422,
            "operations[2].volumes[0].footprint.radius",
        ),
        (lambda b: b["operations"][1].update(id="bad id!"), 422, "operations[1].id"),
        (lambda b: b["operations"][2].update(id="R1"), 422, "operations[2].id"),
        (lambda b: b["operations"][0].update(purpose="x" * 2001), 422, "operations[0].purpose"),
        (lambda b: b.update(operations=[]), 422, "operations"),
        (lambda b: b.update(operations=b["operations"] * 334), 422, "operations"),
        (lambda b: b["operations"][2].update(id="B1-mine"), 409, None),
    ],
)
def test_a_batch_with_one_bad_operation_files_none_and_names_it(
    api: Api, change: Any, status: int, field: str | None
) -> None:
    blue = client_for(api, "BLUE")
    blue.file_operation(filing(circle_op("BLUE", "B1")))
    red = client_for(api, "RED")
    red.file_operation(filing(circle_op("RED", "B1-mine", lon=42.0)))
    before = _batch_snapshot(api)
    body = {"operations": [filing(circle_op("RED", f"R{k}", lon=40.0 + 0.01 * k)) for k in range(3)]}
    change(body)
    r = api.client.post("/v1/operations/batch", headers=api.headers("RED"), json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    if field is not None:
        assert error["field"] == field
    else:
        assert error["type"] == "AlreadyExists"
        assert error["message"].startswith("operations[2]: ")
    assert _batch_snapshot(api) == before


def test_a_batch_files_only_for_the_caller(api: Api) -> None:
    """A batch names no party: the ids are the caller's own even where another party uses
    them, and nothing of the other party's changes."""
    blue = client_for(api, "BLUE")
    blue.file_operation(filing(circle_op("BLUE", "B1", lon=42.0)))
    before = blue.operation("B1")
    outcomes = client_for(api, "RED").file_operations([filing(circle_op("RED", "B1", lon=40.0))])
    assert outcomes[0]["operation"]["party"] == "RED"
    assert blue.operation("B1") == before
    assert [o["id"] for o in blue.operations()] == ["B1"]
    reader = client_for(api, "CIV", "read")
    with pytest.raises(ApiError) as denied:
        reader.file_operations([filing(circle_op("CIV", "C1"))])
    assert denied.value.status == 403


def test_a_batch_costs_one_request_per_operation_against_the_rate(store: Store, tmp_path: Path) -> None:
    api = make_api(store, tmp_path, rate_per_s=1.0, rate_burst=5)
    api.party("RED")
    headers = api.headers("RED")  # the token request takes one: 4 left
    plan = {"operations": [filing(circle_op("RED", f"R{k}", lon=40.0 + 0.1 * k)) for k in range(10)]}
    assert api.client.post("/v1/operations/batch", headers=headers, json=plan).status_code == 201
    # 4 - 10 = -6: the next request waits (1 - -6) / 1 = 7 s
    limited = api.client.get("/v1/operations", headers=headers)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    api.clock.advance(timedelta(seconds=7))
    assert len(api.client.get("/v1/operations", headers=headers).json()) == 10
