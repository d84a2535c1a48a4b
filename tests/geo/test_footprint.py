"""Footprints: validation (bad input names its field) and distances against a geodesic reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from deconfliction.errors import InvalidGeometry, InvalidInput
from deconfliction.geo import ArcSector, Circle, Corridor, Polygon, Position, Racetrack
from deconfliction.geo.footprint import (
    MAX_AREA_M2,
    MAX_CAP_RADIUS_M,
    _steps,
    cores_in,
    horizontal_distance_m,
    shapes_in,
)
from deconfliction.geo.frame import FRAME_GRID_DEG, frame_at, midpoint
from geodesy_ref import (
    footprint_distance_m,
    move,
    point_to_footprint_m,
    pos,
    ring,
    tolerance,
)


def pair_distance(a, b) -> float:
    """The distance as the engine measures it: in the frame at the midpoint of the centres."""
    frame = frame_at(*midpoint(*a.center, *b.center))
    return horizontal_distance_m(a, b, frame)


def square(lat: float, lon: float, half_m: float) -> Polygon:
    return Polygon(tuple(ring(lat, lon, half_m * math.sqrt(2), 4, 45.0)))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        (90.5, 0.0, "lat"),
        (-91.0, 0.0, "lat"),
        (0.0, 180.0001, "lon"),
        (0.0, -181.0, "lon"),
        (math.nan, 0.0, "lat"),
        (0.0, math.inf, "lon"),
        (-math.inf, 0.0, "lat"),
        ("1", 0.0, "lat"),
        (True, 0.0, "lat"),
    ],
)
def test_position_out_of_range_or_not_a_number(lat, lon, field):
    with pytest.raises(InvalidGeometry) as info:
        Position(lat, lon)
    assert info.value.field == field
    assert isinstance(info.value, InvalidInput)
    assert ("outside" in info.value.rule) or ("number" in info.value.rule)


def test_position_extremes_accepted():
    assert Position(90, 180).lat_deg == 90.0
    assert Position(-90, -180).lon_deg == -180.0


def test_bow_tie_polygon_is_refused_with_location():
    bow = (Position(0, 0), Position(0.1, 0.1), Position(0, 0.1), Position(0.1, 0))
    with pytest.raises(InvalidGeometry) as info:
        Polygon(bow)
    assert info.value.field == "vertices"
    assert "not simple" in info.value.rule
    assert "lat" in info.value.rule  # says where, in degrees


@pytest.mark.parametrize(
    "vertices",
    [
        (Position(0, 0), Position(0, 0.1), Position(0, 0.2)),  # collinear on the equator
        (Position(10, 10), Position(10.1, 10.1), Position(10.2, 10.2), Position(10.1, 10.1)),
    ],
)
def test_degenerate_polygon_is_refused(vertices):
    with pytest.raises(InvalidGeometry) as info:
        Polygon(vertices)
    assert info.value.field == "vertices"


def test_tiny_area_polygon_is_degenerate():
    # Three distinct vertices 1e-7 degrees apart: area far below a square metre.
    with pytest.raises(InvalidGeometry) as info:
        Polygon((Position(0, 0), Position(0, 1e-7), Position(1e-7, 0)))
    assert info.value.field == "vertices"
    assert "degenerate" in info.value.rule


@pytest.mark.parametrize("count", [0, 1, 2])
def test_polygon_needs_three_vertices(count):
    vertices = tuple(Position(0, 0.01 * k) for k in range(count))
    with pytest.raises(InvalidGeometry) as info:
        Polygon(vertices)
    assert info.value.field == "vertices"
    assert "at least 3" in info.value.rule


def test_polygon_closed_triangle_counts_distinct_vertices():
    with pytest.raises(InvalidGeometry):
        Polygon((Position(0, 0), Position(0, 0.1), Position(0, 0)))
    tri = Polygon((Position(0, 0), Position(0, 0.1), Position(0.1, 0), Position(0, 0)))
    assert len(tri.vertices) == 3  # the repeated closing vertex is dropped


def test_polygon_repeated_vertex_names_its_index():
    with pytest.raises(InvalidGeometry) as info:
        Polygon((Position(0, 0), Position(0, 0.1), Position(0, 0.1), Position(0.1, 0)))
    assert info.value.field == "vertices[2]"


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Circle(Position(0, 0), 0), "radius"),
        (lambda: Circle(Position(0, 0), -5), "radius"),
        (lambda: Circle(Position(0, 0), math.nan), "radius"),
        (lambda: Circle(Position(0, 0), math.inf), "radius"),
        (lambda: Circle(Position(0, 0), 2 * MAX_CAP_RADIUS_M + 1), "radius"),
        (lambda: Corridor((Position(0, 0),), 100), "centreline"),
        (lambda: Corridor((Position(0, 0), Position(0, 0)), 100), "centreline[1]"),
        (lambda: Corridor((Position(0, 0), Position(0, 1)), 0), "width"),
        (lambda: Corridor((Position(0, 0), Position(0, 1)), math.nan), "width"),
        (lambda: Racetrack(Position(0, 0), Position(0, 0), 100), "b"),
        (lambda: Racetrack(Position(0, 0), Position(0, 1), -1), "width"),
        (lambda: ArcSector(Position(0, 0), 5000, 5000, 0, 90), "inner_radius"),
        (lambda: ArcSector(Position(0, 0), 6000, 5000, 0, 90), "inner_radius"),
        (lambda: ArcSector(Position(0, 0), -1, 5000, 0, 90), "inner_radius"),
        (lambda: ArcSector(Position(0, 0), 0, 0, 0, 90), "outer_radius"),
        (lambda: ArcSector(Position(0, 0), 0, 5000, 90, 90), "end_bearing"),
        (lambda: ArcSector(Position(0, 0), 0, 5000, 0, 360), "end_bearing"),
        (lambda: ArcSector(Position(0, 0), 0, 5000, -90, 270), "end_bearing"),
        (lambda: ArcSector(Position(0, 0), 0, 5000, math.nan, 90), "start_bearing"),
        (lambda: ArcSector(Position(0, 0), math.inf, 5000, 0, 90), "inner_radius"),
    ],
)
def test_bad_parameters_name_their_field(make, field):
    with pytest.raises(InvalidGeometry) as info:
        make()
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_footprint_larger_than_cap_radius_is_refused():
    # A thin corridor 700 km long fits the area limit but not the cap radius.
    with pytest.raises(InvalidGeometry) as info:
        Corridor((pos(30, 10), pos(*move(30, 10, 90, 700_000))), 1000)
    assert info.value.field == "footprint"
    assert "limit is 300 km" in info.value.rule


def test_footprint_larger_than_area_is_refused():
    radius = math.sqrt(MAX_AREA_M2 / math.pi)
    Circle(Position(40, 20), radius * 0.99)
    with pytest.raises(InvalidGeometry) as info:
        Circle(Position(40, 20), radius * 1.01)
    assert info.value.field == "footprint"
    assert "km^2" in info.value.rule
    with pytest.raises(InvalidGeometry) as info:
        square(-50, 100, 260_000)  # 520 km square: cap ~368 km
    assert info.value.field == "footprint"


# --------------------------------------------------------------------------- shapes


def test_areas_match_geodesic_areas():
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    for lat in (0.0, 45.0, 65.0):
        sq = square(lat, 30.0, 100_000)
        lons = [p.lon_deg for p in sq.vertices]
        lats = [p.lat_deg for p in sq.vertices]
        ref, _ = geod.polygon_area_perimeter(lons, lats)
        assert sq.area_m2() == pytest.approx(abs(ref), rel=2e-3)
        c = Circle(Position(lat, 30.0), 50_000)
        assert c.area_m2() == pytest.approx(math.pi * 50_000**2, rel=2e-3)


def test_arc_sector_area_and_never_smaller():
    s = ArcSector(Position(35, 40), 10_000, 50_000, 350, 80)
    true = math.pi * (50_000**2 - 10_000**2) * 90 / 360
    assert s.span_deg == pytest.approx(90)
    assert true <= s.area_m2() <= true * 1.003
    pie = ArcSector(Position(35, 40), 0, 50_000, 0, 270)
    assert pie.area_m2() == pytest.approx(math.pi * 50_000**2 * 0.75, rel=3e-3)


def test_arc_sector_contains_points_inside_and_excludes_outside():
    s = ArcSector(Position(64, 20), 20_000, 200_000, 30, 120)
    frame = s.frame()
    shape = s.shape_in(frame)

    def inside(bearing, distance):
        lat, lon = move(64, 20, bearing, distance)
        x, y = frame.forward(np.array([lon]), np.array([lat]))
        import shapely

        return shape.contains(shapely.Point(x[0], y[0]))

    assert inside(75, 100_000)
    assert inside(31, 199_000)
    assert inside(119, 21_000)
    assert not inside(75, 19_000)
    assert not inside(75, 201_000)
    assert not inside(25, 100_000)
    assert not inside(125, 100_000)


def test_centre_and_cap_contain_every_outline_point():
    for f in (
        square(60, 179.9, 50_000),
        Corridor((pos(10, 10), pos(11, 11), pos(10, 12)), 2000),
        ArcSector(Position(-65, -179.5), 0, 100_000, 270, 90),
    ):
        lat0, lon0 = f.center
        for lat, lon in zip(f.outline.lats, f.outline.lons, strict=True):
            from geodesy_ref import dist

            assert dist(lat0, lon0, lat, lon) <= f.cap_radius_m + 1e-6


# --------------------------------------------------------------------------- geodesic accuracy

LATITUDES = [0.0, 35.0, 60.0, 65.0, 70.0, -62.0]


def _check(a, b, reference):
    got = pair_distance(a, b)
    assert abs(got - reference) <= tolerance(reference), (got, reference)
    # Symmetric in its arguments up to rounding.
    assert pair_distance(b, a) == pytest.approx(got, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("lat", LATITUDES)
@pytest.mark.parametrize("gap", [50.0, 2_000.0, 40_000.0])
@pytest.mark.parametrize("bearing", [0.0, 45.0, 90.0])
def test_circle_circle_distance(lat, gap, bearing):
    ra, rb = 250_000.0, 30_000.0
    a = Circle(Position(lat, 20.0), ra)
    blat, blon = move(lat, 20.0, bearing, ra + gap + rb)
    b = Circle(pos(blat, blon), rb)
    _check(a, b, gap)


@pytest.mark.parametrize("lat", LATITUDES)
def test_big_circles_near_each_other_along_a_meridian(lat):
    # Two maximal circles, 100 m apart: the frame must be accurate where it matters.
    r = 280_000.0
    a = Circle(Position(lat, 50.0), r)
    b = Circle(pos(*move(lat, 50.0, 0.0, 2 * r + 100.0)), r)
    _check(a, b, 100.0)


@pytest.mark.parametrize("lat", LATITUDES)
@pytest.mark.parametrize("kind", ["corridor", "racetrack"])
@pytest.mark.parametrize("offset", [100.0, 3_000.0, 60_000.0])
def test_point_to_corridor_and_racetrack(lat, kind, offset):
    p0 = (lat, 100.0)
    p1 = move(*p0, 70.0, 240_000)
    p2 = move(*p1, 130.0, 200_000)
    width = 4_000.0
    if kind == "corridor":
        fp = Corridor((pos(*p0), pos(*p1), pos(*p2)), width)
        anchor, az = move(*p0, 70.0, 200_000), 70.0 - 90.0
    else:
        fp = Racetrack(pos(*p0), pos(*p1), width)
        anchor, az = move(*p0, 70.0, 200_000), 70.0 + 90.0
    plat, plon = move(*anchor, az, offset + width / 2)
    point = Circle(pos(plat, plon), 1.0)
    reference = point_to_footprint_m(plat, plon, fp) - 1.0
    _check(fp, point, reference)


@pytest.mark.parametrize("lat", LATITUDES)
def test_point_beyond_racetrack_end(lat):
    a, b = (lat, -30.0), move(lat, -30.0, 10.0, 300_000)
    fp = Racetrack(pos(*a), pos(*b), 10_000)
    plat, plon = move(*b, 40.0, 12_000)
    point = Circle(pos(plat, plon), 1.0)
    reference = point_to_footprint_m(plat, plon, fp) - 1.0
    assert reference == pytest.approx(7_000 - 1.0, abs=0.5)
    _check(fp, point, reference)


@pytest.mark.parametrize("lat", LATITUDES)
@pytest.mark.parametrize("gap", [20.0, 1_500.0, 30_000.0])
def test_polygon_polygon_distance(lat, gap):
    # Two irregular polygons, 300-400 km across, nearly parallel facing edges.
    a_vertices = [(lat, 10.0), move(lat, 10.0, 5.0, 350_000), move(lat, 10.0, 60.0, 300_000)]
    a_vertices.append(move(lat, 10.0, 100.0, 150_000))
    # b starts a little beyond a's edge 0 -> 3 (towards the south-west of it).
    mid = move(lat, 10.0, 100.0, 75_000)
    bl = move(*mid, 190.0, gap)
    b_vertices = [bl, move(*bl, 260.0, 200_000), move(*bl, 200.0, 250_000), move(*bl, 150.0, 120_000)]
    a = Polygon(tuple(pos(*v) for v in a_vertices))
    b = Polygon(tuple(pos(*v) for v in b_vertices))
    reference = footprint_distance_m(a, b)
    assert reference == pytest.approx(gap, rel=0.2)
    _check(a, b, reference)


@pytest.mark.parametrize("lat", LATITUDES)
def test_polygon_corridor_distance(lat):
    sq = square(lat, -60.0, 100_000)
    corner = sq.vertices[0]  # the north-east corner (bearing 45 from the centre)
    start = move(corner.lat_deg, corner.lon_deg, 45.0, 2_500)
    line = (pos(*move(*start, 135.0, 200_000)), pos(*start), pos(*move(*start, -45.0, 200_000)))
    corridor = Corridor(line, 1_000.0)
    reference = footprint_distance_m(sq, corridor)
    _check(sq, corridor, reference)


@pytest.mark.parametrize("lat", [0.0, 40.0, 65.0, -70.0])
@pytest.mark.parametrize("lon", [20.0, 179.9])
@pytest.mark.parametrize("gap", [200.0, 2_000.0, 25_000.0])
@pytest.mark.parametrize("inner", [0.0, 30_000.0])
def test_point_to_arc_sector(lat, lon, gap, inner):
    s = ArcSector(Position(lat, lon), inner, 250_000, 10, 170)
    checks = [
        move(*move(lat, lon, 10, 200_000), 280.0, gap),  # beyond the start radial edge
        move(lat, lon, 90.0, 250_000 + gap),  # beyond the outer arc
    ]
    if inner:
        checks.append(
            move(lat, lon, 90.0, inner - gap) if gap < inner else move(lat, lon, 270.0, gap - inner)
        )
    for plat, plon in checks:
        point = Circle(pos(plat, plon), 1.0)
        reference = point_to_footprint_m(plat, plon, s) - 1.0
        # the outer arc may be drawn up to ARC_TOLERANCE_M (1 m) outside the circle
        _check(s, point, reference)


# --------------------------------------------------------------------------- antimeridian


@pytest.mark.parametrize("lat", [0.0, 64.0, -45.0])
def test_footprints_across_the_antimeridian(lat):
    sq = square(lat, 179.8, 60_000)  # straddles +-180
    assert min(p.lon_deg for p in sq.vertices) < -170
    assert max(p.lon_deg for p in sq.vertices) > 170
    assert sq.area_m2() == pytest.approx(120_000**2, rel=5e-3)
    east = sq.vertices[0]  # north-east corner, at negative longitude
    assert east.lon_deg < 0
    plat, plon = move(east.lat_deg, east.lon_deg, 45.0, 3_000)
    c = Circle(pos(plat, plon), 500.0)
    _check(sq, c, footprint_distance_m(sq, c))
    corridor = Corridor((pos(lat - 1, 179.0), pos(lat - 1, -178.0)), 2000)
    ref = footprint_distance_m(sq, corridor)
    _check(sq, corridor, ref)
    arc = ArcSector(pos(lat, -179.5), 0, 40_000, 200, 340)  # the pie reaches west, across 180
    assert pair_distance(arc, sq) == 0.0


def _every_kind(lat: float, lon: float) -> list:
    return [
        Circle(Position(lat, lon), 4000.0),
        square(lat + 0.05, lon, 3000.0),
        Corridor(
            (Position(lat, lon), Position(lat + 0.3, lon + 0.4), Position(lat + 0.1, lon + 0.9)), 5000.0
        ),
        Racetrack(Position(lat - 0.1, lon), Position(lat - 0.1, lon + 0.2), 6000.0),
        ArcSector(Position(lat, lon + 0.2), 1000.0, 9000.0, 30.0, 150.0),
        ArcSector(Position(lat, lon - 0.2), 0.0, 7000.0, 300.0, 20.0),
    ]


@pytest.mark.parametrize(("lat", "lon"), [(35.0, 40.0), (-12.0, 179.0), (70.0, -20.0)])
def test_cores_and_shapes_made_together_equal_those_made_one_at_a_time(lat, lon):
    frames = [frame_at(lat, lon), frame_at(lat + FRAME_GRID_DEG, lon + FRAME_GRID_DEG)]
    together = _every_kind(lat, lon)
    wanted = [(fp, frame) for frame in frames for fp in together]
    cores = cores_in(wanted)
    shapes = shapes_in([(fp, frame, 2500.0) for fp, frame in wanted])
    alone = _every_kind(lat, lon)  # fresh values: nothing remembered
    for (core, radius), shape, (fp, frame) in zip(
        cores, shapes, [(a, f) for f in frames for a in alone], strict=True
    ):
        single_core, single_radius = fp.core_in(frame)
        assert radius == single_radius
        assert core.geom_type == single_core.geom_type
        assert np.array_equal(shapely.get_coordinates(core), shapely.get_coordinates(single_core))
        assert np.array_equal(
            shapely.get_coordinates(shape), shapely.get_coordinates(fp.shape_in(frame, 2500.0))
        )
    # asked again, the batch hands back what it remembered
    assert all(a[0] is b[0] for a, b in zip(cores, cores_in(wanted), strict=True))


@pytest.mark.parametrize(
    ("total", "count"), [(90.0, 56), (360.0, 7), (-30_000.0, 3), (0.1, 1), (271.3, 4096)]
)
def test_steps_are_linspace(total, count):
    assert np.array_equal(_steps(total, count), np.linspace(0.0, total, count + 1))
