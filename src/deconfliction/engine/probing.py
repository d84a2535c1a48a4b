"""Probe alarms: patterns in a party's recent filings that look like mapping another's plans.

A party that files to learn, not to fly, leaves traces an honest planner does not: small
operations filed to conflict and withdrawn at once, operations never flown, bursts of
small filings tiling the area around someone's plan, one operation nudged again and
again across it. Each detector here is a pure function of the filers' recent history
(:class:`Fact`, one per change of an operation) and the time, and names the suspected
parties and the owner whose plans they probe. The service records the facts and raises
the alarms (``service.probing``); docs/disclosure.md explains each threshold.

Every threshold sits well above what the demo's honest day does (no operation there is
smaller than 100 km², none is cancelled or moved) and well below the allowance of the
attacks in ``tests/attacks/`` (each trips its alarm within a tenth of it).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

import h3.api.basic_int as h3int

from deconfliction.geo.frame import great_circle_m

#: An operation whose largest footprint is under 50 km² is "small": under one and a half
#: cells of the default grid, and under every real operation of the demo's day (its
#: smallest, a close-air-support box, is 100 km²). Probes are small because a small probe
#: learns most per unit disclosed; a drone operator's flights are small too, which is why
#: small alone never raises an alarm.
SMALL_AREA_M2: Final = 50e6

#: "Soon after": a version withdrawn or moved within 30 minutes of being filed was not a
#: plan anyone meant to fly; a real plan is revised when the situation changes, hours apart.
SOON_S: Final = 1800.0

#: Churn: 4 small conflicting versions withdrawn or moved soon after, within 6 hours. An
#: honest planner revises a plan once or twice when told of a conflict; four discarded
#: small conflicting versions are a sequence of questions.
CHURN_COUNT: Final = 4
CHURN_WINDOW_S: Final = 6 * 3600.0

#: Never flown: operations that conflicted with the owner and were cancelled without ever
#: being activated (any size), or lapsed without activation (small ones only: a large
#: party may never report activations, and its plans would all lapse), counted as pairs
#: (withdrawn operation, owner's operation it conflicted with) over 24 hours. Six pairs:
#: one wide filing over a day's plan of six operations, or six small probes. An honest
#: party that cancels one real operation touches one to three of a rival's.
UNFLOWN_PAIRS: Final = 6
UNFLOWN_WINDOW_S: Final = 24 * 3600.0

#: Sweep: within one hour, small filings (new, or moved) at 6 places at least 1 km apart,
#: all within 50 km of one that conflicted with the owner: a lattice of probes laid over
#: the area around the owner's plan, whether or not each probe is withdrawn.
SWEEP_COUNT: Final = 6
SWEEP_WINDOW_S: Final = 3600.0
SWEEP_SPACING_M: Final = 1_000.0
SWEEP_RADIUS_M: Final = 50_000.0

#: Stepping: 5 successive changes of one operation's volumes within 2 hours, each a small
#: shift (its centre moved under 10 km, its area within a factor of 2: in space, time or
#: altitude), with the operation in conflict with the owner before or after some of them.
#: A real plan revised twice makes two such steps, and one moved clear of a conflict takes
#: one to three; a bisection in time or altitude makes one per question, a walk across the
#: plan one per position.
STEP_COUNT: Final = 5
STEP_WINDOW_S: Final = 2 * 3600.0
STEP_MAX_M: Final = 10_000.0
STEP_AREA_RATIO: Final = 2.0

#: The longest history any detector reads of one party, and of every party's small
#: filings (the pooled detectors, churn and sweep).
HISTORY_S: Final = max(CHURN_WINDOW_S, UNFLOWN_WINDOW_S, SWEEP_WINDOW_S, STEP_WINDOW_S)
POOLED_HISTORY_S: Final = max(CHURN_WINDOW_S + SOON_S, SWEEP_WINDOW_S)

#: The detectors read at most this many facts, the newest, of one party and of the pool:
#: a party that files thousands of small operations in an hour trips every threshold long
#: before, and must not make every other party's filing read them all.
MAX_FACTS: Final = 2_000


class Change(StrEnum):
    """What a change did to an operation."""

    FILED = "filed"
    UPDATED = "updated"
    ACCEPTED = "accepted"
    ACTIVATED = "activated"
    ENDED = "ended"
    CANCELLED = "cancelled"


class Detector(StrEnum):
    CHURN = "churn"
    UNFLOWN = "unflown"
    SWEEP = "sweep"
    STEPPING = "stepping"


@dataclass(frozen=True, slots=True)
class Fact:
    """One change of one operation: when, what, the shape of its volumes (largest
    footprint area, centre, envelope of windows, digest of the volumes) and, for each
    owner it conflicted with, the owner's operations it conflicted with."""

    party: str
    operation_id: str
    version: int
    at_s: float
    change: Change
    area_m2: float
    lat: float
    lon: float
    start_s: float
    end_s: float
    shape: str
    touched: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def small(self) -> bool:
        return self.area_m2 < SMALL_AREA_M2


