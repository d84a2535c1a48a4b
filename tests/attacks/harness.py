"""A hostile party against an honest one, through the service, and what it recovers.

The honest party ``BLUE`` files a day's plan of six operations. The attacker (``RED``,
with ``RED2`` .. ``RED5`` when it colludes) files, moves and cancels operations through
:class:`AccessService`, each attack within a fixed allowance of changes (a change is one
filing, update or cancellation), and reads only what the service answers it: the
conflict views of its own changes. From those it builds its best estimate of BLUE's plan,
and :func:`recovered` compares that estimate with the truth.

**Recovered**, precisely (docs/disclosure.md, "Attacks measured"): the estimate is a set
of regions, each with a window. For each of BLUE's volumes, the estimate's regions whose
windows are within 5 minutes of the volume's window at both ends form its estimated
footprint E (none: nothing of the volume is recovered); F is the true footprint. The
estimate is *wrong* at S = E minus F grown by 1 km (plan claimed where there is none)
and at M = F minus E grown by 1 km (plan missed); a point is *recovered* when nothing
within 2 km of it is wrong, i.e. the estimate is right to 1 km all around it.

- **outline** (the table's first share): the recovered part of F's boundary, as a
  fraction of the boundary, weighted by the volume's area × duration: how much of the
  plan the attacker has outlined to 1 km and 5 minutes.
- **area** (the second): the recovered part of F, area × duration over the plan's. It
  counts the inside of a large operation once the cells around it are told, however
  coarse they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import h3.api.basic_int as h3int
import numpy as np
import shapely
from shapely.geometry import shape as geojson_shape
from shapely.geometry.base import BaseGeometry

from deconfliction.engine.minima import EN_ROUTE
from deconfliction.engine.operation import Operation, OperationState
from deconfliction.engine.policy import PairPolicy
from deconfliction.errors import InvalidInput
from deconfliction.geo import AltitudeBand, Circle, Position, TimeWindow, Volume4D
from deconfliction.geo.footprint import Corridor, Polygon, Racetrack
from deconfliction.geo.frame import GEOD, frame_at
from deconfliction.geo.grid import DEFAULT_GRID
from deconfliction.geo.timewindow import parse_utc
from deconfliction.service.access import AccessService, Outcome
from deconfliction.service.clock import ManualClock
from deconfliction.service.operations import OperationService
from deconfliction.store import Party, PartyKind, Store
from deconfliction.store.disclosure import DisclosuresRepo
from deconfliction.store.events import AuditRepo, EventsRepo
from deconfliction.store.policy import PoliciesRepo
from deconfliction.store.probing import ProbingRepo

OWNER: Final = "BLUE"
ATTACKER: Final = "RED"
COLLUDERS: Final = ("RED", "RED2", "RED3", "RED4", "RED5")

#: Every attack may make this many changes (filings, updates, cancellations), all its
#: parties together; the target is an alarm within a tenth of it.
ALLOWANCE: Final = 100

#: Tolerances of "recovered".
NEAR_M: Final = 1_000.0
NEAR_S: Final = 300.0
AROUND_M: Final = 2_000.0

DAY: Final = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
#: When the attack starts: the evening before the plan's day; each change takes 30 s.
START: Final = DAY - timedelta(hours=12)
STEP: Final = timedelta(seconds=30)

CENTRE: Final = (35.05, 40.05)
FRAME: Final = frame_at(*CENTRE)
H_M, V_M, T_S = EN_ROUTE.horizontal_m, EN_ROUTE.vertical_m, EN_ROUTE.time_s

#: Probes ask about the whole day at every altitude, so what they are told is never
#: clipped by their own window or band.
PROBE_WINDOW: Final = TimeWindow(DAY - timedelta(hours=1), DAY + timedelta(hours=9))
ALL_LEVELS: Final = AltitudeBand.parse(0, 600, "FL", "STD")


def _at(minutes: int) -> datetime:
    return DAY + timedelta(minutes=minutes)


def _off(lat: float, lon: float, bearing: float, km: float) -> Position:
    lon2, lat2, _ = GEOD.fwd(lon, lat, bearing, km * 1000.0)
    return Position(float(lat2), float(lon2))


def honest_plan() -> tuple[Operation, ...]:
    """BLUE's day: six operations of one volume each, windows on 5-minute marks, each
    window distinct from the others by more than 10 minutes."""

    def op(n: int, footprint: Any, fl: tuple[int, int], start: int, end: int) -> Operation:
        band = AltitudeBand.parse(fl[0], fl[1], "FL", "STD")
        volume = Volume4D(footprint, band, TimeWindow(_at(start), _at(end)))
        return Operation(party=OWNER, id=f"B{n}", volumes=(volume,))

    box = Polygon(tuple(_off(35.10, 40.25, b, 8.0) for b in (30, 120, 210, 300)))
    triangle = Polygon(tuple(_off(35.15, 39.75, b, 7.0) for b in (0, 120, 240)))
    return (
        op(1, Circle(Position(35.00, 40.00), 8_000.0), (150, 200), 60, 180),
        op(2, box, (100, 150), 125, 275),
        op(3, Racetrack(Position(35.22, 39.92), Position(35.30, 40.10), 5_000.0), (200, 260), 190, 400),
        op(4, Corridor((Position(34.86, 39.80), Position(34.90, 40.20)), 6_000.0), (20, 50), 20, 110),
        op(5, Circle(Position(34.92, 40.35), 5_000.0), (80, 120), 285, 435),
        op(6, triangle, (50, 100), 325, 415),
    )


@dataclass
class Arena:
    """The store, the clock, the service, the policy under test and what the attacker did."""

    store: Store
    exact: bool
    budget: int | None = None
    clock: ManualClock = field(init=False)
    access: AccessService = field(init=False)
    changes: int = 0
    first_alarm: int | None = None
    views: list[dict[str, Any]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10_000)))

    def __post_init__(self) -> None:
        self.clock = ManualClock(START)
        operations = OperationService(self.store)
        for party in (OWNER, *COLLUDERS):
            operations.add_party(Party(party, f"Party {party}", PartyKind.MILITARY))
        with self.store.transaction() as tx:
            for party in COLLUDERS:
                tx.repo(PoliciesRepo).set(PairPolicy(OWNER, party, grid=None if self.exact else DEFAULT_GRID))
                if self.budget is not None:
                    tx.repo(DisclosuresRepo).set_budget(OWNER, party, self.budget, START.timestamp())
        self.access = AccessService(self.store, self.clock, operations)
        for operation in honest_plan():
            self.access.file(operation)

    @property
    def slot_s(self) -> float:
        return 0.0 if self.exact else DEFAULT_GRID.slot_s

    # -- the attacker's moves ---------------------------------------------------------

    def _changed(self, outcome: Outcome) -> tuple[Operation, bool]:
        """Count the change, keep what it told, note the first alarm; the operation as
        stored and whether it conflicts with the owner."""
        self.changes += 1
        self.views += outcome.conflicts
        if self.first_alarm is None and self.alarms():
            self.first_alarm = self.changes
        self.clock.advance(STEP)
        return outcome.own.operation, any(v["other_party"] == OWNER for v in outcome.conflicts)

    def _check_allowance(self) -> None:
        assert self.changes < ALLOWANCE, "the attack went past its allowance"

    def file(
        self, party: str, footprint: Any, window: TimeWindow = PROBE_WINDOW, band: AltitudeBand = ALL_LEVELS
    ) -> tuple[Operation, bool]:
        self._check_allowance()
        op = Operation(party=party, id=f"P{next(self._ids)}", volumes=(Volume4D(footprint, band, window),))
        try:
            outcome = self.access.file(op)
        except InvalidInput:
            self.changes += 1  # a refused filing spends the allowance too
            raise
        return self._changed(outcome)

    def move(
        self,
        op: Operation,
        footprint: Any = None,
        window: TimeWindow | None = None,
        band: AltitudeBand | None = None,
    ) -> tuple[Operation, bool]:
        self._check_allowance()
        v = op.volumes[0]
        volume = Volume4D(footprint or v.footprint, band or v.band, window or v.window)
        return self._changed(self.access.update(op.party, op.id, op.version, volumes=[volume]))

    def cancel(self, op: Operation) -> None:
        self._check_allowance()
        self._changed(self.access.transition(op.party, op.id, OperationState.CANCELLED, op.version))

    # -- what happened ----------------------------------------------------------------

    def alarms(self) -> list[Any]:
        with self.store.transaction() as tx:
            return tx.repo(ProbingRepo).alarms(OWNER, 0.0)

    def charged(self) -> dict[str, int]:
        with self.store.transaction() as tx:
            repo = tx.repo(DisclosuresRepo)
            return {p: repo.charged(OWNER, p, 0.0) for p in COLLUDERS}

    def told(self) -> list[Any]:
        """Every view, event payload and audit entry the attackers were given."""
        with self.store.transaction() as tx:
            events = [e.payload for p in COLLUDERS for e in tx.repo(EventsRepo).after(p, 0)]
            entries = [e.body for p in COLLUDERS for e in tx.repo(AuditRepo).entries(p)]
        return [*self.views, *events, *entries]


# -- the attacker's estimate ----------------------------------------------------------


def to_frame(geometry: BaseGeometry) -> BaseGeometry:
    """A lon/lat geometry in the metres of the arena's frame."""

    def forward(coords: Any) -> Any:
        return np.column_stack(FRAME.forward(coords[:, 0], coords[:, 1]))

    return shapely.transform(geometry, forward)


