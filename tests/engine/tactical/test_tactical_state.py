"""Track state, bad input per record, the full cycle with intrusion and alerts."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from deconfliction.engine.tactical.alerts import AlertPolicy, Change, Tier
from deconfliction.engine.tactical.intrusion import ActiveVolume
from deconfliction.engine.tactical.replay import TacticalConfig, TacticalEngine, replay
from deconfliction.engine.tactical.state import ReportBatch, TrackState
from deconfliction.geo import AltitudeBand, Circle, Position, TimeWindow, Volume4D

T0 = 1_700_000_000.0


def batch(rows: list[tuple], datums: list[str] | None = None) -> ReportBatch:
    """rows: (id, party, time_s, lat, lon, alt_m, gs, trk, vs)."""
    cols = list(zip(*rows, strict=True)) if rows else [[]] * 9
    return ReportBatch(
        ids=list(cols[0]),
        parties=list(cols[1]),
        time_s=np.array(cols[2], dtype=float),
        lat_deg=np.array(cols[3], dtype=float),
        lon_deg=np.array(cols[4], dtype=float),
        alt_m=np.array(cols[5], dtype=float),
        gs_mps=np.array(cols[6], dtype=float),
        trk_deg=np.array(cols[7], dtype=float),
        vs_mps=np.array(cols[8], dtype=float),
        datums=datums,
    )


GOOD = ("A", "blue", T0, 45.0, 7.0, 3000.0, 200.0, 90.0, 0.0)


def test_bad_records_are_refused_with_reasons_and_the_rest_processed() -> None:
    state = TrackState(capacity=2)
    rows = [
        GOOD,
        ("B", "red", T0, float("nan"), 7.0, 3000.0, 200.0, 90.0, 0.0),
        ("C", "red", T0, 45.0, 200.0, 3000.0, 200.0, 90.0, 0.0),
        ("D", "red", T0, 45.0, 7.0, 3000.0, 5000.0, 90.0, 0.0),
        ("E", "red", T0 + 3600.0, 45.0, 7.0, 3000.0, 200.0, 90.0, 0.0),
        ("F", "red", T0 - 3600.0, 45.0, 7.0, 3000.0, 200.0, 90.0, 0.0),
        ("A", "red", T0, 45.1, 7.0, 3000.0, 200.0, 90.0, 0.0),
        ("G", "red", T0, 45.0, 7.0, 3000.0, 200.0, 90.0, 0.0),
        ("H", "red", T0, 45.0, 7.0, 3000.0, 200.0, 90.0, 0.0),
        ("I", "red", T0, 45.0, 7.0, 3000.0, 200.0, 400.0, 0.0),
        ("J", "red", T0, 45.0, 7.0, 3000.0, 200.0, 90.0, 999.0),
        ("K", "", T0, 45.0, 7.0, 3000.0, 200.0, 90.0, 0.0),
    ]
    datums = ["STD"] * 7 + ["FOO", "MSL", "STD", "STD", "STD"]
    result = state.ingest(batch(rows, datums), now_s=T0)
    reasons = {r.index: (r.field, r.reason) for r in result.rejections}
    assert result.accepted == 1
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert reasons[1][0] == "lat_deg"
    assert reasons[2][0] == "lon_deg"
    assert reasons[3][0] == "gs_mps"
    assert "future" in reasons[4][1]
    assert "past" in reasons[5][1]
    assert "duplicate" in reasons[6][1]
    assert "unknown" in reasons[7][1]
    assert "differs" in reasons[8][1]
    assert reasons[9][0] == "trk_deg"
    assert reasons[10][0] == "vs_mps"
    assert reasons[11][0] == "party"
    # Nothing of the refused records reached the arrays.
    assert len(state) == 1
    slot = state.slot_of["A"]
    assert state.lat_rad[slot] == pytest.approx(math.radians(45.0))
    assert np.count_nonzero(state.active) == 1


def test_state_grows_extrapolates_and_drops_stale() -> None:
    state = TrackState(capacity=1, stale_after_s=10.0)
    rows = [(f"T{k}", "blue", T0, 45.0, 7.0 + k * 0.01, 3000.0, 100.0, 0.0, 5.0) for k in range(5)]
    assert state.ingest(batch(rows), now_s=T0).accepted == 5
    assert state.capacity >= 5
    pos = state.positions_at(T0 + 10.0)
    assert np.allclose(pos.alt_m, 3050.0)
    assert np.allclose(np.degrees(pos.lat_rad), 45.0 + math.degrees(1000.0 / 6_371_000.0))
    # An older report for a known track is refused; a newer one moves it.
    older = state.ingest(batch([("T0", "blue", T0 - 1.0, 46.0, 7.0, 3000.0, 100.0, 0.0, 0.0)]), now_s=T0)
    assert older.accepted == 0
    assert "older" in older.rejections[0].reason
    state.ingest(batch([("T1", "blue", T0 + 8.0, 45.5, 7.0, 3000.0, 100.0, 0.0, 0.0)]), now_s=T0 + 8.0)
    dropped = state.drop_stale(T0 + 15.0)
    assert sorted(i for _, i in dropped) == ["T0", "T2", "T3", "T4"]
    assert list(state.slot_of) == ["T1"]


def converging(now: float, gap_deg: float) -> ReportBatch:
    """Two aircraft of different parties head-on on the equator, 400 m/s closing."""
    return batch(
        [
            ("A", "blue", now, 0.0, -gap_deg / 2, 3000.0, 200.0, 90.0, 0.0),
            ("B", "red", now, 0.0, gap_deg / 2, 3000.0, 200.0, 270.0, 0.0),
        ]
    )


def test_alerts_rise_escalate_and_clear_over_cycles() -> None:
    metres_per_deg = 6_371_000.0 * math.pi / 180.0
    engine = TacticalEngine(TacticalConfig(policy=AlertPolicy(m=2, n=3, clear_cycles=2)))
    seen: list[tuple[Change, Tier]] = []
    # Closing from 150 km at 400 m/s, cycles every 5 s; they pass, then separate.
    for k in range(140):
        now = T0 + 5.0 * k
        gap_m = 150_000.0 - 400.0 * 5.0 * k
        result = engine.cycle(now, converging(now, gap_m / metres_per_deg))
        seen.extend((a.change, a.tier) for a in result.alerts)
        for alert in result.alerts:
            assert {alert.party_a, alert.party_b} == {"blue", "red"}
    kinds = [c for c, _ in seen]
    assert kinds[0] == Change.RAISED
    assert Change.ESCALATED in kinds
    assert (Change.ESCALATED, Tier.WARNING) in seen
    assert kinds[-1] == Change.CLEARED


def test_dropped_track_clears_its_alerts() -> None:
    engine = TacticalEngine(TacticalConfig(stale_after_s=10.0, policy=AlertPolicy(m=1, n=1)))
    first = engine.cycle(T0, converging(T0, 0.3))
    assert [a.change for a in first.alerts] == [Change.RAISED]
    later = engine.cycle(T0 + 30.0)
    assert sorted(later.dropped) == ["A", "B"]
    assert [a.change for a in later.alerts] == [Change.CLEARED]
    assert later.alerts[0].subject_a in {"A", "B"}


def volume(party: str, lat: float, lon: float, radius_m: float, low_m: float, high_m: float) -> ActiveVolume:
    start = datetime.fromtimestamp(T0 - 600, tz=UTC)
    return ActiveVolume(
        ref=f"{party}-op-1",
        party=party,
        volume=Volume4D(
            Circle(Position(lat, lon), radius_m),
            AltitudeBand.parse(low_m, high_m, "m", "STD"),
            TimeWindow(start, start + timedelta(hours=2)),
        ),
    )


def test_intrusion_into_another_partys_active_volume() -> None:
    vol = volume("red", 0.0, 0.0, 5000.0, 2000.0, 4000.0)
    engine = TacticalEngine(TacticalConfig(policy=AlertPolicy(m=1, n=1)), [vol])
    # Blue flies east towards the circle: 20 km from centre, 200 m/s, entry after ~75 s.
    rows = [
        ("A", "blue", T0, 0.0, -20_000 / 111_195.0, 3000.0, 200.0, 90.0, 0.0),
        ("R", "red", T0, 0.0, -20_000 / 111_195.0, 3000.0, 200.0, 90.0, 0.0),
        ("H", "blue", T0, 0.0, -20_000 / 111_195.0, 6000.0, 200.0, 90.0, 0.0),
    ]
    result = engine.cycle(T0, batch(rows))
    intrusions = [a for a in result.alerts if a.kind == "intrusion"]
    assert len(intrusions) == 1  # not red's own aircraft, not the one above the band
    alert = intrusions[0]
    assert (alert.subject_a, alert.party_a, alert.subject_b, alert.party_b) == (
        "A",
        "blue",
        "red-op-1",
        "red",
    )
    assert alert.t_in_s == pytest.approx(75.0, abs=2.0)
    assert alert.tier == Tier.ADVISORY


def test_replay_yields_one_result_per_batch() -> None:
    batches = [(T0 + 5.0 * k, converging(T0 + 5.0 * k, 0.5)) for k in range(4)]
    results = list(replay(batches, config=TacticalConfig(policy=AlertPolicy(m=2, n=3))))
    assert [r.time_s for r in results] == [t for t, _ in batches]
    assert all(r.conflicts == 1 for r in results)
    assert [len(r.alerts) for r in results] == [0, 1, 0, 0]
