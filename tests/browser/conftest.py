"""Browser tests: Playwright driving Debian's Chromium against a real `deconfliction serve`.

Chromium is the system's (`/usr/bin/chromium`, installed by `scripts/test` where missing);
Playwright never downloads a browser. Without Chromium these tests are skipped, except
under ``CI=true`` where that is a failure. Every test here is marked ``browser``
(``pytest -m browser`` selects them, ``-m "not browser"`` leaves them out).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deconfliction.api.console import CHROMIUM_ARGS

CHROMIUM = os.environ.get("DECONFLICTION_CHROMIUM", "/usr/bin/chromium")
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: the browser tests must run)")
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # a test dependency: missing it is an error

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=list(CHROMIUM_ARGS), headless=True)
        try:
            yield b
        finally:
            b.close()