#: Gaps between the regions told narrower than twice this are closed in the estimate:
#: probes laid side by side leave slivers between their overlaps.
CLOSE_M: Final = 1_000.0

#: A piece of the estimate: a window (start, end, s since the epoch) and a region (frame m).
Piece = tuple[float, float, BaseGeometry]


def window_estimate(start: datetime, end: datetime, slot_s: float) -> tuple[float, float]:
    """The owner's window from the window of an overlap: the overlap is the meeting of the
    two windows grown by half the time minimum (exact), widened to whole slots (grid),
    where the estimate is the middle of what the slots allow."""
    half = T_S / 2.0 + slot_s / 2.0
    return start.timestamp() + half, end.timestamp() - half


def pieces_told(views: Sequence[dict[str, Any]], slot_s: float) -> list[Piece]:
    """Every overlap told about the owner, as (estimated window, region told)."""
    pieces = []
    for view in views:
        if view["other_party"] != OWNER or "overlaps" not in view:
            continue
        for overlap in view["overlaps"]:
            if "region" not in overlap:
                continue
            w = overlap["window"]
            s, e = window_estimate(parse_utc(w["start"], "start"), parse_utc(w["end"], "end"), slot_s)
            pieces.append((s, e, to_frame(geojson_shape(overlap["region"]))))
    return pieces


