"""Need to know over HTTP, on both stores: nothing finer than the grid leaves the service,
both sides are told the same, budgets withhold locations once spent and only the owner
raises them, and the ledger shows what each party learned (docs/disclosure.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h3.api.basic_int as h3int
import pytest
from apihelpers import Api, client_for, filing, make_api

from builders import circle_op
from deconfliction.client import ApiError
from deconfliction.store import Store
from deconfliction.store.events import AuditRepo, EventsRepo


@pytest.fixture
def api(store: Store, tmp_path: Path) -> Api:
    api = make_api(store, tmp_path)
    for party in ("RED", "BLUE", "CIV"):
        api.party(party)
    return api


def _coordinates(value: Any) -> list[tuple[float, float]]:
    """Every [lon, lat] pair anywhere in a JSON value."""
    found: list[tuple[float, float]] = []
    if isinstance(value, dict):
        for item in value.values():
            found += _coordinates(item)
    elif isinstance(value, list):
        if len(value) == 2 and all(isinstance(x, float) for x in value):
            found.append((value[0], value[1]))
        else:
            for item in value:
                found += _coordinates(item)
    return found


def _is_grid_vertex(lon: float, lat: float, resolution: int) -> bool:
    """Whether (lon, lat), as rounded on the wire, is a vertex of an H3 cell of ``resolution``."""
    cell = h3int.latlng_to_cell(lat, lon, resolution)
    near = h3int.grid_disk(cell, 1)
    return any(
        abs(v_lat - lat) < 1e-6 and abs(v_lng - lon) < 1e-6
        for c in near
        for v_lat, v_lng in h3int.cell_to_boundary(c)
    )


def _about_others(api: Api, red: Any) -> list[Any]:
    """Everything RED is told about other parties' plans: its conflicts, and its events
    and audit entries other than those of its own operations."""
    with api.store.transaction() as tx:
        events = [
            e.payload for e in tx.repo(EventsRepo).after("RED", 0) if not e.kind.startswith("operation.")
        ]
        audit = [e.body for e in tx.repo(AuditRepo).entries("RED") if not e.kind.startswith("operation.")]
    return [red.conflicts(), red.conflicts("R1"), events, audit, red.disclosures()]


def test_no_coordinate_finer_than_the_grid_leaves_the_service(api: Api) -> None:
    red, blue = client_for(api, "RED"), client_for(api, "BLUE")
    red.file_operation(filing(circle_op("RED", "R1", lon=40.0, radius_m=20_000)))
    filed = blue.file_operation(filing(circle_op("BLUE", "B1", lon=40.3, radius_m=9_000)))
    assert filed["conflicts"], "the two circles conflict"
    responses = [filed["conflicts"], *_about_others(api, red)]
    coordinates = _coordinates(json.loads(json.dumps(responses)))
    assert len(coordinates) > 20
    for lon, lat in coordinates:
        assert _is_grid_vertex(lon, lat, 6), f"({lon}, {lat}) is not a vertex of the disclosure grid"
    for overlap in filed["conflicts"][0]["overlaps"]:
        assert overlap["altitude"]["lower_ft"] % 1000 == 0
        assert overlap["altitude"]["upper_ft"] % 1000 == 0
        assert overlap["window"]["start"].endswith(("00:00Z", "15:00Z", "30:00Z", "45:00Z"))


def test_both_sides_are_told_the_same(api: Api) -> None:
    red, blue = client_for(api, "RED"), client_for(api, "BLUE")
    red.file_operation(filing(circle_op("RED", "R1", lon=40.0, radius_m=12_000)))
    blue.file_operation(filing(circle_op("BLUE", "B1", lon=40.2, radius_m=7_000, fl=(150, 300))))
    [seen_by_red], [seen_by_blue] = red.conflicts(), blue.conflicts()

    def told(view: dict[str, Any]) -> list[Any]:
        return sorted(
            (sorted(o["cells"]), o["altitude"]["lower_m"], o["altitude"]["upper_m"], o["window"]["start"])
            for o in view["overlaps"]
        )

    assert told(seen_by_red) == told(seen_by_blue)
    assert seen_by_red["window"] == seen_by_blue["window"]
    rows = {r["viewer"]: r for r in red.disclosures()["learned_by"]}
    theirs = {r["viewer"]: r for r in blue.disclosures()["learned_by"]}
    assert rows["BLUE"]["units"] == theirs["RED"]["units"] > 0
    assert rows["CIV"]["units"] == 0


def test_past_the_budget_locations_are_withheld_and_the_owner_is_told(api: Api) -> None:
    red, blue = client_for(api, "RED"), client_for(api, "BLUE")
    red.file_operation(filing(circle_op("RED", "R1", lon=40.0, radius_m=15_000)))
    blue.set_disclosure_budget("RED", 0)  # BLUE allows RED nothing new about its plans...
    red.set_disclosure_budget("BLUE", 10**6)
    probe = blue.file_operation(filing(circle_op("BLUE", "B1", lon=40.05, radius_m=1_000)))
    [seen_by_blue] = probe["conflicts"]
    assert "overlaps" in seen_by_blue  # BLUE may still learn of RED within its budget
    [seen_by_red] = red.conflicts()
    assert seen_by_red["withheld"] == "budget"
    assert seen_by_red.get("overlaps") is None
    assert seen_by_red["window"]["start"] < seen_by_red["window"]["end"]
    with api.store.transaction() as tx:
        alerts = [e for e in tx.repo(EventsRepo).after("BLUE", 0) if e.kind == "disclosure.withheld"]
        red_chain = [e.kind for e in tx.repo(AuditRepo).entries("RED")]
    assert [a.payload["viewer"] for a in alerts] == ["RED"]
    assert alerts[0].payload["operation_id"] == "R1"
    assert "disclosure.withheld" in red_chain
    # The viewer cannot raise what the owner allows it; the owner can.
    red.set_disclosure_budget("BLUE", 0)  # RED's own budget for BLUE: allowed, but not BLUE's for RED
    [row] = [r for r in blue.disclosures()["learned_by"] if r["viewer"] == "RED"]
    assert row["budget"] == 0
    blue.set_disclosure_budget("RED", 10**6)
    [again] = red.conflicts()
    assert again.get("withheld") is None
    assert again["overlaps"]


def test_budgets_and_ledgers_are_the_callers_own(api: Api) -> None:
    red = client_for(api, "RED")
    with pytest.raises(ApiError) as missing:
        red.set_disclosure_budget("GHOST", 5)
    assert missing.value.status == 404
    with pytest.raises(ApiError) as own:
        red.set_disclosure_budget("RED", 5)
    assert own.value.status == 422
    with pytest.raises(ApiError) as negative:
        red.set_disclosure_budget("BLUE", -1)
    assert negative.value.status == 422
    reader = client_for(api, "RED", "read")
    with pytest.raises(ApiError) as scope:
        reader.set_disclosure_budget("BLUE", 5)
    assert scope.value.status == 403
    assert {r["viewer"] for r in reader.disclosures()["learned_by"]} == {"BLUE", "CIV"}


def test_the_exact_rule_for_pairs_that_trust_each_other(api: Api) -> None:
    admin = client_for(api, "CIV", "admin")
    policy = admin.set_policy("RED", "BLUE", disclosure={"rule": "exact"})
    assert policy["disclosure"] == {"rule": "exact", "resolution": None, "band_ft": None, "slot_s": None}
    red, blue = client_for(api, "RED"), client_for(api, "BLUE")
    red.file_operation(filing(circle_op("RED", "R1")))
    blue.file_operation(filing(circle_op("BLUE", "B1", lon=40.05)))
    [seen] = red.conflicts()
    assert seen["disclosure"]["rule"] == "exact"
    assert seen["window"] == {"start": "2026-01-01T05:57:30Z", "end": "2026-01-01T08:02:30Z"}
    assert seen["overlaps"][0].get("cells") is None
    grid = admin.set_policy(
        "RED", "BLUE", disclosure={"rule": "grid", "resolution": 5, "band": {"value": 500, "units": "ft"}}
    )
    assert grid["disclosure"] == {"rule": "grid", "resolution": 5, "band_ft": 500.0, "slot_s": 900.0}
    with pytest.raises(ApiError) as bad:
        admin.set_policy("RED", "BLUE", disclosure={"rule": "grid", "resolution": 12})
    assert bad.value.status == 422
    assert "grid.resolution" in str(bad.value)
