"""The duty desks' scenario, end to end, in two browser contexts against a real `serve`:

BLUE draws and files an operation; RED's console shows the conflict without reloading; RED
sends REQUEST-DECONFLICT from a Russian console; BLUE reads it in English and acknowledges
it with the hash of the geometry it was shown; both see the state; RED activates through
proof of awareness. Screenshots of each step are written (see docs/console.md).

Disclosure: every JSON response RED's browser received is checked against RED's view
through the API, and nothing of BLUE's plan beyond the overlap reaches RED's page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from console_helpers import served_store, shot_dir, sign_in

from deconfliction.client import Client
from served import Server

BLUE_OP = "B-ISR-7"
BLUE_PURPOSE = "BLUE-SECRET-PURPOSE-do-not-disclose"
RED_OP = "R-STRIKE-1"
#: Keys a conflict (and an overlap) may carry to its receiver (docs/api.md, need to know).
CONFLICT_KEYS = {
    "reference",
    "disclosure",
    "withheld",
    "operation_id",
    "operation_version",
    "other_party",
    "visibility",
    "acknowledged",
    "window",
    "overlaps",
}
OVERLAP_KEYS = {"volume", "altitude", "window", "region", "cells"}


def _utc(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with served_store(tmp_path_factory.mktemp("scenario"), {"BLUE": "en", "RED": "ru"}) as server:
        yield server


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def _conflicts_in(body: Any) -> Iterator[dict[str, Any]]:
    for v in _walk(body):
        if isinstance(v, dict) and "reference" in v and "other_party" in v and "visibility" in v:
            yield v


def test_two_desks_file_talk_acknowledge_and_activate(served: Server, browser: Any, tmp_path: Path) -> None:
    shots = shot_dir(tmp_path)
    blue_id, blue_secret = served.credentials["BLUE"]
    red_id, red_secret = served.credentials["RED"]
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)
    with Client(served.url, red_id, red_secret) as red_api:
        red_api.file_operation(
            {
                "id": RED_OP,
                "priority": 20,
                "volumes": [
                    {
                        "geometry": {"type": "Point", "coordinates": [40.0, 35.0]},
                        "footprint": {"kind": "circle", "radius": {"value": 20, "units": "km"}},
                        "altitude": {"lower": 150, "upper": 250, "units": "FL"},
                        "time": {"start": _utc(start), "end": _utc(start + timedelta(hours=3))},
                    }
                ],
            }
        )

    blue_ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB")
    red_ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ru-RU")
    blue, red = blue_ctx.new_page(), red_ctx.new_page()
    errors: list[str] = []
    for page in (blue, red):
        page.on("pageerror", lambda e: errors.append(str(e)))
    red_bodies: list[tuple[str, Any]] = []

    def record(response: Any) -> None:
        url = response.url
        if "/v1/" in url and "/v1/events/stream" not in url:
            try:
                red_bodies.append((url, json.loads(response.body())))
            except Exception:  # an empty body (204) or a request the page abandoned
                red_bodies.append((url, None))

    red.on("response", record)
    red_requests: list[str] = []
    red.on("request", lambda r: red_requests.append(r.url))
    try:
        sign_in(blue, served.url, blue_id, blue_secret, "en")
        sign_in(red, served.url, red_id, red_secret, "ru")
        for page in (blue, red):
            page.check("#all-times")  # the whole day on the map, not only what is active now
        assert red.get_attribute("html", "lang") == "ru"
        red.click("#tab-conflicts")
        red.wait_for_selector("#panel p:has-text('Конфликтов нет')")
        red.screenshot(path=str(shots / "01-red-no-conflicts.png"))

        # BLUE draws a circle on the map and files it; first with a radius the service refuses.
        blue.click("#new-operation")
        blue.fill("#f-id", BLUE_OP)
        blue.select_option("#f-kind", "circle")
        box = blue.locator("#map").bounding_box()
        assert box is not None
        blue.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        assert blue.input_value("#f-points").strip() != ""
        blue.fill("#f-radius", "-5")
        blue.fill("#f-lower", "180")
        blue.fill("#f-upper", "220")
        blue.fill("#f-start", _utc(start + timedelta(minutes=30))[:16])
        blue.fill("#f-end", _utc(start + timedelta(hours=2))[:16])
        blue.fill("#f-purpose", BLUE_PURPOSE)
        blue.click("#file-submit")
        blue.wait_for_selector("#f-radius[aria-invalid=true]")
        assert "radius" in blue.text_content("#f-radius-error")
        blue.screenshot(path=str(shots / "02-blue-field-error.png"))
        blue.fill("#f-radius", "10")
        blue.click("#file-submit")
        filed_at = time.monotonic()

        # RED's console shows the conflict without a reload.
        red.wait_for_selector("#conflict-list li", timeout=10_000)
        seen_after_s = time.monotonic() - filed_at
        (shots / "live-delay.txt").write_text(f"{seen_after_s:.3f}\n")
        assert red.locator("#conflict-list li").count() == 1
        assert "BLUE" in red.text_content("#conflict-list li")
        red.click("#conflict-list button.secondary")  # show on the map
        red.screenshot(path=str(shots / "03-red-conflict-live.png"))
        blue.wait_for_selector(f"#op-list [data-operation='{BLUE_OP}']")
        blue.screenshot(path=str(shots / "04-blue-filed.png"))

        # RED asks BLUE, from its Russian console, to deconflict.
        red.click("#conflict-list [data-request]")
        red.wait_for_selector("#compose")
        red.select_option("#mf-action", "DELAY")
        red.fill("#m-annex", "Просим сдвинуть на час")
        red.screenshot(path=str(shots / "05-red-compose-ru.png"))
        red.click("#m-send")
        red.wait_for_selector("#messages li")
        sent_hash = red.get_attribute("#messages li [data-hash]", "data-hash")
        assert sent_hash is not None
        assert len(sent_hash) == 64

        # BLUE reads it in English, with the original data available, and acknowledges.
        blue.click("#tab-hotline")
        blue.wait_for_selector("#messages li[data-message]")
        rendered = blue.locator("#messages li .rendered").first
        assert rendered.get_attribute("lang") == "en"
        assert "REQUEST-DECONFLICT" in blue.text_content("#messages li")
        assert "Просим сдвинуть на час" in blue.text_content("#messages li")  # the annex, untranslated
        blue.screenshot(path=str(shots / "06-blue-reads-en.png"))
        blue.click("#messages li button[data-ack]")
        blue.wait_for_selector("#messages li .tag:has-text('acknowledged')")
        # RED's sent box shows the acknowledgement, live.
        red.wait_for_selector("#messages li .tag:has-text('подтвержд')", timeout=10_000)
        # The server accepted BLUE's echo only because it equals the hash of what RED sent.
        assert blue.get_attribute("#messages li [data-hash]", "data-hash") == sent_hash
        red.screenshot(path=str(shots / "07-red-sees-ack.png"))

        # RED accepts and activates: led through proof of awareness.
        red.click("#tab-operations")
        red.click(f"[data-operation='{RED_OP}'] button[data-action=accept]")
        red.wait_for_selector(f"[data-operation='{RED_OP}'] button[data-action=activate]")
        red.click(f"[data-operation='{RED_OP}'] button[data-action=activate]")
        red.wait_for_selector("#dialog[open] [data-reference]")
        red.screenshot(path=str(shots / "08-red-awareness.png"))
        red.click("#dialog [data-reference]")
        red.wait_for_selector("#activate-now:not([disabled])")
        red.click("#activate-now")
        red.wait_for_selector(f"[data-operation='{RED_OP}'] .state-activated")
        # BLUE sees that RED acknowledged its version.
        blue.click("#tab-conflicts")
        blue.wait_for_selector(
            "#conflict-list [data-ack=theirs]:has-text('they acknowledged ours')", timeout=10_000
        )
        blue.screenshot(path=str(shots / "09-blue-sees-awareness.png"))
        red.screenshot(path=str(shots / "10-red-activated.png"))
        assert errors == []

        # -- disclosure: what RED's browser received, against RED's view through the API ----
        with Client(served.url, red_id, red_secret) as red_api:
            view = red_api.conflicts()
        assert len(view) == 1
        regions = {json.dumps(o["region"], sort_keys=True) for o in view[0]["overlaps"]}
        origin = served.url
        assert all(u.startswith(origin) for u in red_requests), [
            u for u in red_requests if not u.startswith(origin)
        ]
        seen_conflicts = 0
        for url, body in red_bodies:
            text = json.dumps(body, ensure_ascii=False)
            assert BLUE_OP not in text, url
            assert BLUE_PURPOSE not in text, url
            for c in _conflicts_in(body):
                seen_conflicts += 1
                assert set(c) <= CONFLICT_KEYS, (url, set(c) - CONFLICT_KEYS)
                assert c["other_party"] == "BLUE"
                assert c["operation_id"] == RED_OP
                assert c["disclosure"]["rule"] == "grid"
                for o in c.get("overlaps") or []:
                    assert set(o) <= OVERLAP_KEYS
                    assert json.dumps(o["region"], sort_keys=True) in regions, url
        assert seen_conflicts > 0
        dom = red.content()
        assert BLUE_OP not in dom
        assert BLUE_PURPOSE not in dom
    finally:
        blue_ctx.close()
        red_ctx.close()