def estimate(pieces: Sequence[Piece]) -> list[Piece]:
    """The attacker's best estimate from pieces told: the regions told with the same
    window put together, gaps narrower than 2 km between them closed, and shrunk by half
    the horizontal minimum (each overlap is the owner's footprint grown by that much, cut
    by the attacker's own)."""
    groups: dict[tuple[float, float], list[BaseGeometry]] = {}
    for s, e, region in pieces:
        groups.setdefault((round(s), round(e)), []).append(region)
    found = []
    for (s, e), regions in sorted(groups.items()):
        shrunk = shapely.union_all(regions).buffer(CLOSE_M).buffer(-CLOSE_M - H_M / 2.0)
        if not shrunk.is_empty:
            found.append((float(s), float(e), shrunk))
    return found


@dataclass(frozen=True, slots=True)
class Recovered:
    """The shares of the plan's area × duration recovered (module doc)."""

    outline: float
    area: float


def recovered(estimated: Sequence[Piece], plan: Sequence[Operation] | None = None) -> Recovered:
    """What ``estimated`` recovers of the plan, by both measures (module doc)."""
    total = outlined = inside = 0.0
    for op in plan or honest_plan():
        for v in op.volumes:
            truth = v.footprint.shape_in(FRAME)
            weight = truth.area * (v.window.end_s - v.window.start_s)
            total += weight
            matching = [
                region
                for s, e, region in estimated
                if abs(s - v.window.start_s) <= NEAR_S and abs(e - v.window.end_s) <= NEAR_S
            ]
            guess = shapely.union_all(matching)
            if guess.is_empty:
                continue
            wrong = shapely.union_all(
                [guess.difference(truth.buffer(NEAR_M)), truth.difference(guess.buffer(NEAR_M))]
            )
            spoilt = wrong.buffer(AROUND_M)
            edge = truth.boundary
            outlined += weight * edge.difference(spoilt).length / edge.length
            inside += weight * truth.difference(spoilt).area / truth.area
    return Recovered(outlined / total, inside / total)


# -- the attacks ------------------------------------------------------------------------

