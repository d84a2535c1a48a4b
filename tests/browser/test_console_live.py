"""The console over time: resuming its stream across a server restart without losing what
was committed meanwhile, the time slider, the records, and acknowledgements signed in the
browser with the desk's own key."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from console_helpers import served_store, shot_dir, sign_in

from deconfliction.client import Client
from served import Server

DAY = "2031-05-04"


def _volume(lon: float, start: str, end: str) -> dict[str, Any]:
    return {
        "geometry": {"type": "Point", "coordinates": [lon, 35.0]},
        "footprint": {"kind": "circle", "radius": {"value": 15, "units": "km"}},
        "altitude": {"lower": 100, "upper": 200, "units": "FL"},
        "time": {"start": f"{DAY}T{start}:00Z", "end": f"{DAY}T{end}:00Z"},
    }


def _cli(*args: str, ok: tuple[int, ...] = (0,)) -> str:
    exe = Path(sys.executable).parent / "deconfliction"
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, check=False)
    assert done.returncode in ok, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Server]:
    with served_store(tmp_path) as server:
        with Client(server.url, *server.credentials["RED"]) as red:
            red.file_operation({"id": "R-AM", "volumes": [_volume(40.0, "06:00", "08:00")]})
            red.file_operation({"id": "R-PM", "volumes": [_volume(40.0, "12:00", "14:00")]})
        yield server


def test_stream_resumes_after_a_restart_with_what_was_committed_meanwhile(
    served: Server, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1300, "height": 850})
    page = context.new_page()
    resumed_from: list[str] = []
    page.on(
        "request",
        lambda r: "/v1/events/stream" in r.url and resumed_from.append(r.headers.get("last-event-id", "")),
    )
    try:
        sign_in(page, served.url, *served.credentials["RED"])
        page.wait_for_selector("#live[data-state=live]")
        page.click("#tab-conflicts")
        with Client(served.url, *served.credentials["BLUE"]) as blue:
            blue.file_operation({"id": "B-DAY", "volumes": [_volume(40.05, "12:30", "13:30")]})
        page.wait_for_selector("#conflict-list li")
        served.kill9()
        page.wait_for_selector("#live[data-state=reconnecting]")
        # Committed while the server is down, by another writer of the same store.
        plan = tmp_path / "blue.geojson"
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [40.05, 35.0]},
            "properties": {
                "party": "BLUE",
                "operation_id": "B-NIGHT",
                **{k: v for k, v in _volume(40.05, "06:30", "07:30").items() if k != "geometry"},
            },
        }
        plan.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
        _cli("file", str(plan), "--db", served.db, ok=(0, 1))  # 1: filed, with conflicts
        served.start()
        page.wait_for_selector("#conflict-list li:nth-child(2)", timeout=20_000)
        page.wait_for_selector("#live[data-state=live]")
    finally:
        context.close()
    # It came back from where it was, not from the beginning: the last event handled.
    assert len(resumed_from) >= 2
    assert resumed_from[0] == "0"
    assert resumed_from[-1] == "1"  # the notice of B-DAY; B-NIGHT's is event 2
    with Client(served.url, *served.credentials["RED"]) as red:
        assert len(red.conflicts()) == 2
        assert red.events(after=0)["last_seq"] == 2


def test_time_slider_shows_what_is_active_then(served: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1300, "height": 850})
    page = context.new_page()
    try:
        sign_in(page, served.url, *served.credentials["RED"])
        page.uncheck("#now")
        page.locator("#time").fill(str(7 * 60))  # 07:00 UTC of the plan's day
        assert page.text_content("#time-label") == f"{DAY} 07:00"
        assert page.get_attribute("#map", "data-operations") == "1"
        page.locator("#time").fill(str(10 * 60))
        assert page.get_attribute("#map", "data-operations") == "0"
        page.locator("#time").fill(str(13 * 60))
        assert page.get_attribute("#map", "data-operations") == "1"
        page.check("#all-times")
        assert page.get_attribute("#map", "data-operations") == "2"
    finally:
        context.close()


def test_records_export_and_print(served: Server, browser: Any, tmp_path: Path) -> None:
    with Client(served.url, *served.credentials["BLUE"]) as blue:
        blue.file_operation({"id": "B-AM", "volumes": [_volume(40.05, "06:30", "07:30")]})
    context = browser.new_context(viewport={"width": 1300, "height": 850}, accept_downloads=True)
    page = context.new_page()
    try:
        sign_in(page, served.url, *served.credentials["RED"])
        page.click("#tab-records")
        page.fill("#r-day", DAY)
        with page.expect_download() as audit:
            page.click("#export-audit")
        exported = tmp_path / "audit.json"
        audit.value.save_as(exported)
        with page.expect_download() as day:
            page.click("#export-conflicts")
        conflicts = json.loads(Path(day.value.path()).read_text())
        # The printed briefing: window.print is replaced so that no dialog blocks the test.
        page.evaluate("() => { window.print = () => { document.body.dataset.printed = 'yes'; }; }")
        page.click("#print-day")
        page.emulate_media(media="print")
        assert page.locator("#print tbody tr").count() == 3  # two operations, one conflict
        page.screenshot(path=str(shot_dir(tmp_path) / "print.png"))
    finally:
        context.close()
    with Client(served.url, *served.credentials["RED"]) as red:
        assert conflicts["conflicts"] == red.conflicts()
        fresh = red.audit_export()
    got = json.loads(exported.read_text())
    assert got.pop("exported_at") <= fresh.pop("exported_at")
    assert got == fresh
    # The exported chain verifies offline.
    _cli("audit", "verify", str(exported))


def test_acknowledgements_signed_in_the_browser_with_the_desks_key(
    served: Server, browser: Any, tmp_path: Path
) -> None:
    key = tmp_path / "red.pem"
    public = _cli("audit", "keygen", "--out", str(key)).strip()
    _cli("audit", "register-key", "--db", served.db, "--party", "RED", "--public-key", public)
    with Client(served.url, *served.credentials["BLUE"]) as blue:
        blue.file_operation({"id": "B-AM", "volumes": [_volume(40.05, "06:30", "07:30")]})
        reference = None
        with Client(served.url, *served.credentials["RED"]) as red:
            reference = red.conflicts()[0]["reference"]
        blue.send_message(
            "RED",
            "PRIORITY",
            "REQUEST-DECONFLICT",
            {
                "conflict": reference,
                "action": "DELAY",
                "altitude": {"lower": 9500.0, "upper": 20500, "units": "ft", "datum": "STD"},
            },
        )
    context = browser.new_context(viewport={"width": 1300, "height": 850})
    page = context.new_page()
    try:
        sign_in(page, served.url, *served.credentials["RED"])
        page.click("[data-operation='R-AM'] button[data-action=accept]")
        page.click("[data-operation='R-AM'] button[data-action=activate]")
        page.wait_for_selector("#dialog[open] [data-reference]")
        # Without the key the service refuses the acknowledgement (the party has one).
        page.click("#dialog [data-reference]")
        page.wait_for_selector("#awareness-error:has-text('signature')")
        page.set_input_files("#signing-key", str(key))
        page.click("#dialog [data-reference]")
        page.wait_for_selector("#activate-now:not([disabled])")
        page.click("#activate-now")
        page.wait_for_selector("[data-operation='R-AM'] .state-activated")
        # The hotline acknowledgement is signed too, over the hash of a band written `9500.0`.
        page.click("#tab-hotline")
        page.click("#messages li button[data-ack]")
        page.wait_for_selector("#messages li .tag:has-text('acknowledged')")
    finally:
        context.close()
    exported = tmp_path / "audit.json"
    with Client(served.url, *served.credentials["RED"]) as red:
        exported.write_text(json.dumps(red.audit_export()))
    kinds = [json.dumps(e) for e in red_entries(exported)]
    assert sum("party_signature" in k for k in kinds) == 2
    _cli("audit", "verify", str(exported))


def red_entries(exported: Path) -> list[dict[str, Any]]:
    doc = json.loads(exported.read_text())
    return [e for e in doc["entries"] if e["kind"] in ("conflict.acknowledged", "hotline.ack")]


@pytest.fixture
def fast_deadlines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """BLUE and RED with PRIORITY deadlines of 5 s (receipt) and 6 s (acknowledgement)."""
    monkeypatch.setenv("DECONFLICTION_HOTLINE_DEADLINES", "PRIORITY=5/6")
    with served_store(tmp_path) as server:
        yield server


def test_lead_time_withheld_region_suspension_and_escalation(
    fast_deadlines: Server, browser: Any, tmp_path: Path
) -> None:
    served = fast_deadlines
    _cli(
        "admin", "policy", "set", "BLUE", "RED", "--db", served.db,
        "--min-lead-min", "600", "--visibility", "window",
    )  # fmt: skip
    soon = (datetime.now(UTC) + timedelta(hours=1)).replace(second=0, microsecond=0)
    window = {"start": _iso(soon), "end": _iso(soon + timedelta(hours=2))}
    with (
        Client(served.url, *served.credentials["RED"]) as red,
        Client(served.url, *served.credentials["BLUE"]) as blue,
    ):
        red.file_operation({"id": "R-SOON", "volumes": [{**_volume(40.0, "06:00", "07:00"), "time": window}]})
        blue.file_operation(
            {"id": "B-SOON", "volumes": [{**_volume(40.05, "06:00", "07:00"), "time": window}]}
        )
        reference = red.conflicts()[0]["reference"]
        sent = blue.send_message(
            "RED", "PRIORITY", "REQUEST-DECONFLICT", {"conflict": reference, "action": "HOLD"}
        )
    context = browser.new_context(viewport={"width": 1300, "height": 850})
    page = context.new_page()
    try:
        sign_in(page, served.url, *served.credentials["RED"])
        page.check("#all-times")
        page.click("#tab-conflicts")
        # The pair sees windows only: the conflict is listed, its region is neither sent nor drawn.
        page.wait_for_selector("#conflict-list [data-region=withheld]")
        assert page.get_attribute("#map", "data-overlaps") == "0"
        # An hour to the overlap against 600 minutes agreed: flagged.
        assert page.locator("#conflict-list [data-lead=short]").count() == 1
        page.click("#tab-hotline")
        # The console recorded machine receipt by itself; nobody acknowledges: it escalates.
        page.wait_for_selector("#messages [data-escalated^='acknowledgement:']", timeout=20_000)
        page.screenshot(path=str(shot_dir(tmp_path) / "escalated.png"))
        page.click("button[aria-label='Suspend line BLUE']")
        page.wait_for_selector("[data-line=BLUE] .tag:has-text('suspended')")
    finally:
        context.close()
    with Client(served.url, *served.credentials["BLUE"]) as blue:
        assert blue.message(sent["id"])["received_at"] is not None
        lines = blue.lines()
        assert lines[0]["suspended_by_them"]["party"] == "RED"


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")
