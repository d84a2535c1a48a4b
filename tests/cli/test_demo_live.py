"""`deconfliction demo`'s live phase on real recorded flights (the `traffic` samples)."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from deconfliction.cli import cli
from deconfliction.interop.feeds import recorded
from recorded_samples import require_traffic

ALERT = re.compile(
    r"^(?P<time>\d\d:\d\d:\d\dZ) (?P<change>RAISED|ESCALATED|DOWNGRADED|CLEARED)\s+"
    r"(?P<tier>ADVISORY|CAUTION|WARNING)\s+(?P<kind>conflict|intrusion)\s+(?P<rest>.+)$"
)
CONFLICT = re.compile(r"^(\S+) \((\w+)\) / (\S+) \((\w+)\)(: .*)?$")
INTRUSION = re.compile(r"^(\S+) \((\w+)\) into (\w+) (\S+) v(\d+)(: .*)?$")


def test_live_phase_replays_real_flights_and_alerts_rise_and_clear(tmp_path: Path) -> None:
    require_traffic()
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["demo", "--out-dir", str(out), "--start", "2026-03-01T00:00:00Z", "--live-minutes", "3"]
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Live phase" in text
    assert "traffic sample 'quickstart'" in text
    # Nothing is broken across lines in a 150-column pipe: each sentence is one line.
    assert re.search(r"flown over \d{4}-\d\d-\d\dT\d\d:\d\dZ - \d\d:\d\dZ\n", text), text
    assert re.search(r"^  COALITION x RUSAF: 3 NM / 1,000 ft$", text, re.M), text
    assert re.search(r"^Live phase: up to \d+ aircraft at once, \d+ cycles, \d+ raised \(.*\)$", text, re.M)

    # The operations the phase says it activated are activated in the store.
    activated = int(re.search(r"Activated (\d+) operations", text).group(1))  # type: ignore[union-attr]
    db = sqlite3.connect(out / "demo.sqlite")
    states = dict(db.execute("SELECT party || '/' || id, state FROM operations").fetchall())
    versions = dict(db.execute("SELECT party || '/' || id, version FROM operations").fetchall())
    events = db.execute("SELECT party, payload FROM events WHERE kind = 'tactical.alert'").fetchall()
    audited = db.execute("SELECT count(*) FROM audit_log WHERE kind = 'tactical.alert'").fetchone()[0]
    db.close()
    assert activated > 0
    assert sum(1 for s in states.values() if s == "activated") == activated

    alerts = [m.groupdict() for m in map(ALERT.match, text.splitlines()) if m]
    assert alerts, text
    times = [a["time"] for a in alerts]
    assert times == sorted(times)
    window = re.search(r"flown\s+over\s+\d{4}-\d\d-\d\dT(\d\d:\d\d)Z - (\d\d:\d\d)Z", text)
    assert window, text
    assert times[0] > window.group(1) + ":00Z"  # alerts need two cycles to rise
    assert times[-1] <= window.group(2) + ":00Z"

    history: dict[tuple[str, str], list[str]] = {}
    for alert in alerts:
        rest = alert["rest"]
        if alert["kind"] == "conflict":
            m = CONFLICT.match(rest)
            assert m, rest
            assert m.group(2) != m.group(4), "conflicts are between different parties"
            key = ("conflict", f"{m.group(1)}/{m.group(3)}")
        else:
            m = INTRUSION.match(rest)
            assert m, rest
            track_party, owner, op_id, version = m.group(2), m.group(3), m.group(4), int(m.group(5))
            assert track_party != owner, "intrusions are into another party's volume"
            assert states[f"{owner}/{op_id}"] == "activated", "only active volumes are intruded into"
            assert versions[f"{owner}/{op_id}"] == version, "the reference names the current version"
            key = ("intrusion", f"{m.group(1)}/{owner}/{op_id}")
        if alert["change"] != "CLEARED":
            assert m.group(m.lastindex or 0).startswith(": "), "a live alert says when"
        history.setdefault(key, []).append(alert["change"])

    for kind in ("conflict", "intrusion"):
        cycles = [h for (k, _), h in history.items() if k == kind]
        assert any(h[0] == "RAISED" for h in cycles), f"no {kind} alert rose"
        assert any("RAISED" in h and "CLEARED" in h[h.index("RAISED") :] for h in cycles), (
            f"no {kind} alert rose and then cleared"
        )
    assert any("ESCALATED" in h for h in history.values())
    for changes in history.values():
        assert changes[0] == "RAISED", "every alert history starts by rising"
        for before, after in itertools.pairwise(changes):
            assert not (before == "CLEARED" and after != "RAISED"), "a cleared alert can only rise again"
    # Every alert change reached both parties it names, as an event and in their audit logs.
    assert len(events) == audited == 2 * len(alerts)
    assert f"{len(events)} alert events written" in text
    payloads = [(party, json.loads(payload)) for party, payload in events]
    assert all(party in body["parties"] for party, body in payloads)
    intrusion = next(body for _, body in payloads if body["alert"] == "intrusion")
    assert set(intrusion["operation"]) == {"party", "reference"}  # a reference, never the geometry
    summary = re.search(r"Live phase: up to (\d+) aircraft at once, (\d+) cycles", text)
    assert summary
    assert int(summary.group(1)) >= 10
    assert int(summary.group(2)) == 37  # 3 minutes in 5 s cycles, both ends included


def test_without_traffic_the_demo_says_how_to_get_the_live_phase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorded, "traffic_available", lambda: False)
    result = CliRunner().invoke(cli, ["demo", "--out-dir", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Conflicts per pair of parties" in result.output  # the strategic phase ran
    assert "Live phase not run" in result.output
    assert "pip install" in result.output
    assert "[traffic]" in result.output


def test_live_minutes_must_be_positive(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--out-dir", str(tmp_path), "--live-minutes", "0"])
    assert result.exit_code == 2
    assert "--live-minutes" in result.output
