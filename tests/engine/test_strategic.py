"""Strategic conflicts: the definition of issue 2, boundaries included."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import shapely

from deconfliction.engine.minima import Minima, MinimaPolicy
from deconfliction.engine.operation import Operation
from deconfliction.engine.strategic import (
    Candidate,
    all_conflicts,
    all_conflicts_brute_force,
    conflicts_with,
    operation_conflict,
    volume_overlap,
)
from deconfliction.geo import AltitudeBand, Circle, Corridor, Datum, Polygon, Position, TimeWindow, Volume4D
from deconfliction.geo.altitude import VERTICAL_TOLERANCE_M
from deconfliction.geo.footprint import horizontal_distance_m
from deconfliction.geo.frame import frame_at, midpoint
from geodesy_ref import G, dist, footprint_distance_m, move, point_to_footprint_m, pos, ring, tolerance

T0 = datetime(2025, 10, 1, 6, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
BAND = AltitudeBand(0.0, 1000.0, Datum.MSL)
WINDOW = TimeWindow(T0, T0 + HOUR)
BIG = Minima(1e9, 1e9, 1e9)


def vol(footprint, band=BAND, window=WINDOW) -> Volume4D:
    return Volume4D(footprint, band, window)


def op(party: str, id_: str, *volumes: Volume4D) -> Operation:
    return Operation(party, id_, tuple(volumes))


def engine_distance(a, b) -> float:
    frame = frame_at(*midpoint(*a.center, *b.center))
    return horizontal_distance_m(a, b, frame)


# --------------------------------------------------------------------------- boundaries (strict)


def test_horizontal_boundary_is_strict():
    a = Circle(Position(10.0, 20.0), 1_000)
    b = Circle(pos(*move(10.0, 20.0, 0.0, 12_000)), 2_000)
    d = engine_distance(a, b)
    assert abs(d - 9_000) <= tolerance(9_000)
    assert volume_overlap(vol(a), vol(b), Minima(d, 300, 60)) is None
    assert volume_overlap(vol(a), vol(b), Minima(math.nextafter(d, math.inf), 300, 60)) is not None
    # and against the geodesic: 5 m either side of the true 9 km
    assert volume_overlap(vol(a), vol(b), Minima(9_000 - 5, 300, 60)) is None
    hit = volume_overlap(vol(a), vol(b), Minima(9_000 + 5, 300, 60))
    assert hit is not None
    assert hit.horizontal_distance_m == d


def test_vertical_boundary_is_strict():
    a = vol(Circle(Position(0, 0), 1000), AltitudeBand(0.0, 100.0, Datum.MSL))
    b = vol(Circle(Position(0, 0), 1000), AltitudeBand(400.0, 500.0, Datum.MSL))
    assert volume_overlap(a, b, Minima(1000, 300.0, 60)) is None
    assert volume_overlap(b, a, Minima(1000, 300.0, 60)) is None
    # Within the stated tolerance of the minimum is still the minimum (docs/geometry.md) ...
    assert volume_overlap(a, b, Minima(1000, math.nextafter(300.0, math.inf), 60)) is None
    # ... and beyond it, separation is lost.
    hit = volume_overlap(a, b, Minima(1000, 300.0 + 2 * VERTICAL_TOLERANCE_M, 60))
    assert hit is not None
    assert hit.vertical_gap_m == 300.0


def test_time_boundary_is_strict():
    fp = Circle(Position(0, 0), 1000)
    a = vol(fp, window=TimeWindow(T0, T0 + HOUR))
    b = vol(fp, window=TimeWindow(T0 + HOUR + timedelta(seconds=300), T0 + 2 * HOUR))
    assert volume_overlap(a, b, Minima(1000, 300, 300.0)) is None
    hit = volume_overlap(a, b, Minima(1000, 300, 300.001))
    assert hit is not None
    assert hit.time_gap_s == 300.0
    # touching windows are a gap of zero
    c = vol(fp, window=TimeWindow(T0 + HOUR, T0 + 2 * HOUR))
    assert volume_overlap(a, c, Minima(1000, 300, 1e-3)).time_gap_s == 0.0


def test_every_dimension_must_be_close_at_once():
    near = Circle(Position(0, 0), 1000)
    far = Circle(pos(*move(0, 0, 90, 20_000)), 1000)
    high = AltitudeBand(5000.0, 6000.0, Datum.MSL)
    later = TimeWindow(T0 + 5 * HOUR, T0 + 6 * HOUR)
    m = Minima(9260, 300, 300)
    assert volume_overlap(vol(near), vol(near), m) is not None
    assert volume_overlap(vol(near), vol(far), m) is None  # 18 km apart
    assert volume_overlap(vol(near), vol(near, band=high), m) is None
    assert volume_overlap(vol(near), vol(near, window=later), m) is None


def test_overlap_counts_as_distance_zero():
    a = Polygon(tuple(ring(35, 40, 50_000, 5)))
    b = Circle(Position(35, 40), 1_000)  # inside a
    hit = volume_overlap(vol(a), vol(b), Minima(1, 1, 1))
    assert hit is not None
    assert hit.horizontal_distance_m == 0.0


# --------------------------------------------------------------------------- what is reported


def test_overlap_band_and_window_are_the_buffered_intersection():
    a = vol(Circle(Position(0, 0), 1000), AltitudeBand(0.0, 100.0, Datum.MSL), TimeWindow(T0, T0 + HOUR))
    b = vol(
        Circle(Position(0, 0), 1000),
        AltitudeBand(400.0, 500.0, Datum.MSL),
        TimeWindow(T0 + HOUR + timedelta(minutes=2), T0 + 3 * HOUR),
    )
    hit = volume_overlap(a, b, Minima(1000, 600.0, 600.0))
    # a grown by 300 m: [-300, 400]; b grown: [100, 800]
    assert (hit.lower_m, hit.upper_m) == (100.0, 400.0)
    assert hit.datum is Datum.MSL
    # a grown by 300 s ends at 07:05; b grown starts at 07:02 - 5 min = 06:57
    assert hit.start == T0 + HOUR - timedelta(minutes=3)
    assert hit.end == T0 + HOUR + timedelta(minutes=5)
    # nested case
    c = vol(Circle(Position(0, 0), 1000), AltitudeBand(0.0, 1000.0, Datum.MSL))
    d = vol(Circle(Position(0, 0), 1000), AltitudeBand(200.0, 300.0, Datum.MSL))
    hit = volume_overlap(c, d, Minima(1000, 300.0, 60.0))
    assert (hit.lower_m, hit.upper_m) == (50.0, 450.0)
    assert (hit.start, hit.end) == (T0 - timedelta(seconds=30), T0 + HOUR + timedelta(seconds=30))


def _lonlat_point(region, lat, lon):
    """The point in the region's lon/lat coordinates (continuous longitudes)."""
    cx = region.centroid.x
    return shapely.Point(cx + ((lon - cx + 180.0) % 360.0) - 180.0, lat)


