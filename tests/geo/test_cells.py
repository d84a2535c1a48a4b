"""H3 coverings: every point of a footprint grown by d lies in a covered cell."""

from __future__ import annotations

import math

import h3
import h3.api.basic_int
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from deconfliction.geo import ArcSector, Circle, Corridor, Polygon, Position, Racetrack
from deconfliction.geo import cells as cells_module
from deconfliction.geo.cells import (
    candidate_cells,
    cell_of,
    covering,
    max_cell_radius_m,
    search_and_index_cells,
)
from deconfliction.geo.frame import cap_bbox
from geodesy_ref import G, boundary_samples, footprint_distance_m, move, pos, ring


def _sector_samples(s: ArcSector) -> list[tuple[float, float, float]]:
    c = s.center_position
    out = []
    for k in range(61):
        bearing = s.start_bearing_deg + s.span_deg * k / 60
        for r in (s.inner_radius_m, s.outer_radius_m):
            lat, lon = move(c.lat_deg, c.lon_deg, bearing, r)
            out.extend((lat, lon, bearing + d) for d in (-90.0, 0.0, 90.0, 180.0))
    return out


def assert_covers(footprint, grow_m: float, resolution: int = 5, cells=None) -> None:
    """Points exactly ``grow_m`` (less a millimetre) outside the core boundary, all around."""
    cells = covering(footprint, grow_m, resolution) if cells is None else cells
    if isinstance(footprint, ArcSector):
        samples = _sector_samples(footprint)
        radius = 0.0
    else:
        samples = boundary_samples(footprint, 5_000)
        radius = {Circle: lambda f: f.radius_m}.get(type(footprint), lambda f: getattr(f, "width_m", 0) / 2)(
            footprint
        )
    reach = max(radius + grow_m - 0.001, 0.0)
    missing = []
    for lat, lon, bearing in samples:
        plat, plon = move(lat, lon, bearing, reach)
        if cell_of(plat, plon, resolution) not in cells:
            missing.append((plat, plon))
    assert not missing, f"{len(missing)} points uncovered, e.g. {missing[:3]}"


FOOTPRINTS = {
    "circle": lambda lat, lon: Circle(Position(lat, lon), 20_000),
    "small-circle": lambda lat, lon: Circle(Position(lat, lon), 1.0),
    "square": lambda lat, lon: Polygon(tuple(ring(lat, lon, 40_000, 4, 45))),
    "big-polygon": lambda lat, lon: Polygon(tuple(ring(lat, lon, 250_000, 7, 10))),
    "corridor": lambda lat, lon: Corridor(
        (pos(lat, lon), pos(*move(lat, lon, 80, 150_000)), pos(*move(lat, lon, 120, 250_000))), 3_000
    ),
    "racetrack": lambda lat, lon: Racetrack(pos(lat, lon), pos(*move(lat, lon, 200, 60_000)), 8_000),
    "arc": lambda lat, lon: ArcSector(pos(lat, lon), 10_000, 120_000, 300, 60),
    "pie": lambda lat, lon: ArcSector(pos(lat, lon), 0, 30_000, 100, 10),
}


@pytest.mark.parametrize("kind", sorted(FOOTPRINTS))
@pytest.mark.parametrize(
    ("lat", "lon"), [(35.0, 40.0), (65.0, -20.0), (-68.0, 120.0), (0.0, 179.9), (62.0, -179.8)]
)
@pytest.mark.parametrize("grow", [0.0, 9_260.0])
def test_covering_contains_cells_of_points_in_grown_footprint(kind, lat, lon, grow):
    assert_covers(FOOTPRINTS[kind](lat, lon), grow)


@pytest.mark.parametrize("lat", [88.0, 89.9, -89.5])
def test_covering_around_the_poles(lat):
    c = Circle(Position(lat, 30.0), 250_000)  # reaches over the pole
    cells = covering(c)
    pole = 90.0 if lat > 0 else -90.0
    assert cell_of(pole, 0.0) in cells
    for lon in range(-180, 180, 10):
        assert cell_of(pole - math.copysign(0.2, pole), lon) in cells
    assert_covers(c, 5_000)


def test_covering_is_local():
    small = covering(Circle(Position(30, 30), 1_000))
    assert 1 <= len(small) <= 7
    far = covering(Circle(Position(30, 31), 1_000))
    assert not small & far


