"""`deconfliction demo --private`: the rivals run in private mode through a local relay."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from click.testing import CliRunner

from deconfliction.cli import cli


def test_the_demo_runs_the_rivals_in_private_mode(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["demo", "--out-dir", str(out), "--start", "2026-03-01T00:00:00Z", "--no-live", "--private"]
    )
    assert result.exit_code == 0, result.output
    assert "Private mode — COALITION and RUSAF through a relay" in result.output
    # every operation the native grid would flag is flagged privately, on both sides
    assert result.output.replace("\n", "").count("all of them among these") == 2
    assert "the relay learned: who talked to whom" in result.output
    db = sqlite3.connect(out / "demo.sqlite")
    try:
        rivals = db.execute(
            "SELECT count(*) FROM conflicts WHERE a_party IN ('COALITION', 'RUSAF')"
            " AND b_party IN ('COALITION', 'RUSAF')"
        ).fetchone()[0]
        civil = db.execute("SELECT count(*) FROM conflicts WHERE 'SYCAA' IN (a_party, b_party)").fetchone()[0]
    finally:
        db.close()
    assert rivals == 0  # the service decided none of the rivals' conflicts
    assert civil > 0
    for agent in ("coalition-agent.sqlite", "rusaf-agent.sqlite"):
        db = sqlite3.connect(out / agent)
        try:
            parties = {r[0] for r in db.execute("SELECT party FROM operations")}
            notices = db.execute("SELECT count(*) FROM private_notices").fetchone()[0]
        finally:
            db.close()
        assert len(parties) == 1  # each agent holds its own plans only
        assert notices > 0
