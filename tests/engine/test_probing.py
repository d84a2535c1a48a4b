"""Each probe detector trips on its pattern and stays silent on honest variations of it
(docs/disclosure.md, "Probe alarms")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import h3.api.basic_int as h3int
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import moved
from deconfliction.engine.probing import (
    CHURN_COUNT,
    SMALL_AREA_M2,
    SOON_S,
    STEP_COUNT,
    STEP_MAX_M,
    STEP_WINDOW_S,
    SWEEP_COUNT,
    SWEEP_WINDOW_S,
    UNFLOWN_PAIRS,
    Change,
    Detector,
    Fact,
    churn,
    detect,
    stepping,
    sweep,
    unflown,
)

SMALL = 1e6  # a 1 km² probe
LARGE = 400e6  # a 20 km box
NOW = 100_000.0


def fact(
    op: str,
    version: int = 1,
    at: float = NOW,
    change: Change = Change.FILED,
    area: float = SMALL,
    where: tuple[float, float] = (35.0, 40.0),
    touched: Iterable[str] = ("B1",),
    party: str = "RED",
    end: float = NOW + 86_400.0,
    shape: str | None = None,
) -> Fact:
    ops = frozenset(touched)
    return Fact(
        party,
        op,
        version,
        at,
        change,
        area,
        where[0],
        where[1],
        NOW,
        end,
        shape or f"{op}@{version}",
        {"BLUE": ops} if ops else {},
    )


def filed_then(op: str, then: Change, after_s: float, at: float, **kw: object) -> list[Fact]:
    """``op`` filed at ``at`` and, ``after_s`` later, cancelled or moved."""
    first = fact(op, 1, at, Change.FILED, **kw)  # type: ignore[arg-type]
    second = fact(op, 2, at + after_s, then, touched=(), area=first.area_m2)
    return [first, second]


def place(n: int, spacing_m: float = 2_000.0) -> tuple[float, float]:
    p = moved(35.0, 40.0, 90.0, n * spacing_m)
    return p.lat_deg, p.lon_deg


# -- churn ------------------------------------------------------------------------------


def test_churn_trips_on_small_conflicting_versions_withdrawn_at_once() -> None:
    facts = [
        f
        for n in range(CHURN_COUNT)
        for f in filed_then(f"P{n}", Change.CANCELLED, 120, NOW - 3000 + n * 300)
    ]
    [alarm] = churn(facts, NOW)
    assert (alarm.detector, alarm.suspects, alarm.owner, alarm.count) == (Detector.CHURN, ("RED",), "BLUE", 4)
    moved_away = [f for n in range(CHURN_COUNT) for f in filed_then(f"P{n}", Change.UPDATED, 120, NOW - 3000)]
    assert churn(moved_away, NOW)


def test_churn_stays_silent_on_honest_variations() -> None:
    def four(**kw: object) -> list[Fact]:
        return [f for n in range(CHURN_COUNT) for f in filed_then(f"P{n}", Change.CANCELLED, **kw)]  # type: ignore[arg-type]

    assert not churn(four(after_s=120, at=NOW - 3000)[:-2], NOW), "three is under the threshold"
    assert not churn(four(after_s=SOON_S + 60, at=NOW - 9000), NOW), "withdrawn hours later"
    assert not churn(four(after_s=120, at=NOW - 3000, area=LARGE), NOW), "real operations"
    assert not churn(four(after_s=120, at=NOW - 3000, touched=()), NOW), "asked nothing of anyone"
    assert not churn(four(after_s=120, at=NOW - 30_000), NOW), "long ago"
    priority_only = [f for n in range(4) for f in filed_then(f"P{n}", Change.UPDATED, 120, NOW - 3000)]
    same_shape = [replace(f, shape="same") for f in priority_only]
    assert not churn(same_shape, NOW), "a change of priority moves nothing"


# -- unflown ----------------------------------------------------------------------------


def test_unflown_trips_on_one_wide_filing_withdrawn() -> None:
    owner_ops = [f"B{n}" for n in range(UNFLOWN_PAIRS)]
    facts = filed_then("W", Change.CANCELLED, 60, NOW - 60, area=LARGE, touched=owner_ops)
    [alarm] = unflown(facts, NOW)
    assert (alarm.detector, alarm.count, alarm.operations) == (Detector.UNFLOWN, UNFLOWN_PAIRS, ("RED/W",))


def test_unflown_counts_small_operations_left_to_lapse() -> None:
    lapsed = [fact(f"P{n}", at=NOW - 7200, end=NOW - 60) for n in range(UNFLOWN_PAIRS)]
    assert unflown(lapsed, NOW)
    large = [fact(f"P{n}", at=NOW - 7200, end=NOW - 60, area=LARGE) for n in range(UNFLOWN_PAIRS)]
    assert not unflown(large, NOW), "a large party that never reports activation is not probing"


def test_unflown_stays_silent_on_honest_variations() -> None:
    few = filed_then("W", Change.CANCELLED, 60, NOW - 60, area=LARGE, touched=["B1", "B2", "B3"])
    assert not unflown(few, NOW), "one real operation cancelled"
    flown = [
        fact("W", 1, NOW - 600, area=LARGE, touched=[f"B{n}" for n in range(8)]),
        fact("W", 2, NOW - 400, Change.ACCEPTED, area=LARGE),
        fact("W", 3, NOW - 300, Change.ACTIVATED, area=LARGE),
        fact("W", 4, NOW - 60, Change.CANCELLED, area=LARGE, touched=()),
    ]
    assert not unflown(flown, NOW), "it flew, then was called off"
    live = [fact(f"P{n}", at=NOW - 600) for n in range(10)]
    assert not unflown(live, NOW), "still planned"


# -- sweep ------------------------------------------------------------------------------


def test_sweep_trips_on_a_lattice_of_small_filings_near_a_hit() -> None:
    facts = [
        fact(f"P{n}", at=NOW - 600 + n, where=place(n), touched=("B1",) if n == 3 else ())
        for n in range(SWEEP_COUNT)
    ]
    [alarm] = sweep(facts, NOW)
    assert (alarm.detector, alarm.count, alarm.owner) == (Detector.SWEEP, SWEEP_COUNT, "BLUE")


def test_sweep_stays_silent_on_honest_variations() -> None:
    def lattice(n: int = SWEEP_COUNT, **kw: object) -> list[Fact]:
        return [fact(f"P{k}", where=place(k), **kw) for k in range(n)]  # type: ignore[arg-type]

    assert not sweep(lattice(SWEEP_COUNT - 1), NOW), "five is under the threshold"
    assert not sweep(lattice(area=LARGE), NOW), "real operations"
    assert not sweep(lattice(touched=()), NOW), "nobody's plan near"
    assert not sweep(lattice(at=NOW - SWEEP_WINDOW_S - 60), NOW), "an hour ago"
    same_place = [fact(f"P{k}") for k in range(10)]
    assert not sweep(same_place, NOW), "ten drone flights from one field"
    far = [fact(f"P{k}", where=place(k, 60_000.0), touched=("B1",) if k == 0 else ()) for k in range(8)]
    assert not sweep(far, NOW), "spread over a country, not around one plan"


# -- stepping ---------------------------------------------------------------------------


def walk(steps: int, step_m: float = 2_000.0, every_s: float = 60.0, area: float = LARGE) -> list[Fact]:
    """One operation filed and moved ``steps`` times, conflicting throughout."""
    start = NOW - steps * every_s
    return [
        fact(
            "P1",
            k + 1,
            start + k * every_s,
            Change.FILED if k == 0 else Change.UPDATED,
            area,
            place(k, step_m),
        )
        for k in range(steps + 1)
    ]


def test_stepping_trips_on_an_operation_walked_across_a_plan() -> None:
    [alarm] = stepping(walk(STEP_COUNT), NOW)
    assert (alarm.detector, alarm.count, alarm.operations) == (Detector.STEPPING, STEP_COUNT, ("RED/P1",))
    in_time = [
        fact("P1", k + 1, NOW - 600 + k * 60, Change.FILED if k == 0 else Change.UPDATED, LARGE)
        for k in range(STEP_COUNT + 1)
    ]
    assert stepping(in_time, NOW), "a bisection in time or altitude moves nothing on the map"


def test_stepping_stays_silent_on_honest_variations() -> None:
    assert not stepping(walk(2), NOW), "a real plan revised twice"
    assert not stepping(walk(STEP_COUNT - 1), NOW)
    assert not stepping(walk(STEP_COUNT, step_m=STEP_MAX_M + 1_000.0), NOW), "moved elsewhere each time"
    assert not stepping(walk(STEP_COUNT, every_s=STEP_WINDOW_S / 2), NOW), "revised over a day"
    untouched = [replace(f, touched={}) for f in walk(STEP_COUNT)]
    assert not stepping(untouched, NOW), "moved where it conflicts with no one"


# -- together ---------------------------------------------------------------------------


def test_colluders_split_a_sweep_between_them() -> None:
    parties = ("RED", "RED2", "RED3")
    facts = [
        fact(
            f"P{n}", party=parties[n % 3], at=NOW - 600 + n, where=place(n), touched=("B1",) if n == 0 else ()
        )
        for n in range(SWEEP_COUNT)
    ]
    assert all(not sweep([f for f in facts if f.party == p], NOW) for p in parties), "each alone is quiet"
    own = [f for f in facts if f.party == "RED"]
    [alarm] = detect(own, facts, NOW)
    assert alarm.suspects == parties


@st.composite
def honest_day(draw: st.DrawFn) -> list[Fact]:
    """A party that plans honestly: real operations (some as small as a drone's, at most
    three of those), each revised at most twice, hours apart or not, at most two cancelled,
    each conflicting with up to two of the owner's operations."""
    facts = []
    count = draw(st.integers(1, 30))
    cancelled = draw(st.sets(st.integers(0, count - 1), max_size=2))
    small = draw(st.sets(st.integers(0, count - 1), max_size=3))
    for n in range(count):
        at = draw(st.floats(NOW - 86_000, NOW - 7200))
        area = draw(st.floats(1e5, SMALL_AREA_M2)) if n in small else draw(st.floats(SMALL_AREA_M2, 5e9))
        lat, lon = draw(st.floats(34.0, 36.0)), draw(st.floats(39.0, 41.0))
        touched = draw(st.sets(st.sampled_from(["B1", "B2", "B3"]), max_size=2))
        history = [fact(f"O{n}", 1, at, Change.FILED, area, (lat, lon), touched)]
        for k in range(draw(st.integers(0, 2))):
            at += draw(st.floats(1.0, 7200.0))
            lat += draw(st.floats(-0.05, 0.05))
            history.append(fact(f"O{n}", k + 2, at, Change.UPDATED, area, (lat, lon), touched))
        if n in cancelled:
            at += draw(st.floats(1.0, 7200.0))
            history.append(fact(f"O{n}", len(history) + 1, at, Change.CANCELLED, area, (lat, lon), ()))
        facts += history
    return facts


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(honest_day())
def test_an_honest_day_raises_no_alarm(facts: list[Fact]) -> None:
    assert detect(facts, [f for f in facts if f.small], NOW) == []


