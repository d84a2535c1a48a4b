"""H3 cell coverings: the coarse spatial index of the stores.

A covering is every H3 cell (at one resolution) that touches a footprint grown by
some distance. Two footprints closer than ``d`` always share a cell when one is
covered grown by ``d`` and the other as it is, so a store can find every candidate
with an equality join on cells and leave the exact decision to the engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Final

import h3
import h3.api.basic_int as h3int
import numpy as np
import shapely

from deconfliction.geo.footprint import Footprint
from deconfliction.geo.frame import GEOD, FloatArray

#: Default index resolution: cells of about 250 km^2 (edge ~10 km), near the size of the
#: horizontal minima, so a small volume touches a handful of cells.
DEFAULT_RESOLUTION: Final = 5

#: The covering polygon is grown a little past the footprint so that the straight chords of
#: buffered curves and of the projected outline never leave part of the footprint uncovered.
_MARGIN_M: Final = 50.0
_MARGIN_FRACTION: Final = 0.002


#: Curves of the covering polygon get this many segments per quarter turn, drawn outside the
#: true curve (radius divided by cos(pi / 4q)): few vertices keep the H3 fill fast, and the
#: polygon still contains the footprint.
_QUAD_SEGS: Final = 4
_OUTSIDE: Final = 1.0 / math.cos(math.pi / (4 * _QUAD_SEGS))
_METRES_PER_DEGREE: Final = 111_000.0  # a little under the shortest degree of latitude


def covering(
    footprint: Footprint, extra_m: float = 0.0, resolution: int = DEFAULT_RESOLUTION
) -> frozenset[int]:
    """Integer ids of the H3 cells touching ``footprint`` grown by ``extra_m`` metres.

    Exact up to the small outward margin, and about four times slower than
    :func:`candidate_cells`: for answers that are themselves "may intersect" (F3548)."""
    return _cells(footprint, extra_m, resolution, _overlap_fill)


def candidate_cells(
    footprint: Footprint, extra_m: float = 0.0, resolution: int = DEFAULT_RESOLUTION
) -> frozenset[int]:
    """A superset of :func:`covering`: every cell whose centre lies within one cell radius
    of ``footprint`` grown by ``extra_m``, which includes every cell the grown footprint
    touches (a touching cell has a point of the footprint within its radius of its centre).

    Made for the stores' index, where a few extra cells only cost a few extra candidates.
    H3's centre fill of the footprint's bounding cap (a ring drawn straight from
    geodesics, with no frame or buffer) finds a superset, and a test of the cell centres
    against the core picks the cells out of it; several times faster than filling the
    grown footprint itself."""
    reach = extra_m + max_cell_radius_m(resolution)
    cap = footprint.cap_radius_m + reach
    lat, lon = footprint.center
    cells = _cap_fill(lat, lon, cap + _margin(footprint, reach), resolution)
    if footprint.outline.shape == "point":
        return cells  # a grown point is its cap: the fill is already the answer
    return narrowed(cells, footprint, extra_m, resolution)


def narrowed(cells: Iterable[int], footprint: Footprint, extra_m: float, resolution: int) -> frozenset[int]:
    """:func:`candidate_cells` of ``footprint`` grown by ``extra_m``, picked out of
    ``cells``, which must contain them (its candidate cells for a larger growth, say):
    the cells whose centre lies within one cell radius of the grown footprint.

    A filing searches with its footprints grown by the minima and then indexes them
    ungrown: testing the centres of the cells it already has is several times cheaper
    than a second fill, and keeps the same guarantee (every touching cell is kept).
    """
    ids = list(cells)
    if not ids:
        return frozenset()
    frame = footprint.frame()
    core, radius = footprint.core_in(frame)
    centres = np.array([h3int.cell_to_latlng(c) for c in ids])
    x, y = frame.forward(centres[:, 1], centres[:, 0])
    reach = radius + extra_m + max_cell_radius_m(resolution)
    reach += _margin(footprint, reach)
    keep = shapely.dwithin(core, shapely.points(x, y), reach)
    return frozenset(c for c, kept in zip(ids, keep.tolist(), strict=True) if kept)


def max_cell_radius_m(resolution: int) -> float:
    """An upper bound on the geodesic distance from any cell's centre to its boundary.

    The farthest point of a cell from its centre is a vertex. Measured over every cell at
    resolutions 0-5 (the largest, at resolution 5, is 10,883.4 m), that maximum shrinks
    by sqrt(7) per resolution, the aperture of the grid; 1 % is added on top
    (``tests/geo/test_cells.py`` checks the bound against every cell up to resolution 4).
    """
    return _MAX_RADIUS_RES5_M * math.pow(7.0, (5 - resolution) / 2.0) * 1.01


_MAX_RADIUS_RES5_M: Final = 10_883.5

Fill = Callable[[list[tuple[float, float]], int], Iterable[int]]


def _overlap_fill(ring: list[tuple[float, float]], resolution: int) -> Iterable[int]:
    """Cells overlapping the lat/lon ring."""
    cells: list[int] = h3int.h3shape_to_cells_experimental(h3.LatLngPoly(ring), resolution, "overlap")
    return cells


def _centre_fill(ring: list[tuple[float, float]], resolution: int) -> Iterable[int]:
    """Cells whose centre lies inside the lat/lon ring."""
    cells: list[int] = h3int.h3shape_to_cells(h3.LatLngPoly(ring), resolution)
    return cells


def _margin(footprint: Footprint, extra_m: float) -> float:
    return _MARGIN_M + _MARGIN_FRACTION * (footprint.cap_radius_m + extra_m)


def _cells(footprint: Footprint, extra_m: float, resolution: int, fill: Fill) -> frozenset[int]:
    frame = footprint.frame()
    margin = _margin(footprint, extra_m)
    core, radius = footprint.core_in(frame)
    grow = (radius + extra_m + margin) * _OUTSIDE
    shape = core.buffer(grow, quad_segs=_QUAD_SEGS)
    if not isinstance(shape, shapely.Polygon):
        shape = shape.convex_hull  # one core grows into one polygon; this is only a guard
    ring = np.asarray(shape.exterior.coords)
    lon, lat = frame.inverse(ring[:, 0], ring[:, 1])
    reach_deg = (footprint.cap_radius_m + grow) / _METRES_PER_DEGREE
    if abs(footprint.center[0]) + reach_deg >= 89.0:
        for pole in (90.0, -90.0):
            px, py = frame.forward(np.array([0.0]), np.array([pole]))
            if shape.contains(shapely.Point(px[0], py[0])):
                # Around a pole the ring winds through every longitude and is no polygon in
                # lon/lat: cover the whole polar cap beyond its farthest latitude instead.
                edge = float(np.min(lat)) if pole > 0 else float(np.max(lat))
                return _polar_cap(edge, pole, resolution, fill)
    return _fill_lonlat(lon[:-1], lat[:-1], frame.lon0, resolution, fill)


#: Longest chord of a cap's ring: H3 joins ring points by straight lines in lat/lon, which
#: stray from the geodesic circle by about c^2 tan(lat) / 8R, 44 m for 20 km at 80 degrees,
#: inside the covering margin.
_CAP_CHORD_M: Final = 20_000.0


def _cap_fill(lat: float, lon: float, radius_m: float, resolution: int) -> frozenset[int]:
    """Cells whose centre lies inside a ring drawn outside the geodesic cap of
    ``radius_m`` around (``lat``, ``lon``)."""
    count = max(16, math.ceil(2.0 * math.pi * radius_m / _CAP_CHORD_M))
    bearings = np.arange(count) * (360.0 / count)  # np.linspace costs ten times more
    outside = radius_m / math.cos(math.pi / count)  # every chord stays outside the circle
    lons, lats, _ = GEOD.fwd(np.full(count, lon), np.full(count, lat), bearings, np.full(count, outside))
    lats = np.asarray(lats, dtype=np.float64)
    lons = np.asarray(lons, dtype=np.float64)
    near_pole = abs(lat) + outside / _METRES_PER_DEGREE >= 89.0
    for pole in (90.0, -90.0) if near_pole else ():
        _, _, to_pole = GEOD.inv(lon, lat, lon, pole)
        if to_pole < outside:
            # Around a pole the ring winds through every longitude and is no polygon in
            # lon/lat: cover the whole polar cap beyond its farthest latitude instead.
            edge = float(np.min(lats)) if pole > 0 else float(np.max(lats))
            return _polar_cap(edge, pole, resolution, _centre_fill)
    return _fill_lonlat(lons, lats, lon, resolution, _centre_fill)


def _fill_lonlat(
    lons: FloatArray, lats: FloatArray, lon0: float, resolution: int, fill: Fill
) -> frozenset[int]:
    """``fill`` of an open lon/lat ring, cut at the antimeridian where it crosses it.

    Longitudes are first made continuous around ``lon0``, so a ring across the
    antimeridian is one ring reaching past +-180 that is then cut in two."""
    lons = lon0 + ((lons - lon0 + 180.0) % 360.0) - 180.0
    if lons.min() >= -180.0 and lons.max() <= 180.0:
        return frozenset(fill(list(zip(lats.tolist(), lons.tolist(), strict=True)), resolution))
    cells: set[int] = set()
    for shift, part in _split_at_antimeridian(shapely.Polygon(np.column_stack([lons, lats]))):
        for piece in getattr(part, "geoms", [part]):
            if isinstance(piece, shapely.Polygon) and not piece.is_empty:
                cells.update(fill([(y, x + shift) for x, y in piece.exterior.coords[:-1]], resolution))
    return frozenset(cells)


def _polar_cap(edge_lat: float, pole: float, resolution: int, fill: Fill) -> frozenset[int]:
    """The cells the fill gives for the cap between latitude ``edge_lat`` and the ``pole``."""
    cells: set[int] = set()
    for west in (-180.0, -90.0, 0.0, 90.0):
        box = [(edge_lat, west), (edge_lat, west + 90.0), (pole, west + 90.0), (pole, west)]
        cells.update(fill(box, resolution))
    return frozenset(cells)


def _split_at_antimeridian(shape: shapely.Polygon) -> list[tuple[float, shapely.Geometry]]:
    """Pieces of ``shape`` with the longitude shift that brings each into [-180, 180]."""
    minx, _, maxx, _ = shape.bounds
    if minx >= -180.0 and maxx <= 180.0:
        return [(0.0, shape)]
    pieces: list[tuple[float, shapely.Geometry]] = []
    for shift, box in (
        (360.0, shapely.box(-540.0, -90.0, -180.0, 90.0)),
        (0.0, shapely.box(-180.0, -90.0, 180.0, 90.0)),
        (-360.0, shapely.box(180.0, -90.0, 540.0, 90.0)),
    ):
        part = shape.intersection(box)
        if not part.is_empty:
            pieces.append((shift, part))
    return pieces


def cell_of(lat_deg: float, lon_deg: float, resolution: int = DEFAULT_RESOLUTION) -> int:
    """Integer id of the cell containing a point."""
    return int(h3.str_to_int(h3.latlng_to_cell(lat_deg, lon_deg, resolution)))