@dataclass(frozen=True, slots=True)
class Alarm:
    """A pattern of ``suspects`` (several when they probe together) against ``owner``'s
    plans: ``count`` instances where ``threshold`` raise it, made by ``operations``
    (the suspects' own, as ``party/id``)."""

    detector: Detector
    suspects: tuple[str, ...]
    owner: str
    operations: tuple[str, ...]
    count: int
    threshold: int


def _histories(facts: Iterable[Fact]) -> dict[tuple[str, str], list[Fact]]:
    """Each operation's facts, oldest first."""
    found: dict[tuple[str, str], list[Fact]] = defaultdict(list)
    for f in facts:
        found[(f.party, f.operation_id)].append(f)
    for history in found.values():
        history.sort(key=lambda f: (f.version, f.at_s))
    return found


def _alarms(detector: Detector, hits: Mapping[str, Sequence[tuple[str, str]]], threshold: int) -> list[Alarm]:
    """An alarm per owner whose ``hits`` (suspect, operation) reach ``threshold``."""
    found = []
    for owner, pairs in sorted(hits.items()):
        count = len(pairs)
        if count >= threshold:
            suspects = tuple(sorted({p for p, _ in pairs}))
            operations = tuple(sorted({f"{p}/{o}" for p, o in pairs}))
            found.append(Alarm(detector, suspects, owner, operations, count, threshold))
    return found


def churn(facts: Sequence[Fact], now_s: float) -> list[Alarm]:
    """Small versions that conflicted with an owner and were cancelled or moved within
    :data:`SOON_S`, in the last :data:`CHURN_WINDOW_S`: an alarm per owner at
    :data:`CHURN_COUNT`."""
    hits: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for history in _histories(facts).values():
        for f, g in itertools.pairwise(history):
            if f.change not in (Change.FILED, Change.UPDATED) or not f.small or not f.touched:
                continue
            withdrawn = g.change is Change.CANCELLED or (g.change is Change.UPDATED and g.shape != f.shape)
            if withdrawn and g.at_s - f.at_s <= SOON_S and g.at_s >= now_s - CHURN_WINDOW_S:
                for owner in f.touched:
                    hits[owner].append((f.party, f.operation_id))
    return _alarms(Detector.CHURN, hits, CHURN_COUNT)


def unflown(facts: Sequence[Fact], now_s: float) -> list[Alarm]:
    """Operations never activated that conflicted with an owner and were cancelled (or,
    small, lapsed) in the last :data:`UNFLOWN_WINDOW_S`, as pairs with the owner's
    operations they conflicted with: an alarm per owner at :data:`UNFLOWN_PAIRS`."""
    hits: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for history in _histories(facts).values():
        if any(f.change in (Change.ACTIVATED, Change.ENDED) for f in history):
            continue
        last = history[-1]
        if last.change is Change.CANCELLED:
            gone_at = last.at_s
        elif last.small and last.end_s <= now_s:
            gone_at = last.end_s
        else:
            continue
        if gone_at < now_s - UNFLOWN_WINDOW_S:
            continue
        probed: dict[str, set[str]] = defaultdict(set)
        for f in history:
            for owner, touched in f.touched.items():
                probed[owner] |= touched
        for owner, operations in probed.items():
            hits[owner] += [(last.party, last.operation_id)] * len(operations)
    return _alarms(Detector.UNFLOWN, hits, UNFLOWN_PAIRS)


