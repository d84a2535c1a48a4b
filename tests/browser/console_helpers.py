"""Helpers for the console's browser tests: a served store with parties, signing in, shots."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from served import Server, setup_parties

#: axe-core, vendored for the accessibility tests only (never served by the console)
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.14.1.min.js"
#: Where screenshots go: $DECONFLICTION_SCREENSHOTS, else the test's tmp directory.
SHOTS_ENV = "DECONFLICTION_SCREENSHOTS"


def shot_dir(tmp: Path) -> Path:
    target = Path(os.environ[SHOTS_ENV]) if os.environ.get(SHOTS_ENV) else tmp / "shots"
    target.mkdir(parents=True, exist_ok=True)
    return target


def sign_in(page: Any, url: str, client_id: str, secret: str, lang: str = "en") -> None:
    """Open the console, choose the language, sign in with the form; wait until it is ready."""
    page.goto(f"{url}/console/")
    page.select_option("#lang", lang)
    page.fill("#client-id", client_id)
    page.fill("#client-secret", secret)
    page.click("#signin button[type=submit]")
    page.wait_for_selector("body[data-ready=true]")


@contextlib.contextmanager
def served_store(workdir: Path, languages: dict[str, str] | None = None) -> Iterator[Server]:
    """`deconfliction serve` on a fresh SQLite store in ``workdir`` with BLUE and RED, each
    with a duty desk (English unless ``languages`` says otherwise) and a credential."""
    db = str(workdir / "store.sqlite")
    creds = setup_parties(db, ["BLUE", "RED"], languages=languages)
    server = Server(db, workdir, credentials=creds).start()
    try:
        yield server
    finally:
        server.stop()
