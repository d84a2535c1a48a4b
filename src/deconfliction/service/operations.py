"""Filing, changing and querying operations: each use-case is one store transaction.

Filing validates (domain values validate themselves on construction), finds
candidates through the store's cell index, lets the engine decide the exact
conflicts, and stores the operation and its conflicts together, so a reader never
sees an operation without its conflicts or the reverse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, TypeVar

from deconfliction.engine.batch import earlier_candidates
from deconfliction.engine.minima import EN_ROUTE, Minima, MinimaPolicy
from deconfliction.engine.operation import LIVE_STATES, Operation, OperationState, check_transition
from deconfliction.engine.plan import conflicting_candidates
from deconfliction.engine.policy import PairMode
from deconfliction.engine.strategic import Candidate, StrategicConflict, conflicts_of_each
from deconfliction.errors import AlreadyExists, InvalidInput, NotFound, StaleVersion
from deconfliction.geo.grid import DEFAULT_GRID
from deconfliction.geo.volume import Volume4D
from deconfliction.service.filing_groups import Filing, Finish, groups_for
from deconfliction.service.limits import check_change, check_new
from deconfliction.store.base import Party, Store, Transaction
from deconfliction.store.policy import PoliciesRepo

R = TypeVar("R")

#: Most operations one batch may file: the batch holds the store's write lock while it
#: runs, about 2 ms per operation (docs/benchmarks.md), so 1,000 hold it about 2 s.
MAX_BATCH: Final = 1000


@dataclass(frozen=True, slots=True)
class FilingResult:
    """The operation as stored and its conflicts, each seen by the filing party."""

    operation: Operation
    conflicts: tuple[StrategicConflict, ...]


class OperationService:
    """Operations use-cases over one store."""

    def __init__(self, store: Store, default_minima: Minima = EN_ROUTE) -> None:
        self.store = store
        self.default_minima = default_minima
        self._groups = groups_for(store, default_minima)

    # -- parties and policy -------------------------------------------------------------

    def add_party(self, party: Party) -> Party:
        """Register a party; AlreadyExists if its id is taken."""
        with self.store.transaction() as tx:
            tx.add_party(party)
        return party

    def ensure_party(self, party: Party) -> Party:
        """Register a party unless one with its id exists; return the stored one."""
        with self.store.transaction() as tx:
            try:
                tx.add_party(party)
            except AlreadyExists:
                return tx.get_party(party.id)
        return party

    def set_pair_minima(self, party_a: str, party_b: str, minima: Minima) -> None:
        """Set the minima between two registered parties."""
        with self.store.transaction() as tx:
            tx.get_party(party_a)
            tx.get_party(party_b)
            tx.set_pair_minima(party_a, party_b, minima)

    def policy(self) -> MinimaPolicy:
        """The minima policy in force now."""
        with self.store.transaction() as tx:
            return self.policy_in(tx)

    def policy_in(self, tx: Transaction) -> MinimaPolicy:
        """The minima policy in force in ``tx``, with each pair's disclosure grid."""
        policies = tx.repo(PoliciesRepo).all()
        grids = {key: policy.grid for key, policy in policies.items()}
        private = frozenset(key for key, policy in policies.items() if policy.mode is PairMode.PRIVATE)
        return MinimaPolicy(self.default_minima, tx.pair_minima(), DEFAULT_GRID, grids, private)

    # -- operations -----------------------------------------------------------------------

    def file(self, operation: Operation) -> FilingResult:
        """Store a new operation (version 1) and its conflicts with other parties' live ones."""
        return self.file_with(operation, _store_conflicts)

    def file_with(self, operation: Operation, finish: Finish[R]) -> R:
        """File a new operation (version 1): insert it, and run ``finish`` with its
        conflicts in the same transaction, which stores them (and whatever else the
        use-case records) and makes the result. Filings of other threads waiting at the
        same time are filed with it (:mod:`deconfliction.service.filing_groups`)."""
        if operation.version != 1:
            raise StaleVersion(f"a new operation starts at version 1, not {operation.version}")
        return self._groups.file(Filing(operation, finish), self._file_group)

    def _file_group(self, group: list[Filing[Any]]) -> None:
        with self.store.transaction() as tx:
            found = self.insert_new(tx, [filing.operation for filing in group])
            results = [
                filing.finish(tx, filing.operation, conflicts)
                for filing, conflicts in zip(group, found, strict=True)
            ]
        for filing, result in zip(group, results, strict=True):
            filing.result = result

    def file_many(self, operations: Sequence[Operation]) -> list[FilingResult]:
        """File a batch of new operations (a day's plan, say) in one transaction: all of
        them or, on any error, none. The results are those of filing them one at a time
        in this order (see :meth:`insert_new`), found faster (docs/decisions/0010)."""
        check_batch(operations)
        with self.store.transaction() as tx:
            found = self.insert_new(tx, operations, plan=True)
            for operation, conflicts in zip(operations, found, strict=True):
                tx.replace_conflicts(operation.party, operation.id, conflicts)
        return [FilingResult(op, tuple(c)) for op, c in zip(operations, found, strict=True)]

    def insert_new(
        self, tx: Transaction, operations: Sequence[Operation], plan: bool = False
    ) -> list[list[StrategicConflict]]:
        """Insert new operations (checked by :func:`check_batch`) in ``tx`` and return
        each one's conflicts, for the caller to store: those of filing them one at a time
        in this order, found together.

        Each operation is checked against its party's plausibility limits
        (:func:`~deconfliction.service.limits.check_new`), then against the store as it
        stands before the batch (one candidate search per party, through the index) and
        against the batch's earlier operations of other parties
        (:func:`~deconfliction.engine.batch.earlier_candidates`), all in one exact check,
        and then they are inserted. For a ``plan`` (a batch filed as such) the store's
        candidates are first narrowed on arrays to the pairs within reach
        (:func:`~deconfliction.engine.plan.conflicting_candidates`), so the exact check
        runs on few more than the conflicts; filings one at a time keep the path measured
        for them (docs/decisions/0014)."""
        first_of_party = {operation.party: n for n, operation in reversed(list(enumerate(operations)))}
        for party, n in sorted(first_of_party.items(), key=lambda item: item[1]):
            try:
                tx.get_party(party)
            except NotFound as exc:
                if len(operations) == 1:
                    raise
                raise NotFound(f"operations[{n}].party: {exc}") from None
        check_new(tx, operations)  # plausibility limits, before anything is written
        policy = self.policy_in(tx)
        stored = _stored_candidates(tx, operations, policy)
        if plan:
            stored = conflicting_candidates(list(zip(operations, stored, strict=True)), policy)
        earlier = earlier_candidates(operations, policy)
        checks = [
            (operation, sorted(mine + theirs, key=lambda c: c.key) if theirs else mine)
            for operation, mine, theirs in zip(operations, stored, earlier, strict=True)
        ]
        conflicts = conflicts_of_each(checks, policy)
        for n, operation in enumerate(operations):
            try:
                tx.insert_operation(operation)
            except AlreadyExists as exc:
                if len(operations) == 1:  # a filing alone: no batch to point into
                    raise
                raise AlreadyExists(f"operations[{n}]: {exc}") from None
        return conflicts

    def update(
        self,
        party: str,
        operation_id: str,
        expected_version: int,
        volumes: Sequence[Volume4D] | None = None,
        priority: int | None = None,
    ) -> FilingResult:
        """Change an operation's volumes or priority; the version must be the current one."""
        with self.store.transaction() as tx:
            current = tx.get_operation(party, operation_id)
            self._require_version(current, expected_version)
            changed = replace(
                current,
                volumes=tuple(volumes) if volumes is not None else current.volumes,
                priority=current.priority if priority is None else priority,
                version=current.version + 1,
            )
            check_change(tx, current, changed)
            conflicts = self._detect(tx, changed) if changed.live else []
            tx.update_operation(changed, expected_version)
            tx.replace_conflicts(party, operation_id, conflicts)
        return FilingResult(changed, tuple(conflicts))

    def transition(
        self, party: str, operation_id: str, target: OperationState, expected_version: int
    ) -> FilingResult:
        """Move an operation through its lifecycle; ended and cancelled ones stop conflicting."""
        with self.store.transaction() as tx:
            current = tx.get_operation(party, operation_id)
            self._require_version(current, expected_version)
            check_transition(current.state, target)
            changed = replace(current, state=target, version=current.version + 1)
            tx.update_operation(changed, expected_version)
            # Stored conflicts name the version they were found against, so a state change
            # (which bumps the version) re-detects rather than leaving stale references.
            conflicts = self._detect(tx, changed) if target in LIVE_STATES else []
            tx.replace_conflicts(party, operation_id, conflicts)
        return FilingResult(changed, tuple(conflicts))

    def get(self, party: str, operation_id: str) -> Operation:
        """One of ``party``'s operations; NotFound otherwise."""
        with self.store.transaction() as tx:
            return tx.get_operation(party, operation_id)

    def operations(self, party: str | None = None) -> list[Operation]:
        """Operations of one party, or all of them."""
        with self.store.transaction() as tx:
            return tx.list_operations(party)

    def conflicts(self, party: str, operation_id: str | None = None) -> list[StrategicConflict]:
        """Conflicts involving ``party`` (or one of its operations), seen by ``party``."""
        with self.store.transaction() as tx:
            if operation_id is not None:
                tx.get_operation(party, operation_id)
            return tx.conflicts_of(party, operation_id)

    def check(self, operation: Operation) -> list[StrategicConflict]:
        """Conflicts ``operation`` would have if filed now, without storing anything."""
        with self.store.transaction() as tx:
            return self._detect(tx, operation)

    # -- helpers --------------------------------------------------------------------------

    def detect(self, tx: Transaction, operation: Operation) -> list[StrategicConflict]:
        """Conflicts ``operation`` has with the live operations in ``tx``; stores nothing.

        For use-cases that compose their own transaction (``service.access``)."""
        return self._detect(tx, operation)

    def _detect(self, tx: Transaction, operation: Operation) -> list[StrategicConflict]:
        policy = self.policy_in(tx)
        return conflicts_of_each([(operation, _stored_candidates(tx, [operation], policy)[0])], policy)[0]

    @staticmethod
    def _require_version(current: Operation, expected_version: int) -> None:
        if current.version != expected_version:
            raise StaleVersion(
                f"operation {current.party}/{current.id} is at version {current.version}, "
                f"not {expected_version}; fetch it again and retry"
            )


