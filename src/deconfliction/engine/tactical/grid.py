"""Candidate pairs for tactical detection: a uniform grid over swept paths.

The look-ahead is cut into a few time slices. In each slice every track sweeps a box:
its straight-line path over the slice, grown by half the separation minima on every
side (plus a small pad against rounding). Two tracks can only lose separation during a
slice if their boxes for that slice overlap, so the pairs whose boxes overlap in some
slice are a superset of the conflicts. Boxes are dropped into a uniform 3D grid (cells
of longitude × northing × altitude), entries are sorted by cell, and pairs are read off
within each cell. A pair is reported once: in the first slice where its boxes overlap,
and there in the cell at the lower corner of the boxes' intersection.

Why this is conservative under the detector's geometry (see
:mod:`deconfliction.engine.tactical.detect`): the pair's relative position is
``dx = R·Δλ·cos φ̄``, ``dy = R·Δφ`` with φ̄ the pair's mean latitude. Northing ``R·φ + v·t``
is exact per track. For longitude, ``|dx(t)| < hsep`` means
``|(λ_j + u_j t / (R cos φ̄)) − (λ_i + u_i t / (R cos φ̄))| < hsep / (R cos φ̄)``; a pair that
can conflict has ``|Δφ| < (hsep + 2·max|v|·T) / R``, which bounds ``cos φ̄`` from below
by a per-track ``c_i``, and boxes built with ``1/c_i`` contain every possible value.

Tracks whose box would wrap past the longitude cut (chosen in the widest gap between
tracks, so normally none) or cover very many cells (near the poles) are paired with
every other track instead; they are rare and correctness does not depend on the grid.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Box = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]

#: Padding added to every half-width (metres) so rounding never loses a candidate.
PAD_M: Final = 1.0
#: A track whose boxes cover more cells than this is paired with everyone instead.
MAX_CELLS_PER_TRACK: Final = 512
TWO_PI: Final = 2.0 * np.pi
#: Cell size as a multiple of the median box size, horizontally and vertically (tuned on
#: the benchmark scenarios; any positive value gives the same pairs).
CELL_FACTOR_H = 1.0
CELL_FACTOR_V = 3.0


def _longitude_cut(lon_rad: FloatArray) -> float:
    """A longitude in the widest gap between tracks, where the grid can be cut open."""
    ring = np.sort(np.mod(lon_rad, TWO_PI))
    gaps = np.empty(ring.size)
    gaps[:-1] = np.diff(ring)
    gaps[-1] = ring[0] + TWO_PI - ring[-1]
    k = int(np.argmax(gaps))
    return float(ring[k] + 0.5 * gaps[k])


def _slice_offsets(rate: FloatArray, t0: float, t1: float) -> tuple[FloatArray, FloatArray]:
    a = rate * t0
    b = rate * t1
    return np.minimum(a, b), np.maximum(a, b)


def _expand(
    count_y: IntArray, count_z: IntArray, count: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Per entry: owning row, and its x, y, z offsets inside that row's cell block."""
    total = int(count.sum())
    owner = np.repeat(np.arange(count.size, dtype=np.int64), count)
    first = np.cumsum(count) - count
    local = np.arange(total, dtype=np.int64) - np.repeat(first, count)
    plane = np.repeat(count_y * count_z, count)
    nz = np.repeat(count_z, count)
    ox = local // plane
    rest = local - ox * plane
    oy = rest // nz
    oz = rest - oy * nz
    return owner, ox, oy, oz


