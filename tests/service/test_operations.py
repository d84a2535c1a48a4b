"""The operations service on every store backend: filing, changes, lifecycle, minima."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from builders import T0, circle_op, moved
from deconfliction.engine.minima import Minima
from deconfliction.engine.operation import Operation, OperationState
from deconfliction.engine.policy import PairPolicy
from deconfliction.engine.strategic import operation_conflict
from deconfliction.errors import AlreadyExists, InvalidInput, InvalidTransition, NotFound, StaleVersion
from deconfliction.geo import Circle, Volume4D
from deconfliction.service import OperationService
from deconfliction.service.operations import MAX_BATCH
from deconfliction.store import Store
from deconfliction.store.base import Party, PartyKind
from deconfliction.store.policy import PoliciesRepo
from deconfliction.units import NAUTICAL_MILE_M


@pytest.fixture
def service(store: Store) -> Iterator[OperationService]:
    svc = OperationService(store)
    for pid, kind in (("BLUE", PartyKind.MILITARY), ("RED", PartyKind.MILITARY), ("CIV", PartyKind.CIVIL)):
        svc.add_party(Party(pid, f"{pid} ops centre", kind))
    return svc


def test_filing_reports_the_conflict_to_both_sides(service: OperationService) -> None:
    assert service.file(circle_op("BLUE", "B1")).conflicts == ()
    result = service.file(circle_op("RED", "R1", lon=40.05))
    assert [(c.a.id, c.b.id) for c in result.conflicts] == [("R1", "B1")]
    blue_view = service.conflicts("BLUE")
    red_view = service.conflicts("RED")
    assert [(c.a.party, c.a.id, c.b.id) for c in blue_view] == [("BLUE", "B1", "R1")]
    assert [(c.a.party, c.a.id, c.b.id) for c in red_view] == [("RED", "R1", "B1")]
    assert blue_view[0].horizontal_distance_m == pytest.approx(red_view[0].horizontal_distance_m)
    assert service.conflicts("CIV") == []


def test_own_operations_never_conflict(service: OperationService) -> None:
    service.file(circle_op("BLUE", "B1"))
    assert service.file(circle_op("BLUE", "B2")).conflicts == ()


def test_stale_version_is_refused_and_changes_nothing(service: OperationService) -> None:
    op = service.file(circle_op("BLUE", "B1")).operation
    far = Volume4D(Circle(moved(35.0, 40.0, 90, 200_000), 5_000), op.volumes[0].band, op.volumes[0].window)
    service.update("BLUE", "B1", expected_version=1, volumes=[far])
    with pytest.raises(StaleVersion, match="version 2, not 1"):
        service.update("BLUE", "B1", expected_version=1, volumes=list(op.volumes))
    stored = service.get("BLUE", "B1")
    assert stored.version == 2
    assert stored.volumes == (far,)


def test_moving_away_clears_the_conflict_for_both(service: OperationService) -> None:
    service.file(circle_op("BLUE", "B1"))
    service.file(circle_op("RED", "R1", lon=40.05))
    op = service.get("RED", "R1")
    away = replace(op.volumes[0], footprint=Circle(moved(35.0, 40.0, 90, 100_000), 5_000))
    result = service.update("RED", "R1", expected_version=1, volumes=[away])
    assert result.conflicts == ()
    assert service.conflicts("BLUE") == []
    assert service.conflicts("RED") == []


def test_cancelled_operations_stop_conflicting(service: OperationService) -> None:
    service.file(circle_op("BLUE", "B1"))
    service.file(circle_op("RED", "R1", lon=40.05))
    service.transition("BLUE", "B1", OperationState.CANCELLED, expected_version=1)
    assert service.conflicts("RED") == []
    # A later filing does not see the cancelled operation either.
    assert service.file(circle_op("CIV", "C1", lon=39.98)).conflicts != ()
    assert {c.b.party for c in service.conflicts("CIV")} == {"RED"}


def test_lifecycle_is_enforced(service: OperationService) -> None:
    service.file(circle_op("BLUE", "B1"))
    with pytest.raises(InvalidTransition, match="proposed to ended"):
        service.transition("BLUE", "B1", OperationState.ENDED, expected_version=1)
    service.transition("BLUE", "B1", OperationState.ACCEPTED, expected_version=1)
    service.transition("BLUE", "B1", OperationState.ACTIVATED, expected_version=2)
    final = service.transition("BLUE", "B1", OperationState.ENDED, expected_version=3).operation
    assert (final.state, final.version) == (OperationState.ENDED, 4)


def test_unknown_party_and_duplicate_ids_store_nothing(service: OperationService) -> None:
    with pytest.raises(NotFound):
        service.file(circle_op("GHOST", "G1"))
    assert service.operations() == []
    service.file(circle_op("BLUE", "B1"))
    with pytest.raises(AlreadyExists):
        service.file(circle_op("BLUE", "B1", lon=41.0))
    assert service.get("BLUE", "B1").volumes[0].footprint.center[1] == pytest.approx(40.0)
    with pytest.raises(NotFound):
        service.get("RED", "B1")


def _exact_rule(service: OperationService, *pairs: tuple[str, str]) -> None:
    with service.store.transaction() as tx:
        for a, b in pairs:
            tx.repo(PoliciesRepo).set(PairPolicy(a, b, grid=None))


def test_pair_minima_override_the_default(service: OperationService) -> None:
    # Two 1 km circles 6 km apart: edge gap 4 km ~ 2.2 NM.
    service.file(circle_op("BLUE", "B1", radius_m=1_000))
    east = moved(35.0, 40.0, 90, 6_000)
    gap_nm = 4_000 / NAUTICAL_MILE_M
    assert 2 < gap_nm < 3
    service.set_pair_minima("BLUE", "RED", Minima(2 * NAUTICAL_MILE_M, 300, 300))
    red = circle_op("RED", "R1", lat=east.lat_deg, lon=east.lon_deg, radius_m=1_000)
    civ = circle_op("CIV", "C1", lat=east.lat_deg, lon=east.lon_deg, radius_m=1_000)
    assert service.check(red) != []  # on the default grid, within a cell of 2 NM is a conflict
    _exact_rule(service, ("BLUE", "RED"))
    assert service.file(red).conflicts == ()  # exactly, 2 NM between the rivals
    # The default 5 NM holds for the civil party: it conflicts with both.
    assert {c.b.id for c in service.file(civ).conflicts} == {"B1", "R1"}


def test_check_stores_nothing(service: OperationService) -> None:
    service.file(circle_op("BLUE", "B1"))
    assert len(service.check(circle_op("RED", "R1"))) == 1
    assert [op.id for op in service.operations()] == ["B1"]
    assert service.conflicts("BLUE") == []


def test_state_changes_keep_conflict_versions_current(service: OperationService) -> None:
    service.file(circle_op("BLUE", "B1"))
    service.file(circle_op("RED", "R1", lon=40.05))
    service.transition("BLUE", "B1", OperationState.ACCEPTED, expected_version=1)
    (seen_by_red,) = service.conflicts("RED")
    assert (seen_by_red.b.id, seen_by_red.b.version) == ("B1", 2)


# -- batches ----------------------------------------------------------------------------


def _scattered(party: str, n: int, seed: int) -> list[Operation]:
    """``n`` circles of ``party`` scattered over 0.6 x 0.6 degrees and six hours, so that
    some conflict with the other parties' and some do not."""
    rng = random.Random(seed)
    return [
        circle_op(
            party,
            f"{party}-{k}",
            lat=35.0 + rng.uniform(0.0, 0.6),
            lon=40.0 + rng.uniform(0.0, 0.6),
            radius_m=rng.uniform(1_000.0, 8_000.0),
            fl=(fl := rng.randrange(100, 300, 10), fl + 20),
            start=T0 + timedelta(hours=rng.uniform(0.0, 6.0)),
        )
        for k in range(n)
    ]


