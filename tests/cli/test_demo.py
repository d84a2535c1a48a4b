"""`deconfliction demo` end to end, and the real console script over a subprocess."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from deconfliction.cli import cli
from deconfliction.geo.timewindow import parse_utc
from deconfliction.interop.geojson import parse_document
from deconfliction.scenarios import euphrates


def test_demo_files_everything_and_writes_its_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["demo", "--out-dir", str(out), "--start", "2026-03-01T00:00:00Z", "--no-live"]
    )
    assert result.exit_code == 0, result.output
    assert "Live phase" not in result.output  # --no-live; tests/cli/test_demo_live.py runs it
    assert "Conflicts per pair of parties" in result.output
    assert "COALITION x RUSAF" in result.output
    assert "The most urgent 12 conflicts" in result.output

    db = sqlite3.connect(out / "demo.sqlite")
    (stored,) = db.execute("SELECT count(*) FROM operations").fetchone()
    db.close()
    scenario = euphrates.build(parse_utc("2026-03-01T00:00:00Z", "start"))
    assert stored == len(scenario.operations) >= 300

    data = json.loads((out / "scenario.geojson").read_text())
    doc = parse_document(data)
    assert len(doc.operations) == len(scenario.operations)
    conflicts = [f for f in data["features"] if f["properties"]["feature"] == "conflict"]
    assert conflicts, "the scenario is built to have conflicts"
    assert {
        tuple(sorted((c["properties"]["a"]["party"], c["properties"]["b"]["party"]))) for c in conflicts
    } == {
        ("COALITION", "RUSAF"),
        ("COALITION", "SYCAA"),
        ("RUSAF", "SYCAA"),
    }

    page = (out / "map.html").read_text()
    assert "<svg" in page
    assert "http://" not in page
    assert "https://" not in page
    assert page.count('class="cx"') == len(conflicts)


def test_console_script_runs(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "deconfliction"
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in ("demo", "check", "tactical"):
        assert command in result.stdout
