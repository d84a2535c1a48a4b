"""Separation minima per pair of parties, and the package's public API."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tactical_reference import Track, pair

import deconfliction.engine.tactical as tactical
from deconfliction.engine.minima import EN_ROUTE, Minima, MinimaPolicy
from deconfliction.engine.tactical import (
    PairMinima,
    ReportBatch,
    TacticalConfig,
    TacticalEngine,
    detect_enu,
)
from deconfliction.engine.tactical.detect import velocity_enu
from deconfliction.errors import InvalidInput
from deconfliction.units import FOOT_M, NAUTICAL_MILE_M

BOUNDARY = 1e-7
T0 = 1_700_000_000.0

#: The public API of deconfliction.engine.tactical: changing it is a decision, not an accident.
PUBLIC = [
    "DEFAULT_HSEP_M",
    "DEFAULT_LOOKAHEAD_S",
    "DEFAULT_VSEP_M",
    "EARTH_RADIUS_M",
    "ActiveVolume",
    "Alert",
    "AlertPolicy",
    "Change",
    "ConflictPairs",
    "CycleResult",
    "IngestResult",
    "Intrusions",
    "Limits",
    "PairMinima",
    "PairTerms",
    "Rejection",
    "ReportBatch",
    "TacticalConfig",
    "TacticalEngine",
    "Tier",
    "TrackState",
    "detect_conflicts",
    "detect_enu",
    "detect_intrusions",
    "pair_terms",
    "validate_records",
]  # not the function ``replay``: ``tactical.replay`` is its module, where it is imported from


def test_public_api_is_pinned_and_importable() -> None:
    assert tactical.__all__ == PUBLIC
    for name in PUBLIC:
        assert not isinstance(getattr(tactical, name), types.ModuleType), name
    namespace: dict[str, object] = {}
    exec("from deconfliction.engine.tactical import *", namespace)
    assert sorted(k for k in namespace if not k.startswith("__")) == sorted(PUBLIC)


def _enu(tracks: list[Track]) -> tuple[np.ndarray, ...]:
    lat = np.radians([t.lat_deg for t in tracks])
    lon = np.radians([t.lon_deg for t in tracks])
    alt = np.array([t.alt_m for t in tracks])
    east, north = velocity_enu(np.array([t.gs_mps for t in tracks]), np.array([t.trk_deg for t in tracks]))
    vs = np.array([t.vs_mps for t in tracks])
    party = np.array([t.party for t in tracks], dtype=np.int64)
    return lat, lon, alt, east, north, vs, party


def test_each_pair_uses_its_own_minima() -> None:
    # Three aircraft in a row at one level, 4 NM apart: 0 (party 0), 1 (party 1), 2 (party 2).
    step = 4 * NAUTICAL_MILE_M / 6_371_000.0
    tracks = [
        Track(35.0, math.degrees(k * step) / math.cos(math.radians(35.0)) + 40.0, 9000.0, 0.0, 0.0, 0.0, k)
        for k in range(3)
    ]
    lat, lon, alt, east, north, vs, party = _enu(tracks)
    # Scalar 5 NM: both neighbouring pairs have lost separation; 0-2 (8 NM) has not.
    scalar = detect_enu(lat, lon, alt, east, north, vs, party)
    assert list(zip(scalar.i.tolist(), scalar.j.tolist(), strict=True)) == [(0, 1), (1, 2)]
    # Parties 0 and 1 agreed 3 NM: their pair is no longer in conflict; 1-2 keeps 5 NM.
    h = np.full((3, 3), 5 * NAUTICAL_MILE_M)
    h[0, 1] = h[1, 0] = 3 * NAUTICAL_MILE_M
    minima = PairMinima(h, np.full((3, 3), 1000 * FOOT_M))
    per_pair = detect_enu(lat, lon, alt, east, north, vs, party, minima=minima)
    assert list(zip(per_pair.i.tolist(), per_pair.j.tolist(), strict=True)) == [(1, 2)]
    # Parties 0 and 2 agreed 10 NM: the widest pair minimum reaches the candidate search too.
    h[0, 2] = h[2, 0] = 10 * NAUTICAL_MILE_M
    wide = detect_enu(lat, lon, alt, east, north, vs, party, minima=PairMinima(h, minima.vsep_m))
    assert list(zip(wide.i.tolist(), wide.j.tolist(), strict=True)) == [(0, 2), (1, 2)]
    assert bool(wide.los[0])
    # Vertical minima per pair as well: 2000 ft between 1 and 2, with 1 climbing 1500 ft above.
    climbed = alt.copy()
    climbed[2] += 1500 * FOOT_M
    v = np.full((3, 3), 1000 * FOOT_M)
    v[1, 2] = v[2, 1] = 2000 * FOOT_M
    vertical = detect_enu(lat, lon, climbed, east, north, vs, party, minima=PairMinima(h, v))
    assert (1, 2) in set(zip(vertical.i.tolist(), vertical.j.tolist(), strict=True))
    assert (0, 2) not in set(zip(vertical.i.tolist(), vertical.j.tolist(), strict=True))


minima_choices = st.sampled_from([3 * NAUTICAL_MILE_M, 5 * NAUTICAL_MILE_M, 8 * NAUTICAL_MILE_M])
vertical_choices = st.sampled_from([304.8, 600.0])
track_strategy = st.builds(
    Track,
    lat_deg=st.floats(34.5, 35.5),
    lon_deg=st.floats(39.5, 40.5),
    alt_m=st.one_of(st.floats(2000.0, 4000.0), st.integers(60, 130).map(lambda fl: fl * 100 * FOOT_M)),
    gs_mps=st.floats(0.0, 300.0),
    trk_deg=st.floats(0.0, 360.0),
    vs_mps=st.one_of(st.just(0.0), st.floats(-20.0, 20.0)),
    party=st.integers(0, 2),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tracks=st.lists(track_strategy, min_size=2, max_size=30),
    h=st.lists(minima_choices, min_size=6, max_size=6),
    v=st.lists(vertical_choices, min_size=6, max_size=6),
    all_pairs=st.booleans(),
)
def test_per_pair_minima_equal_the_reference_pair_by_pair(
    tracks: list[Track], h: list[float], v: list[float], all_pairs: bool
) -> None:
    upper = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
    hm, vm = np.zeros((3, 3)), np.zeros((3, 3))
    for (p, q), hv, vv in zip(upper, h, v, strict=True):
        hm[p, q] = hm[q, p] = hv
        vm[p, q] = vm[q, p] = vv
    lat, lon, alt, east, north, vs, party = _enu(tracks)
    fast = detect_enu(lat, lon, alt, east, north, vs, party, minima=PairMinima(hm, vm), all_pairs=all_pairs)
    found = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(fast.i, fast.j, strict=True))}
    for i in range(len(tracks)):
        for j in range(i + 1, len(tracks)):
            a, b = tracks[i], tracks[j]
            if not all_pairs and a.party == b.party:
                assert (i, j) not in found
                continue
            ref = pair(a, b, 300.0, hm[a.party, b.party], vm[a.party, b.party])
            if ref.margin < BOUNDARY:
                continue
            assert ((i, j) in found) == ref.conflict, (i, j, ref)
            if ref.conflict:
                assert fast.t_in_s[found[(i, j)]] == pytest.approx(ref.t_in_s, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize(
    ("hsep", "vsep", "match"),
    [
        (np.full((2, 3), 9260.0), np.full((2, 3), 304.8), "square"),
        (np.array([[9260.0, 5000.0], [9260.0, 9260.0]]), np.full((2, 2), 304.8), "symmetric"),
        (np.full((2, 2), 0.0), np.full((2, 2), 304.8), "positive"),
        (np.full((2, 2), 9260.0), np.full((2, 2), np.nan), "positive"),
        (np.full((2, 2), 9260.0), np.full((3, 3), 304.8), "differ"),
        (np.zeros((0, 0)), np.zeros((0, 0)), "square"),
    ],
)
def test_bad_minima_tables_are_refused(hsep: np.ndarray, vsep: np.ndarray, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        PairMinima(hsep, vsep)


def test_per_pair_minima_need_party_codes_in_range() -> None:
    lat, lon, alt, east, north, vs, party = _enu(
        [Track(35.0, 40.0, 9000, 0, 0, 0, 0), Track(35.0, 40.01, 9000, 0, 0, 0, 3)]
    )
    minima = PairMinima(np.full((2, 2), 9260.0), np.full((2, 2), 304.8))
    with pytest.raises(InvalidInput, match="party"):
        detect_enu(lat, lon, alt, east, north, vs, None, minima=minima)
    with pytest.raises(InvalidInput, match="party codes"):
        detect_enu(lat, lon, alt, east, north, vs, party, minima=minima)


def test_build_from_a_policy_by_name() -> None:
    policy = MinimaPolicy(EN_ROUTE, {("RED", "BLUE"): Minima(3 * NAUTICAL_MILE_M, 500 * FOOT_M, 60.0)})

    def for_pair(a: str, b: str) -> tuple[float, float]:
        m = policy.for_pair(a, b)
        return m.horizontal_m, m.vertical_m

    table = PairMinima.build(["BLUE", "CIVIL", "RED"], for_pair)
    assert table.hsep_m[0, 2] == table.hsep_m[2, 0] == pytest.approx(3 * NAUTICAL_MILE_M)
    assert table.vsep_m[2, 0] == pytest.approx(500 * FOOT_M)
    assert table.hsep_m[0, 1] == table.hsep_m[1, 1] == pytest.approx(EN_ROUTE.horizontal_m)


def _batch(rows: list[tuple[str, str, float, float]]) -> ReportBatch:
    """(id, party, lon, alt): all at 35 N, northbound at 200 m/s, reported at T0."""
    n = len(rows)
    return ReportBatch(
        ids=[r[0] for r in rows],
        parties=[r[1] for r in rows],
        time_s=np.full(n, T0),
        lat_deg=np.full(n, 35.0),
        lon_deg=np.array([r[2] for r in rows]),
        alt_m=np.array([r[3] for r in rows]),
        gs_mps=np.full(n, 200.0),
        trk_deg=np.zeros(n),
        vs_mps=np.zeros(n),
    )


def test_engine_takes_the_pair_minima_from_the_service_policy() -> None:
    """Side by side 4 NM apart: a loss of separation under 5 NM, none under the rivals' 3 NM."""
    four_nm_deg = math.degrees(4 * NAUTICAL_MILE_M / (6_371_000.0 * math.cos(math.radians(35.0))))
    rows = [
        ("C1", "COALITION", 40.0, 9000.0),
        ("R1", "RUSAF", 40.0 + four_nm_deg, 9000.0),
        ("S1", "SYCAA", 40.0 + 2 * four_nm_deg, 9000.0),
    ]
    policy = MinimaPolicy(
        EN_ROUTE, {("COALITION", "RUSAF"): Minima(3 * NAUTICAL_MILE_M, 1000 * FOOT_M, 300.0)}
    )

    def conflicts(config: TacticalConfig) -> set[tuple[str, str]]:
        engine = TacticalEngine(config)
        engine.cycle(T0, _batch(rows))
        raised = engine.cycle(T0 + 1.0, _batch([(i, p, lon, a) for i, p, lon, a in rows])).alerts
        return {tuple(sorted((a.subject_a, a.subject_b))) for a in raised if a.kind == "conflict"}  # type: ignore[misc]

    assert conflicts(TacticalConfig()) == {("C1", "R1"), ("R1", "S1")}
    assert conflicts(TacticalConfig(pair_minima=policy)) == {("R1", "S1")}
    # The scalar minima are not used once a policy is given, even when they are wider.
    assert conflicts(TacticalConfig(pair_minima=policy, hsep_m=50_000.0)) == {("R1", "S1")}