def _pairs_in_cells(key: IntArray, track: IntArray, flags: NDArray[np.uint8]) -> tuple[IntArray, IntArray]:
    """Pairs of entries sharing a key whose cell is the pair's reference cell.

    ``flags`` has bit 0/1/2 set when the entry's cell is the first cell of its track's
    range in x/y/z. The reference cell of a pair (the lower corner of the intersection of
    the two ranges) is, per axis, the larger of the two first cells, so a shared cell is
    the reference exactly when on every axis it is the first cell of one of the two.
    """
    order = np.argsort(key)
    keys = key[order]
    tracks = track[order]
    bits = flags[order]
    size = keys.size
    empty = np.zeros(0, dtype=np.int64)
    if size < 2:
        return empty, empty
    boundary = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate(([0], boundary))
    ends = np.concatenate((boundary, [size]))
    group_end = np.repeat(ends, ends - starts)
    after = group_end - np.arange(size, dtype=np.int64) - 1
    has = after > 0
    pos = np.flatnonzero(has)
    reps = after[has]
    total = int(reps.sum())
    if total == 0:
        return empty, empty
    first = np.repeat(pos, reps)
    base = np.cumsum(reps) - reps
    second = first + 1 + (np.arange(total, dtype=np.int64) - np.repeat(base, reps))
    home = (bits[first] | bits[second]) == 7
    return tracks[first[home]], tracks[second[home]]


