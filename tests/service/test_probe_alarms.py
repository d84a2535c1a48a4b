"""Probe alarms through the service, on both stores: raised in the transaction of the
change that trips them, to the owner's desk, into both chains and the owner's ledger,
once a day per suspect and detector; never for the demo's honest day
(docs/disclosure.md, "Probe alarms")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import T0, circle_op, moved
from deconfliction.engine.operation import Operation, OperationState
from deconfliction.geo import Circle, Position, Volume4D
from deconfliction.scenarios import euphrates
from deconfliction.service.access import AccessService
from deconfliction.service.clock import ManualClock
from deconfliction.service.disclosure import DisclosureService
from deconfliction.service.operations import OperationService
from deconfliction.store import Party, PartyKind, Store
from deconfliction.store.events import AuditRepo, EventsRepo
from deconfliction.store.probing import ProbingRepo

NOW = T0 - timedelta(days=1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def access(store: Store, clock: ManualClock) -> AccessService:
    operations = OperationService(store)
    for party in ("RED", "BLUE"):
        operations.add_party(Party(party, f"Party {party}", PartyKind.MILITARY))
    service = AccessService(store, clock, operations)
    service.file(circle_op("BLUE", "B1", radius_m=20_000))
    return service


def _probe(n: int, metres: float = 0.0) -> Operation:
    p = moved(35.0, 40.0, 90.0, metres)
    return circle_op("RED", f"P{n}", lat=p.lat_deg, lon=p.lon_deg, radius_m=300.0)


def _churn(access: AccessService, clock: ManualClock, first: int, count: int) -> None:
    for n in range(first, first + count):
        filed = access.file(_probe(n))
        assert filed.conflicts
        clock.advance(timedelta(minutes=1))
        access.transition("RED", f"P{n}", OperationState.CANCELLED, 1)


def _alarm_entries(store: Store, party: str) -> list[dict[str, object]]:
    with store.transaction() as tx:
        return [e.body for e in tx.repo(AuditRepo).entries(party) if e.kind == "disclosure.alarm"]


def test_an_alarm_reaches_the_owner_both_chains_and_the_ledger(
    store: Store, access: AccessService, clock: ManualClock
) -> None:
    _churn(access, clock, 0, 3)
    assert _alarm_entries(store, "BLUE") == [], "three withdrawn probes are under the threshold"
    _churn(access, clock, 3, 1)
    with store.transaction() as tx:
        [event] = [e for e in tx.repo(EventsRepo).after("BLUE", 0) if e.kind == "disclosure.alarm"]
        red_events = [e for e in tx.repo(EventsRepo).after("RED", 0) if e.kind == "disclosure.alarm"]
    assert event.payload["detector"] == "churn"
    assert event.payload["suspect"] == "RED"
    assert event.payload["operations"] == [f"RED/P{n}" for n in range(4)]
    assert red_events == [], "the suspect is not tipped off by an event (its chain records it)"
    assert _alarm_entries(store, "BLUE") == _alarm_entries(store, "RED") == [event.payload]
    ledger = DisclosureService(store, clock).ledger("BLUE")
    [row] = ledger["learned_by"]
    assert [a["detector"] for a in row["alarms"]] == ["churn"]
    assert DisclosureService(store, clock).ledger("RED")["learned_by"][0]["alarms"] == []


def test_an_alarm_is_raised_once_a_day_per_suspect_and_detector(
    store: Store, access: AccessService, clock: ManualClock
) -> None:
    _churn(access, clock, 0, 8)
    assert [a["detector"] for a in _alarm_entries(store, "BLUE")] == ["churn", "unflown"]
    clock.advance(timedelta(hours=25))
    _churn(access, clock, 8, 4)
    assert [a["detector"] for a in _alarm_entries(store, "BLUE")] == ["churn", "unflown", "churn"]
    assert len(DisclosureService(store, clock).ledger("BLUE")["learned_by"][0]["alarms"]) == 1


def test_a_batch_trips_a_sweep_in_its_own_transaction(store: Store, access: AccessService) -> None:
    access.file_many([(_probe(n, n * 2_000.0), None) for n in range(8)])
    [alarm] = _alarm_entries(store, "BLUE")
    assert alarm["detector"] == "sweep"
    assert alarm["count"] == 6, "raised at the sixth filing of the batch"


def test_a_real_plan_revised_twice_raises_nothing(
    store: Store, access: AccessService, clock: ManualClock
) -> None:
    op = access.file(circle_op("RED", "R1", lon=40.15, radius_m=6_000)).own.operation
    for k in range(2):
        clock.advance(timedelta(minutes=10))
        volume = op.volumes[0]
        shifted = Volume4D(Circle(Position(35.0, 40.2 + k * 0.05), 6_000), volume.band, volume.window)
        op = access.update("RED", "R1", op.version, volumes=[shifted]).own.operation
    clock.advance(timedelta(minutes=10))
    access.transition("RED", "R1", OperationState.CANCELLED, op.version)
    assert _alarm_entries(store, "BLUE") == []


def test_the_demo_day_raises_no_alarm(store: Store) -> None:
    """Every operation of the demo's day, filed through the service as `deconfliction demo`
    files it: honest planning raises no alarm."""
    scenario = euphrates.build(T0)
    operations = OperationService(store)
    for party in scenario.parties:
        operations.add_party(party)
    for (a, b), minima in scenario.pair_minima.items():
        operations.set_pair_minima(a, b, minima)
    access = AccessService(store, ManualClock(NOW), operations)
    conflicts = sum(len(access.file(op).detected) for op in scenario.operations)
    assert conflicts > 500
    with store.transaction() as tx:
        assert tx.repo(ProbingRepo).alarms(None, 0.0) == []


def test_the_detectors_read_the_newest_facts(store: Store, access: AccessService, clock: ManualClock) -> None:
    for n in range(5):
        access.file(_probe(n, n * 20_000.0))
        clock.advance(timedelta(minutes=1))
    with store.transaction() as tx:
        repo = tx.repo(ProbingRepo)
        assert [f.operation_id for f in repo.facts_of("RED", 0.0, 3)] == ["P2", "P3", "P4"]
        assert [f.operation_id for f in repo.small_facts(0.0, 2)] == ["P3", "P4"]
