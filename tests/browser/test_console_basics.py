"""The console is served, signs a party in, and shows the map and its own operations."""

from __future__ import annotations

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
