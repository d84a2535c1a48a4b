"""Operations as a party sees them: own operations only, notices, lead time, awareness.

Wraps :class:`OperationService` for callers that act for one party (the HTTP API):
every use-case names the acting party and touches only that party's operations (any
other id is NotFound, exactly like a missing one). In the same transaction as each
change it records the notice given (lead time, and to whom it was late), re-detects the
operation's conflicts against the others' current versions, tells both sides of every
conflict that appeared, changed or cleared (``service.notices``), and appends the
change to the party's audit chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from deconfliction.engine.operation import LIVE_STATES, Operation, OperationState, check_transition
from deconfliction.engine.policy import Notice, notice_given
from deconfliction.engine.strategic import StrategicConflict
from deconfliction.errors import InvalidInput, InvalidTransition, StaleVersion
from deconfliction.geo.codec import volume_to_dict
from deconfliction.geo.timewindow import format_utc
from deconfliction.geo.volume import Volume4D
from deconfliction.service.awareness import AcknowledgementResult, acknowledge, require_awareness
from deconfliction.service.clock import Clock
from deconfliction.service.f3548.bridge import Bridge
from deconfliction.service.limits import check_change
from deconfliction.service.notices import ChangeViews, announce_changes
from deconfliction.service.operations import OperationService, check_batch
from deconfliction.service.probing import watch
from deconfliction.store.base import Store, Transaction
from deconfliction.store.events import AuditRepo, canonical_json
from deconfliction.store.policy import NoticeRecord, NoticesRepo, PoliciesRepo

#: Longest purpose text kept with an operation (it is shown to its own party only).
MAX_PURPOSE_CHARS = 2000


@dataclass(frozen=True, slots=True)
class OwnOperation:
    """An operation of the caller's, with the notice its newest filed version gave."""

    operation: Operation
    record: NoticeRecord | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """A change's result: the operation as stored, and its conflicts as its party sees them
    (``conflicts``) and as found (``detected``, the operation as side a; for operators)."""

    own: OwnOperation
    conflicts: list[dict[str, Any]]
    detected: tuple[StrategicConflict, ...]


def _notice_dict(notice: Notice) -> dict[str, Any]:
    return {
        "filed_at": format_utc(notice.filed_at),
        "lead_s": round(notice.lead_s, 3),
        "late": notice.late,
        "late_for": list(notice.late_for),
    }


def _volumes_digest(volumes: Sequence[Volume4D]) -> str:
    text = canonical_json([volume_to_dict(v) for v in volumes])
    return hashlib.sha256(text.encode()).hexdigest()


def _check_purpose(purpose: str | None) -> None:
    if purpose is not None and (not isinstance(purpose, str) or len(purpose) > MAX_PURPOSE_CHARS):
        raise InvalidInput("purpose", f"at most {MAX_PURPOSE_CHARS} characters")


def _check_new(operation: Operation, purpose: str | None) -> None:
    _check_purpose(purpose)
    if operation.version != 1:
        raise StaleVersion(f"a new operation starts at version 1, not {operation.version}")
    if operation.state is not OperationState.PROPOSED:
        raise InvalidInput("state", "a new operation is filed as proposed")


