"""The console is served, signs a party in, and shows the map and its own operations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_helpers import served_store, shot_dir, sign_in

from deconfliction.client import Client
from served import Server


def _filing(op_id: str, lon: float, start: datetime, hours: float = 2) -> dict[str, Any]:
    return {
        "id": op_id,
        "priority": 10,
        "purpose": f"purpose of {op_id}",
        "volumes": [
            {
                "geometry": {"type": "Point", "coordinates": [lon, 35.0]},
                "footprint": {"kind": "circle", "radius": {"value": 20, "units": "km"}},
                "altitude": {"lower": 100, "upper": 200, "units": "FL"},
                "time": {
                    "start": start.isoformat().replace("+00:00", "Z"),
                    "end": (start + timedelta(hours=hours)).isoformat().replace("+00:00", "Z"),
                },
            }
        ],
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with served_store(tmp_path_factory.mktemp("console")) as server:
        yield server


def test_console_is_served_with_a_same_origin_policy(served: Server) -> None:
    r = httpx.get(f"{served.url}/console", follow_redirects=False)
    assert r.status_code == 308
    assert r.headers["location"] == "/console/"
    page = httpx.get(f"{served.url}/console/")
    assert page.status_code == 200
    assert "<html" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self';" in csp
    vendored = httpx.get(f"{served.url}/console/vendor/leaflet-1.9.4.js")
    assert vendored.status_code == 200
    assert httpx.get(f"{served.url}/console/../pyproject.toml").status_code == 404


def test_sign_in_shows_party_map_and_own_operations(served: Server, browser: Any, tmp_path: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    blue_id, blue_secret = served.credentials["BLUE"]
    red_id, red_secret = served.credentials["RED"]
    with Client(served.url, blue_id, blue_secret) as blue, Client(served.url, red_id, red_secret) as red:
        blue.file_operation(_filing("B-BASIC", 40.0, start))
        red.file_operation(_filing("R-BASIC", 40.1, start))
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{served.url}/console/")
        page.fill("#client-id", red_id)
        page.fill("#client-secret", "wrong")
        page.click("#signin button[type=submit]")
        # (wait_for_function would need 'unsafe-eval', which the console's policy forbids)
        page.wait_for_selector("#signin-error:not(:empty)")
        assert page.is_visible("#signin-view")
        sign_in(page, served.url, red_id, red_secret)
        assert page.text_content("#who-party") == "RED"
        page.wait_for_selector("#op-list [data-operation='R-BASIC']")
        assert page.locator("[data-operation='B-BASIC']").count() == 0
        # the base layer (Natural Earth) is drawn, the scale bar is there
        page.wait_for_selector(".leaflet-overlay-pane canvas", state="attached")
        assert page.locator(".leaflet-control-scale").count() == 1
        page.click("#tab-conflicts")
        page.wait_for_selector("#conflict-list li")
        assert page.locator("#conflict-list li").count() == 1
        assert "BLUE" in page.text_content("#conflict-list li")
        assert "B-BASIC" not in page.content()
        page.wait_for_selector("#live[data-state=live]")
        page.screenshot(path=str(shot_dir(tmp_path) / "basics-red-conflicts.png"))
        assert errors == []
    finally:
        context.close()


def _click_map(page: Any, dx: float, dy: float) -> None:
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)


def test_every_footprint_drawn_or_typed_and_filed(served: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    client_id, secret = served.credentials["BLUE"]
    try:
        sign_in(page, served.url, client_id, secret)
        drawn = {
            "polygon": [(-60, -40), (60, -40), (0, 50)],
            "corridor": [(-80, 0), (0, 30), (80, 0)],
            "racetrack": [(-50, 60), (50, 60)],
        }
        for kind, clicks in drawn.items():
            page.click("#new-operation")
            page.fill("#f-id", f"B-{kind}")
            page.select_option("#f-kind", kind)
            for dx, dy in clicks:
                _click_map(page, dx, dy)
            page.click("#file-submit")
            page.wait_for_selector(f"[data-operation='B-{kind}']")
        page.click("#new-operation")
        page.fill("#f-id", "B-arc")
        page.select_option("#f-kind", "arc_sector")
        page.fill("#f-points", "40.2 35.3")
        page.dispatch_event("#f-points", "input")
        page.fill("#f-end_bearing_deg", "120")
        page.select_option("#f-alt-units", "ft")
        page.select_option("#f-datum", "AGL")
        page.fill("#f-lower", "0")
        page.fill("#f-upper", "1500")
        page.click("#file-submit")
        page.wait_for_selector("[data-operation='B-arc']")
    finally:
        context.close()
    with Client(served.url, client_id, secret) as blue:
        stored = {op["id"]: op["volumes"][0] for op in blue.operations()}
    polygon = stored["B-polygon"]["geometry"]
    assert polygon["type"] == "Polygon"
    assert len(polygon["coordinates"][0]) == 4  # three clicks, closed
    assert stored["B-corridor"]["geometry"]["type"] == "LineString"
    assert len(stored["B-corridor"]["geometry"]["coordinates"]) == 3
    assert len(stored["B-racetrack"]["geometry"]["coordinates"]) == 2
    arc = stored["B-arc"]
    assert arc["geometry"]["coordinates"] == [40.2, 35.3]
    assert arc["footprint"]["end_bearing_deg"] == 120
    assert arc["altitude"]["datum"] == "AGL"


def test_geojson_import_files_the_partys_own_plan_all_or_none(
    served: Server, browser: Any, tmp_path: Path
) -> None:
    def feature(party: str, op_id: str, lon: float) -> dict[str, Any]:
        volume = _filing(op_id, lon, datetime(2031, 6, 1, 8, tzinfo=UTC))["volumes"][0]
        properties = {
            "party": party,
            "operation_id": op_id,
            **{k: volume[k] for k in ("footprint", "altitude", "time")},
        }
        return {"type": "Feature", "geometry": volume["geometry"], "properties": properties}

    foreign = tmp_path / "foreign.geojson"
    foreign.write_text(
        json.dumps(
            {"type": "FeatureCollection", "features": [feature("RED", "X-1", 41), feature("BLUE", "I-0", 41)]}
        )
    )
    own = tmp_path / "own.geojson"
    own.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [feature("RED", "I-1", 41), feature("RED", "I-2", 41.3)],
            }
        )
    )
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    client_id, secret = served.credentials["RED"]
    try:
        sign_in(page, served.url, client_id, secret)
        page.set_input_files("#import-file", str(foreign))
        page.wait_for_selector("#ops-error:has-text('not an operation of RED')")
        page.set_input_files("#import-file", str(own))
        page.wait_for_selector("[data-operation='I-2']")
    finally:
        context.close()
    with Client(served.url, client_id, secret) as red:
        ids = {op["id"] for op in red.operations()}
    assert {"I-1", "I-2"} <= ids
    assert "X-1" not in ids