def test_sweep_finds_anchors_across_region_cells() -> None:
    """The sweep compares a filing with anchors in its own and neighbouring cells of
    resolution 2: a lattice just across a cell edge from its hit is still a sweep."""
    k = 0
    while h3int.latlng_to_cell(*place(k, 1_000.0), 2) == h3int.latlng_to_cell(*place(k + 1, 1_000.0), 2):
        k += 1
    hit = fact("A", where=place(k - 20, 1_000.0))  # 20 km short of the edge
    others = [fact(f"P{n}", where=place(k + 1 + 2 * n, 1_000.0), touched=()) for n in range(SWEEP_COUNT - 1)]
    assert h3int.latlng_to_cell(hit.lat, hit.lon, 2) != h3int.latlng_to_cell(others[0].lat, others[0].lon, 2)
    [alarm] = sweep([hit, *others], NOW)
    assert alarm.count == SWEEP_COUNT


def test_a_flood_far_from_any_hit_is_no_sweep() -> None:
    hit = fact("A")
    flood = [fact(f"P{n}", where=place(100 + n % 50, 1_000.0), touched=()) for n in range(2_000)]
    assert sweep([hit, *flood], NOW) == []


def test_a_lone_prober_does_not_drag_in_a_neighbour() -> None:
    facts = [
        fact(f"P{n}", at=NOW - 600 + n, where=place(n), touched=("B1",) if n == 0 else ()) for n in range(6)
    ]
    drone = fact("D1", party="UAS", at=NOW - 900, where=place(20), touched=())  # among the first six
    alarms = detect([*facts], [*facts, drone], NOW)
    assert [(a.detector, a.suspects) for a in alarms] == [(Detector.SWEEP, ("RED",))]