class AccessService:
    """Use-cases for one acting party; one store transaction each."""

    def __init__(self, store: Store, clock: Clock, operations: OperationService | None = None) -> None:
        self.store = store
        self.clock = clock
        self.operations = operations or OperationService(store)

    # -- reading --------------------------------------------------------------------------

    def get(self, party: str, operation_id: str) -> OwnOperation:
        with self.store.transaction() as tx:
            return self._own(tx, tx.get_operation(party, operation_id))

    def list_own(self, party: str, states: frozenset[OperationState] | None = None) -> list[OwnOperation]:
        with self.store.transaction() as tx:
            return [self._own(tx, op) for op in tx.list_operations(party, states)]

    def conflicts(self, party: str, operation_id: str | None = None) -> list[dict[str, Any]]:
        """The party's conflicts (or one operation's), as it may see them."""
        with self.store.transaction() as tx:
            if operation_id is not None:
                tx.get_operation(party, operation_id)
            return ChangeViews(tx, self.clock.now()).views(party, tx.conflicts_of(party, operation_id))

    # -- changing -------------------------------------------------------------------------

    def file(self, operation: Operation, purpose: str | None = None) -> Outcome:
        """File a new operation (version 1) for its party."""
        _check_new(operation, purpose)
        now = self.clock.now()

        def filed(tx: Transaction, operation: Operation, conflicts: list[StrategicConflict]) -> Outcome:
            return self._filed(tx, operation, purpose, conflicts, now)

        # with other threads' filings waiting at the same time, in one transaction
        return self.operations.file_with(operation, filed)

    def file_many(self, filings: Sequence[tuple[Operation, str | None]]) -> list[Outcome]:
        """File a batch of new operations, each with its purpose, in one transaction:
        every one of them, with its notice, audit entry and events, or on any error none
        (see :meth:`OperationService.file_many`)."""
        operations = [operation for operation, _ in filings]
        check_batch(operations)
        for n, (operation, purpose) in enumerate(filings):
            try:
                _check_new(operation, purpose)
            except InvalidInput as exc:
                raise exc.within(f"operations[{n}]") from None
        now = self.clock.now()
        with self.store.transaction() as tx:
            found = self.operations.insert_new(tx, operations, plan=True)
            return [
                self._filed(tx, operation, purpose, conflicts, now)
                for (operation, purpose), conflicts in zip(filings, found, strict=True)
            ]

    def _filed(
        self,
        tx: Transaction,
        operation: Operation,
        purpose: str | None,
        conflicts: list[StrategicConflict],
        now: datetime,
    ) -> Outcome:
        """Conflicts, notice, audit entry and events of a just-inserted new operation."""
        tx.replace_conflicts(operation.party, operation.id, conflicts)
        notice = self._record_notice(tx, operation, purpose)
        views = ChangeViews(tx, now)
        self._audit(tx, operation, "operation.filed", notice, now)
        announce_changes(tx, operation.party, [], conflicts, "filed", now, _notice_dict(notice), views)
        watch(tx, operation, "filed", conflicts, _volumes_digest(operation.volumes), now)
        views_of = views.views(operation.party, conflicts)
        return Outcome(self._own(tx, operation), views_of, tuple(conflicts))

    def update(
        self,
        party: str,
        operation_id: str,
        expected_version: int,
        volumes: Sequence[Volume4D] | None = None,
        priority: int | None = None,
        purpose: str | None = None,
    ) -> Outcome:
        """Change volumes, priority or purpose; ``expected_version`` must be the current one."""
        _check_purpose(purpose)
        if volumes is None and priority is None and purpose is None:
            # A bare version bump would change every conflict's reference for nothing.
            raise InvalidInput("volumes", "nothing to change: give volumes, priority or purpose")
        now = self.clock.now()
        with self.store.transaction() as tx:
            current = tx.get_operation(party, operation_id)
            self._require_version(current, expected_version)
            if not current.live:
                raise InvalidTransition(
                    f"operation {operation_id!r} is {current.state}; it can no longer change"
                )
            changed = replace(
                current,
                volumes=tuple(volumes) if volumes is not None else current.volumes,
                priority=current.priority if priority is None else priority,
                version=current.version + 1,
            )
            check_change(tx, current, changed)
            before = tx.conflicts_of(party, operation_id)
            conflicts = self.operations.detect(tx, changed)
            tx.update_operation(changed, expected_version)
            tx.replace_conflicts(party, operation_id, conflicts)
            previous = tx.repo(NoticesRepo).latest(party, operation_id)
            kept_purpose = purpose if purpose is not None else (previous.purpose if previous else None)
            notice = self._record_notice(tx, changed, kept_purpose)
            views = ChangeViews(tx, now)
            self._audit(tx, changed, "operation.updated", notice, now)
            announce_changes(tx, party, before, conflicts, "updated", now, _notice_dict(notice), views)
            watch(tx, changed, "updated", conflicts, _volumes_digest(changed.volumes), now)
            Bridge(self.store, self.clock).sync(tx, changed)  # its F3548 constraint, if published
            return Outcome(self._own(tx, changed), views.views(party, conflicts), tuple(conflicts))

    def transition(
        self, party: str, operation_id: str, target: OperationState, expected_version: int
    ) -> Outcome:
        """Accept, activate, end or cancel. Activation needs proof of awareness of every
        conflicting operation's current version; ended and cancelled operations stop
        conflicting."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            current = tx.get_operation(party, operation_id)
            self._require_version(current, expected_version)
            check_transition(current.state, target)
            before = tx.conflicts_of(party, operation_id)
            if target is OperationState.ACTIVATED:
                require_awareness(tx, party, self.operations.detect(tx, current), now)
            changed = replace(current, state=target, version=current.version + 1)
            tx.update_operation(changed, expected_version)
            # Re-detected, so stored conflicts always name both sides' current versions.
            conflicts = self.operations.detect(tx, changed) if target in LIVE_STATES else []
            tx.replace_conflicts(party, operation_id, conflicts)
            views = ChangeViews(tx, now)
            self._audit(tx, changed, f"operation.{target.value}", None, now)
            announce_changes(tx, party, before, conflicts, target.value, now, views=views)
            watch(tx, changed, target.value, conflicts, _volumes_digest(changed.volumes), now)
            Bridge(self.store, self.clock).sync(tx, changed)  # publish or withdraw its F3548 constraint
            return Outcome(self._own(tx, changed), views.views(party, conflicts), tuple(conflicts))

    def acknowledge(self, party: str, reference: str, signature: str | None = None) -> AcknowledgementResult:
        """Proof of awareness of the other side of conflict ``reference`` (signed by the
        party when it has a registered key: ``awareness.awareness_payload``)."""
        with self.store.transaction() as tx:
            return acknowledge(tx, party, reference, self.clock.now(), signature)

    # -- helpers --------------------------------------------------------------------------

    def _own(self, tx: Transaction, operation: Operation) -> OwnOperation:
        return OwnOperation(operation, tx.repo(NoticesRepo).latest(operation.party, operation.id))

    def _record_notice(self, tx: Transaction, operation: Operation, purpose: str | None) -> Notice:
        policies = tx.repo(PoliciesRepo).all()
        others = {p for pair in policies for p in pair}
        notice = notice_given(operation, self.clock.now(), others, policies)
        tx.repo(NoticesRepo).record(operation.party, operation.id, operation.version, notice, purpose)
        return notice

    @staticmethod
    def _audit(tx: Transaction, operation: Operation, kind: str, notice: Notice | None, at: datetime) -> None:
        """The audit entry of a change to ``operation``, in its party's chain."""
        body: dict[str, Any] = {
            "operation_id": operation.id,
            "version": operation.version,
            "state": operation.state.value,
            "priority": operation.priority,
            "volumes_sha256": _volumes_digest(operation.volumes),
        }
        if notice is not None:
            body["notice"] = _notice_dict(notice)
        tx.repo(AuditRepo).append(operation.party, kind, operation.party, body, at)

    @staticmethod
    def _require_version(current: Operation, expected_version: int) -> None:
        if current.version != expected_version:
            raise StaleVersion(
                f"operation {current.id} is at version {current.version}, not {expected_version}; "
                "fetch it again and retry"
            )
