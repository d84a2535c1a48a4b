"""Accessibility, keyboard, language and direction, and offline operation of the console.

- axe-core (vendored, test-only) finds no serious or critical violation on any screen,
  in English and in Arabic (right to left);
- a desk signs in, moves between views and acknowledges a conflict and a STOP with the
  keyboard alone;
- ``lang`` and ``dir`` follow the desk's language; Arabic messages are laid out right to left;
- with every request that would leave the server blocked, the whole console loads, its map
  included, and nothing even tries to leave.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from console_helpers import AXE, served_store, shot_dir, sign_in

from deconfliction.client import Client
from served import Server

SERIOUS = {"serious", "critical"}


def _utc(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _volume(lon: float, start: datetime) -> dict[str, Any]:
    return {
        "geometry": {"type": "Point", "coordinates": [lon, 35.0]},
        "footprint": {"kind": "circle", "radius": {"value": 15, "units": "km"}},
        "altitude": {"lower": 100, "upper": 200, "units": "FL"},
        "time": {"start": _utc(start), "end": _utc(start + timedelta(hours=2))},
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """BLUE and RED (whose desk reads Arabic) with a conflict and a STOP from BLUE to RED."""
    with served_store(tmp_path_factory.mktemp("access"), {"RED": "ar"}) as server:
        creds = server.credentials
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        with Client(server.url, *creds["BLUE"]) as blue, Client(server.url, *creds["RED"]) as red:
            blue.file_operation({"id": "B-1", "volumes": [_volume(40.0, start)]})
            red.file_operation({"id": "R-1", "volumes": [_volume(40.1, start)]})
            reference = red.conflicts()[0]["reference"]
            area = {
                "geometry": {"type": "Point", "coordinates": [40.05, 35.0]},
                "footprint": {"kind": "circle", "radius": {"value": 10.0, "units": "km"}},
            }
            fields = {"area": area, "reason": "COLLISION-RISK", "conflict": reference}
            blue.send_message("RED", "STOP", "STOP", fields)
        yield server


def _axe(page: Any, screen: str) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluated through the DevTools protocol: the page's CSP forbids inline scripts
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    checked = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations'],"
        " runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});"
        " return {passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact,"
        " nodes: v.nodes.map(n => n.target.join(' '))}))}; }"
    )
    assert checked["passes"] > 10, f"{screen}: axe-core checked next to nothing"
    result = checked["violations"]
    return [
        f"{screen}: {v['id']} ({v['impact']}) at {v['nodes'][:3]}" for v in result if v["impact"] in SERIOUS
    ]


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_no_serious_accessibility_violations_on_any_screen(
    served: Server, browser: Any, tmp_path: Path, lang: str
) -> None:
    context = browser.new_context(viewport={"width": 1300, "height": 850})
    page = context.new_page()
    found: list[str] = []
    try:
        page.goto(f"{served.url}/console/")
        page.select_option("#lang", lang)
        found += _axe(page, "sign-in")
        sign_in(page, served.url, *served.credentials["RED"], lang=lang)
        found += _axe(page, "operations")
        page.click("#new-operation")
        found += _axe(page, "filing")
        for view in ("conflicts", "hotline", "alerts", "records"):
            page.click(f"#tab-{view}")
            page.wait_for_selector(f"#panel[data-view={view}]")
            found += _axe(page, view)
        page.click("#tab-hotline")
        page.click("#box-compose")
        page.wait_for_selector("#compose")
        found += _axe(page, "compose")
        page.click("#tab-operations")
        accept = page.locator("[data-operation='R-1'] button[data-action=accept]")
        if accept.count():  # (the first language's run accepted it already)
            accept.click()
        page.click("[data-operation='R-1'] button[data-action=activate]")
        page.wait_for_selector("#dialog[open]")
        found += _axe(page, "proof of awareness")
        page.screenshot(path=str(shot_dir(tmp_path) / f"access-{lang}.png"))
    finally:
        context.close()
    assert found == []


def test_lang_and_dir_follow_the_desk_language(served: Server, browser: Any, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1300, "height": 850})
    page = context.new_page()
    try:
        sign_in(page, served.url, *served.credentials["RED"], lang="ar")
        assert page.get_attribute("html", "lang") == "ar"
        assert page.get_attribute("html", "dir") == "rtl"
        assert page.get_attribute("#map", "dir") == "ltr"  # the map's controls keep their places
        # The STOP cannot be missed: a banner on every view, announced as an alert.
        banner = page.locator("#stop-banner")
        assert banner.is_visible()
        assert banner.get_attribute("role") == "alert"
        page.click("#tab-hotline")
        message = page.locator("#messages li.msg-STOP .rendered")
        assert message.get_attribute("lang") == "ar"
        assert message.get_attribute("dir") == "rtl"
        page.screenshot(path=str(shot_dir(tmp_path) / "hotline-ar.png"))
        page.select_option("#lang", "en")
        assert page.get_attribute("html", "dir") == "ltr"
        page.wait_for_selector("#messages li.msg-STOP .rendered[lang=en]")
    finally:
        context.close()


def test_every_action_from_the_keyboard(served: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1300, "height": 850})
    page = context.new_page()
    client_id, secret = served.credentials["RED"]
    try:
        page.goto(f"{served.url}/console/")
        page.focus("#client-id")
        page.keyboard.type(client_id)
        page.keyboard.press("Tab")
        page.keyboard.type(secret)
        page.keyboard.press("Enter")
        page.wait_for_selector("body[data-ready=true]")
        page.focus("#tab-operations")
        page.keyboard.press("ArrowRight")  # to Conflicts
        assert page.get_attribute("#tab-conflicts", "aria-selected") == "true"
        _tab_to(page, "#conflict-list button[aria-label^='Acknowledge']")
        page.keyboard.press("Enter")
        page.wait_for_selector("#conflict-list [data-ack=ours]:has-text('we acknowledged')")
        # The STOP banner's button leads to the message; acknowledged from the keyboard.
        _tab_to(page, "#stop-open", backwards=True)
        page.keyboard.press("Enter")
        assert page.get_attribute("#tab-hotline", "aria-selected") == "true"
        _tab_to(page, "#messages li.msg-STOP button[data-ack]")
        page.keyboard.press("Enter")
        page.wait_for_selector("#stop-banner", state="hidden")
    finally:
        context.close()
    with Client(served.url, client_id, secret) as red:
        assert all(c["acknowledged"] for c in red.conflicts())
        stop = [m for m in red.messages(box="inbox")["messages"] if m["template"] == "STOP"]
        assert stop[0]["state"] == "acknowledged"


def _tab_to(page: Any, selector: str, backwards: bool = False, limit: int = 80) -> None:
    """Press Tab (or Shift+Tab) until ``selector`` has the focus."""
    target = page.locator(selector).first
    for _ in range(limit):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"{selector} cannot be reached with the keyboard")


def test_loads_offline_with_every_outside_request_blocked(served: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1300, "height": 850})
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(served.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", guard)
    page = context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    try:
        sign_in(page, served.url, *served.credentials["BLUE"])
        page.wait_for_selector(".leaflet-overlay-pane canvas", state="attached")
        # the base layer's vertices were decoded and drawn: Natural Earth came from the server
        assert page.evaluate(
            "() => performance.getEntriesByType('resource').some(e => e.name.includes('world-atlas'))"
        )
        for view in ("conflicts", "hotline", "alerts", "records"):
            page.click(f"#tab-{view}")
            page.wait_for_selector(f"#panel[data-view={view}]")
    finally:
        context.close()
    assert outside == []
    assert [u for u in failed if "/v1/events/stream" not in u] == []
