"""H3 cell coverings: the coarse spatial index of the stores.

A covering is every H3 cell (at one resolution) that touches a footprint grown by
some distance. Two footprints closer than ``d`` always share a cell when one is
covered grown by ``d`` and the other as it is, so a store can find every candidate
with an equality join on cells and leave the exact decision to the engine.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Final, cast

import h3
import h3.api.basic_int as h3int
import h3.api.numpy_int as h3np
import numpy as np
import numpy.typing as npt
import shapely

from deconfliction.geo.footprint import Footprint
from deconfliction.geo.frame import FloatArray, great_circles_m

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
    The cells whose centre lies within the footprint's bounding cap (grown the same way)
    are found from an H3 disk around the cap's centre (:func:`_cap_cells`: no frame, no
    polygon fill), and a test of their centres against the core picks the cells out."""
    return _candidates(footprint, (extra_m,), resolution)[0]


def search_and_index_cells(
    footprint: Footprint, extra_m: float, resolution: int = DEFAULT_RESOLUTION
) -> tuple[frozenset[int], frozenset[int]]:
    """:func:`candidate_cells` of ``footprint`` grown by ``extra_m`` and as it is.

    A filing searches with its footprints grown by the minima and then indexes them
    ungrown: both sets come out of one disk, whose cell centres are located and
    projected once for both tests."""
    search, index = _candidates(footprint, (extra_m, 0.0), resolution)
    return search, index


def _candidates(footprint: Footprint, extras_m: Sequence[float], resolution: int) -> list[frozenset[int]]:
    lat, lon = footprint.center
    ids, lats, lons, distances = _cap_cells(
        lat, lon, footprint.cap_radius_m + _reach(footprint, max(extras_m), resolution), resolution
    )
    if footprint.outline.shape == "point":
        # A point's cap is centred on it: the disk's understated distances are the test,
        # with no frame (they keep a few cells more than the frame's distances would).
        return [_kept(ids, distances <= _reach(footprint, extra_m, resolution)) for extra_m in extras_m]
    return _narrowed(ids, lats, lons, footprint, extras_m, resolution)


def _narrowed(
    ids: list[int],
    lats: FloatArray,
    lons: FloatArray,
    footprint: Footprint,
    extras_m: Sequence[float],
    resolution: int,
) -> list[frozenset[int]]:
    """The cells of ``ids`` (centred at ``lats``, ``lons``) that are candidates of
    ``footprint`` grown by each of ``extras_m``: those whose centre lies within
    :func:`_reach` of its core in its frame. The centres are projected once for all."""
    if not ids:
        return [frozenset() for _ in extras_m]
    frame = footprint.frame()
    core, _ = footprint.core_in(frame)
    x, y = frame.forward(lons, lats)
    points = shapely.points(np.column_stack((x, y)))  # half the cost of points(x, y)
    return [
        _kept(ids, shapely.dwithin(core, points, _reach(footprint, extra_m, resolution)))
        for extra_m in extras_m
    ]


def _reach(footprint: Footprint, extra_m: float, resolution: int) -> float:
    """How far from the core a cell's centre may lie for the cell to be a candidate of
    ``footprint`` grown by ``extra_m``: its radius, the growth, one cell radius, the margin."""
    reach = footprint.outline.radius_m + extra_m + max_cell_radius_m(resolution)
    return reach + _margin(footprint, reach)


def _kept(ids: list[int], keep: npt.NDArray[np.bool_]) -> frozenset[int]:
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


#: Centres of the cells met so far, by id: locating a cell costs more than a dict lookup,
#: and a filing meets the same few hundred cells of its area again and again. Bounded by
#: starting afresh when full (a million centres are about 150 MB).
_CENTRES: dict[int, tuple[float, float]] = {}
_MAX_CENTRES: Final = 1_000_000


def _centres(ids: Sequence[int]) -> tuple[FloatArray, FloatArray]:
    """Latitudes and longitudes of the cells' centres."""
    if len(_CENTRES) + len(ids) > _MAX_CENTRES:
        _CENTRES.clear()
    known = _CENTRES.get
    found = [known(c) for c in ids]
    for n, centre in enumerate(found):
        if centre is None:
            found[n] = _CENTRES[ids[n]] = h3int.cell_to_latlng(ids[n])
    pairs = cast(list[tuple[float, float]], found)  # every None was filled in above
    # fromiter over the flattened pairs: a third of the cost of np.array on a list of tuples
    lat_lon = np.fromiter(itertools.chain.from_iterable(pairs), dtype=np.float64, count=2 * len(pairs))
    return lat_lon[0::2], lat_lon[1::2]


#: How much nearer each ring of a disk comes, at least, at resolution 5: neighbouring
#: centres are about 14.8 km apart and a ring's nearest cells, midway along the sides of
#: its hexagon, are sqrt(3)/2 of that further out per ring. Only a guess at the disk that
#: :func:`_cap_cells` then proves (cells vary in size over the globe); at 12.5 km, 300
#: filings of the strategic benchmark needed a second disk for 4 of 446 footprints.
_RING_STEP_RES5_M: Final = 12_500.0
#: The haversine is within 0.6 % of the geodesic: 1 % less can only understate it.
_HAVERSINE_SLACK: Final = 0.01


def _cap_cells(
    lat: float, lon: float, radius_m: float, resolution: int
) -> tuple[list[int], FloatArray, FloatArray, FloatArray]:
    """The cells whose centre may lie within ``radius_m`` (geodesic) of (``lat``, ``lon``)
    (every one that does, and a few beyond), with their centres' latitudes, longitudes and
    distances from the point, understated (no more than the geodesic distance).

    They are picked out of the disk of the ``k`` rings of cells around the point's cell,
    with ``k`` grown until the disk holds them all, which its outer ring proves: a path
    of length ``L`` from the point to a cell outside the disk crosses the disk's edge,
    which lies on a cell of the outer ring, so that cell's centre is within ``L`` plus
    one cell radius of the point. When every centre of the outer ring is farther than
    ``radius_m`` plus a cell radius, no cell outside the disk has its centre within
    ``radius_m``. This holds anywhere, pentagons, poles and the antimeridian included,
    and takes a few microseconds where filling a polygon takes a hundred or more."""
    origin = int(h3int.latlng_to_cell(lat, lon, resolution))
    beyond = radius_m + max_cell_radius_m(resolution)
    step = _RING_STEP_RES5_M * math.pow(7.0, (5 - resolution) / 2.0)
    k = max(1, math.ceil(beyond / step))
    while True:
        ids: list[int] = h3np.grid_disk(origin, k).tolist()
        lats, lons = _centres(ids)
        distances = great_circles_m(lat, lon, lats, lons) * (1.0 - _HAVERSINE_SLACK)
        inner = set(h3np.grid_disk(origin, k - 1).tolist())
        outer = [n for n, c in enumerate(ids) if c not in inner]
        if float(np.min(distances[outer])) > beyond:
            keep = distances <= radius_m
            return (
                [c for c, kept in zip(ids, keep.tolist(), strict=True) if kept],
                lats[keep],
                lons[keep],
                distances[keep],
            )
        k += 1


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
