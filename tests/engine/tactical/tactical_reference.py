"""A brute-force O(N²) reference for tactical detection, written independently of the engine.

Scalar Python, one pair at a time, straight from the definitions: the relative
position is the equirectangular approximation at the pair's mean latitude, positions
move in a straight line, and a pair is in conflict when the open interval of
horizontal loss of separation meets the open interval of vertical loss, ends after
0 and begins no later than the look-ahead. It also says how close a pair is to a
boundary, so that comparisons can tell a real disagreement from rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_000.0
VERTICAL_TOLERANCE_M = 1e-6
MIN_RELATIVE_SPEED_MPS = 1e-6  # slower relative motion counts as none (part of the model)


@dataclass(frozen=True, slots=True)
class Track:
    lat_deg: float
    lon_deg: float
    alt_m: float
    gs_mps: float
    trk_deg: float
    vs_mps: float
    party: int = 0


@dataclass(frozen=True, slots=True)
class Result:
    conflict: bool
    tcpa_s: float
    dcpa_m: float
    t_in_s: float
    t_out_s: float
    los: bool
    #: How far the decision is from flipping: the smallest of the relative margins.
    margin: float


def _interval_horizontal(
    dx: float, dy: float, du: float, dv: float, r: float
) -> tuple[float, float, float, float]:
    """(t_in, t_out, tcpa, dcpa) of |(dx, dy) + (du, dv) t| < r; empty as (inf, -inf)."""
    w2 = du * du + dv * dv
    if math.sqrt(w2) <= MIN_RELATIVE_SPEED_MPS:
        d = math.hypot(dx, dy)
        if d < r:
            return -math.inf, math.inf, 0.0, d
        return math.inf, -math.inf, 0.0, d
    tcpa = -(dx * du + dy * dv) / w2
    dcpa = abs(dx * dv - dy * du) / math.sqrt(w2)
    if dcpa >= r:
        return math.inf, -math.inf, tcpa, dcpa
    half = math.sqrt(r * r - dcpa * dcpa) / math.sqrt(w2)
    return tcpa - half, tcpa + half, tcpa, dcpa


def _interval_vertical(dz: float, dw: float, h: float) -> tuple[float, float]:
    if abs(dw) <= MIN_RELATIVE_SPEED_MPS:
        return (-math.inf, math.inf) if abs(dz) < h else (math.inf, -math.inf)
    a = (-h - dz) / dw
    b = (h - dz) / dw
    return min(a, b), max(a, b)


def pair(a: Track, b: Track, lookahead_s: float, hsep_m: float, vsep_m: float) -> Result:
    lat_a, lat_b = math.radians(a.lat_deg), math.radians(b.lat_deg)
    dlon = math.radians(b.lon_deg) - math.radians(a.lon_deg)
    if dlon > math.pi:
        dlon -= 2 * math.pi
    elif dlon <= -math.pi:
        dlon += 2 * math.pi
    dx = EARTH_RADIUS_M * dlon * math.cos(0.5 * (lat_a + lat_b))
    dy = EARTH_RADIUS_M * (lat_b - lat_a)
    ua, va = a.gs_mps * math.sin(math.radians(a.trk_deg)), a.gs_mps * math.cos(math.radians(a.trk_deg))
    ub, vb = b.gs_mps * math.sin(math.radians(b.trk_deg)), b.gs_mps * math.cos(math.radians(b.trk_deg))
    h = vsep_m - VERTICAL_TOLERANCE_M
    hin, hout, tcpa, dcpa = _interval_horizontal(dx, dy, ub - ua, vb - va, hsep_m)
    dz = b.alt_m - a.alt_m
    vin, vout = _interval_vertical(dz, b.vs_mps - a.vs_mps, h)
    t_in, t_out = max(hin, vin), min(hout, vout)
    conflict = t_in < t_out and t_out > 0.0 and t_in <= lookahead_s
    los = math.hypot(dx, dy) < hsep_m and abs(dz) < h
    scale = max(lookahead_s, 1.0)
    margins = [abs(dcpa - hsep_m) / hsep_m, abs(abs(dz) - h) / vsep_m]
    for t in (t_in, t_out):
        if math.isfinite(t):
            margins.append(abs(t) / scale)
            margins.append(abs(t - lookahead_s) / scale)
    if math.isfinite(t_in) and math.isfinite(t_out):
        margins.append(abs(t_out - t_in) / scale)
    return Result(conflict, tcpa, dcpa, max(t_in, 0.0), t_out, los, min(margins))


def all_pairs(
    tracks: list[Track],
    lookahead_s: float = 300.0,
    hsep_m: float = 9260.0,
    vsep_m: float = 304.8,
    different_parties: bool = True,
) -> dict[tuple[int, int], Result]:
    """Every pair ``(i, j)``, ``i < j``, with its result (conflicting or not)."""
    out: dict[tuple[int, int], Result] = {}
    for i in range(len(tracks)):
        for j in range(i + 1, len(tracks)):
            if different_parties and tracks[i].party == tracks[j].party:
                continue
            out[(i, j)] = pair(tracks[i], tracks[j], lookahead_s, hsep_m, vsep_m)
    return out
