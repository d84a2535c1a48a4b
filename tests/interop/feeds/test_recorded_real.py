"""Recorded ADS-B on the real ``traffic`` samples: loading, and rigid relocation."""

from __future__ import annotations

import numpy as np
import pytest

from deconfliction.engine.tactical import detect_conflicts
from deconfliction.engine.tactical.detect import velocity_enu
from deconfliction.errors import InvalidDocument, InvalidInput
from deconfliction.geo.frame import GEOD
from deconfliction.interop.feeds.recorded import (
    Relocation,
    load_sample,
    recorded_batches,
    relocated,
    snapshot_at,
)
from deconfliction.units import FOOT_M
from recorded_samples import sample

DEIR_EZ_ZOR_AIRPORT = (35.285, 40.176)


def test_quickstart_loads_as_si_arrays_sorted_in_time() -> None:
    rec = sample("quickstart")
    assert rec.name == "quickstart"
    assert len(rec) > 100_000
    assert np.all(np.diff(rec.time_s) >= 0)
    # Three hours over Paris on 2021-10-07 from 12:00Z.
    assert rec.start_s == pytest.approx(1633608000.0, abs=60.0)
    assert rec.end_s - rec.start_s == pytest.approx(3 * 3600.0, abs=120.0)
    lat, lon = np.nanmedian(rec.lat_deg), np.nanmedian(rec.lon_deg)
    assert 48.0 < lat < 50.0
    assert 1.5 < lon < 3.5
    # Altitudes were feet and are now metres: airliners cruise below FL450 (real data also
    # has a few garbled messages far above, which the engine refuses per record).
    assert 20_000 * FOOT_M < np.nanpercentile(rec.alt_m, 99) < 45_000 * FOOT_M
    # Knots became m/s: nothing in a terminal area flies at 300 m/s.
    assert 50.0 < np.nanmedian(rec.gs_mps) < 300.0
    assert len(set(rec.ids)) > 100
    assert rec.complete().sum() > 0  # some rows have every field


def test_unknown_sample_is_refused() -> None:
    sample("quickstart")  # skips or fails without traffic
    with pytest.raises(InvalidDocument, match="no sample recording named"):
        load_sample("no_such_sample_here")


def test_switzerland_snapshot_has_overflights() -> None:
    rec = sample("switzerland")
    snap = snapshot_at(rec, rec.start_s + 4 * 3600.0)
    assert len(snap) >= 5
    assert np.median(snap.alt_m) > 25_000 * FOOT_M  # en-route traffic
    assert np.all(snap.report_time_s <= snap.time_s)


