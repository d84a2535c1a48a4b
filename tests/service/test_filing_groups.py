"""Group filing on every store backend: filings that wait while another is filed go in
together, with the results of filing them one at a time, and a bad one fails alone."""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from at_once import run_at_once
from builders import T0, circle_op
from deconfliction.engine.minima import EN_ROUTE, Minima
from deconfliction.engine.operation import Operation
from deconfliction.engine.strategic import OperationRef, all_conflicts_brute_force, operation_conflict
from deconfliction.errors import AlreadyExists, NotFound
from deconfliction.service import OperationService
from deconfliction.service.filing_groups import FilingGroups, groups_for
from deconfliction.service.operations import FilingResult
from deconfliction.store import Store
from deconfliction.store.base import Party


@pytest.fixture
def service(store: Store) -> Iterator[OperationService]:
    svc = OperationService(store)
    for pid in ("BLUE", "RED", "CIV"):
        svc.add_party(Party(pid, f"{pid} ops centre"))
    return svc


def _key(ref: OperationRef) -> tuple[str, str]:
    return ref.party, ref.id


def _near(party: str, op_id: str, rng: random.Random) -> Operation:
    """A circle in a small box, so that about half the pairs of parties conflict."""
    return circle_op(
        party,
        op_id,
        lat=35.0 + rng.uniform(0.0, 0.3),
        lon=40.0 + rng.uniform(0.0, 0.3),
        radius_m=rng.uniform(1_000.0, 6_000.0),
        fl=(fl := rng.randrange(100, 200, 10), fl + 20),
        start=T0 + timedelta(hours=rng.uniform(0.0, 3.0)),
    )


class _Filer(threading.Thread):
    """Files one operation on a thread of its own and keeps what came back."""

    def __init__(self, service: OperationService, operation: Operation) -> None:
        super().__init__(daemon=True)
        self.service, self.operation = service, operation
        self.result: FilingResult | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.service.file(self.operation)
        except BaseException as exc:  # checked by the test
            self.error = exc


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30.0
    while not condition():
        assert time.monotonic() < deadline, "the filings never queued"
        time.sleep(0.005)


def _file_in_one_group(service: OperationService, operations: list[Operation]) -> list[_Filer]:
    """File ``operations[0]`` alone and the rest as one group, in this order: the store is
    held busy until the first is waiting for it and the rest are queued behind it."""
    groups: FilingGroups = groups_for(service.store, service.default_minima)
    before = (groups.groups, groups.filings)
    filers = [_Filer(service, op) for op in operations]
    with service.store.transaction():  # the first filing's group waits for this to end
        filers[0].start()
        _until(lambda: groups.groups == before[0] + 1)
        for n, filer in enumerate(filers[1:], 1):
            filer.start()  # one at a time, so that they queue in this order
            _until(lambda n=n: groups.waiting() == n)  # type: ignore[misc]
    for filer in filers:
        filer.join(timeout=60)
        assert not filer.is_alive()
    assert (groups.groups, groups.filings) == (before[0] + 2, before[1] + len(operations))
    return filers


def test_waiting_filings_are_filed_together_as_one_at_a_time(service: OperationService) -> None:
    rng = random.Random(5)
    stored = [_near(party, f"{party}-0", rng) for party in ("BLUE", "RED", "CIV")]
    for op in stored:
        service.file(op)
    waiting = [_near(("RED", "BLUE", "CIV")[n % 3], f"W{n}", rng) for n in range(9)]
    filers = _file_in_one_group(service, waiting)
    policy = service.policy()
    filed = list(stored)
    found = 0
    for filer in filers:
        assert filer.error is None
        assert filer.result is not None
        assert filer.result.operation == filer.operation
        earlier = sorted(filed, key=lambda o: o.key)
        expected = [c for other in earlier if (c := operation_conflict(filer.operation, other, policy))]
        assert list(filer.result.conflicts) == expected
        found += len(expected)
        filed.append(filer.operation)
    assert found >= 5  # the scenario conflicts enough to test something
    # stored once each, for both sides, as the brute force over everything finds them
    stored_pairs = {
        (_key(c.a), _key(c.b)) for p in ("BLUE", "RED", "CIV") for c in service.conflicts(p) if c.a.party == p
    }
    expected_pairs = {
        pair
        for c in all_conflicts_brute_force(filed, policy)
        for pair in ((_key(c.a), _key(c.b)), (_key(c.b), _key(c.a)))
    }
    assert stored_pairs == expected_pairs


