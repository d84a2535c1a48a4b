"""Tactical detection: the fast path against the brute-force reference, and exact boundaries."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tactical_reference import Track, all_pairs

import deconfliction.engine.tactical.detect as detect_module
from deconfliction.engine.tactical.detect import (
    ConflictPairs,
    detect_conflicts,
    detect_enu,
    velocity_enu,
)
from deconfliction.errors import InvalidInput
from deconfliction.units import FOOT_M, NAUTICAL_MILE_M

BOUNDARY = 1e-7  # relative margin under which fast path and reference may disagree


def run(
    tracks: list[Track],
    lookahead_s: float = 300.0,
    hsep_m: float = 9260.0,
    vsep_m: float = 304.8,
    different_parties: bool = True,
) -> ConflictPairs:
    columns = {
        name: np.array([getattr(t, name) for t in tracks], dtype=np.float64)
        for name in ("lat_deg", "lon_deg", "alt_m", "gs_mps", "trk_deg", "vs_mps")
    }
    parties = [t.party for t in tracks] if different_parties else None
    return detect_conflicts(**columns, party=parties, lookahead_s=lookahead_s, hsep_m=hsep_m, vsep_m=vsep_m)


def assert_matches_reference(
    tracks: list[Track],
    lookahead_s: float = 300.0,
    hsep_m: float = 9260.0,
    vsep_m: float = 304.8,
    different_parties: bool = True,
) -> ConflictPairs:
    fast = run(tracks, lookahead_s, hsep_m, vsep_m, different_parties)
    ref = all_pairs(tracks, lookahead_s, hsep_m, vsep_m, different_parties)
    found = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(fast.i, fast.j, strict=True))}
    assert all(i < j for i, j in found), "pairs must be reported with i < j"
    assert len(found) == len(fast), "a pair was reported twice"
    for key, result in ref.items():
        if result.margin < BOUNDARY:
            continue
        assert (key in found) == result.conflict, (key, result)
        if result.conflict:
            k = found[key]
            assert fast.tcpa_s[k] == pytest.approx(result.tcpa_s, rel=1e-6, abs=1e-6)
            assert fast.dcpa_m[k] == pytest.approx(result.dcpa_m, rel=1e-6, abs=1e-3)
            assert fast.t_in_s[k] == pytest.approx(result.t_in_s, rel=1e-6, abs=1e-6)
            assert fast.t_out_s[k] == pytest.approx(result.t_out_s, rel=1e-6, abs=1e-6)
            assert bool(fast.los[k]) == result.los
    for key in found:
        assert key in ref, f"{key} is not a pair that should be tested"
    return fast


def test_docstring_examples_run() -> None:
    failures, tried = doctest.testmod(detect_module, raise_on_error=False)
    assert tried > 0
    assert failures == 0


def test_head_on_times_follow_from_closing_speed() -> None:
    # 20 km apart on the equator, closing at 400 m/s: entry when 9260 m apart.
    tracks = [Track(0.0, 0.0, 3000.0, 200.0, 90.0, 0.0, 1), Track(0.0, 0.18, 3000.0, 200.0, 270.0, 0.0, 2)]
    pairs = assert_matches_reference(tracks)
    distance = 6_371_000.0 * math.radians(0.18)
    assert len(pairs) == 1
    assert pairs.t_in_s[0] == pytest.approx((distance - 9260.0) / 400.0)
    assert pairs.t_out_s[0] == pytest.approx((distance + 9260.0) / 400.0)
    assert pairs.tcpa_s[0] == pytest.approx(distance / 400.0)
    assert pairs.dcpa_m[0] == pytest.approx(0.0, abs=1e-6)
    assert not pairs.los[0]


@pytest.mark.parametrize("flight_level", [0, 50, 100, 290, 350, 410, 600])
@pytest.mark.parametrize("vertical_speed_fpm", [0.0, 1500.0, -2500.0])
def test_exactly_1000_ft_apart_is_never_a_conflict(flight_level: int, vertical_speed_fpm: float) -> None:
    low = flight_level * 100 * FOOT_M
    high = (flight_level * 100 + 1000) * FOOT_M
    vs = vertical_speed_fpm * FOOT_M / 60.0
    # Co-located and converging head-on horizontally; same vertical speed, so the
    # vertical gap stays at exactly 1000 ft.
    tracks = [Track(10.0, 20.0, low, 200.0, 90.0, vs, 1), Track(10.0, 20.0, high, 200.0, 270.0, vs, 2)]
    assert len(run(tracks)) == 0
    # One foot less is a loss of separation, already.
    closer = [tracks[0], Track(10.0, 20.0, high - FOOT_M, 200.0, 270.0, vs, 2)]
    pairs = run(closer)
    assert len(pairs) == 1
    assert pairs.los[0]


def test_diverging_vertically_from_exactly_1000_ft_is_not_a_conflict() -> None:
    low, high = 10_000 * FOOT_M, 11_000 * FOOT_M
    tracks = [Track(0.0, 0.0, low, 150.0, 0.0, -5.0, 1), Track(0.0, 0.0, high, 150.0, 180.0, 5.0, 2)]
    assert len(run(tracks)) == 0
    converging = [Track(0.0, 0.0, low, 150.0, 0.0, 5.0, 1), Track(0.0, 0.0, high, 150.0, 180.0, -5.0, 2)]
    pairs = run(converging)
    assert len(pairs) == 1
    assert pairs.t_in_s[0] == pytest.approx(0.0, abs=1e-6)  # the 1 µm tolerance, at 10 m/s
    assert not pairs.los[0]


def test_exactly_the_horizontal_minimum_at_closest_approach_is_not_a_conflict() -> None:
    # Parallel tracks at the same level on the equator, offset north by exactly R in
    # the model's own metric: distance stays R, never < R.
    offset_deg = math.degrees(9260.0 / 6_371_000.0)
    tracks = [
        Track(0.0, 0.0, 3000.0, 200.0, 90.0, 0.0, 1),
        Track(offset_deg, 0.0, 3000.0, 200.0, 90.0, 0.0, 2),
    ]
    pairs = run(tracks)
    assert len(pairs) == 0 or float(pairs.dcpa_m[0]) < 9260.0


def test_entry_after_the_lookahead_is_not_reported() -> None:
    # Closing at 400 m/s from 20 km: entry at ~26.9 s.
    tracks = [Track(0.0, 0.0, 3000.0, 200.0, 90.0, 0.0, 1), Track(0.0, 0.18, 3000.0, 200.0, 270.0, 0.0, 2)]
    assert len(run(tracks, lookahead_s=30.0)) == 1
    assert len(run(tracks, lookahead_s=25.0)) == 0


def test_same_velocity_inside_the_zone_is_a_loss_that_never_ends() -> None:
    tracks = [Track(45.0, 7.0, 3000.0, 200.0, 45.0, 0.0, 1), Track(45.01, 7.0, 3100.0, 200.0, 45.0, 0.0, 2)]
    pairs = assert_matches_reference(tracks)
    assert len(pairs) == 1
    assert pairs.los[0]
    assert pairs.t_in_s[0] == 0.0
    assert pairs.t_out_s[0] == math.inf


def test_same_party_pairs_are_skipped_unless_all_pairs() -> None:
    tracks = [Track(0.0, 0.0, 3000.0, 200.0, 90.0, 0.0, 7), Track(0.0, 0.18, 3000.0, 200.0, 270.0, 0.0, 7)]
    assert len(run(tracks)) == 0
    assert len(run(tracks, different_parties=False)) == 1


def test_neighbours_across_the_antimeridian_conflict() -> None:
    tracks = [
        Track(0.0, 179.95, 3000.0, 200.0, 90.0, 0.0, 1),
        Track(0.0, -179.95, 3000.0, 200.0, 270.0, 0.0, 2),
    ]
    pairs = assert_matches_reference(tracks)
    assert len(pairs) == 1
    assert pairs.dcpa_m[0] == pytest.approx(0.0, abs=1e-3)


def test_near_the_pole() -> None:
    rng = np.random.default_rng(3)
    tracks = [
        Track(
            float(rng.uniform(88.5, 89.9)),
            float(rng.uniform(-180, 180)),
            float(rng.uniform(9000, 9600)),
            float(rng.uniform(100, 250)),
            float(rng.uniform(0, 360)),
            0.0,
            k % 3,
        )
        for k in range(60)
    ]
    assert_matches_reference(tracks)


def test_invalid_parameters_are_refused() -> None:
    one = [0.0, 0.0]
    with pytest.raises(InvalidInput, match="lookahead_s"):
        detect_conflicts(one, one, one, one, one, one, lookahead_s=0.0)
    with pytest.raises(InvalidInput, match="hsep_m"):
        detect_conflicts(one, one, one, one, one, one, hsep_m=float("nan"))
    with pytest.raises(InvalidInput, match="alt_m"):
        detect_conflicts(one, one, [0.0, float("nan")], one, one, one)
    with pytest.raises(InvalidInput, match="lon_deg"):
        detect_conflicts(one, [0.0], one, one, one, one)
    with pytest.raises(InvalidInput, match="lat_deg"):
        detect_conflicts([0.0, 91.0], one, one, one, one, one)


def test_fewer_than_two_tracks() -> None:
    assert len(detect_conflicts([], [], [], [], [], [])) == 0
    assert len(detect_conflicts([1.0], [1.0], [1.0], [1.0], [1.0], [1.0])) == 0


@pytest.mark.parametrize(("box_deg", "seed"), [(0.5, 1), (2.0, 2), (6.0, 3)])
def test_random_traffic_matches_reference(box_deg: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    tracks = [
        Track(
            float(rng.uniform(45, 45 + box_deg)),
            float(rng.uniform(5, 5 + box_deg)),
            float(rng.uniform(3000, 6000)),
            float(rng.uniform(0, 260)),
            float(rng.uniform(0, 360)),
            float(rng.choice([0.0, rng.uniform(-15, 15)])),
            int(rng.integers(0, 4)),
        )
        for _ in range(150)
    ]
    fast = assert_matches_reference(tracks)
    assert len(fast) > 0
    assert_matches_reference(tracks, different_parties=False)


latitudes = st.floats(-60.0, 60.0)
track_strategy = st.builds(
    Track,
    lat_deg=st.floats(-0.5, 0.5),
    lon_deg=st.floats(-0.5, 0.5),
    alt_m=st.one_of(st.floats(2000.0, 4000.0), st.integers(60, 130).map(lambda fl: fl * 100 * FOOT_M)),
    gs_mps=st.one_of(st.just(0.0), st.floats(0.0, 400.0)),
    trk_deg=st.one_of(st.sampled_from([0.0, 90.0, 180.0, 270.0]), st.floats(0.0, 360.0)),
    vs_mps=st.one_of(st.just(0.0), st.floats(-20.0, 20.0)),
    party=st.integers(0, 2),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tracks=st.lists(track_strategy, min_size=2, max_size=40),
    centre_lat=latitudes,
    centre_lon=st.floats(-180.0, 180.0),
    lookahead_s=st.sampled_from([30.0, 120.0, 300.0, 600.0]),
    hsep_m=st.sampled_from([3 * NAUTICAL_MILE_M, 9260.0, 20_000.0]),
    vsep_m=st.sampled_from([304.8, 600.0]),
    different_parties=st.booleans(),
)
def test_fast_path_equals_brute_force(
    tracks: list[Track],
    centre_lat: float,
    centre_lon: float,
    lookahead_s: float,
    hsep_m: float,
    vsep_m: float,
    different_parties: bool,
) -> None:
    moved = [
        Track(
            t.lat_deg + centre_lat,
            ((t.lon_deg + centre_lon + 180.0) % 360.0) - 180.0,
            t.alt_m,
            t.gs_mps,
            t.trk_deg,
            t.vs_mps,
            t.party,
        )
        for t in tracks
    ]
    assert_matches_reference(moved, lookahead_s, hsep_m, vsep_m, different_parties)


@settings(max_examples=60, deadline=None)
@given(tracks=st.lists(track_strategy, min_size=2, max_size=30), factor=st.floats(1.0, 3.0))
def test_widening_the_minima_never_removes_a_conflict(tracks: list[Track], factor: float) -> None:
    narrow = run(tracks)
    wide = run(tracks, hsep_m=9260.0 * factor, vsep_m=304.8 * factor)
    ref = all_pairs(tracks)
    for i, j in zip(narrow.i.tolist(), narrow.j.tolist(), strict=True):
        if ref[(i, j)].margin < BOUNDARY:
            continue
        assert (i, j) in set(zip(wide.i.tolist(), wide.j.tolist(), strict=True))


@settings(max_examples=60, deadline=None)
@given(tracks=st.lists(track_strategy, min_size=2, max_size=30), seed=st.integers(0, 2**32 - 1))
def test_order_of_tracks_does_not_matter(tracks: list[Track], seed: int) -> None:
    perm = np.random.default_rng(seed).permutation(len(tracks))
    shuffled = [tracks[k] for k in perm]
    ref = all_pairs(tracks)
    base = {(i, j) for i, j in zip(run(tracks).i.tolist(), run(tracks).j.tolist(), strict=True)}
    result = run(shuffled)
    mapped = {tuple(sorted((int(perm[i]), int(perm[j])))) for i, j in zip(result.i, result.j, strict=True)}
    for key in base ^ mapped:
        assert ref[key].margin < BOUNDARY, key  # type: ignore[index]


def test_enu_entry_point_matches_degrees_entry_point() -> None:
    rng = np.random.default_rng(11)
    n = 400
    lat, lon = rng.uniform(44, 46, n), rng.uniform(6, 8, n)
    alt, gs, trk = rng.uniform(3000, 5000, n), rng.uniform(100, 250, n), rng.uniform(0, 360, n)
    vs = rng.uniform(-5, 5, n)
    a = detect_conflicts(lat, lon, alt, gs, trk, vs)
    east, north = velocity_enu(gs, trk)
    b = detect_enu(np.radians(lat), np.radians(lon), alt, east, north, vs)
    assert np.array_equal(a.i, b.i)
    assert np.array_equal(a.j, b.j)
    assert np.array_equal(a.t_in_s, b.t_in_s)
