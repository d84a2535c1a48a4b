"""`deconfliction demo --serve`: the demo store served, each party signing in from the link
the demo printed, and the day's plan readable in the console."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from console_helpers import shot_dir

from served import free_port


def test_demo_serves_its_store_and_prints_a_sign_in_link_per_party(browser: Any, tmp_path: Path) -> None:
    port = free_port()
    exe = Path(sys.executable).parent / "deconfliction"
    out = tmp_path / "demo"
    log = tmp_path / "demo.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(exe), "demo", "--out-dir", str(out), "--no-live", "--serve", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "400"},
        )
    try:
        deadline = time.monotonic() + 120
        while "Serving" not in log.read_text() or not _healthy(port):
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        links = dict(re.findall(r"^\s+(\w+): (http://\S+#client_id=\S+)$", log.read_text(), re.M))
        assert set(links) == {"COALITION", "RUSAF", "SYCAA"}
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        try:
            page.goto(links["RUSAF"])
            page.wait_for_selector("body[data-ready=true]")
            assert page.text_content("#who-party") == "RUSAF"
            assert "secret" not in page.url  # the credential is wiped from the address bar
            page.check("#all-times")
            page.click("#tab-conflicts")
            page.wait_for_selector("#conflict-list li")
            assert int(page.text_content("#count-conflicts") or "0") > 100
            page.screenshot(path=str(shot_dir(tmp_path) / "demo-rusaf-conflicts.png"))
        finally:
            context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