@pytest.mark.parametrize(
    ("lat", "lon"), [(35.0, 40.0), (66.0, 10.0), (-62.0, -70.0), (20.0, 179.95), (65.0, -179.99)]
)
def test_overlap_region_is_between_the_footprints(lat, lon):
    h = 9_260.0
    a = Polygon(tuple(ring(lat, lon, 30_000, 6, 15)))
    # b: a corridor 4 km outside a's vertex at bearing 75
    vertex = move(lat, lon, 75.0, 30_000)
    start = move(*vertex, 75.0, 4_000 + 500)
    b = Corridor((pos(*move(*start, 165.0, 40_000)), pos(*move(*start, 345.0, 40_000))), 1_000)
    hit = volume_overlap(vol(a), vol(b), Minima(h, 300, 60))
    assert hit is not None
    reference = footprint_distance_m(a, b)
    assert reference == pytest.approx(4_000, abs=50)
    assert abs(hit.horizontal_distance_m - reference) <= tolerance(reference)
    region = hit.region
    assert region.geom_type == "Polygon"
    assert region.area > 0
    # the midpoint of the closest points: vertex, and the point 4 km further along bearing 75
    mid = move(*vertex, 75.0, reference / 2)
    assert region.contains(_lonlat_point(region, *mid))
    # every vertex of the region is within H/2 of both footprints (outside them or not)
    coords = np.asarray(region.exterior.coords)
    for x, y in coords[:: max(1, len(coords) // 40)]:
        plat, plon = float(y), float((x + 180.0) % 360.0 - 180.0)
        for fp in (a, b):
            d = max(0.0, point_to_footprint_m(plat, plon, fp)) if not _inside(fp, plat, plon) else 0.0
            assert d <= h / 2 + tolerance(h / 2)


def _inside(fp, lat, lon) -> bool:
    frame = fp.frame()
    x, y = frame.forward(np.array([lon]), np.array([lat]))
    return bool(fp.shape_in(frame).contains(shapely.Point(x[0], y[0])))


def test_region_falls_back_to_the_midpoint_when_the_polygonised_buffers_miss():
    # Circles at the frame centre's latitude, offset along a bearing between buffer vertices;
    # 9 m short of H, the 64-gon buffers (chords up to 7 m inside) do not meet.
    lat0, lon0 = 10.0, 20.0
    h = 10_000.0
    a_c = move(lat0, lon0, 47.8 + 180.0, 6_000.0)
    b_c = move(lat0, lon0, 47.8, 6_000.0 - 9.0 + 3_000.0 - 1_000.0)
    a = Circle(pos(*a_c), 1_000.0)
    b = Circle(pos(*b_c), 3_000.0)
    hit = volume_overlap(vol(a), vol(b), Minima(h, 300, 60))
    assert hit is not None
    assert hit.horizontal_distance_m == pytest.approx(h - 9.0, abs=2.0)
    region = hit.region
    # the closest points are 1 km from a's centre and 3 km from b's, on the line between them
    az, _, d = G.inv(a_c[1], a_c[0], b_c[1], b_c[0])
    mid = move(*a_c, az, 1_000.0 + (d - 4_000.0) / 2)
    if region.geom_type == "Point":
        assert dist(region.y, region.x, *mid) < 2.0
    else:
        assert region.distance(shapely.Point(mid[1], mid[0])) < 1e-4


def test_cap_prefilter_does_not_drop_big_footprints_near_the_equator():
    # Regression: the 1 % slack was applied to the gap between caps; the haversine error of
    # 0.56 % on 659 km of centre distance then skipped a pair 99 km apart under H = 100 km.
    r = 280_000.0
    a = Circle(Position(0.0, 10.0), r)
    b = Circle(pos(*move(0.0, 10.0, 0.0, 2 * r + 99_000)), r)
    hit = volume_overlap(vol(a), vol(b), Minima(100_000, 300, 60))
    assert hit is not None
    assert abs(hit.horizontal_distance_m - 99_000) <= tolerance(99_000)


# --------------------------------------------------------------------------- datums


def test_w84_and_msl_bands_350m_apart_conflict_only_through_the_widening():
    fp = Circle(Position(35, 40), 1000)
    w84 = AltitudeBand(1000.0, 1100.0, Datum.W84)
    msl = AltitudeBand(1450.0, 1550.0, Datum.MSL)
    m = Minima(1000, 300, 60)
    hit = volume_overlap(vol(fp, w84), vol(fp, msl), m)
    assert hit is not None
    assert hit.datum is Datum.MSL
    assert hit.vertical_gap_m == pytest.approx(1450.0 - (1100.0 + 107.0))
    # the same numbers in one datum are 350 m apart: no conflict
    assert (
        volume_overlap(
            vol(fp, AltitudeBand(1000.0, 1100.0, Datum.W84)),
            vol(fp, AltitudeBand(1450.0, 1550.0, Datum.W84)),
            m,
        )
        is None
    )
    assert volume_overlap(vol(fp, AltitudeBand(1000.0, 1100.0, Datum.MSL)), vol(fp, msl), m) is None
    # exactly V above the W84 envelope's top (1100 + 107): strict, no conflict
    edge = AltitudeBand(1507.0, 1600.0, Datum.MSL)
    assert volume_overlap(vol(fp, w84), vol(fp, edge), m) is None
    assert volume_overlap(vol(fp, w84), vol(fp, AltitudeBand(1506.9, 1600.0, Datum.MSL)), m) is not None
    # and below: the envelope's bottom is 1000 - 86
    assert volume_overlap(vol(fp, w84), vol(fp, AltitudeBand(500.0, 614.0, Datum.MSL)), m) is None
    assert volume_overlap(vol(fp, w84), vol(fp, AltitudeBand(500.0, 614.1, Datum.MSL)), m) is not None


def test_agl_without_ground_is_widened_by_terrain_range():
    fp = Circle(Position(35, 40), 1000)
    agl = AltitudeBand(0.0, 120.0, Datum.AGL)
    msl = AltitudeBand(5000.0, 5100.0, Datum.MSL)
    assert volume_overlap(vol(fp, agl), vol(fp, msl), Minima(1000, 300, 60)) is not None  # 120 + 8849 > 5000
    grounded = AltitudeBand(0.0, 120.0, Datum.AGL, (400.0, 450.0))
    assert volume_overlap(vol(fp, grounded), vol(fp, msl), Minima(1000, 300, 60)) is None
    # two AGL bands without ground compare raw
    assert (
        volume_overlap(vol(fp, agl), vol(fp, AltitudeBand(500.0, 600.0, Datum.AGL)), Minima(1000, 300, 60))
        is None
    )


def test_flight_levels_against_msl_use_qnh_and_temperature():
    fp = Circle(Position(35, 40), 1000)
    fl = AltitudeBand.parse(100, 120, "FL", None)  # 3048 .. 3657.6 m pressure altitude
    top = 3657.6 + 650.0 + 0.1 * 3657.6
    m = Minima(1000, 300, 60)
    assert volume_overlap(vol(fp, fl), vol(fp, AltitudeBand(top + 300.0, top + 400.0, Datum.MSL)), m) is None
    assert (
        volume_overlap(vol(fp, fl), vol(fp, AltitudeBand(top + 299.0, top + 400.0, Datum.MSL)), m) is not None
    )


# --------------------------------------------------------------------------- operations


def test_same_party_never_conflicts_and_policy_is_per_pair():
    fp = Circle(Position(35, 40), 1000)
    near = Circle(pos(*move(35, 40, 0, 2_000 + 5_000)), 1000)  # 5 km apart
    a, b, c = op("red", "a", vol(fp)), op("red", "b", vol(near)), op("civil", "c", vol(near))
    policy = MinimaPolicy(Minima(3_000, 300, 60), {("red", "civil"): Minima(9_260, 300, 60)})
    assert operation_conflict(a, b, policy) is None
    conflict = operation_conflict(a, c, policy)
    assert conflict is not None
    assert conflict.minima.horizontal_m == 9_260
    blue = op("blue", "d", vol(near))
    assert operation_conflict(a, blue, policy) is None  # default 3 km
    assert [x.b.id for x in conflicts_with(a, [a, b, c, blue], policy)] == ["c"]


def test_conflict_lists_every_overlapping_volume_pair_and_summaries():
    base = Circle(Position(35, 40), 1000)
    a = op("red", "a", vol(base), vol(base, window=TimeWindow(T0 + 5 * HOUR, T0 + 6 * HOUR)))
    b = op(
        "blue",
        "b",
        vol(Circle(pos(*move(35, 40, 90, 4_000)), 1000), window=TimeWindow(T0 + 5 * HOUR, T0 + 7 * HOUR)),
        vol(base, window=TimeWindow(T0 + 30 * timedelta(minutes=1), T0 + 2 * HOUR)),
    )
    policy = MinimaPolicy(Minima(3_000, 300, 60))
    conflict = operation_conflict(a, b, policy)
    assert {(o.volume_a, o.volume_b) for o in conflict.overlaps} == {(0, 1), (1, 0)}
    assert conflict.horizontal_distance_m == 0.0
    assert conflict.start == T0 + timedelta(minutes=30) - timedelta(seconds=30)
    assert conflict.end == T0 + 6 * HOUR + timedelta(seconds=30)
    assert conflict.region.area > 0
    seen = conflict.seen_by("blue")
    assert seen.a.party == "blue"
    assert {(o.volume_a, o.volume_b) for o in seen.overlaps} == {(1, 0), (0, 1)}
    assert seen.seen_by("red") == conflict
    assert conflict.a.version == 1


def test_all_conflicts_equals_brute_force_including_antimeridian():
    policy = MinimaPolicy(Minima(9_260, 300, 300), {("blue", "civil"): Minima(40_000, 600, 600)})
    ops = [
        op("red", "r1", vol(Circle(Position(10, 179.95), 5_000))),
        op("blue", "b1", vol(Circle(Position(10, -179.95), 5_000))),
        op("civil", "c1", vol(Polygon(tuple(ring(10.1, -179.6, 20_000, 5))))),
        op("blue", "b2", vol(Circle(pos(*move(10.1, -179.6, 0, 20_000 + 35_000)), 1_000))),
        op("red", "r2", vol(Corridor((Position(35, 40), Position(35.5, 40.5)), 1_000))),
        op("civil", "c2", vol(Circle(Position(35.26, 40.24), 500))),
    ]
    brute = all_conflicts_brute_force(ops, policy)
    assert all_conflicts(ops, policy) == brute
    pairs = {(c.a.id, c.b.id) for c in brute}
    assert ("b1", "r1") in pairs  # 11 km between centres across 180, 1 km apart
    assert ("b1", "c1") in pairs
    assert ("b2", "c1") in pairs  # only the blue-civil 40 km minimum reaches
    assert ("c2", "r1") not in pairs
    assert ("c2", "r2") in pairs


def test_empty_and_single():
    assert all_conflicts([], MinimaPolicy()) == []
    assert all_conflicts([op("a", "x", vol(Circle(Position(0, 0), 10)))], MinimaPolicy()) == []


def test_operation_conflict_checks_only_the_pairs_it_is_given() -> None:
    """An index that matched only some volume pairs limits the exact check to them."""
    near_a, near_b = vol(Circle(Position(35.0, 40.0), 2000.0)), vol(Circle(Position(35.0, 40.05), 2000.0))
    far = vol(Circle(Position(37.0, 43.0), 2000.0))
    a, b = Operation("red", "a", (far, near_a)), Operation("blue", "b", (near_b,))
    policy = MinimaPolicy(Minima(9260.0, 300.0, 300.0))
    full = operation_conflict(a, b, policy)
    assert full is not None
    assert [(o.volume_a, o.volume_b) for o in full.overlaps] == [(1, 0)]
    assert operation_conflict(a, b, policy, {(1, 0)}) == full
    assert operation_conflict(a, b, policy, {(0, 0)}) is None
    assert conflicts_with(a, [Candidate.of(b, frozenset({(1, 0)}))], policy) == [full]


def test_all_conflicts_reports_its_progress_to_the_end():
    from builders import circle_op

    operations = [
        circle_op(party, f"{party}{n}", lon=40 + n * 0.01) for n in range(5) for party in ("A", "B")
    ]
    seen: list[tuple[int, int]] = []
    found = all_conflicts(operations, MinimaPolicy(), progress=lambda done, total: seen.append((done, total)))
    assert found
    total = seen[-1][1]
    assert total >= len(found)
    assert seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
