"""Independent geodesic references for the geometry tests (pyproj.Geod on WGS84 only).

Nothing here uses the package's frames or shapely: distances are sampled along true
geodesics and refined locally, so the reference is accurate to centimetres for the
distances the tests use.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from pyproj import Geod

from deconfliction.geo import ArcSector, Circle, Corridor, Footprint, Polygon, Position, Racetrack

G = Geod(ellps="WGS84")


def tolerance(reference_m: float) -> float:
    """The promised accuracy: the larger of 0.1 % and 5 m."""
    return max(0.001 * reference_m, 5.0)


def dist(lat_a: float, lon_a: float, lat_b: float, lon_b: float) -> float:
    return float(G.inv(lon_a, lat_a, lon_b, lat_b)[2])


def move(lat: float, lon: float, bearing_deg: float, distance_m: float) -> tuple[float, float]:
    """(lat, lon) reached from a point along a bearing, longitude normalised to [-180, 180]."""
    lon2, lat2, _ = G.fwd(lon, lat, bearing_deg, distance_m)
    return float(lat2), float((lon2 + 180.0) % 360.0 - 180.0)


def pos(lat: float, lon: float) -> Position:
    return Position(lat, (lon + 180.0) % 360.0 - 180.0)


def _point_to_many(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    n = len(lats)
    return np.asarray(G.inv(np.full(n, lon), np.full(n, lat), lons, lats)[2])


def point_to_edge_m(lat: float, lon: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance from a point to the geodesic segment a-b ((lat, lon) pairs): coarse, then fine."""
    az, _, length = G.inv(a[1], a[0], b[1], b[0])
    if length == 0:
        return dist(lat, lon, *a)
    coarse = np.linspace(0.0, length, 801)
    lons, lats, _ = G.fwd(
        np.full(coarse.shape, a[1]), np.full(coarse.shape, a[0]), np.full(coarse.shape, az), coarse
    )
    d = _point_to_many(lat, lon, lats, lons)
    k = int(np.argmin(d))
    step = length / 800
    fine = np.clip(np.linspace(coarse[k] - step, coarse[k] + step, 801), 0.0, length)
    lons, lats, _ = G.fwd(np.full(fine.shape, a[1]), np.full(fine.shape, a[0]), np.full(fine.shape, az), fine)
    return float(min(d[k], _point_to_many(lat, lon, lats, lons).min()))


def core_of(
    footprint: Footprint,
) -> tuple[list[tuple[float, float]], list[tuple[tuple[float, float], ...]], float]:
    """(vertices, geodesic edges, radius) of a footprint's core, from its defining parameters."""
    match footprint:
        case Circle(center_position=c, radius_m=r):
            return [(c.lat_deg, c.lon_deg)], [], r
        case Corridor(centreline=line, width_m=w):
            pts = [(p.lat_deg, p.lon_deg) for p in line]
            return pts, list(itertools.pairwise(pts)), w / 2
        case Racetrack(a=a, b=b, width_m=w):
            pts = [(a.lat_deg, a.lon_deg), (b.lat_deg, b.lon_deg)]
            return pts, [tuple(pts)], w / 2
        case Polygon(vertices=vs):
            pts = [(p.lat_deg, p.lon_deg) for p in vs]
            return pts, list(itertools.pairwise([*pts, pts[0]])), 0.0
    raise TypeError(footprint)


def point_to_footprint_m(lat: float, lon: float, footprint: Footprint) -> float:
    """Distance from a point to the footprint's boundary region, for a point outside it."""
    if isinstance(footprint, ArcSector):
        return point_to_sector_m(lat, lon, footprint)
    vertices, edges, radius = core_of(footprint)
    best = min(dist(lat, lon, *v) for v in vertices)
    for a, b in edges:
        best = min(best, point_to_edge_m(lat, lon, a, b))
    return best - radius


def footprint_distance_m(a: Footprint, b: Footprint) -> float:
    """Distance between two disjoint footprints: vertex-to-edge minima between their cores.

    On a surface of positive curvature the distance from a point moving along one geodesic
    segment to another segment has no interior minimum, so the closest pair of two
    polyline/polygon cores always involves a vertex of one of them.
    """
    va, ea, ra = core_of(a)
    vb, eb, rb = core_of(b)
    best = min(dist(*p, *q) for p in va for q in vb)
    for p in va:
        for e in eb:
            best = min(best, point_to_edge_m(*p, *e))
    for q in vb:
        for e in ea:
            best = min(best, point_to_edge_m(*q, *e))
    return max(0.0, best - ra - rb)


def point_to_sector_m(lat: float, lon: float, s: ArcSector) -> float:
    """Distance from an outside point to an arc sector (arcs sampled finely, radial edges exact)."""
    c = s.center_position
    span = s.span_deg
    best = np.inf
    for radius in (s.inner_radius_m, s.outer_radius_m):
        if radius <= 0:
            continue
        coarse = np.linspace(0.0, span, 2001)
        d = _arc_distances(lat, lon, c, radius, s.start_bearing_deg + coarse)
        k = int(np.argmin(d))
        step = span / 2000
        fine = np.clip(np.linspace(coarse[k] - step, coarse[k] + step, 2001), 0.0, span)
        best = min(
            best, float(d[k]), float(_arc_distances(lat, lon, c, radius, s.start_bearing_deg + fine).min())
        )
    for bearing in (s.start_bearing_deg, s.end_bearing_deg):
        a = (
            move(c.lat_deg, c.lon_deg, bearing, s.inner_radius_m)
            if s.inner_radius_m
            else (c.lat_deg, c.lon_deg)
        )
        b = move(c.lat_deg, c.lon_deg, bearing, s.outer_radius_m)
        best = min(best, point_to_edge_m(lat, lon, a, b))
    return float(best)


def _arc_distances(lat: float, lon: float, c: Position, radius: float, bearings: np.ndarray) -> np.ndarray:
    n = bearings.shape
    lons, lats, _ = G.fwd(np.full(n, c.lon_deg), np.full(n, c.lat_deg), bearings, np.full(n, radius))
    return _point_to_many(lat, lon, lats, lons)


def boundary_samples(footprint: Footprint, step_m: float) -> list[tuple[float, float, float]]:
    """(lat, lon, outward-ish bearing) samples on the core: vertices and points along edges."""
    vertices, edges, _ = core_of(footprint)
    out: list[tuple[float, float, float]] = []
    for v in vertices:
        out.extend((v[0], v[1], float(b)) for b in range(0, 360, 15))
    for a, b in edges:
        az, _, length = G.inv(a[1], a[0], b[1], b[0])
        n = max(2, int(length // step_m) + 1)
        for t in np.linspace(0.0, length, n):
            lon, lat, az_here = G.fwd(a[1], a[0], az, t)
            out.extend((float(lat), float(lon), float(az_here + side)) for side in (90.0, -90.0))
    return out


def ring(lat: float, lon: float, radius_m: float, count: int, start_deg: float = 0.0) -> Sequence[Position]:
    """``count`` positions on a geodesic circle, clockwise: the vertices of a regular polygon."""
    return [pos(*move(lat, lon, start_deg + 360.0 * k / count, radius_m)) for k in range(count)]
