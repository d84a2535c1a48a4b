"""Strategic conflicts: which operations of different parties come too close, where and when.

Two volumes conflict when they are closer than the minima in every dimension at once:
horizontal distance between footprints < H, vertical gap between bands < V and time
gap between windows < T (strict; overlap is distance zero). Equivalently each volume
grown by half the minima overlaps the other grown the same way, and that overlap is
what each side is told: region, altitude band and UTC window, plus the smallest
horizontal distance between the unbuffered footprints. Cheap tests (time, altitude,
bounding caps) run before the exact one in a local metric frame.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from deconfliction.engine.minima import Minima, MinimaPolicy
from deconfliction.engine.operation import Operation
from deconfliction.geo.altitude import Datum, comparable_intervals, vertical_limit_m
from deconfliction.geo.cells import DEFAULT_RESOLUTION, candidate_cells
from deconfliction.geo.footprint import Footprint, cores_in, shapes_in
from deconfliction.geo.frame import LocalFrame, frame_at, great_circle_m, midpoint, to_lonlat_all
from deconfliction.geo.grid import DisclosureGrid
from deconfliction.geo.volume import Volume4D

#: The haversine used to skip far-apart pairs is within 0.6 % of the geodesic (0.56 % north-south
#: at the equator); skip only when even a 1 % error in the distance between the centres could
#: not bring the pair within the minimum. The slack applies to the centre distance, whose error
#: it bounds, not to the gap between the caps, which can be much smaller.
_CAP_SLACK = 0.01


@dataclass(frozen=True, slots=True)
class OperationRef:
    """Which operation, of which party, at which version."""

    party: str
    id: str
    version: int

    @staticmethod
    def of(operation: Operation) -> OperationRef:
        return OperationRef(operation.party, operation.id, operation.version)


@dataclass(frozen=True, slots=True)
class Overlap:
    """Where two volumes (each grown by half the minima) overlap.

    ``region`` is in lon/lat degrees (longitudes continuous across the antimeridian, so
    they may pass +-180); the band is in ``datum`` (MSL envelopes when the two volumes
    used different datums); ``horizontal_distance_m`` is between the unbuffered footprints.

    Where the pair decides on a disclosure grid, ``cells`` holds the grid cells both
    buffered volumes touch, ``region`` is those cells, and the band and window are
    widened to whole bands and slots: what may be disclosed. The three gaps stay exact,
    for the service's own use; they are never shown to a party. ``region`` is None where
    it was not asked for (:mod:`deconfliction.engine.plan`).
    """

    volume_a: int
    volume_b: int
    region: BaseGeometry | None
    lower_m: float
    upper_m: float
    datum: Datum
    start: datetime
    end: datetime
    horizontal_distance_m: float
    vertical_gap_m: float
    time_gap_s: float
    cells: frozenset[int] | None = None

    def swapped(self) -> Overlap:
        # by position rather than dataclasses.replace, which costs several times more and
        # runs for half the overlaps a filing stores
        return Overlap(
            self.volume_b,
            self.volume_a,
            self.region,
            self.lower_m,
            self.upper_m,
            self.datum,
            self.start,
            self.end,
            self.horizontal_distance_m,
            self.vertical_gap_m,
            self.time_gap_s,
            self.cells,
        )


@dataclass(frozen=True, slots=True)
class StrategicConflict:
    """Two operations of different parties that conflict, with every overlapping volume pair."""

    a: OperationRef
    b: OperationRef
    minima: Minima
    overlaps: tuple[Overlap, ...]

    @property
    def start(self) -> datetime:
        """Earliest start of any overlap window."""
        return min(o.start for o in self.overlaps)

    @property
    def end(self) -> datetime:
        """Latest end of any overlap window."""
        return max(o.end for o in self.overlaps)

    @property
    def horizontal_distance_m(self) -> float:
        """Smallest horizontal distance between any two overlapping volumes' footprints."""
        return min(o.horizontal_distance_m for o in self.overlaps)

    @property
    def region(self) -> BaseGeometry | None:
        """Union of the overlap regions; None if they were not asked for."""
        regions = [o.region for o in self.overlaps]
        return None if None in regions else shapely.union_all(regions)

    def swapped(self) -> StrategicConflict:
        """The same conflict seen from the other side."""
        return StrategicConflict(self.b, self.a, self.minima, tuple(o.swapped() for o in self.overlaps))

    def seen_by(self, party: str) -> StrategicConflict:
        """The conflict with ``party``'s operation as side ``a``."""
        return self if self.a.party == party else self.swapped()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A live operation that may conflict with the one being checked, found through an
    index, and which pairs of volumes may: ``(volume of the checked operation, volume of
    this one)``. Pairs the index did not match are separated, so the exact check skips
    them, and only the volumes of matched pairs are held (``volumes``, by index): a
    store decodes no others (docs/stores.md, "Finding candidates")."""

    ref: OperationRef
    volumes: Mapping[int, Volume4D]
    pairs: frozenset[tuple[int, int]]

    @staticmethod
    def of(operation: Operation, pairs: frozenset[tuple[int, int]]) -> Candidate:
        """``operation`` as a candidate on ``pairs``."""
        return Candidate(OperationRef.of(operation), {j: operation.volumes[j] for _, j in pairs}, pairs)

    @property
    def key(self) -> tuple[str, str]:
        return self.ref.party, self.ref.id

    @property
    def party(self) -> str:
        return self.ref.party


def conflict_reference(conflict: StrategicConflict) -> str:
    """A short, order-free reference both parties can cite on the hotline.

    It names both operations at their versions, so a changed version is a new reference."""
    sides = sorted([f"{r.party}/{r.id}@{r.version}" for r in (conflict.a, conflict.b)])
    digest = hashlib.sha256("|".join(sides).encode()).hexdigest()[:8].upper()
    return f"CX-{digest}"


@dataclass(frozen=True, slots=True)
class _Pair:
    """A volume pair that passed the cheap tests, waiting for the exact one."""

    a: Volume4D
    b: Volume4D
    minima: Minima
    volume_a: int
    volume_b: int
    band: tuple[float, float, float, float, Datum]  # a_lo, a_hi, b_lo, b_hi, datum
    vertical_gap: float
    time_gap: float
    frame: LocalFrame
    grid: DisclosureGrid | None


def _near_pair(
    a: Volume4D,
    b: Volume4D,
    minima: Minima,
    volume_a: int,
    volume_b: int,
    grid: DisclosureGrid | None = None,
    reach: Minima | None = None,
) -> _Pair | None:
    """The pair, or None when time, altitude or the bounding caps already separate it by
    ``reach`` (the minima, widened where a ``grid`` decides: ``MinimaPolicy.reach_for``)."""
    reach = reach or minima
    wa, wb = a.window, b.window
    time_gap = max(0.0, wb.start_s - wa.end_s, wa.start_s - wb.end_s)
    if time_gap >= reach.time_s:
        return None
    (a_lo, a_hi), (b_lo, b_hi), datum = comparable_intervals(a.band, b.band)
    vertical_gap = max(0.0, b_lo - a_hi, a_lo - b_hi)
    if vertical_gap >= vertical_limit_m(reach.vertical_m):  # exactly the reach apart: separated
        return None
    (lat_a, lon_a, cap_a), (lat_b, lon_b, cap_b) = a.footprint.cap, b.footprint.cap
    centres = great_circle_m(lat_a, lon_a, lat_b, lon_b) * (1.0 - _CAP_SLACK)
    if centres - (cap_a + cap_b) >= reach.horizontal_m:
        return None
    frame = frame_at(*midpoint(lat_a, lon_a, lat_b, lon_b))
    return _Pair(
        a, b, minima, volume_a, volume_b, (a_lo, a_hi, b_lo, b_hi, datum), vertical_gap, time_gap, frame, grid
    )


def _decide(pairs: Sequence[_Pair]) -> list[Overlap | None]:
    """Each pair's overlap under its pair's rule (exact, or on its grid), or None."""
    exact = [k for k, p in enumerate(pairs) if p.grid is None]
    gridded = [k for k, p in enumerate(pairs) if p.grid is not None]
    overlaps: list[Overlap | None] = [None] * len(pairs)
    for k, overlap in zip(exact, _exact([pairs[k] for k in exact]), strict=True):
        overlaps[k] = overlap
    for k, overlap in zip(gridded, _on_grid([pairs[k] for k in gridded]), strict=True):
        overlaps[k] = overlap
    return overlaps


def _on_grid(pairs: Sequence[_Pair]) -> list[Overlap | None]:
    """Each pair's overlap on its grid: the cells, bands and slots that both volumes,
    grown by half the minima, touch; None when the two covers do not meet.

    The test is the disclosure itself: a pair conflicts exactly when there is something
    to disclose, so a party learns whether a conflict exists at no finer grain than where
    it is. The covers contain the grown volumes, so every exact conflict is one here."""
    overlaps: list[Overlap | None] = [None] * len(pairs)
    covers: dict[tuple[int, float, int], frozenset[int]] = {}

    def cells_of(footprint: Footprint, grow_m: float, grid: DisclosureGrid) -> frozenset[int]:
        key = (id(footprint), grow_m, grid.resolution)
        if key not in covers:
            covers[key] = grid.cells(footprint, grow_m)
        return covers[key]

    met = []
    for k, p in enumerate(pairs):
        grid = p.grid
        assert grid is not None
        half_h, half_v, half_t = (
            m / 2.0 for m in (p.minima.horizontal_m, p.minima.vertical_m, p.minima.time_s)
        )
        wa, wb = p.a.window, p.b.window
        sa = grid.slots(wa.start_s - half_t, wa.end_s + half_t)
        sb = grid.slots(wb.start_s - half_t, wb.end_s + half_t)
        slots = max(sa[0], sb[0]), min(sa[1], sb[1])
        a_lo, a_hi, b_lo, b_hi, _ = p.band
        ba, bb = grid.bands(a_lo - half_v, a_hi + half_v), grid.bands(b_lo - half_v, b_hi + half_v)
        bands = max(ba[0], bb[0]), min(ba[1], bb[1])
        if slots[0] > slots[1] or bands[0] > bands[1]:
            continue
        cells = cells_of(p.a.footprint, half_h, grid) & cells_of(p.b.footprint, half_h, grid)
        if cells:
            met.append((k, cells, bands, slots))
    distances = _distances([pairs[k] for k, _, _, _ in met])[1]
    for (k, cells, bands, slots), distance in zip(met, distances.tolist(), strict=True):
        p = pairs[k]
        assert p.grid is not None
        lower, upper = p.grid.band_bounds_m(*bands)
        start, end = p.grid.slot_bounds_s(*slots)
        overlaps[k] = Overlap(
            volume_a=p.volume_a,
            volume_b=p.volume_b,
            region=p.grid.region(cells),
            lower_m=lower,
            upper_m=upper,
            datum=p.band[4],
            start=datetime.fromtimestamp(start, UTC),
            end=datetime.fromtimestamp(end, UTC),
            horizontal_distance_m=float(distance),
            vertical_gap_m=p.vertical_gap,
            time_gap_s=p.time_gap,
            cells=cells,
        )
    return overlaps


def _distances(pairs: Sequence[_Pair]) -> tuple[list[tuple[BaseGeometry, float]], npt.NDArray[np.float64]]:
    """Each pair's footprints as (core, radius) in its frame, a's then b's, and the
    horizontal distance between the two footprints of each pair."""
    if not pairs:
        return [], np.zeros(0)
    cores = cores_in([(p.a.footprint, p.frame) for p in pairs] + [(p.b.footprint, p.frame) for p in pairs])
    n = len(pairs)
    geoms = _objects([core for core, _ in cores])
    radii = np.array([radius for _, radius in cores])
    # as horizontal_distance_m: max(0, d(core_a, core_b) - r_a - r_b)
    return cores, np.maximum(0.0, shapely.distance(geoms[:n], geoms[n:]) - radii[:n] - radii[n:])


def _exact(pairs: Sequence[_Pair]) -> list[Overlap | None]:
    """Each pair's overlap, or None where the pair is not closer than its horizontal minimum.

    Each pair is measured in the local frame at the midpoint of the two caps (the same
    frame whichever side files). The work runs a step at a time over every pair at once:
    a filing tests a dozen pairs, and one shapely or PROJ call per pair costs more in
    calls than in geometry."""
    overlaps: list[Overlap | None] = [None] * len(pairs)
    if not pairs:
        return overlaps
    n = len(pairs)
    cores, distances = _distances(pairs)
    near = [k for k, p in enumerate(pairs) if distances[k] < p.minima.horizontal_m]
    if not near:
        return overlaps
    grown = shapes_in(
        [(pairs[k].a.footprint, pairs[k].frame, pairs[k].minima.horizontal_m / 2.0) for k in near]
        + [(pairs[k].b.footprint, pairs[k].frame, pairs[k].minima.horizontal_m / 2.0) for k in near]
    )
    m = len(near)
    regions = shapely.intersection(_objects(grown[:m]), _objects(grown[m:]))
    for slot, k in enumerate(near):
        if regions[slot].is_empty:
            # The pair is closer than H but the polygonised buffers (chords inside the true
            # arcs) just miss each other: report the point halfway between the footprints.
            # The closest points of the footprints lie r_a and r_b along the line between the
            # closest points of the cores; their midpoint is halfway between those.
            (ca, r_a), (cb, r_b) = cores[k], cores[n + k]
            line = shapely.shortest_line(ca, cb)
            regions[slot] = line.interpolate((line.length + r_a - r_b) / 2.0)
    lonlat = to_lonlat_all(list(regions), [pairs[k].frame for k in near])
    for k, region in zip(near, lonlat, strict=True):
        p = pairs[k]
        a_lo, a_hi, b_lo, b_hi, datum = p.band
        wa, wb = p.a.window, p.b.window
        half_v, half_t = p.minima.vertical_m / 2.0, p.minima.time_s / 2.0
        overlaps[k] = Overlap(
            volume_a=p.volume_a,
            volume_b=p.volume_b,
            region=region,
            lower_m=max(a_lo, b_lo) - half_v,
            upper_m=min(a_hi, b_hi) + half_v,
            datum=datum,
            start=datetime.fromtimestamp(max(wa.start_s, wb.start_s) - half_t, UTC),
            end=datetime.fromtimestamp(min(wa.end_s, wb.end_s) + half_t, UTC),
            horizontal_distance_m=float(distances[k]),
            vertical_gap_m=p.vertical_gap,
            time_gap_s=p.time_gap,
        )
    return overlaps


def _objects(items: Sequence[BaseGeometry]) -> npt.NDArray[np.object_]:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def volume_overlap(
    a: Volume4D, b: Volume4D, minima: Minima, volume_a: int = -1, volume_b: int = -1
) -> Overlap | None:
    """The overlap of two volumes under ``minima``, or None when they are separated;
    ``volume_a`` and ``volume_b`` say which volumes of their operations they are."""
    pair = _near_pair(a, b, minima, volume_a, volume_b)
    return _exact([pair])[0] if pair is not None else None


def operation_conflict(
    a: Operation, b: Operation, policy: MinimaPolicy, pairs: Iterable[tuple[int, int]] | None = None
) -> StrategicConflict | None:
    """The conflict between two operations, seen with ``a`` as side a; None if none.

    ``pairs`` limits the check to those ``(volume of a, volume of b)`` pairs, when an
    index has shown that no other pair can come within the minima."""
    found = conflicts_with(a, [b if pairs is None else Candidate.of(b, frozenset(pairs))], policy)
    return found[0] if found else None


def conflicts_with(
    operation: Operation, candidates: Iterable[Operation | Candidate], policy: MinimaPolicy
) -> list[StrategicConflict]:
    """Exact conflicts of ``operation`` (side a) with each candidate, in candidate order;
    a :class:`Candidate` is checked on its matched volume pairs only. Candidates of the
    same party, and the operation itself, never conflict."""
    return conflicts_of_each([(operation, candidates)], policy)[0]


def conflicts_of_each(
    checks: Sequence[tuple[Operation, Iterable[Operation | Candidate]]], policy: MinimaPolicy
) -> list[list[StrategicConflict]]:
    """:func:`conflicts_with` of each ``(operation, candidates)``, with one exact check
    over the pairs of them all: a plan of many operations pays the exact check's
    per-call costs once, and a candidate shared by several of them (one decoded object)
    has its shapes made once per frame."""
    near: list[_Pair] = []
    owners: list[tuple[int, OperationRef]] = []
    for n, (operation, candidates) in enumerate(checks):
        for other in candidates:
            if other.party == operation.party or policy.is_private(operation.party, other.party):
                continue
            volumes: Mapping[int, Volume4D] | Sequence[Volume4D]
            if isinstance(other, Candidate):
                ref, volumes, pairs = other.ref, other.volumes, sorted(other.pairs)
            else:
                ref, volumes = OperationRef.of(other), other.volumes
                pairs = list(itertools.product(range(len(operation.volumes)), range(len(volumes))))
            minima = policy.for_pair(operation.party, ref.party)
            grid = policy.grid_for(operation.party, ref.party)
            reach = policy.reach_for(operation.party, ref.party)
            for i, j in pairs:
                pair = _near_pair(operation.volumes[i], volumes[j], minima, i, j, grid, reach)
                if pair is not None:
                    near.append(pair)
                    owners.append((n, ref))
    # per check, the candidates with an overlap, in candidate order, with their overlaps
    found: list[dict[int, tuple[OperationRef, list[Overlap]]]] = [{} for _ in checks]
    for (n, ref), overlap in zip(owners, _decide(near), strict=True):
        if overlap is not None:
            found[n].setdefault(id(ref), (ref, []))[1].append(overlap)
    return [
        [
            StrategicConflict(
                OperationRef.of(operation),
                ref,
                policy.for_pair(operation.party, ref.party),
                tuple(overlaps),
            )
            for ref, overlaps in by_other.values()
        ]
        for (operation, _), by_other in zip(checks, found, strict=True)
    ]


def _ordered(conflict: StrategicConflict) -> StrategicConflict:
    return (
        conflict
        if (conflict.a.party, conflict.a.id) <= (conflict.b.party, conflict.b.id)
        else conflict.swapped()
    )


def all_conflicts_brute_force(
    operations: Sequence[Operation], policy: MinimaPolicy
) -> list[StrategicConflict]:
    """Every conflict among ``operations`` by testing every pair: the reference."""
    found = []
    for i, a in enumerate(operations):
        for b in operations[i + 1 :]:
            conflict = operation_conflict(a, b, policy)
            if conflict is not None:
                found.append(_ordered(conflict))
    return sorted(found, key=lambda c: (c.a.party, c.a.id, c.b.party, c.b.id))


def all_conflicts(
    operations: Sequence[Operation],
    policy: MinimaPolicy,
    resolution: int = DEFAULT_RESOLUTION,
    progress: Callable[[int, int], None] | None = None,
) -> list[StrategicConflict]:
    """Every conflict among ``operations``, finding candidates through H3 coverings.

    The same coarse-then-exact path the stores use: each volume is indexed by the cells
    of its footprint and searched with the cells of its footprint grown by the widest
    horizontal minimum its party faces. Equals :func:`all_conflicts_brute_force`.
    ``progress(done, total)`` is called as the candidate pairs are checked exactly (the
    long part of a large file), so that an edge can show how far it has got.
    """
    index: dict[int, list[int]] = defaultdict(list)
    for n, op in enumerate(operations):
        for cell in {c for v in op.volumes for c in candidate_cells(v.footprint, 0.0, resolution)}:
            index[cell].append(n)
    pairs: set[tuple[int, int]] = set()
    for n, op in enumerate(operations):
        reach = policy.widest_for(op.party).horizontal_m
        for v in op.volumes:
            for cell in candidate_cells(v.footprint, reach, resolution):
                pairs.update((n, m) for m in index.get(cell, ()) if m > n)
    found = []
    for done, (n, m) in enumerate(sorted(pairs)):
        if progress is not None and done % 256 == 0:
            progress(done, len(pairs))
        conflict = operation_conflict(operations[n], operations[m], policy)
        if conflict is not None:
            found.append(_ordered(conflict))
    if progress is not None:
        progress(len(pairs), len(pairs))
    return sorted(found, key=lambda c: (c.a.party, c.a.id, c.b.party, c.b.id))