def _stored_candidates(
    tx: Transaction, operations: Sequence[Operation], policy: MinimaPolicy
) -> list[list[Candidate]]:
    """Each operation's candidates among the stored ones, with one search per party (a
    party's operations share its widest minima and the candidates they have in common)."""
    by_party: dict[str, list[int]] = {}
    for n, operation in enumerate(operations):
        by_party.setdefault(operation.party, []).append(n)
    found: list[list[Candidate]] = [[] for _ in operations]
    for party, numbers in by_party.items():
        volume_sets = [operations[n].volumes for n in numbers]
        searched = tx.find_candidates_of_each(volume_sets, policy.widest_for(party), party)
        for n, candidates in zip(numbers, searched, strict=True):
            found[n] = candidates
    return found


def _store_conflicts(
    tx: Transaction, operation: Operation, conflicts: list[StrategicConflict]
) -> FilingResult:
    tx.replace_conflicts(operation.party, operation.id, conflicts)
    return FilingResult(operation, tuple(conflicts))


def check_batch(operations: Sequence[Operation]) -> None:
    """InvalidInput or StaleVersion naming the first operation of a batch of new ones
    that breaks a rule of :meth:`OperationService.file_many`."""
    if not operations:
        raise InvalidInput("operations", "a batch needs at least one operation")
    if len(operations) > MAX_BATCH:
        raise InvalidInput(
            "operations", f"{len(operations)} operations exceed the limit of {MAX_BATCH} per batch"
        )
    first: dict[tuple[str, str], int] = {}
    for n, operation in enumerate(operations):
        if operation.version != 1:
            raise StaleVersion(
                f"operations[{n}]: a new operation starts at version 1, not {operation.version}"
            )
        seen = first.setdefault(operation.key, n)
        if seen != n:
            raise InvalidInput(f"operations[{n}].id", f"{operation.id!r} is also operations[{seen}].id")