def test_a_batch_finds_what_filing_one_at_a_time_finds_by_brute_force(service: OperationService) -> None:
    """Each operation of a batch gets the conflicts that the exact check finds against every
    operation filed before it, in earlier batches or earlier in its own, as filing them one
    at a time would (the index and the shared exact check left out)."""
    policy = service.policy()
    trios = zip(*(_scattered(party, 10, 5) for party in ("CIV", "RED", "BLUE")), strict=True)
    mixed = [op for trio in trios for op in trio]
    batches = [
        _scattered("BLUE", 25, 1),
        [replace(op, id=f"{op.id}-b") for op in _scattered("RED", 25, 2)],
        _scattered("CIV", 1, 3) + [replace(op, id=f"{op.id}-m") for op in mixed],  # parties interleaved
    ]
    filed: list[Operation] = []
    found_any = 0
    for batch in batches:
        results = service.file_many(batch)
        assert [r.operation for r in results] == batch
        for op, result in zip(batch, results, strict=True):
            earlier = sorted(filed, key=lambda o: o.key)
            expected = [c for other in earlier if (c := operation_conflict(op, other, policy)) is not None]
            assert sorted(result.conflicts, key=lambda c: (c.b.party, c.b.id)) == expected
            found_any += len(expected)
            filed.append(op)
    assert found_any > 30  # the scenario is dense enough to test something
    # every conflict is stored once, for both sides, as single filings store them
    for op in filed:
        mine = {(c.b.party, c.b.id) for c in service.conflicts(op.party, op.id)}
        assert mine == {
            (o.party, o.id) for o in filed if o.party != op.party and operation_conflict(op, o, policy)
        }


def test_a_batch_with_one_bad_operation_files_none(service: OperationService) -> None:
    service.file(circle_op("BLUE", "B1"))
    good = _scattered("RED", 3, 7)

    def refused(batch: list[Operation], error: type[Exception], match: str) -> None:
        with pytest.raises(error, match=match):
            service.file_many(batch)
        assert [o.id for o in service.operations()] == ["B1"]
        assert service.conflicts("BLUE") == []

    again = circle_op("RED", "RED-1")
    refused([*good, again], InvalidInput, r"operations\[3\]\.id: 'RED-1' is also operations\[1\]")
    later = replace(circle_op("RED", "R9"), version=2)
    refused([*good, later], StaleVersion, r"operations\[3\]: .*version 1, not 2")
    refused([], InvalidInput, "at least one")
    refused([circle_op("RED", f"R{k}") for k in range(MAX_BATCH + 1)], InvalidInput, "limit of 1000")
    # an id already stored fails at insert time, after the detection: still nothing stays
    service.file(circle_op("RED", "R1", lon=40.05))
    with pytest.raises(AlreadyExists, match=r"operations\[2\]: operation 'R1'"):
        service.file_many([circle_op("RED", "R2", lon=40.05), circle_op("RED", "R3"), circle_op("RED", "R1")])
    assert [o.id for o in service.operations()] == ["B1", "R1"]
    assert [(c.a.id, c.b.id) for c in service.conflicts("BLUE")] == [("B1", "R1")]
    with pytest.raises(NotFound):
        service.file_many([circle_op("NOBODY", "N1")])