def candidate_pairs(
    lat_rad: FloatArray,
    lon_rad: FloatArray,
    alt_m: FloatArray,
    east_mps: FloatArray,
    north_mps: FloatArray,
    up_mps: FloatArray,
    party: IntArray | None,
    *,
    lookahead_s: float,
    hsep_m: float,
    vsep_m: float,
    earth_radius_m: float,
    slices: int | None = None,
) -> tuple[IntArray, IntArray]:
    """Unordered pairs ``(i, j)``, ``i < j``, each once, that may be in conflict.

    A superset of the pairs :func:`~deconfliction.engine.tactical.detect.evaluate_pairs`
    finds in conflict among all pairs (restricted to different parties when ``party`` is
    given). ``slices`` overrides the number of time slices (chosen from the data).
    """
    n = int(lat_rad.size)
    empty = np.zeros(0, dtype=np.int64)
    if n < 2:
        return empty, empty
    re = earth_radius_m
    horizon = float(lookahead_s)
    half_h = 0.5 * hsep_m + PAD_M
    half_v = 0.5 * vsep_m + PAD_M

    # Per-track lower bound on cos(mean latitude) of any pair it can conflict with.
    max_north = float(np.max(np.abs(north_mps)))
    dlat_max = (hsep_m + 2.0 * max_north * horizon + 2.0 * PAD_M) / re
    cos_min = np.cos(np.minimum(np.abs(lat_rad) + 0.5 * dlat_max, 0.5 * np.pi))
    cos_min = np.maximum(cos_min, 1e-12)
    inv_cos = 1.0 / cos_min

    lam = np.mod(lon_rad - _longitude_cut(lon_rad), TWO_PI)
    northing = re * lat_rad

    speed = np.hypot(east_mps, north_mps)
    typical_sweep = float(np.median(speed)) * horizon
    if slices is None:
        slices = int(np.clip(np.rint(typical_sweep / (4.0 * hsep_m)), 1, 6))
    step = horizon / slices
    extent_h = float(np.median(speed)) * step + 2.0 * half_h
    extent_v = float(np.median(np.abs(up_mps))) * step + 2.0 * half_v
    cell_y = CELL_FACTOR_H * max(extent_h, 2.0 * half_h)
    cell_z = CELL_FACTOR_V * max(extent_v, 2.0 * half_v)
    lat_ref = float(np.median(np.abs(lat_rad)))
    cell_x = cell_y / (re * max(np.cos(lat_ref), 1e-3))

    boxes: list[Box] = []
    special = np.zeros(n, dtype=np.bool_)
    for k in range(slices):
        t0, t1 = k * step, (k + 1) * step
        ex_lo, ex_hi = _slice_offsets(east_mps / re, t0, t1)
        # Scale by 1/cos over [1, 1/cos_min]: the hull widens only outward.
        ex_lo = np.where(ex_lo < 0.0, ex_lo * inv_cos, ex_lo)
        ex_hi = np.where(ex_hi > 0.0, ex_hi * inv_cos, ex_hi)
        half_x = half_h / re * inv_cos
        ny_lo, ny_hi = _slice_offsets(north_mps, t0, t1)
        up_lo, up_hi = _slice_offsets(up_mps, t0, t1)
        box: Box = (
            lam + ex_lo - half_x,
            lam + ex_hi + half_x,
            northing + ny_lo - half_h,
            northing + ny_hi + half_h,
            alt_m + up_lo - half_v,
            alt_m + up_hi + half_v,
        )
        special |= (box[0] < 0.0) | (box[1] >= TWO_PI)
        boxes.append(box)

    y_origin = float(min(float(np.min(b[2])) for b in boxes))
    z_origin = float(min(float(np.min(b[4])) for b in boxes))
    cells: list[tuple[IntArray, ...]] = []
    for swept in boxes:
        ix0 = np.floor(swept[0] / cell_x).astype(np.int64)
        ix1 = np.floor(swept[1] / cell_x).astype(np.int64)
        iy0 = np.floor((swept[2] - y_origin) / cell_y).astype(np.int64)
        iy1 = np.floor((swept[3] - y_origin) / cell_y).astype(np.int64)
        iz0 = np.floor((swept[4] - z_origin) / cell_z).astype(np.int64)
        iz1 = np.floor((swept[5] - z_origin) / cell_z).astype(np.int64)
        count = (ix1 - ix0 + 1) * (iy1 - iy0 + 1) * (iz1 - iz0 + 1)
        special |= count > MAX_CELLS_PER_TRACK
        cells.append((ix0, ix1, iy0, iy1, iz0, iz1))

    normal = np.flatnonzero(~special)
    out_a: list[IntArray] = []
    out_b: list[IntArray] = []
    for k, (this, cell) in enumerate(zip(boxes, cells, strict=True)):
        ix0, ix1, iy0, iy1, iz0, iz1 = (c[normal] for c in cell)
        count_x = ix1 - ix0 + 1
        count_y = iy1 - iy0 + 1
        count_z = iz1 - iz0 + 1
        owner, ox, oy, oz = _expand(count_y, count_z, count_x * count_y * count_z)
        span_y = int(np.max(iy1)) + 1 if iy1.size else 1
        span_z = int(np.max(iz1)) + 1 if iz1.size else 1
        key = ((ix0[owner] + ox) * span_y + (iy0[owner] + oy)) * span_z + (iz0[owner] + oz)
        flags = ((ox == 0) | ((oy == 0) << 1) | ((oz == 0) << 2)).astype(np.uint8)
        a_local, b_local = _pairs_in_cells(key, owner, flags)
        a = normal[a_local]
        b = normal[b_local]
        if party is not None:
            differ = party[a] != party[b]
            a, b = a[differ], b[differ]
        overlap = _overlap(this, a, b)
        a, b = a[overlap], b[overlap]
        for earlier in boxes[:k]:
            seen = _overlap(earlier, a, b)
            a, b = a[~seen], b[~seen]
        out_a.append(a)
        out_b.append(b)

    chosen = np.flatnonzero(special)
    if chosen.size:
        a = np.repeat(chosen, n)
        b = np.tile(np.arange(n, dtype=np.int64), chosen.size)
        keep = (a != b) & (~special[b] | (b > a))
        a, b = a[keep], b[keep]
        if party is not None:
            differ = party[a] != party[b]
            a, b = a[differ], b[differ]
        out_a.append(a)
        out_b.append(b)

    a = np.concatenate(out_a) if out_a else empty
    b = np.concatenate(out_b) if out_b else empty
    return np.minimum(a, b), np.maximum(a, b)


def _overlap(box: Box, a: IntArray, b: IntArray) -> BoolArray:
    x_lo, x_hi, y_lo, y_hi, z_lo, z_hi = box
    result: BoolArray = (
        (x_lo[a] <= x_hi[b])
        & (x_lo[b] <= x_hi[a])
        & (y_lo[a] <= y_hi[b])
        & (y_lo[b] <= y_hi[a])
        & (z_lo[a] <= z_hi[b])
        & (z_lo[b] <= z_hi[a])
    )
    return result
