"""Hypothesis properties of strategic conflict detection.

Scenarios mix every footprint kind, every datum and overlapping windows, packed into a
few hundred kilometres (sometimes across the antimeridian, sometimes at 60-70 degrees)
so that near misses and conflicts are both common.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconfliction.engine.batch import earlier_candidates
from deconfliction.engine.minima import Minima, MinimaPolicy
from deconfliction.engine.operation import Operation
from deconfliction.engine.strategic import (
    all_conflicts,
    all_conflicts_brute_force,
    conflicts_of_each,
    operation_conflict,
    volume_overlap,
)
from deconfliction.geo import (
    AltitudeBand,
    ArcSector,
    Circle,
    Corridor,
    Datum,
    Polygon,
    Position,
    Racetrack,
    TimeWindow,
    Volume4D,
)
from geodesy_ref import move, tolerance

T0 = datetime(2025, 10, 1, tzinfo=UTC)
PARTIES = ["red", "blue", "civil"]
#: Scenario centres: mid-latitudes, the equator, 60-70 degrees and across the antimeridian.
REGIONS = [
    (35.0, 40.5),
    (0.0, 10.0),
    (-33.0, 151.0),
    (64.0, -20.0),
    (68.5, 25.0),
    (10.0, 179.8),
    (-45.0, -179.9),
    (62.0, 180.0),
]
#: Longitude shifts, several of them carrying a scenario across +-180.
SHIFTS = [-359.9, -200.0, -90.13, -0.37, 0.01, 45.5, 179.95, 270.2]
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _norm(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


@st.composite
def footprints(draw, lat0: float, lon0: float):
    """A footprint within ~80 km of (lat0, lon0)."""
    lat, lon = move(lat0, lon0, draw(st.floats(0, 360)), draw(st.floats(0, 80_000)))
    size = draw(st.floats(200, 40_000))
    kind = draw(st.sampled_from(["circle", "polygon", "corridor", "racetrack", "arc"]))
    centre = Position(lat, lon)
    if kind == "circle":
        return Circle(centre, size)
    if kind == "polygon":
        n = draw(st.integers(3, 6))
        rot = draw(st.floats(0, 360))
        vs = tuple(Position(*move(lat, lon, rot + 360.0 * k / n, size)) for k in range(n))
        return Polygon(vs)
    if kind == "arc":
        start = draw(st.floats(0, 360))
        span = draw(st.floats(10, 350))
        return ArcSector(centre, draw(st.floats(0, 0.7)) * size, size, start, start + span)
    bearing = draw(st.floats(0, 360))
    end = Position(*move(lat, lon, bearing, size))
    width = draw(st.floats(50, 8_000))
    if kind == "racetrack":
        return Racetrack(centre, end, width)
    bend = Position(*move(end.lat_deg, end.lon_deg, bearing + draw(st.floats(-120, 120)), size))
    return Corridor((centre, end, bend), width)


@st.composite
def bands(draw):
    datum = draw(st.sampled_from(list(Datum)))
    lower = draw(st.integers(0, 40)) * 100.0
    height = draw(st.integers(0, 30)) * 100.0
    ground = None
    if datum is Datum.AGL and draw(st.booleans()):
        g = draw(st.integers(0, 20)) * 50.0
        ground = (g, g + draw(st.integers(0, 10)) * 50.0)
    return AltitudeBand(lower, lower + height, datum, ground)


@st.composite
def windows(draw):
    start = draw(st.integers(0, 24 * 3600))
    length = draw(st.integers(1, 6 * 3600))
    return TimeWindow(T0 + timedelta(seconds=start), T0 + timedelta(seconds=start + length))


@st.composite
def scenarios(draw, max_ops: int = 6):
    # A few fixed regions: every new local frame costs a pyproj transformer (~10 ms), so
    # the suite reuses them rather than scattering scenarios over the globe.
    lat0, lon0 = draw(st.sampled_from(REGIONS))
    ops = []
    for n in range(draw(st.integers(2, max_ops))):
        vols = tuple(
            Volume4D(draw(footprints(lat0, lon0)), draw(bands()), draw(windows()))
            for _ in range(draw(st.integers(1, 2)))
        )
        ops.append(Operation(draw(st.sampled_from(PARTIES)), f"op{n}", vols))
    return ops


@st.composite
def minimas(draw):
    return Minima(
        draw(st.floats(500, 60_000)), draw(st.floats(30, 3_000)), float(draw(st.integers(1, 7_200)))
    )


@st.composite
def policies(draw):
    pairs = {}
    if draw(st.booleans()):
        pairs[("red", "blue")] = draw(minimas())
    if draw(st.booleans()):
        pairs[("civil", "red")] = draw(minimas())
    return MinimaPolicy(draw(minimas()), pairs)


def _pairs(ops, policy):
    """{(i, j, vi, vj): overlap} for every conflicting volume pair, i < j."""
    found = {}
    for i, a in enumerate(ops):
        for j in range(i + 1, len(ops)):
            conflict = operation_conflict(a, ops[j], policy)
            if conflict is None:
                continue
            for o in conflict.overlaps:
                found[(i, j, o.volume_a, o.volume_b)] = o
    return found


# --------------------------------------------------------------------------- symmetry


@SETTINGS
@given(scenarios(), policies())
def test_symmetry(ops, policy):
    for i, a in enumerate(ops):
        for b in ops[i + 1 :]:
            ab = operation_conflict(a, b, policy)
            ba = operation_conflict(b, a, policy)
            assert (ab is None) == (ba is None)
            if ab is None:
                continue
            assert (ab.a, ab.b) == (ba.b, ba.a)
            left = {(o.volume_a, o.volume_b): o for o in ab.overlaps}
            right = {(o.volume_b, o.volume_a): o for o in ba.overlaps}
            assert left.keys() == right.keys()
            for key, o in left.items():
                p = right[key]
                assert math.isclose(
                    o.horizontal_distance_m, p.horizontal_distance_m, rel_tol=1e-6, abs_tol=1e-6
                )
                assert (o.lower_m, o.upper_m, o.datum) == (p.lower_m, p.upper_m, p.datum)
                assert (o.start, o.end) == (p.start, p.end)
                assert (o.vertical_gap_m, o.time_gap_s) == (p.vertical_gap_m, p.time_gap_s)
            assert ab.swapped().overlaps == tuple(o.swapped() for o in ab.overlaps)
            for o in ab.overlaps:
                assert o.swapped() == replace(o, volume_a=o.volume_b, volume_b=o.volume_a)


# --------------------------------------------------------------------------- invariances


def _shift_position(p: Position, dlon: float) -> Position:
    return Position(p.lat_deg, _norm(p.lon_deg + dlon))


def _shift_footprint(f, dlon: float):
    s = lambda p: _shift_position(p, dlon)  # noqa: E731
    match f:
        case Circle():
            return Circle(s(f.center_position), f.radius_m)
        case Polygon():
            return Polygon(tuple(s(p) for p in f.vertices))
        case Corridor():
            return Corridor(tuple(s(p) for p in f.centreline), f.width_m)
        case Racetrack():
            return Racetrack(s(f.a), s(f.b), f.width_m)
        case ArcSector():
            return ArcSector(
                s(f.center_position),
                f.inner_radius_m,
                f.outer_radius_m,
                f.start_bearing_deg,
                f.end_bearing_deg,
            )
    raise TypeError(f)


def _map_ops(ops, fn_volume):
    return [Operation(o.party, o.id, tuple(fn_volume(v) for v in o.volumes)) for o in ops]


@SETTINGS
@given(scenarios(), policies(), st.sampled_from(SHIFTS))
def test_longitude_shift_invariance(ops, policy, dlon):
    """A longitude shift is an exact symmetry of the ellipsoid (here often across +-180).

    The exact test runs in a frame snapped to a 0.25 degree grid, so the two computations
    differ by the frame's rounding: distances agree within the promised accuracy, and a
    pair may only change sides when it lies within that accuracy of the minimum.
    """
    shifted = _map_ops(ops, lambda v: Volume4D(_shift_footprint(v.footprint, dlon), v.band, v.window))
    before, after = _pairs(ops, policy), _pairs(shifted, policy)
    for key in before.keys() | after.keys():
        i, j, _vi, _vj = key
        h = policy.for_pair(ops[i].party, ops[j].party).horizontal_m
        o = before.get(key) or after[key]
        if key in before and key in after:
            d1, d2 = before[key].horizontal_distance_m, after[key].horizontal_distance_m
            assert abs(d1 - d2) <= tolerance(max(d1, d2))
            assert (before[key].lower_m, before[key].upper_m) == (after[key].lower_m, after[key].upper_m)
        else:
            assert abs(o.horizontal_distance_m - h) <= tolerance(h), (key, o.horizontal_distance_m, h)


@SETTINGS
@given(scenarios(), policies(), st.integers(-400 * 86400, 400 * 86400))
def test_time_shift_invariance(ops, policy, seconds):
    delta = timedelta(seconds=seconds)
    shifted = _map_ops(ops, lambda v: v.shifted(delta))
    before, after = _pairs(ops, policy), _pairs(shifted, policy)
    assert before.keys() == after.keys()
    for key, o in before.items():
        p = after[key]
        assert p.horizontal_distance_m == o.horizontal_distance_m
        assert p.time_gap_s == o.time_gap_s
        assert abs((p.start - o.start) - delta) <= timedelta(microseconds=1)
        assert abs((p.end - o.end) - delta) <= timedelta(microseconds=1)


# --------------------------------------------------------------------------- monotonicity


@SETTINGS
@given(scenarios(), minimas(), st.floats(1, 3), st.floats(1, 3), st.floats(1, 3))
def test_widening_minima_never_removes_a_conflict(ops, minima, kh, kv, kt):
    narrow = MinimaPolicy(minima)
    wide = MinimaPolicy(Minima(minima.horizontal_m * kh, minima.vertical_m * kv, minima.time_s * kt))
    before, after = _pairs(ops, narrow), _pairs(ops, wide)
    assert before.keys() <= after.keys()
    for key, o in before.items():
        assert after[key].horizontal_distance_m == o.horizontal_distance_m
        assert after[key].lower_m <= o.lower_m
        assert after[key].upper_m >= o.upper_m
        assert after[key].start <= o.start
        assert after[key].end >= o.end


@SETTINGS
@given(scenarios(), minimas())
def test_each_conflict_is_within_every_minimum(ops, minima):
    policy = MinimaPolicy(minima)
    for (i, j, vi, vj), o in _pairs(ops, policy).items():
        assert ops[i].party != ops[j].party
        assert o.horizontal_distance_m < minima.horizontal_m
        assert o.vertical_gap_m < minima.vertical_m
        assert o.time_gap_s < minima.time_s
        assert o.lower_m <= o.upper_m
        assert o.start < o.end
        again = volume_overlap(ops[i].volumes[vi], ops[j].volumes[vj], minima)
        assert again is not None
        assert not o.region.is_empty


# --------------------------------------------------------------------------- index == brute force


def _summary(conflicts):
    return [
        (
            c.a,
            c.b,
            c.minima,
            tuple(
                (o.volume_a, o.volume_b, o.horizontal_distance_m, o.lower_m, o.upper_m, o.start, o.end)
                for o in c.overlaps
            ),
        )
        for c in conflicts
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_ops=8), policies(), st.sampled_from([3, 4, 5, 6]))
def test_indexed_equals_brute_force(ops, policy, resolution):
    brute = all_conflicts_brute_force(ops, policy)
    indexed = all_conflicts(ops, policy, resolution=resolution)
    assert _summary(indexed) == _summary(brute)
    for c in brute:
        assert (c.a.party, c.a.id) <= (c.b.party, c.b.id)


@SETTINGS
@given(scenarios(max_ops=8), policies())
def test_a_batch_finds_what_filing_one_at_a_time_finds(ops, policy):
    """Checked against the batch's earlier operations through ``earlier_candidates`` (no
    index), each operation gets exactly the conflicts the brute force finds against them:
    the coarse test never drops a volume pair that conflicts."""
    ops = [replace(op, id=f"op{n}") for n, op in enumerate(ops)]
    candidates = earlier_candidates(ops, policy)
    found = conflicts_of_each(list(zip(ops, candidates, strict=True)), policy)
    for n, (op, conflicts) in enumerate(zip(ops, found, strict=True)):
        expected = [
            c
            for other in sorted(ops[:n], key=lambda o: o.key)
            if (c := operation_conflict(op, other, policy))
        ]
        assert conflicts == expected
        for candidate in candidates[n]:
            assert candidate.party != op.party
            assert candidate.key in {o.key for o in ops[:n]}