def sweep(facts: Sequence[Fact], now_s: float) -> list[Alarm]:
    """Small filings (new or moved) of the last :data:`SWEEP_WINDOW_S` at
    :data:`SWEEP_COUNT` places :data:`SWEEP_SPACING_M` apart, within
    :data:`SWEEP_RADIUS_M` of one that conflicted with an owner."""
    recent = [
        f
        for history in _histories(facts).values()
        for before, f in zip([None, *history], history, strict=False)
        if f.at_s >= now_s - SWEEP_WINDOW_S
        and f.small
        and (
            f.change is Change.FILED
            or (f.change is Change.UPDATED and before is not None and before.shape != f.shape)
        )
    ]
    recent.sort(key=lambda f: f.at_s)
    found = []
    for owner in sorted({o for f in recent for o in f.touched}):
        anchors: dict[int, list[Fact]] = defaultdict(list)
        for a in recent:
            if owner in a.touched:
                anchors[_region(a)].append(a)
        places: list[Fact] = []
        for f in recent:
            near = (a for r in h3int.grid_disk(_region(f), 1) for a in anchors.get(r, ()))
            if all(_distance_m(f, p) >= SWEEP_SPACING_M for p in places) and any(
                _distance_m(f, a) <= SWEEP_RADIUS_M for a in near
            ):
                places.append(f)
                if len(places) == SWEEP_COUNT:
                    break
        if len(places) >= SWEEP_COUNT:
            suspects = tuple(sorted({f.party for f in places}))
            operations = tuple(sorted({f"{f.party}/{f.operation_id}" for f in places}))
            found.append(Alarm(Detector.SWEEP, suspects, owner, operations, len(places), SWEEP_COUNT))
    return found


def _region(f: Fact) -> int:
    """The H3 cell of resolution 2 (edges of 100 km and more) around ``f``: two filings
    within :data:`SWEEP_RADIUS_M` are in the same cell or neighbouring ones, so a filing
    is compared with the anchors near it only, however many a flood of filings makes."""
    return int(h3int.latlng_to_cell(f.lat, f.lon, 2))


def stepping(facts: Sequence[Fact], now_s: float) -> list[Alarm]:
    """One operation's latest run of successive small shifts, all in the last
    :data:`STEP_WINDOW_S`, touching an owner's plans before or after some step: an alarm
    at :data:`STEP_COUNT` steps."""
    found = []
    for history in _histories(facts).values():
        shapes = [f for f in history if f.change in (Change.FILED, Change.UPDATED)]
        run: list[Fact] = []
        for f, g in itertools.pairwise(shapes):
            if g.shape == f.shape:
                continue
            if g.at_s >= now_s - STEP_WINDOW_S and _small_shift(f, g):
                run = run or [f]
                run.append(g)
            else:
                run = []
        steps = len(run) - 1
        if steps < STEP_COUNT:
            continue
        last = run[-1]
        for owner in sorted({o for f in run for o in f.touched}):
            operation = f"{last.party}/{last.operation_id}"
            found.append(Alarm(Detector.STEPPING, (last.party,), owner, (operation,), steps, STEP_COUNT))
    return found


def _small_shift(f: Fact, g: Fact) -> bool:
    ratio = max(f.area_m2, g.area_m2) / max(min(f.area_m2, g.area_m2), 1.0)
    return _distance_m(f, g) < STEP_MAX_M and ratio <= STEP_AREA_RATIO


def _distance_m(f: Fact, g: Fact) -> float:
    return great_circle_m(f.lat, f.lon, g.lat, g.lon)


#: Detectors over one party's history, and those that also run over several parties'
#: small filings pooled (colluders splitting a sweep or a churn between them).
DETECTORS: Final = (churn, unflown, sweep, stepping)
POOLED: Final = (churn, sweep)


def detect(own: Sequence[Fact], pooled: Sequence[Fact], now_s: float) -> list[Alarm]:
    """Every alarm that ``own`` (one party's recent facts) raises, and those that
    ``pooled`` (every party's recent facts about small operations) raises with two
    suspects or more, none of which raises it alone: a party that trips a detector by
    itself is alarmed by itself, and does not drag in whoever else filed small nearby."""
    found = [alarm for detector in DETECTORS for alarm in detector(own, now_s)]
    for detector in POOLED:
        for alarm in detector(pooled, now_s):
            if len(alarm.suspects) > 1 and not any(
                a.owner == alarm.owner for s in alarm.suspects for a in detector(_of(pooled, s), now_s)
            ):
                found.append(alarm)
    return found


def _of(facts: Sequence[Fact], party: str) -> list[Fact]:
    return [f for f in facts if f.party == party]