def test_a_bad_filing_in_a_group_fails_alone(service: OperationService) -> None:
    rng = random.Random(11)
    service.file(circle_op("BLUE", "TAKEN"))
    good = [_near(("RED", "BLUE")[n % 2], f"G{n}", rng) for n in range(4)]
    unknown = circle_op("NOBODY", "N1")
    taken = circle_op("BLUE", "TAKEN", lon=40.2)
    twice = circle_op("RED", "G0", lon=40.3)  # the same id as good[0], queued after it
    operations = [good[0], good[1], unknown, good[2], taken, twice, good[3]]
    filers = _file_in_one_group(service, operations)
    errors = {f.operation.id if f.operation is not twice else "twice": f.error for f in filers}
    assert isinstance(errors.pop("N1"), NotFound)
    taken_error = errors.pop("TAKEN")
    assert isinstance(taken_error, AlreadyExists)
    assert str(taken_error) == "operation 'TAKEN' of party 'BLUE' already exists"  # as filed alone
    assert isinstance(errors.pop("twice"), AlreadyExists)
    assert all(error is None for error in errors.values())
    assert sorted(o.id for o in service.operations()) == ["G0", "G1", "G2", "G3", "TAKEN"]
    assert service.get("RED", "G0") == good[0]
    policy = service.policy()
    filed: list[Operation] = [circle_op("BLUE", "TAKEN")]
    for filer in filers:
        if filer.error is None:
            assert filer.result is not None
            expected = [
                c
                for o in sorted(filed, key=lambda o: o.key)
                if (c := operation_conflict(filer.operation, o, policy))
            ]
            assert list(filer.result.conflicts) == expected
            filed.append(filer.operation)


def test_many_threads_filing_at_once_store_what_the_brute_force_finds(service: OperationService) -> None:
    """Eight threads file ten operations each, grouped however their timing falls: every
    conflict is reported once (to the later of its two filings) and stored for both sides."""
    rng = random.Random(3)
    batches = [[_near(("RED", "BLUE", "CIV")[t % 3], f"T{t}-{k}", rng) for k in range(10)] for t in range(8)]
    results: list[FilingResult] = []

    def file_all(operations: list[Operation]) -> None:
        for op in operations:
            results.append(service.file(op))

    assert run_at_once([functools.partial(file_all, batch) for batch in batches], timeout_s=120) == []
    everything = [op for batch in batches for op in batch]
    brute = all_conflicts_brute_force(everything, service.policy())
    assert len(brute) > 20
    reported = sorted(tuple(sorted((_key(c.a), _key(c.b)))) for r in results for c in r.conflicts)
    assert reported == sorted(tuple(sorted((_key(c.a), _key(c.b)))) for c in brute)  # each once
    stored = {
        (_key(c.a), _key(c.b)) for p in ("BLUE", "RED", "CIV") for c in service.conflicts(p) if c.a.party == p
    }
    assert stored == {pair for c in brute for pair in ((_key(c.a), _key(c.b)), (_key(c.b), _key(c.a)))}


def test_services_with_other_default_minima_queue_apart(store: Store) -> None:
    """The API makes a service per request: they share one queue per store, and filings
    under other default minima (which find other conflicts) are never grouped with them."""
    ours = groups_for(store, EN_ROUTE)
    assert OperationService(store)._groups is OperationService(store)._groups is ours
    other = Minima(50_000.0, EN_ROUTE.vertical_m, EN_ROUTE.time_s)
    assert OperationService(store, other)._groups is not ours
