"""Plausibility limits over HTTP: profile, admin routes, 422s naming limit and field,
and nothing stored (filing from many threads at once: test_limits_socket.py)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from apihelpers import Api, filing, make_api

from builders import circle_op, moved
from deconfliction.engine.limits import KM2H_M2S, operation_claim_m2s
from deconfliction.engine.operation import Operation
from deconfliction.geo import AltitudeBand, Circle, Polygon, Position, TimeWindow, Volume4D
from deconfliction.store import Store
from deconfliction.store.events import AuditRepo, EventsRepo

ONE_KM2H = operation_claim_m2s(circle_op("RED", "R0")) / KM2H_M2S  # one circle_op, ~157 km²·h


@pytest.fixture
def api(store: Store, tmp_path: Path) -> Api:
    api = make_api(store, tmp_path)
    for party in ("RED", "BLUE"):
        api.party(party)
    return api


def _wide(op_id: str, half_km: float | None = None) -> Operation:
    """One volume over eastern Syria, 0-60,000 ft, all day: a circle of 282 km (about
    250,000 km², the most a footprint may cover), or a square ``2 * half_km`` across."""
    square = (
        Circle(Position(35.0, 40.0), 282_000.0)
        if half_km is None
        else Polygon(tuple(moved(35.0, 40.0, b, half_km * 1000 * math.sqrt(2)) for b in (45, 135, 225, 315)))
    )
    start = circle_op("RED", "x").volumes[0].window.start
    volume = Volume4D(
        square,
        AltitudeBand.parse(0, 60_000, "ft", "MSL"),
        TimeWindow(start, start.replace(hour=23, minute=59)),
    )
    return Operation("RED", op_id, (volume,))


def _stored(api: Api) -> tuple[int, int, int]:
    with api.store.transaction() as tx:
        return (
            tx.count_operations(),
            len(tx.repo(AuditRepo).entries("RED")),
            len(tx.repo(EventsRepo).after("BLUE", 0)),
        )


def _error(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "LimitExceeded"
    return error


def test_a_party_sees_its_limits_and_what_it_holds(api: Api) -> None:
    headers = api.headers("RED", "read,file")
    r = api.client.get("/v1/limits", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "party": "RED",
        "limits": {
            "max_volume_area_km2": 20_000,
            "max_altitude_span_ft": 60_000,
            "max_duration_h": 24,
            "max_volumes": 64,
            "max_claim_km2h": 1_500_000,
        },
        "set_by_operator": [],
        "held_km2h": 0,
        "left_km2h": 1_500_000,
    }
    assert api.client.post("/v1/operations", headers=headers, json=filing(circle_op("RED", "R1"))).is_success
    held = api.client.get("/v1/limits", headers=headers).json()
    assert held["held_km2h"] == pytest.approx(ONE_KM2H, abs=1e-3)
    assert held["left_km2h"] == pytest.approx(1_500_000 - ONE_KM2H, abs=1e-3)
    assert api.client.get("/v1/limits").status_code == 401


def test_the_admin_sets_limits_in_edge_units_and_null_restores_a_default(api: Api) -> None:
    admin = api.headers("BLUE", "admin")
    body = {
        "max_volume_area_km2": 5000,
        "max_altitude_span_ft": 30_000,
        "max_duration_h": 6,
        "max_volumes": 8,
    }
    r = api.client.put("/v1/admin/parties/RED/limits", headers=admin, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["limits"] == {**body, "max_claim_km2h": 1_500_000}
    assert r.json()["set_by_operator"] == sorted(body)
    r = api.client.put("/v1/admin/parties/RED/limits", headers=admin, json={"max_volumes": None})
    assert r.json()["limits"]["max_volumes"] == 64
    assert r.json()["limits"]["max_duration_h"] == 6  # not named: kept
    assert api.client.get("/v1/admin/parties/RED/limits", headers=admin).json() == r.json()
    mine = api.client.get("/v1/limits", headers=api.headers("RED", "read")).json()
    assert mine == r.json()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"max_volume_area_km2": 0}, 422, "max_volume_area_km2"),
        ({"max_duration_h": -1}, 422, "max_duration_h"),
        ({"max_claim_km2h": 1e300}, 422, "max_claim_km2h"),
        ({"max_volumes": 65}, 422, "max_volumes"),
        ({"max_volumes": 2.5}, 422, "max_volumes"),
        ({"max_volumes": True}, 422, "max_volumes"),
        ({"max_volumes": "8"}, 422, "max_volumes"),
        ({"max_altitude_span_ft": "high"}, 422, "max_altitude_span_ft"),
        ({"held_km2h": 0}, 422, "held_km2h"),
    ],
)
def test_bad_limits_are_refused_naming_the_field(
    api: Api, body: dict[str, Any], status: int, field: str
) -> None:
    r = api.client.put("/v1/admin/parties/RED/limits", headers=api.headers("BLUE", "admin"), json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["field"] == field


def test_only_an_admin_sets_limits_and_an_unknown_party_is_404(api: Api) -> None:
    r = api.client.put("/v1/admin/parties/RED/limits", headers=api.headers("RED", "read,file"), json={})
    assert r.status_code == 403
    r = api.client.put(
        "/v1/admin/parties/NOPE/limits", headers=api.headers("BLUE", "admin"), json={"max_volumes": 3}
    )
    assert r.status_code == 404
    assert (
        api.client.get("/v1/admin/parties/NOPE/limits", headers=api.headers("BLUE", "admin")).status_code
        == 404
    )


def test_one_wide_filing_gets_422_naming_the_limit_and_stores_nothing(api: Api) -> None:
    api.client.post("/v1/operations", headers=api.headers("BLUE"), json=filing(circle_op("BLUE", "B1")))
    before = _stored(api)
    r = api.client.post("/v1/operations", headers=api.headers("RED"), json=filing(_wide("W1")))
    error = _error(r)
    assert error["field"] == "volumes[0].footprint"
    assert error["message"].startswith("area 249,")
    assert error["message"].endswith("km² exceeds this party's limit of 20,000 km² per volume")
    assert _stored(api) == before  # no operation, no audit entry, no notice to BLUE


def test_a_batch_with_one_operation_beyond_a_limit_files_none(api: Api) -> None:
    before = _stored(api)
    plan = [filing(circle_op("RED", f"R{k}", lon=40 + k)) for k in range(5)]
    plan[3] = filing(_wide("W3", half_km=75.0))  # 22,500 km²
    r = api.client.post("/v1/operations/batch", headers=api.headers("RED"), json={"operations": plan})
    error = _error(r)
    assert error["field"] == "operations[3].volumes[0].footprint"
    assert "exceeds this party's limit of 20,000 km² per volume" in error["message"]
    assert _stored(api) == before


def test_growing_an_operation_past_the_space_time_limit_gets_422(api: Api) -> None:
    api.client.put(
        "/v1/admin/parties/RED/limits",
        headers=api.headers("BLUE", "admin"),
        json={"max_claim_km2h": 2 * ONE_KM2H},
    )
    red = api.headers("RED")
    assert api.client.post("/v1/operations", headers=red, json=filing(circle_op("RED", "R1"))).is_success
    assert api.client.post(
        "/v1/operations", headers=red, json=filing(circle_op("RED", "R2", lon=41))
    ).is_success
    before = _stored(api)
    grown = filing(circle_op("RED", "R1", hours=2.5))
    r = api.client.put("/v1/operations/R1", headers=red, json={"version": 1, "volumes": grown["volumes"]})
    error = _error(r)
    assert error["field"] == "volumes"
    assert "over its limit of 314 km²·h held at once" in error["message"]
    assert _stored(api) == before
    assert api.client.get("/v1/operations/R1", headers=red).json()["version"] == 1
    # cancelling R2 frees room for the same change
    assert api.client.post("/v1/operations/R2/cancel", headers=red, json={"version": 1}).is_success
    r = api.client.put("/v1/operations/R1", headers=red, json={"version": 1, "volumes": grown["volumes"]})
    assert r.status_code == 200, r.text
