"""Timestamped CSV replay: parsing with reasons, cycles, and `tactical replay-csv` end to end."""

from __future__ import annotations

import io
import math
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from deconfliction.cli import cli
from deconfliction.cli.errors import EXIT_INVALID_INPUT
from deconfliction.errors import InvalidDocument, InvalidInput
from deconfliction.interop.feeds.replay_csv import read_replay_csv, replay_batches

HEADER = "time_utc,id,party,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
M_PER_DEG_LON = 6_371_000.0 * math.radians(1.0) * math.cos(math.radians(35.0))


def stamp(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def test_rows_are_read_sorted_and_bad_ones_refused_with_their_line() -> None:
    text = "\n".join(
        [
            "party,id,time_utc,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps,extra",
            f"red,B,{stamp(5)},35,40.1,9000,200,270,0,x",  # line 2
            f"blue,A,{stamp(0)},35,40.0,9000,200,90,0,x",  # line 3
            "blue,A,yesterday,35,40,9000,200,90,0,x",  # line 4: time
            f"blue,C,{stamp(1)},35,abc,9000,200,90,0,x",  # line 5: number
            f"blue,D,{stamp(1)},35,40,,200,90,0,x",  # line 6: missing
            f"blue,E,{stamp(2)}+01:00,35,40,9000,200,90,0,x",  # line 7: not a time
        ]
    )
    reports, refused = read_replay_csv(io.StringIO(text))
    assert reports.ids == ("A", "B")
    assert reports.line.tolist() == [3, 2]
    assert reports.time_s.tolist() == [START.timestamp(), START.timestamp() + 5]
    assert reports.datums is None
    assert [(r.index, r.field) for r in refused] == [
        (4, "time_utc"),
        (5, "lon_deg"),
        (6, "alt_m"),
        (7, "time_utc"),
    ]
    assert "not a number: 'abc'" in refused[1].reason
    assert refused[2].reason == "missing value"


def test_a_file_without_time_utc_is_refused_whole() -> None:
    with pytest.raises(InvalidDocument, match="time_utc"):
        read_replay_csv(io.StringIO("id,party,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n"))
    with pytest.raises(InvalidDocument, match="empty"):
        read_replay_csv(io.StringIO(""))


def test_cycles_take_each_tracks_latest_report_since_the_previous_cycle() -> None:
    rows = [
        f"{stamp(0)},A,blue,35,40.00,9000,200,90,0,STD",
        f"{stamp(1)},A,blue,35,40.01,9000,200,90,0,STD",
        f"{stamp(2)},B,red,35,40.20,9000,200,270,0,STD",
        f"{stamp(7)},A,blue,35,40.02,9000,200,90,0,STD",
        f"{stamp(16)},B,red,35,40.10,9000,200,270,0,STD",
    ]
    reports, refused = read_replay_csv(io.StringIO(HEADER + ",datum\n" + "\n".join(rows)))
    assert refused == []
    cycles = list(replay_batches(reports, step_s=5.0))
    t0 = START.timestamp()
    assert [t - t0 for t, _, _ in cycles] == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert [list(b.ids) for _, b, _ in cycles] == [["A"], ["A", "B"], ["A"], [], ["B"]]
    _, second, lines = cycles[1]
    assert second.lon_deg.tolist() == [40.01, 40.20]  # A's report at 1 s superseded the one at 0 s
    assert lines.tolist() == [3, 4]
    assert list(second.datums or []) == ["STD", "STD"]
    with pytest.raises(InvalidInput):
        list(replay_batches(reports, step_s=0.0))


def encounter_csv() -> str:
    """Two aircraft head-on at FL300, 30 km apart at 200 m/s each; after 40 s B turns to fly
    the same way as A, 14 km ahead of it."""
    rows = [HEADER]
    b_lon = 40.0 + 30_000.0 / M_PER_DEG_LON
    for t in range(0, 95, 5):
        a_lon = 40.0 + 200.0 * t / M_PER_DEG_LON
        rows.append(f"{stamp(t)},A,blue,35.0,{a_lon:.7f},9144,200,90,0")
        if t <= 40:
            lon, trk = b_lon - 200.0 * t / M_PER_DEG_LON, 90 + 180
        else:
            lon, trk = b_lon - 200.0 * 40 / M_PER_DEG_LON + 200.0 * (t - 40) / M_PER_DEG_LON, 90
        rows.append(f"{stamp(t)},B,red,35.0,{lon:.7f},9144,200,{trk},0")
    rows.append(f"{stamp(40)},X,red,95.0,40.0,9144,200,90,0")  # out of range: refused by the engine
    rows.append(f"{stamp(45)},Y,red,35.0,40.0,9144,200,90")  # a value short: refused on reading
    return "\n".join(rows) + "\n"


def test_replay_csv_command_prints_alerts_rising_and_clearing(tmp_path: Path) -> None:
    path = tmp_path / "tracks.csv"
    path.write_text(encounter_csv(), encoding="utf-8")
    result = CliRunner().invoke(cli, ["tactical", "replay-csv", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # Closing at 400 m/s: at 5 s, 28 km apart, a loss of 5 NM in (28000 - 9260) / 400 = 47 s is a
    # caution (<= 60 s), raised in the second cycle (2 of 3); at 30 s and 35 s it is under 25 s:
    # a warning; once B has turned, the gap stays 14 km and the alert clears after 3 cycles.
    assert lines == [
        "12:00:05Z RAISED     CAUTION  conflict  A (blue) / B (red): loss in 47 s, cpa 0.0 NM in 70 s",
        "12:00:35Z ESCALATED  WARNING  conflict  A (blue) / B (red): loss in 17 s, cpa 0.0 NM in 40 s",
        "12:00:55Z CLEARED    WARNING  conflict  A (blue) / B (red)",
    ]
    assert "refused line 41: id='Y': vs_mps: missing value" in result.stderr
    assert "refused line 40: id='X': lat_deg: latitude must be a finite number in [-90, 90]" in result.stderr
    assert "39 reports, 2 refused" in result.stderr
    assert "1 raised (1 conflict)" in result.stderr
    assert "1 cleared (1 conflict)" in result.stderr


def test_replay_csv_minima_options_change_the_outcome(tmp_path: Path) -> None:
    path = tmp_path / "tracks.csv"
    path.write_text(encounter_csv(), encoding="utf-8")
    # With a 1 km protected zone the loss is 20 s further away: an advisory first, never a warning.
    result = CliRunner().invoke(cli, ["tactical", "replay-csv", str(path), "--hsep-m", "1000"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("12:00:05Z RAISED     ADVISORY conflict  A (blue) / B (red): loss in 67 s")
    assert "WARNING" not in result.stdout
    # Same party: only --all-pairs tests the pair.
    same = tmp_path / "same.csv"
    same.write_text(encounter_csv().replace(",red,", ",blue,"), encoding="utf-8")
    assert CliRunner().invoke(cli, ["tactical", "replay-csv", str(same)]).stdout == ""
    both = CliRunner().invoke(cli, ["tactical", "replay-csv", str(same), "--all-pairs"])
    assert "RAISED" in both.stdout


def test_replay_csv_refuses_a_bad_file_and_bad_options(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,party\nA,blue\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["tactical", "replay-csv", str(path)])
    assert result.exit_code == EXIT_INVALID_INPUT  # 1 is reserved for "conflicts found"
    assert "missing column(s) time_utc" in result.output
    path.write_text(encounter_csv(), encoding="utf-8")
    result = CliRunner().invoke(cli, ["tactical", "replay-csv", str(path), "--step-s", "-1"])
    assert result.exit_code == 2
    result = CliRunner().invoke(cli, ["tactical", "replay-csv", str(path), "--lookahead-s", "10"])
    assert result.exit_code == EXIT_INVALID_INPUT
    assert "look-ahead" in result.output


def test_replay_csv_takes_pair_minima_and_active_operations_from_a_store(tmp_path: Path) -> None:
    """With --db: the store's blue/red minima (1 km) replace 5 NM for that pair, and A (blue)
    flying into red's activated operation is an intrusion alert citing it."""
    from deconfliction.engine.minima import Minima
    from deconfliction.engine.operation import Operation, OperationState
    from deconfliction.geo import AltitudeBand, Circle, Position, TimeWindow, Volume4D
    from deconfliction.service.operations import OperationService
    from deconfliction.store import open_store
    from deconfliction.store.base import Party, PartyKind

    db = str(tmp_path / "store.sqlite")
    store = open_store(db)
    try:
        service = OperationService(store)
        for party in ("blue", "red", "grey"):
            service.add_party(Party(party, party, PartyKind.MILITARY))
        service.set_pair_minima("blue", "red", Minima(1000.0, 304.8, 60.0))
        box = Volume4D(
            Circle(Position(35.0, 40.2), 2000.0),
            AltitudeBand.parse(250, 350, "FL", "STD"),
            TimeWindow(START - timedelta(hours=1), START + timedelta(hours=1)),
        )
        for op_id in ("OP-7", "OP-8"):
            service.file(Operation("red", op_id, (box,)))
        op = service.get("red", "OP-7")
        op = service.transition("red", "OP-7", OperationState.ACCEPTED, op.version).operation
        service.transition("red", "OP-7", OperationState.ACTIVATED, op.version)  # OP-8 stays proposed
    finally:
        store.close()
    path = tmp_path / "tracks.csv"
    path.write_text(encounter_csv(), encoding="utf-8")
    result = CliRunner().invoke(cli, ["tactical", "replay-csv", str(path), "--db", db])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    conflicts = [line for line in lines if "conflict " in line]
    intrusions = [line for line in lines if "intrusion " in line]
    # Same as --hsep-m 1000: the pair's 1 km minimum from the store.
    assert conflicts[0].startswith("12:00:05Z RAISED     ADVISORY conflict  A (blue) / B (red): loss in 67 s")
    # A enters the 2 km circle 18.2 - 2 km ahead at 200 m/s: about 81 s from the start.
    assert intrusions[0].startswith(
        "12:00:05Z RAISED     ADVISORY intrusion A (blue) into red OP-7 v3: entry in 7"
    )
    assert all("OP-8" not in line for line in lines), "only activated operations are intruded into"
    assert all("intrusion B" not in line for line in lines), "a party's own volume is no intrusion"
    assert any("ESCALATED  WARNING  intrusion A (blue) into red OP-7 v3" in line for line in intrusions)

    # Read only by default; with --publish every alert change reaches both parties' outboxes.
    def counted() -> tuple[int, int]:
        con = sqlite3.connect(db)
        try:
            events = con.execute("SELECT count(*) FROM events WHERE kind = 'tactical.alert'").fetchone()[0]
            audit = con.execute("SELECT count(*) FROM audit_log WHERE kind = 'tactical.alert'").fetchone()[0]
        finally:
            con.close()
        return events, audit

    assert counted() == (0, 0)
    published = CliRunner().invoke(cli, ["tactical", "replay-csv", str(path), "--db", db, "--publish"])
    assert published.exit_code == 0, published.output
    assert published.stdout == result.stdout
    # Every line names two registered parties (blue and red): two events and two audit entries each.
    assert counted() == (2 * len(lines), 2 * len(lines))
    assert f"{2 * len(lines)} tactical.alert events published" in published.stderr


def test_publish_needs_a_store(tmp_path: Path) -> None:
    path = tmp_path / "tracks.csv"
    path.write_text(encounter_csv(), encoding="utf-8")
    result = CliRunner().invoke(cli, ["tactical", "replay-csv", str(path), "--publish"])
    assert result.exit_code == 2
    assert "--publish needs --db" in result.output