def _pair_distances(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(lat.size, 1)
    _, _, dist = GEOD.inv(lon[i], lat[i], lon[j], lat[j])
    return np.asarray(dist)


def test_relocation_keeps_distances_between_aircraft_within_a_tenth_of_a_percent() -> None:
    rec = sample("quickstart")
    move = Relocation.centred(rec.lat_deg, rec.lon_deg, *DEIR_EZ_ZOR_AIRPORT, shift_s=1000.0)
    assert move.source_lat == pytest.approx(48.8, abs=0.5)
    snap = snapshot_at(rec, rec.start_s + 5400.0)
    assert len(snap) >= 10
    lat, lon = move.positions(snap.lat_deg, snap.lon_deg)
    before = _pair_distances(snap.lat_deg, snap.lon_deg)
    after = _pair_distances(lat, lon)
    assert before.max() > 50_000.0  # a spread-out picture, not a cluster
    assert np.max(np.abs(after / before - 1.0)) < 1e-3
    # Everything now lies around Deir ez-Zor, as far from it as it was from the source centre.
    _, _, from_centre = GEOD.inv(
        np.full(lat.size, move.source_lon), np.full(lat.size, move.source_lat), snap.lon_deg, snap.lat_deg
    )
    _, _, to_target = GEOD.inv(
        np.full(lat.size, DEIR_EZ_ZOR_AIRPORT[1]), np.full(lat.size, DEIR_EZ_ZOR_AIRPORT[0]), lon, lat
    )
    np.testing.assert_allclose(to_target, from_centre, rtol=1e-6, atol=0.01)


def test_relocation_keeps_the_conflict_picture_of_a_real_snapshot() -> None:
    """Rigid means the detector sees the same encounters: same pairs, same timing."""
    rec = sample("quickstart")
    move = Relocation.centred(rec.lat_deg, rec.lon_deg, *DEIR_EZ_ZOR_AIRPORT)
    party = {name: k % 2 for k, name in enumerate(sorted(set(rec.ids)))}
    checked = 0
    for minute in range(30, 170, 20):
        snap = snapshot_at(rec, rec.start_s + 60.0 * minute)
        parties = [party[i] for i in snap.ids]
        lat, lon = move.positions(snap.lat_deg, snap.lon_deg)
        trk = move.tracks(snap.lat_deg, snap.lon_deg, snap.trk_deg)
        here = detect_conflicts(
            snap.lat_deg, snap.lon_deg, snap.alt_m, snap.gs_mps, snap.trk_deg, snap.vs_mps, parties
        )
        there = detect_conflicts(lat, lon, snap.alt_m, snap.gs_mps, trk, snap.vs_mps, parties)
        # Pairs exactly on a boundary could flip; none of these snapshots has one.
        assert (here.i.tolist(), here.j.tolist()) == (there.i.tolist(), there.j.tolist())
        # The detector's flat-earth geometry on a sphere (BlueSky's) differs from the WGS84
        # ellipsoid the relocation is rigid on by a few tenths of a percent, differently at
        # 49 and 35 degrees north: of the distance to the closest approach, that much moves.
        _, _, apart = GEOD.inv(
            snap.lon_deg[here.i], snap.lat_deg[here.i], snap.lon_deg[here.j], snap.lat_deg[here.j]
        )
        east, north = velocity_enu(snap.gs_mps, snap.trk_deg)
        closing = np.hypot(east[here.j] - east[here.i], north[here.j] - north[here.i])
        reach = np.asarray(apart) + closing * np.abs(here.tcpa_s)
        assert np.all(np.abs(there.dcpa_m - here.dcpa_m) <= 0.01 * reach + 1.0)
        assert np.all(np.abs(there.t_in_s - here.t_in_s) <= 0.01 * reach / closing + 1.0)
        checked += len(here)
    assert checked > 0, "the snapshots should hold some real encounters"


def test_relocated_batches_move_in_time_too() -> None:
    rec = sample("quickstart")
    move = Relocation.centred(rec.lat_deg, rec.lon_deg, *DEIR_EZ_ZOR_AIRPORT, shift_s=86_400.0)
    start = rec.start_s + 3600.0
    original = list(recorded_batches(rec, lambda _: "x", step_s=30.0, start_s=start, end_s=start + 60.0))
    moved = list(
        relocated(recorded_batches(rec, lambda _: "x", step_s=30.0, start_s=start, end_s=start + 60.0), move)
    )
    assert [t for t, _ in moved] == [t + 86_400.0 for t, _ in original]
    for (_, a), (_, b) in zip(original, moved, strict=True):
        assert list(a.ids) == list(b.ids)
        np.testing.assert_array_equal(b.time_s, a.time_s + 86_400.0)
        np.testing.assert_array_equal(b.alt_m, a.alt_m)
        np.testing.assert_array_equal(b.gs_mps, a.gs_mps)
        assert np.all(np.abs(b.lat_deg - DEIR_EZ_ZOR_AIRPORT[0]) < 3.0)


def test_relocation_turns_tracks_by_the_meridian_convergence_only() -> None:
    move = Relocation(48.8, 2.4, 35.3, 40.2)
    # On the centre's meridian north stays north; east of the centre, the frames' meridians
    # converge differently, so a northbound track there turns, by less than a degree.
    trk = move.tracks(np.array([48.8, 49.5, 48.8]), np.array([2.4, 2.4, 3.8]), np.array([0.0, 90.0, 0.0]))
    assert trk[0] == pytest.approx(0.0, abs=1e-6)
    assert trk[1] == pytest.approx(90.0, abs=0.05)
    assert 0.1 < abs((trk[2] + 180.0) % 360.0 - 180.0) < 1.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"source_lat": 95.0},
        {"target_lat": float("nan")},
        {"shift_s": float("inf")},
    ],
)
def test_bad_relocations_are_refused(kwargs: dict[str, float]) -> None:
    base = {"source_lat": 48.8, "source_lon": 2.4, "target_lat": 35.3, "target_lon": 40.2}
    with pytest.raises(InvalidInput):
        Relocation(**{**base, **kwargs})
