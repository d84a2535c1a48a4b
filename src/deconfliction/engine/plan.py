"""All-pairs strategic detection over a whole plan at once, on arrays.

A day's plan (thousands of operations) is checked in one pass instead of one operation
at a time. Every volume becomes a row of parallel arrays (owner, party, window, bands,
bounding cap). A sweep over the windows sorted by start pairs each volume with those
that start before its end plus the time minimum; party, time, altitude and bounding-cap
tests run as arrays over those pairs; and only the pairs left are measured, in the same
local frame, on the same cores and with the same formula as
:func:`deconfliction.engine.strategic.conflicts_with`, after a bounding-box test that can
only skip pairs that formula would reject. The result is the same set of pairs,
distances and gaps (docs/decisions/0015 has the measurements that chose the time sweep
over spatial trees, H3 buckets and a plan-wide frame).

Overlap regions, the costliest part of a conflict and of its output, are made only when
asked for.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import numpy as np
import numpy.typing as npt
import shapely

from deconfliction.engine.minima import MinimaPolicy
from deconfliction.engine.operation import Operation
from deconfliction.engine.strategic import (
    Candidate,
    OperationRef,
    Overlap,
    StrategicConflict,
    conflicts_of_each,
)
from deconfliction.geo.altitude import Datum, vertical_limit_m
from deconfliction.geo.footprint import Footprint, cores_in
from deconfliction.geo.frame import (
    EARTH_MEAN_RADIUS_M,
    FRAME_GRID_DEG,
    FloatArray,
    LocalFrame,
    frame_at,
    midpoint,
)
from deconfliction.geo.volume import Volume4D

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Pairs whose haversine centre distance, with this fraction off, less both cap radii,
#: reaches the minimum are kept: the strategic check's own skip takes 1 % off.
_CENTRES_SLACK: Final = 0.02
_DATUMS: Final = tuple(Datum)


@dataclass(frozen=True, slots=True)
class VolumeTable:
    """Every volume of a plan as a row of parallel arrays (SI units, seconds since the epoch)."""

    volumes: Sequence[Volume4D]
    parties: tuple[str, ...]
    owner: IntArray  # operation of each row
    index: IntArray  # volume of the operation
    party: IntArray  # index into ``parties``
    t0: FloatArray
    t1: FloatArray
    lower: FloatArray  # band in its own datum
    upper: FloatArray
    datum: IntArray  # index into Datum
    ground: IntArray  # AGL bands: which stated ground range (-1 for none)
    msl_lower: FloatArray  # MSL envelope, conversion uncertainty included
    msl_upper: FloatArray
    lat: FloatArray  # bounding cap
    lon: FloatArray
    cap: FloatArray

    @staticmethod
    def of(operations: Sequence[Operation]) -> VolumeTable:
        """Every volume of ``operations``, owner ``n`` for ``operations[n]``."""
        return VolumeTable.of_rows(
            [(n, i, op.party, v) for n, op in enumerate(operations) for i, v in enumerate(op.volumes)]
        )

    @staticmethod
    def of_rows(rows: Sequence[tuple[int, int, str, Volume4D]]) -> VolumeTable:
        """A table of ``(owner, index, party, volume)`` rows."""
        parties = tuple(sorted({party for _, _, party, _ in rows}))
        party_index = {p: n for n, p in enumerate(parties)}
        grounds: dict[tuple[float, float], int] = {}
        volumes = [v for _, _, _, v in rows]
        envelopes = [v.band.msl_envelope() for v in volumes]
        caps = [v.footprint.cap for v in volumes]

        def floats(values: list[float]) -> FloatArray:
            return np.array(values, dtype=np.float64).reshape(len(rows))

        def ints(values: list[int]) -> IntArray:
            return np.array(values, dtype=np.int64).reshape(len(rows))

        return VolumeTable(
            volumes,
            parties,
            owner=ints([n for n, _, _, _ in rows]),
            index=ints([i for _, i, _, _ in rows]),
            party=ints([party_index[party] for _, _, party, _ in rows]),
            t0=floats([v.window.start_s for v in volumes]),
            t1=floats([v.window.end_s for v in volumes]),
            lower=floats([v.band.lower_m for v in volumes]),
            upper=floats([v.band.upper_m for v in volumes]),
            datum=ints([_DATUMS.index(v.band.datum) for v in volumes]),
            ground=ints(
                [
                    -1 if v.band.ground_m is None else grounds.setdefault(v.band.ground_m, len(grounds))
                    for v in volumes
                ]
            ),
            msl_lower=floats([lo for lo, _ in envelopes]),
            msl_upper=floats([hi for _, hi in envelopes]),
            lat=floats([c[0] for c in caps]),
            lon=floats([c[1] for c in caps]),
            cap=floats([c[2] for c in caps]),
        )

    def __len__(self) -> int:
        return len(self.owner)

    def footprint(self, row: int) -> Footprint:
        return self.volumes[row].footprint


@dataclass(frozen=True, slots=True)
class PlanPairs:
    """Conflicting volume pairs of a plan, as rows of a :class:`VolumeTable` (side ``a``,
    side ``b``) with what the exact check measured: the horizontal distance between the
    footprints, the vertical and time gaps, and the bands as compared."""

    table: VolumeTable
    a: IntArray
    b: IntArray
    horizontal_m: FloatArray
    vertical_gap_m: FloatArray
    time_gap_s: FloatArray
    a_lower: FloatArray
    a_upper: FloatArray
    b_lower: FloatArray
    b_upper: FloatArray
    msl: BoolArray  # compared as MSL envelopes (different datums)

    def __len__(self) -> int:
        return len(self.a)


class _Minima:
    """The policy's reach (``MinimaPolicy.reach_for``: the minima, widened where a pair
    decides on a disclosure grid) as arrays indexed ``[party a, party b]``. Under the exact
    rule the reach is the minima; grid pairs are only candidates here, decided by the
    strategic check (:func:`plan_conflicts` sends them there)."""

    def __init__(self, parties: Sequence[str], policy: MinimaPolicy) -> None:
        minima = [[policy.reach_for(a, b) for b in parties] for a in parties]
        self.objects = minima
        self.horizontal = np.array([[m.horizontal_m for m in row] for row in minima]).reshape(
            len(parties), len(parties)
        )
        self.vertical = np.array([[m.vertical_m for m in row] for row in minima]).reshape(
            len(parties), len(parties)
        )
        self.time = np.array([[m.time_s for m in row] for row in minima]).reshape(len(parties), len(parties))


def plan_pairs(operations: Sequence[Operation], policy: MinimaPolicy, later_first: bool = False) -> PlanPairs:
    """Every conflicting pair of volumes of different parties among ``operations``.

    Side ``a`` is the volume of the earlier operation in ``operations`` (of the later one
    with ``later_first``, as a batch filed in order sees it); each pair comes once, and
    the values are those :func:`~deconfliction.engine.strategic.conflicts_with` finds for
    the two operations in that order."""
    table = VolumeTable.of(operations)
    minima = _Minima(table.parties, policy)
    # one party alone has nothing to pair (and no minima to take the widest of)
    sweep = _time_sweep(table, float(minima.time.max())) if len(table.parties) > 1 else iter(())
    chunks = [_near(table, minima, a, b, later_first) for a, b in sweep]
    a = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, dtype=np.int64)
    b = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros(0, dtype=np.int64)
    return exact_pairs(table, minima, a, b)


#: Rows of the time sweep handled at once: bounds the memory of the pairs in flight.
_SWEEP_BLOCK: Final = 512
#: The sweep keeps pairs whose windows start within the widest time minimum plus this
#: (seconds) of each other's end: the exact test, with its own rounding, follows.
_SWEEP_SLACK_S: Final = 1.0


def _time_sweep(table: VolumeTable, widest_s: float) -> Iterator[tuple[IntArray, IntArray]]:
    """Every pair of rows whose windows come within ``widest_s`` of each other (and a few
    more), each once, in blocks: rows sorted by start, each paired with the rows that
    start after it and before its end plus ``widest_s``."""
    order = np.argsort(table.t0, kind="stable")
    starts = table.t0[order]
    last = np.searchsorted(starts, table.t1[order] + widest_s + _SWEEP_SLACK_S, side="left")
    for first in range(0, len(order), _SWEEP_BLOCK):
        rows = np.arange(first, min(first + _SWEEP_BLOCK, len(order)))
        count = np.maximum(0, last[rows] - rows - 1)
        total = int(count.sum())
        if not total:
            continue
        left = np.repeat(rows, count)
        offset = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
        yield order[left], order[left + 1 + offset]


def _near(
    table: VolumeTable, minima: _Minima, a: IntArray, b: IntArray, later_first: bool
) -> tuple[IntArray, IntArray]:
    """The pairs of other parties that the cheap tests cannot separate, oriented: ``a``
    of the earlier operation (the later one with ``later_first``)."""
    keep = table.party[a] != table.party[b]
    a, b = a[keep], b[keep]
    swap = (table.owner[a] < table.owner[b]) if later_first else (table.owner[a] > table.owner[b])
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    keep = _cheap_tests(table, minima, a, b)
    return a[keep], b[keep]


def _cheap_tests(table: VolumeTable, minima: _Minima, a: IntArray, b: IntArray) -> IntArray:
    """Positions of the pairs that time, altitude and the bounding caps do not separate.
    The time and altitude tests are the strategic check's own; the caps' is looser than
    its (so that rounding can only keep a pair), since the exact distance decides."""
    pa, pb = table.party[a], table.party[b]
    keep = np.flatnonzero(
        (_time_gaps(table, a, b) < minima.time[pa, pb])
        & (_vertical(table, a, b)[0] < vertical_limit_m(minima.vertical[pa, pb]))
    )
    a, b, pa, pb = a[keep], b[keep], pa[keep], pb[keep]
    centres = _haversine(table.lat[a], table.lon[a], table.lat[b], table.lon[b]) * (1.0 - _CENTRES_SLACK)
    out: IntArray = keep[centres - table.cap[a] - table.cap[b] < minima.horizontal[pa, pb]]
    return out


def _time_gaps(table: VolumeTable, a: IntArray, b: IntArray) -> FloatArray:
    """max(0, b.start - a.end, a.start - b.end), as geo.timewindow.time_gap_s."""
    out: FloatArray = np.maximum(0.0, np.maximum(table.t0[b] - table.t1[a], table.t0[a] - table.t1[b]))
    return out


def _vertical(
    table: VolumeTable, a: IntArray, b: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, BoolArray]:
    """The vertical gap and the bands compared (``a_lo, a_hi, b_lo, b_hi``), as
    :func:`~deconfliction.geo.altitude.comparable_intervals` compares them: in their own
    datum when both share it (AGL: and the stated ground), else as MSL envelopes; and
    whether they were compared as envelopes."""
    same = (table.datum[a] == table.datum[b]) & (
        (table.datum[a] != _DATUMS.index(Datum.AGL)) | (table.ground[a] == table.ground[b])
    )
    a_lo = np.where(same, table.lower[a], table.msl_lower[a])
    a_hi = np.where(same, table.upper[a], table.msl_upper[a])
    b_lo = np.where(same, table.lower[b], table.msl_lower[b])
    b_hi = np.where(same, table.upper[b], table.msl_upper[b])
    gap = np.maximum(0.0, np.maximum(b_lo - a_hi, a_lo - b_hi))
    return gap, a_lo, a_hi, b_lo, b_hi, ~same


def _haversine(lat_a: FloatArray, lon_a: FloatArray, lat_b: FloatArray, lon_b: FloatArray) -> FloatArray:
    p1, p2 = np.radians(lat_a), np.radians(lat_b)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon_b - lon_a) / 2) ** 2
    out: FloatArray = 2 * EARTH_MEAN_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return out


def exact_pairs(table: VolumeTable, minima: _Minima, a: IntArray, b: IntArray) -> PlanPairs:
    """The pairs ``(a, b)`` closer than their minima in every dimension, measured as
    :func:`~deconfliction.engine.strategic.conflicts_with` measures them (a its side a)."""
    pa, pb = table.party[a], table.party[b]
    near, horizontal = _exact_distances(table, a, b, minima.horizontal[pa, pb])
    a, b = a[near], b[near]
    vertical_gap, a_lo, a_hi, b_lo, b_hi, msl = _vertical(table, a, b)
    return PlanPairs(
        table, a, b, horizontal, vertical_gap, _time_gaps(table, a, b), a_lo, a_hi, b_lo, b_hi, msl
    )


_CELLS: Final = 1_000_000


def _pair_frames(table: VolumeTable, a: IntArray, b: IntArray) -> tuple[IntArray, list[LocalFrame]]:
    """Each pair's frame, as an index into the list of frames returned beside it:
    :func:`frame_at` the :func:`midpoint` of the two caps, as the strategic check chooses
    it. Computed on arrays, and again one at a time where the midpoint lies so near the
    edge between two frames that rounding could tip it."""
    pa, la = np.radians(table.lat[a]), np.radians(table.lon[a])
    pb, lb = np.radians(table.lat[b]), np.radians(table.lon[b])
    x = np.cos(pa) * np.cos(la) + np.cos(pb) * np.cos(lb)
    y = np.cos(pa) * np.sin(la) + np.cos(pb) * np.sin(lb)
    z = np.sin(pa) + np.sin(pb)
    lat = np.degrees(np.arctan2(z, np.hypot(x, y))) / FRAME_GRID_DEG
    lon = np.degrees(np.arctan2(y, x)) / FRAME_GRID_DEG
    # one integer per grid cell (cells number fewer than _CELLS / 2 each way from 0)
    cell = (np.round(lat).astype(np.int64) + _CELLS // 2) * _CELLS + (
        np.round(lon).astype(np.int64) + _CELLS // 2
    )
    unique, which = np.unique(cell, return_inverse=True)
    # frame_at of the grid point itself: the same clamping and wrapping
    frames = [
        frame_at((c // _CELLS - _CELLS // 2) * FRAME_GRID_DEG, (c % _CELLS - _CELLS // 2) * FRAME_GRID_DEG)
        for c in unique.tolist()
    ]
    which = which.reshape(-1).astype(np.int64)
    edgy = (np.abs(lat - np.floor(lat) - 0.5) < 1e-7) | (np.abs(lon - np.floor(lon) - 0.5) < 1e-7)
    for k in np.flatnonzero(edgy).tolist():
        i, j = int(a[k]), int(b[k])
        frame = frame_at(*midpoint(table.lat[i], table.lon[i], table.lat[j], table.lon[j]))
        if frame not in frames:
            frames.append(frame)
        which[k] = frames.index(frame)
    return which, frames


#: A pair whose cores' bounding boxes are this much further apart than its minimum (plus
#: both radii) is not measured: the boxes' distance is a lower bound of the cores', and the
#: millimetre covers the rounding of the two computations.
_BOX_SLACK_M: Final = 1e-3


def _exact_distances(
    table: VolumeTable, a: IntArray, b: IntArray, horizontal: FloatArray
) -> tuple[IntArray, FloatArray]:
    """The pairs (by position in ``a``, ``b``) closer than ``horizontal``, each with
    ``max(0, d(core_a, core_b) - r_a - r_b)`` measured in its frame: the strategic
    check's formula, on the same cores."""
    empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    if not len(a):
        return empty
    fid, frames = _pair_frames(table, a, b)
    count = len(frames)
    # each (row, frame) once
    unique, slot = np.unique(np.concatenate([a, b]) * count + np.concatenate([fid, fid]), return_inverse=True)
    slot = slot.reshape(-1)
    cores = cores_in([(table.footprint(int(k // count)), frames[int(k % count)]) for k in unique.tolist()])
    geoms = np.empty(len(cores), dtype=object)
    geoms[:] = [core for core, _ in cores]
    radii = np.array([radius for _, radius in cores], dtype=np.float64)
    bounds = shapely.bounds(geoms)
    n = len(a)
    sa, sb = slot[:n], slot[n:]
    dx = np.maximum(0.0, np.maximum(bounds[sb, 0] - bounds[sa, 2], bounds[sa, 0] - bounds[sb, 2]))
    dy = np.maximum(0.0, np.maximum(bounds[sb, 1] - bounds[sa, 3], bounds[sa, 1] - bounds[sb, 3]))
    maybe = np.flatnonzero(np.hypot(dx, dy) - radii[sa] - radii[sb] < horizontal + _BOX_SLACK_M)
    sa, sb = sa[maybe], sb[maybe]
    distance = np.maximum(0.0, shapely.distance(geoms[sa], geoms[sb]) - radii[sa] - radii[sb])
    near = distance < horizontal[maybe]
    return maybe[near], distance[near]


def plan_conflicts(
    operations: Sequence[Operation], policy: MinimaPolicy, regions: bool = False
) -> list[StrategicConflict]:
    """Every conflict among ``operations``: :func:`~deconfliction.engine.strategic.all_conflicts`
    found on arrays, in its order and with its values. Without ``regions`` each overlap's
    region is None (not computed); with them the conflicting pairs go through the strategic
    check itself, which draws them."""
    pairs = plan_pairs(operations, policy)
    table = pairs.table
    oa, ob = table.owner[pairs.a], table.owner[pairs.b]
    order = np.lexsort((table.index[pairs.b], table.index[pairs.a], ob, oa))
    if regions or policy.has_grid:  # a grid decides on cells, which only the strategic check covers
        return _with_regions(operations, policy, pairs, order)
    a, b = pairs.a[order], pairs.b[order]
    pa, pb = table.party[a], table.party[b]
    minima = _Minima(table.parties, policy)
    half_v, half_t = minima.vertical[pa, pb] / 2.0, minima.time[pa, pb] / 2.0
    # each overlap's band and window, as the strategic check computes them, on arrays
    lower = (np.maximum(pairs.a_lower[order], pairs.b_lower[order]) - half_v).tolist()
    upper = (np.minimum(pairs.a_upper[order], pairs.b_upper[order]) + half_v).tolist()
    datum = np.where(pairs.msl[order], _DATUMS.index(Datum.MSL), table.datum[a]).tolist()
    # window edges repeat (plans are filed on a minute grid): each made a datetime once
    edges, which = np.unique(
        np.concatenate(
            [np.maximum(table.t0[a], table.t0[b]) - half_t, np.minimum(table.t1[a], table.t1[b]) + half_t]
        ),
        return_inverse=True,
    )
    times = [datetime.fromtimestamp(t, UTC) for t in edges.tolist()]
    n = len(a)
    start, end = which[:n].tolist(), which[n:].tolist()
    # conflicts are listed with the lesser (party, id) as side a, as all_conflicts does
    rank = _key_ranks(operations)
    first, second = table.owner[a], table.owner[b]
    flip = rank[first] > rank[second]
    side_a, side_b = np.where(flip, second, first), np.where(flip, first, second)
    volume_a = np.where(flip, table.index[b], table.index[a]).tolist()
    volume_b = np.where(flip, table.index[a], table.index[b]).tolist()
    distance = pairs.horizontal_m[order].tolist()
    vertical = pairs.vertical_gap_m[order].tolist()
    gap = pairs.time_gap_s[order].tolist()
    # Hundreds of thousands of objects made in a row, none of them cyclic: with the cyclic
    # collector on, its passes over the growing heap took half the time of making them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        overlaps = [
            Overlap(
                volume_a[k],
                volume_b[k],
                None,
                lower[k],
                upper[k],
                _DATUMS[datum[k]],
                times[start[k]],
                times[end[k]],
                distance[k],
                vertical[k],
                gap[k],
            )
            for k in range(n)
        ]
        # the pairs are sorted by operation pair: each run of one pair is one conflict
        bounds = [*np.flatnonzero(np.diff(first, prepend=-1) | np.diff(second, prepend=-1)).tolist(), n]
        refs = [OperationRef.of(op) for op in operations]
        ref_a, ref_b, party_a, party_b = (x.tolist() for x in (side_a, side_b, pa, pb))
        conflicts = [
            StrategicConflict(
                refs[ref_a[lo]],
                refs[ref_b[lo]],
                minima.objects[party_a[lo]][party_b[lo]],
                tuple(overlaps[lo:hi]),
            )
            for lo, hi in itertools.pairwise(bounds)
        ]
        heads = np.array(bounds[:-1], dtype=np.int64)
    finally:
        if collecting:
            gc.enable()
    return [conflicts[k] for k in np.lexsort((rank[side_b[heads]], rank[side_a[heads]])).tolist()]


def _key_ranks(operations: Sequence[Operation]) -> IntArray:
    """Each operation's place in (party, id) order, equal keys equal places: sorting by it
    (stably) sorts as by the keys."""
    place = {key: n for n, key in enumerate(sorted({op.key for op in operations}))}
    return np.array([place[op.key] for op in operations], dtype=np.int64).reshape(len(operations))


def _with_regions(
    operations: Sequence[Operation], policy: MinimaPolicy, pairs: PlanPairs, order: IntArray
) -> list[StrategicConflict]:
    table = pairs.table
    by_pair: dict[tuple[int, int], set[tuple[int, int]]] = {}
    for k in order.tolist():
        i, j = int(pairs.a[k]), int(pairs.b[k])
        by_pair.setdefault((int(table.owner[i]), int(table.owner[j])), set()).add(
            (int(table.index[i]), int(table.index[j]))
        )
    by_first: dict[int, list[Candidate]] = {}
    for (n, m), volume_pairs in by_pair.items():
        by_first.setdefault(n, []).append(Candidate.of(operations[m], frozenset(volume_pairs)))
    checks = [(operations[n], candidates) for n, candidates in by_first.items()]
    return _sorted([c for found in conflicts_of_each(checks, policy) for c in found])


def _sorted(conflicts: list[StrategicConflict]) -> list[StrategicConflict]:
    ordered = [c if (c.a.party, c.a.id) <= (c.b.party, c.b.id) else c.swapped() for c in conflicts]
    return sorted(ordered, key=lambda c: (c.a.party, c.a.id, c.b.party, c.b.id))


def conflicting_candidates(
    checks: Sequence[tuple[Operation, Sequence[Candidate]]], policy: MinimaPolicy
) -> list[list[Candidate]]:
    """Each check's candidates (found through a store's index) narrowed to the volume pairs
    that conflict, measured as :func:`~deconfliction.engine.strategic.conflicts_of_each`
    measures them (the checked operation as side a), on arrays; candidates left with no
    pair, and those it would skip (same party, same operation), are dropped. Handed to
    ``conflicts_of_each``, they give what the unnarrowed ones give, from an exact check
    of the conflicts alone."""
    rows: list[tuple[int, int, str, Volume4D]] = []
    row_of: dict[tuple[int, int], int] = {}
    owners: dict[int, int] = {}
    pairs: list[tuple[int, int, int, int]] = []  # row a, row b, check, candidate

    def row(owner: int, index: int, party: str, volume: Volume4D) -> int:
        found = row_of.get((owner, index))
        if found is None:
            found = row_of[(owner, index)] = len(rows)
            rows.append((owner, index, party, volume))
        return found

    for n, (operation, candidates) in enumerate(checks):
        for k, candidate in enumerate(candidates):
            if candidate.party == operation.party or candidate.key == operation.key:
                continue
            owner = owners.setdefault(id(candidate), len(checks) + len(owners))
            for i, j in candidate.pairs:
                pairs.append(
                    (
                        row(n, i, operation.party, operation.volumes[i]),
                        row(owner, j, candidate.party, candidate.volumes[j]),
                        n,
                        k,
                    )
                )
    kept: list[dict[int, set[tuple[int, int]]]] = [{} for _ in checks]
    if pairs:
        table = VolumeTable.of_rows(rows)
        minima = _Minima(table.parties, policy)
        found = np.array(pairs, dtype=np.int64).reshape(-1, 4)
        a, b = found[:, 0], found[:, 1]
        near = _cheap_tests(table, minima, a, b)
        close, _ = _exact_distances(
            table, a[near], b[near], minima.horizontal[table.party[a[near]], table.party[b[near]]]
        )
        for p in near[close].tolist():
            ra, rb, n, k = pairs[p]
            kept[n].setdefault(k, set()).add((int(table.index[ra]), int(table.index[rb])))
    return [
        [
            Candidate(candidate.ref, candidate.volumes, frozenset(kept[n][k]))
            for k, candidate in enumerate(candidates)
            if k in kept[n]
        ]
        for n, (_, candidates) in enumerate(checks)
    ]