def test_covering_of_antimeridian_footprint_uses_both_sides():
    cells = covering(Polygon(tuple(ring(10.0, 180.0, 50_000, 6))))
    assert cell_of(10.0, 179.9) in cells
    assert cell_of(10.0, -179.9) in cells
    assert cell_of(10.0, 0.0) not in cells  # not the whole other side of the planet


@st.composite
def footprints(draw):
    lat = draw(st.floats(-75, 75))
    lon = draw(st.floats(-180, 180))
    kind = draw(st.sampled_from(["circle", "polygon", "corridor", "racetrack", "arc"]))
    size = draw(st.floats(500, 150_000))
    if kind == "circle":
        return Circle(Position(lat, lon), size)
    if kind == "polygon":
        n = draw(st.integers(3, 8))
        return Polygon(tuple(ring(lat, lon, size, n, draw(st.floats(0, 360)))))
    if kind == "arc":
        inner = draw(st.floats(0, 0.8)) * size
        start = draw(st.floats(0, 360))
        span = draw(st.floats(5, 355))
        return ArcSector(Position(lat, lon), inner, size, start, start + span)
    end = pos(*move(lat, lon, draw(st.floats(0, 360)), size))
    width = draw(st.floats(1, 10_000))
    return (
        Corridor((Position(lat, lon), end), width)
        if kind == "corridor"
        else Racetrack(Position(lat, lon), end, width)
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(footprints(), st.floats(0, 50_000))
def test_property_grown_footprint_is_covered(footprint, grow):
    assert_covers(footprint, grow)


def touching(footprint, grow_m: float, resolution: int = 5) -> frozenset[int]:
    """The cells of the exact covering that come within ``grow_m`` of the footprint (less
    0.2 % for the frame's scale error): every one of them must be a candidate cell.
    ``covering`` also takes cells that touch only the outward-drawn corners of its ring."""
    frame = footprint.frame()
    core, radius = footprint.core_in(frame)
    reach = (radius + grow_m) * 0.998 - 1.0
    found = set()
    for cell in covering(footprint, grow_m, resolution):
        lat, lon = np.array(h3.cell_to_boundary(h3.int_to_str(cell))).T
        x, y = frame.forward(lon, lat)
        if core.distance(shapely.Polygon(np.column_stack([x, y]))) <= reach:
            found.add(cell)
    return frozenset(found)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(footprints(), st.floats(0, 50_000), st.floats(0, 30_000))
@example(Circle(Position(54.0, 0.0), 99_870.0), 50_000.0, 0.0)
# (a case where the polygon fill of an earlier version kept a cell for the smaller growth
# and not for the larger: a vertex of one cap's ring reached past the other's chord)
@example(Circle(Position(0.0, 0.0), 2357.0), 50_000.0, 136.0)
def test_property_candidate_cells_contain_every_touching_cell_and_grow_with_the_distance(
    footprint, grow, more
):
    cells = candidate_cells(footprint, grow)
    assert touching(footprint, grow) <= cells
    assert cells <= candidate_cells(footprint, grow + more)
    assert_covers(footprint, grow, cells=cells)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(footprints(), st.floats(0, 50_000))
def test_property_search_and_index_cells_are_the_candidate_cells_grown_and_not(footprint, grow):
    search, index = search_and_index_cells(footprint, grow)
    # the index set comes from the search's fill: it must still hold every touching cell
    assert touching(footprint, 0.0) <= index <= search
    assert search == candidate_cells(footprint, grow)
    assert index == candidate_cells(footprint, 0.0)


@pytest.mark.parametrize("kind", sorted(FOOTPRINTS))
@pytest.mark.parametrize(("lat", "lon"), [(35.0, 40.0), (-68.0, 120.0), (0.0, 179.9), (62.0, -179.8)])
def test_candidate_cells_cover_every_kind_everywhere(kind, lat, lon):
    footprint = FOOTPRINTS[kind](lat, lon)
    for grow in (0.0, 9_260.0):
        cells = candidate_cells(footprint, grow)
        assert touching(footprint, grow) <= cells
        assert_covers(footprint, grow, cells=cells)


def test_candidate_cells_around_the_poles():
    for lat in (89.5, -89.9, 88.8):  # each within 150 km of its pole
        footprint = Circle(Position(lat, 10.0), 150_000)
        cells = candidate_cells(footprint, 9_260.0)
        assert cell_of(90.0 if lat > 0 else -90.0, 0.0) in cells
        assert_covers(footprint, 9_260.0, cells=cells)


@pytest.mark.parametrize("resolution", [0, 1, 2, 3, 4])
def test_max_cell_radius_bounds_every_cell(resolution):
    """Every vertex of every cell at the resolution lies within the bound of its centre
    (the farthest point of a cell from its centre is a vertex)."""
    centres, vertices = [], []
    for base in h3.get_res0_cells():
        for cell in h3.cell_to_children(base, resolution):
            centre = h3.cell_to_latlng(cell)
            for vertex in h3.cell_to_boundary(cell):
                centres.append(centre)
                vertices.append(vertex)
    c, v = np.array(centres), np.array(vertices)
    worst = float(np.max(G.inv(c[:, 1], c[:, 0], v[:, 1], v[:, 0])[2]))
    assert worst <= max_cell_radius_m(resolution)
    assert worst > 0.97 * max_cell_radius_m(resolution)  # and the bound is tight


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-90, 90),
    st.floats(-180, 180),
    st.floats(1, 400_000),
    st.floats(0, 360),
    st.floats(0, 1),
)
def test_property_cap_bbox_contains_every_point_of_the_cap(lat, lon, radius, bearing, fraction):
    lat_lo, lat_hi, lon_lo, lon_hi = cap_bbox(lat, lon, radius)
    plat, plon = move(lat, lon, bearing, radius * fraction)
    assert lat_lo <= plat <= lat_hi
    assert lon_lo <= plon <= lon_hi


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(footprints(), st.floats(0, 360), st.floats(1_000, 30_000), st.floats(0.01, 0.999))
def test_property_footprints_closer_than_d_share_a_cell(a, bearing, d, fraction):
    # b: a small circle whose nearest point is ``fraction * d`` outside a.
    lat0, lon0 = a.center
    # walk out from the centre until the reference distance is what we want
    lo, hi = 0.0, a.cap_radius_m + d
    b = None
    for _ in range(20):  # to within a metre or so
        mid = (lo + hi) / 2
        cand = Circle(pos(*move(lat0, lon0, bearing, mid)), 1.0)
        gap = footprint_distance_m(a, cand) if not isinstance(a, ArcSector) else None
        if gap is None:
            return  # arc sectors: covered by the point property above
        if gap < fraction * d:
            lo, b = mid, cand
        else:
            hi = mid
    if b is None:
        return
    assert covering(a, d) & covering(b, 0.0)
    assert covering(b, d) & covering(a, 0.0)


