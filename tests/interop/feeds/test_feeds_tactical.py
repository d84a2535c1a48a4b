"""Track feeds: STATES.csv / PAIRS.csv and the CLI, recorded samples, SBS-1."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from deconfliction.cli.errors import EXIT_INVALID_INPUT
from deconfliction.cli.tactical import tactical
from deconfliction.errors import InvalidDocument
from deconfliction.interop.feeds.recorded import recorded_batches, recording_from_columns, snapshot_at
from deconfliction.interop.feeds.sbs import SbsAssembler
from deconfliction.interop.feeds.states_csv import PAIR_COLUMNS, read_states_csv
from deconfliction.units import FEET_PER_MINUTE_MPS, FOOT_M, KNOT_MPS

STATES = """id,party,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps
Z1,blue,0.0,0.0,3000,200,90,0
B1,red,0.0,0.18,3000,200,270,0
B2,red,0.0,0.18,3304.8,200,270,0
C1,blue,nan,0.1,3000,200,90,0
C2,red,0.1,0.1,3000,2000,90,0
Z1,red,0.1,0.1,3000,200,90,0
C3,red,0.1,abc,3000,200,90,0
C4,red,0.1,0.1,,200,90,0
"""


def test_states_csv_refuses_bad_rows_and_keeps_the_rest() -> None:
    snapshot, rejections = read_states_csv(io.StringIO(STATES))
    assert snapshot.ids == ("Z1", "B1", "B2")
    assert [(r.index, r.field) for r in rejections] == [
        (3, "lat_deg"),
        (4, "gs_mps"),
        (5, "id"),
        (6, "lon_deg"),
        (7, "alt_m"),
    ]


def test_states_csv_without_a_required_column_is_refused_whole() -> None:
    with pytest.raises(InvalidDocument, match="vs_mps"):
        read_states_csv(io.StringIO("id,party,lat_deg,lon_deg,alt_m,gs_mps,trk_deg\n"))


def test_detect_command_writes_pairs_csv(tmp_path: Path) -> None:
    states = tmp_path / "states.csv"
    states.write_text(STATES, encoding="utf-8")
    out = tmp_path / "pairs.csv"
    result = CliRunner().invoke(tactical, ["detect", str(states), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    assert tuple(rows[0]) == PAIR_COLUMNS
    # Z1-B1 head-on; B2 is exactly 1000 ft above both: never a conflict. Ids ordered.
    assert [r[:2] for r in rows[1:]] == [["B1", "Z1"]]
    assert float(rows[1][4]) == pytest.approx((20015.1 - 9260.0) / 400.0, abs=0.05)
    assert rows[1][6] == "false"
    assert "refused line 5" in result.output


def test_detect_command_all_pairs_and_minima(tmp_path: Path) -> None:
    states = tmp_path / "states.csv"
    states.write_text(STATES, encoding="utf-8")
    same_party = CliRunner().invoke(tactical, ["detect", str(states), "--all-pairs", "--vsep-m", "400"])
    assert same_party.exit_code == 0
    lines = [line for line in same_party.output.splitlines() if line.count(",") == 6][1:]
    pairs = {tuple(line.split(",")[:2]) for line in lines}
    assert pairs == {("B1", "Z1"), ("B2", "Z1"), ("B1", "B2")}
    short = CliRunner().invoke(tactical, ["detect", str(states), "--lookahead-s", "20"])
    assert [line for line in short.output.splitlines() if line.startswith("B1,")] == []


def test_detect_command_refuses_bad_parameters(tmp_path: Path) -> None:
    states = tmp_path / "states.csv"
    states.write_text(STATES, encoding="utf-8")
    result = CliRunner().invoke(tactical, ["detect", str(states), "--hsep-m", "-1"])
    assert result.exit_code == EXIT_INVALID_INPUT
    assert "hsep_m" in result.output


def recording():  # type: ignore[no-untyped-def]
    t0 = 1_700_000_000.0
    return recording_from_columns(
        "test",
        {
            "timestamp": np.array([t0, t0 + 1, t0 + 2, t0 + 3, t0 + 3.5]),
            "icao24": np.array(["abc123", "abc123", "def456", "def456", "abc123"]),
            "latitude": np.array([45.0, np.nan, 46.0, np.nan, 45.01]),
            "longitude": np.array([7.0, np.nan, 7.5, np.nan, 7.0]),
            "altitude": np.array([10000.0, np.nan, 20000.0, np.nan, np.nan]),
            "groundspeed": np.array([np.nan, 250.0, np.nan, 300.0, np.nan]),
            "track": np.array([np.nan, 90.0, np.nan, 180.0, np.nan]),
            "vertical_rate": np.array([np.nan, 500.0, np.nan, 0.0, np.nan]),
            "onground": np.array([False, False, False, True, False], dtype=object),
        },
    )


def test_recorded_snapshot_merges_position_altitude_and_velocity() -> None:
    rec = recording()
    snap = snapshot_at(rec, rec.start_s + 3.6)
    assert snap.ids == ("abc123",)  # def456 reported on the ground last
    assert snap.lat_deg[0] == 45.01
    assert snap.alt_m[0] == pytest.approx(10000 * FOOT_M)
    assert snap.gs_mps[0] == pytest.approx(250 * KNOT_MPS)
    assert snap.vs_mps[0] == pytest.approx(500 * FEET_PER_MINUTE_MPS)
    assert snap.report_time_s[0] == rec.start_s + 3.5
    batches = list(recorded_batches(rec, lambda icao: "p-" + icao, step_s=1.0))
    assert len(batches) == 4
    assert list(batches[-1][1].parties) == ["p-abc123"]


def sbs_line(kind: int, hexident: str, clock: str, **fields: str) -> str:
    parts = ["MSG", str(kind), "1", "1", hexident, "1", "2026/11/25", clock, "2026/11/25", clock] + [""] * 12
    index = {"alt": 11, "gs": 12, "trk": 13, "lat": 14, "lon": 15, "vs": 16, "ground": 21}
    for name, value in fields.items():
        parts[index[name]] = value
    return ",".join(parts)


def test_sbs_messages_merge_into_reports_and_bad_lines_are_refused() -> None:
    feed = SbsAssembler(party_of=lambda _: "civil")
    feed.feed(
        [
            sbs_line(3, "4CA2D6", "12:00:00.000", alt="35000", lat="51.5", lon="-0.1", ground="0"),
            "garbage",
            sbs_line(4, "4CA2D6", "12:00:01.000", gs="450", trk="270", vs="-64"),
            sbs_line(3, "XYZ", "12:00:01.000", alt="1000"),
            sbs_line(3, "400ABC", "12:00:01.000", alt="2000", lat="51.0", lon="0.0"),
            sbs_line(3, "400abd", "not a time"),
        ]
    )
    batch = feed.batch()
    assert list(batch.ids) == ["4ca2d6"]  # 400abc has no velocity yet
    assert batch.alt_m[0] == pytest.approx(35000 * FOOT_M)
    assert batch.gs_mps[0] == pytest.approx(450 * KNOT_MPS)
    assert batch.vs_mps[0] == pytest.approx(-64 * FEET_PER_MINUTE_MPS)
    assert [(r.index, r.field) for r in feed.rejections] == [(1, "line"), (3, "hexident"), (5, "time")]