#: Probes are this small: the grid's defence is that a probe learns no more than its cell.
PROBE_RADIUS_M: Final = 300.0
#: The lattice of probe positions: 7 km apart, so that under the exact rule the probes,
#: grown by half the 5 NM minimum (4.9 km), leave only slivers between them, which the
#: estimate closes.
LATTICE_M: Final = 7_000.0


def lattice() -> list[Position]:
    """Probe positions over the plan's area and 5 km around, nearest the centre first
    (the attacker knows roughly where the plan is and wants hits early)."""
    bounds = shapely.union_all([op.volumes[0].footprint.shape_in(FRAME) for op in honest_plan()]).bounds
    x0, y0, x1, y1 = (bounds[0] - 5_000, bounds[1] - 5_000, bounds[2] + 5_000, bounds[3] + 5_000)
    points = [(x, y) for x in np.arange(x0, x1 + 1, LATTICE_M) for y in np.arange(y0, y1 + 1, LATTICE_M)]
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    points.sort(key=lambda p: (math.hypot(p[0] - cx, p[1] - cy), math.atan2(p[1] - cy, p[0] - cx)))
    lons, lats = FRAME.inverse(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    return [Position(float(lat), float(lon)) for lat, lon in zip(lats, lons, strict=True)]


def _probe(position: Position, radius_m: float = PROBE_RADIUS_M) -> Circle:
    return Circle(position, radius_m)


def wide_filing(arena: Arena) -> list[Piece]:
    """One volume over the whole area (85 km square), all day, all levels; read, then
    cancel. Where the service refuses a volume that wide (a plausibility limit), the
    attacker splits it in four and files each, and so on."""
    half = 30_000.0 * math.sqrt(2.0)
    boxes = [(-half, -half, half, half)]
    while boxes:
        x0, y0, x1, y1 = boxes.pop(0)
        lons, lats = FRAME.inverse(np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1]))
        box = Polygon(tuple(Position(float(lat), float(lon)) for lat, lon in zip(lats, lons, strict=True)))
        try:
            op, _ = arena.file(ATTACKER, box)
        except InvalidInput:
            xm, ym = (x0 + x1) / 2.0, (y0 + y1) / 2.0
            boxes += [(x0, y0, xm, ym), (xm, y0, x1, ym), (x0, ym, xm, y1), (xm, ym, x1, y1)]
            continue
        arena.cancel(op)
    return estimate(pieces_told(arena.views, arena.slot_s))


def probe_grid(arena: Arena) -> list[Piece]:
    """Tiny probes on a lattice over the area, one filing each, kept."""
    for position in lattice()[:ALLOWANCE]:
        arena.file(ATTACKER, _probe(position))
    return estimate(pieces_told(arena.views, arena.slot_s))


def stepping(arena: Arena) -> list[Piece]:
    """One small operation moved step by step over the lattice."""
    positions = lattice()
    op, _ = arena.file(ATTACKER, _probe(positions[0]))
    for position in positions[1:ALLOWANCE]:
        op, _ = arena.move(op, _probe(position))
    return estimate(pieces_told(arena.views, arena.slot_s))


def collusion(arena: Arena) -> list[Piece]:
    """The probe grid, split round-robin over five colluding parties."""
    for n, position in enumerate(lattice()[:ALLOWANCE]):
        arena.file(COLLUDERS[n % len(COLLUDERS)], _probe(position))
    return estimate(pieces_told(arena.views, arena.slot_s))


def _bisect(lo: float, hi: float, yes_at_lo: bool, ask: Callable[[float], bool], resolution: float) -> float:
    """Where ``ask`` turns from ``yes_at_lo`` to its opposite, to ``resolution``."""
    while hi - lo > resolution:
        mid = (lo + hi) / 2.0
        if ask(mid) == yes_at_lo:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def _first_told(arena: Arena, hint: Position) -> tuple[Operation, dict[str, Any]]:
    """A probe of 3 km at ``hint`` (a point the attacker knows to be in the plan), all day
    at all levels, and the overlap it is told."""
    op, hit = arena.file(ATTACKER, _probe(hint, 3_000.0))
    assert hit, "the hint is inside the plan"
    told = next(v for v in arena.views if v["other_party"] == OWNER and "overlaps" in v)
    return op, told["overlaps"][0]