def _cells_centred_within(lat: float, lon: float, radius_m: float, resolution: int) -> set[int]:
    """Brute force: every cell of a disk far wider than the radius whose centre's geodesic
    distance from the point is at most the radius."""
    origin = h3.api.basic_int.latlng_to_cell(lat, lon, resolution)
    smallest_step_m = 3_000.0 * 7.0 ** ((5 - resolution) / 2)  # well under any cell's width
    disk = h3.api.basic_int.grid_disk(origin, int(radius_m / smallest_step_m) + 2)
    centres = np.array([h3.api.basic_int.cell_to_latlng(c) for c in disk])
    _, _, dist = G.inv(np.full(len(disk), lon), np.full(len(disk), lat), centres[:, 1], centres[:, 0])
    return {c for c, d in zip(disk, dist, strict=True) if d <= radius_m}


_PENTAGON = h3.cell_to_latlng(h3.get_pentagons(5)[3])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(-90, 90), st.floats(-180, 180), st.floats(0, 80_000), st.sampled_from([4, 5]))
@example(_PENTAGON[0], _PENTAGON[1], 60_000.0, 5)  # a disk around a pentagon is not hexagonal
@example(90.0, 0.0, 50_000.0, 5)
@example(-89.9, 179.99, 70_000.0, 5)
@example(12.0, -179.95, 40_000.0, 4)
def test_property_cap_cells_hold_every_cell_centred_in_the_cap(lat, lon, radius, resolution):
    ids, lats, lons, understated = cells_module._cap_cells(lat, lon, radius, resolution)
    assert _cells_centred_within(lat, lon, radius, resolution) <= set(ids)
    assert lats.tolist() == [h3.api.basic_int.cell_to_latlng(c)[0] for c in ids]
    _, _, dist = G.inv(np.full(len(ids), lon), np.full(len(ids), lat), lons, lats)
    assert np.all(understated <= dist)
    # and not many more: only those the haversine's 1 % slack could not rule out
    assert max(dist, default=0.0) <= radius * 1.02 + 1.0