def bisect_time(arena: Arena) -> list[Piece]:
    """A probe on a point of the plan, its window bisected to a minute at each end."""
    op, told = _first_told(arena, Position(35.26, 40.01))
    band = AltitudeBand(told["altitude"]["lower_m"], told["altitude"]["upper_m"], ALL_LEVELS.datum)
    d0, d1 = PROBE_WINDOW.start_s, PROBE_WINDOW.end_s
    state = {"op": op}

    def ask(lo: float, hi: float) -> bool:
        window = TimeWindow(datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC))
        state["op"], hit = arena.move(state["op"], window=window, band=band)
        return hit

    last_start = _bisect(d0, d1 - 60, True, lambda a: ask(a, d1), 60.0)
    first_end = _bisect(d0 + 60, d1, False, lambda b: ask(d0, b), 60.0)
    slot = arena.slot_s
    start, end = first_end + T_S + slot / 2.0, last_start - T_S - slot / 2.0
    region = to_frame(geojson_shape(told["region"])).buffer(-H_M / 2.0)
    return [(start, end, region)]


def bisect_altitude(arena: Arena) -> list[Piece]:
    """A probe on a point of the plan, in the window it was told, its band bisected to
    10 m at each edge. (The shares count area × duration; what this attack adds is the
    band, which they do not count.)"""
    op, told = _first_told(arena, Position(34.92, 40.35))
    window = TimeWindow(parse_utc(told["window"]["start"], "start"), parse_utc(told["window"]["end"], "end"))
    top = ALL_LEVELS.upper_m
    state = {"op": op}

    def ask(lo: float, hi: float) -> bool:
        state["op"], hit = arena.move(state["op"], window=window, band=AltitudeBand(lo, hi, ALL_LEVELS.datum))
        return hit

    _bisect(0.0, top - 10, True, lambda x: ask(x, top), 10.0)
    _bisect(10.0, top, False, lambda y: ask(0.0, y), 10.0)
    return estimate(pieces_told(arena.views[:1], arena.slot_s))


ATTACKS: Final[dict[str, Callable[[Arena], list[Piece]]]] = {
    "one wide filing": wide_filing,
    "grid of tiny probes": probe_grid,
    "bisection in time": bisect_time,
    "bisection in altitude": bisect_altitude,
    "operation moved step by step": stepping,
    "probes split over 5 colluders": collusion,
}


@dataclass(frozen=True, slots=True)
class Result:
    """One attack under one rule (and the budget the owner set, None for the default):
    changes used, what it recovered, change that raised the first alarm (None: no
    alarm), units charged to the attackers' budgets."""

    attack: str
    exact: bool
    budget: int | None
    changes: int
    recovered: Recovered
    first_alarm: int | None
    charged: int


def play(store: Store, attack: str, exact: bool, budget: int | None = None) -> tuple[Result, Arena]:
    """Run ``attack`` on a fresh arena over ``store``."""
    arena = Arena(store, exact, budget)
    got = recovered(ATTACKS[attack](arena))
    charged = sum(arena.charged().values())
    return Result(attack, exact, budget, arena.changes, got, arena.first_alarm, charged), arena


def allowed_share(units: int) -> float:
    """The most of the plan's area × duration that ``units`` disclosed units could place
    (each unit a cell, at most the largest cell near the plan, times a slot): recovery
    happens only where something was disclosed."""
    cells = {h3int.latlng_to_cell(p.lat_deg, p.lon_deg, DEFAULT_GRID.resolution) for p in lattice()}
    largest_m2 = max(h3int.cell_area(c, unit="m^2") for c in cells) * 1.05
    total = sum(
        v.footprint.shape_in(FRAME).area * (v.window.end_s - v.window.start_s)
        for op in honest_plan()
        for v in op.volumes
    )
    return min(1.0, units * largest_m2 * DEFAULT_GRID.slot_s / total)


def cell_vertex(lon: float, lat: float, resolution: int) -> bool:
    """Whether (lon, lat), as rounded on the wire, is a vertex of an H3 cell of ``resolution``."""
    cell = h3int.latlng_to_cell(lat, lon, resolution)
    return any(
        abs(v_lat - lat) < 1e-6 and abs(v_lng - lon) < 1e-6
        for c in h3int.grid_disk(cell, 1)
        for v_lat, v_lng in h3int.cell_to_boundary(c)
    )
