"""What the F3548 use-cases share: limits, references, searches, notification, and the
operation that carries each entity.

The use-cases themselves are in :mod:`~deconfliction.service.f3548.intents` (operational
intents and constraints) and :mod:`~deconfliction.service.f3548.subscriptions`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final

import shapely

from deconfliction.engine.minima import EN_ROUTE, Minima
from deconfliction.engine.operation import Operation, OperationState
from deconfliction.engine.strategic import StrategicConflict
from deconfliction.errors import Forbidden, InvalidInput, InvalidTimeWindow, NotFound
from deconfliction.geo.codec import volume_to_dict
from deconfliction.geo.footprint import Footprint
from deconfliction.geo.volume import Volume4D
from deconfliction.service.admin import DEFAULT_DESK
from deconfliction.service.clock import Clock
from deconfliction.service.f3548.model import (
    CONSTRAINT,
    DEFAULT_BASE_URL,
    MAX_AREA_M2,
    MAX_RESULTS,
    OPERATIONAL_INTENT,
    Extent,
    Reference,
    Subscribers,
    bridge_entity,
)
from deconfliction.service.notices import announce_changes
from deconfliction.service.operations import OperationService
from deconfliction.store.auth import Desk, DesksRepo
from deconfliction.store.base import Party, PartyKind, Store, Transaction
from deconfliction.store.events import AuditRepo, canonical_json
from deconfliction.store.f3548 import DssEntity, DssRepo, DssSubscription
from deconfliction.store.f3548_bridge import BridgeRepo

#: Origin of time-based notification indices (which must fit F3548's int32 until 2088).
INDEX_EPOCH: Final = datetime(2020, 1, 1, tzinfo=UTC)


class AreaTooLarge(InvalidInput):
    """An area over :data:`~deconfliction.service.f3548.model.MAX_AREA_M2` (HTTP 413 in F3548)."""


def new_ovn() -> str:
    return secrets.token_urlsafe(24)


def union_area_m2(footprints: Sequence[Footprint]) -> float:
    """Area of the union of ``footprints``, in the frame of the first."""
    frame = footprints[0].frame()
    return float(shapely.union_all([f.shape_in(frame) for f in footprints]).area)


def check_area(footprints: Sequence[Footprint], path: str) -> None:
    area = union_area_m2(footprints)
    if area > MAX_AREA_M2:
        raise AreaTooLarge(path, f"covers {area / 1e6:,.0f} km^2; the limit is {MAX_AREA_M2 / 1e6:,.0f} km^2")


def volumes_sha256(volumes: Sequence[Volume4D]) -> str:
    """The digest of ``volumes`` that audit entries carry instead of the volumes."""
    return hashlib.sha256(canonical_json([volume_to_dict(v) for v in volumes]).encode()).hexdigest()


def subscription_extent(sub: DssSubscription) -> Extent:
    return Extent.of(sub.volume)


class F3548Base:
    """What every F3548 use-case shares: the store, the clock, and the helpers below."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        default_minima: Minima = EN_ROUTE,
        time_based_index: bool = False,
        base_url: str = DEFAULT_BASE_URL,
    ) -> None:
        self.store = store
        self.clock = clock
        self.default_minima = default_minima
        #: Notification indices from the clock (seconds since :data:`INDEX_EPOCH`, and
        #: always at least one more than before) instead of plain counters.
        self.time_based_index = time_based_index
        #: Where the service answers as the managing USS of native operations' constraints.
        self.base_url = base_url

    def _ensure_party(self, tx: Transaction, manager: str) -> None:
        """Register the USS as a party of kind ``uas``, with a duty desk, on first use (as
        ``deconfliction admin party add ID --kind uas`` would have)."""
        try:
            tx.get_party(manager)
        except NotFound:
            try:
                party = Party(manager, manager, PartyKind.UAS)
            except InvalidInput as exc:
                raise Forbidden(f"token subject {manager!r} cannot be a party id: {exc.rule}") from None
            tx.add_party(party)
            tx.repo(DesksRepo).add(Desk(manager, DEFAULT_DESK, "en"))
            tx.repo(AuditRepo).append(
                manager,
                "party.added",
                "f3548",
                {"party": manager, "name": manager, "kind": party.kind.value, "desk": DEFAULT_DESK},
                self.clock.now(),
            )

    @staticmethod
    def _availability(dss: DssRepo, manager: str) -> str:
        found = dss.availability(manager)
        return found[0] if found is not None else "Unknown"

    def _reference(self, dss: DssRepo, e: DssEntity, viewer: str) -> Reference:
        return Reference(e, self._availability(dss, e.party), e.party == viewer)

    def _check_extents(self, extents: Sequence[Extent], path: str) -> list[Volume4D]:
        """The extents of a put as volumes: times present, union within the area limit,
        ending in the future."""
        volumes = [e.volume() for e in extents]
        check_area([v.footprint for v in volumes], path)
        if max(v.window.end for v in volumes) < self.clock.now():
            raise InvalidTimeWindow(path, "ends in the past")
        return volumes

    def _search(self, dss: DssRepo, kind: str, extents: Sequence[Extent]) -> list[DssEntity]:
        """Entities of ``kind`` that may intersect one of ``extents`` (:meth:`Extent.intersects`:
        cells at the DSS resolution, exact times and altitudes)."""
        found = []
        for entity in dss.search_entities(kind, [e.search_box() for e in extents]):
            op = dss.tx.get_operation(entity.party, entity.id)
            if any(ext.intersects(v) for ext in extents for v in op.volumes):
                found.append(entity)
        if kind == CONSTRAINT:  # and the native operations published as constraints (the bridge)
            for c in dss.tx.repo(BridgeRepo).search([e.search_box() for e in extents]):
                if any(ext.intersects(v) for ext in extents for v in c.volumes):
                    found.append(bridge_entity(c, self.base_url))
        if len(found) > MAX_RESULTS:
            raise AreaTooLarge("area_of_interest", f"matches more than {MAX_RESULTS} entities; narrow it")
        return found

    def _notify(self, dss: DssRepo, kind: str, volumes: Sequence[Volume4D]) -> tuple[Subscribers, ...]:
        """Bump the index of each subscription intersecting ``volumes`` that wants ``kind``;
        return them grouped by base URL (F3548 ``SubscriberToNotify``)."""
        extents = [Extent.of(v) for v in volumes]
        by_url: dict[str, list[tuple[str, int]]] = {}
        for sub in dss.search_subscriptions([e.search_box() for e in extents]):
            wants = (
                sub.notify_for_operational_intents
                if kind == OPERATIONAL_INTENT
                else sub.notify_for_constraints
            )
            if not wants or not any(subscription_extent(sub).intersects(v) for v in volumes):
                continue
            floor = int((self.clock.now() - INDEX_EPOCH).total_seconds()) if self.time_based_index else 0
            index = dss.bump_notification_index(sub.id, floor)
            by_url.setdefault(sub.uss_base_url, []).append((sub.id, index))
        return tuple(Subscribers(url, tuple(subs)) for url, subs in sorted(by_url.items()))

    def _store_operation(self, tx: Transaction, op: Operation, entity: DssEntity, cause: str) -> None:
        """Insert or replace the operation that carries ``entity``, detect its conflicts with
        every other party's operations (native or F3548) as a native filing would, tell
        both sides of each conflict that appeared, changed or cleared, and audit the change."""
        before: list[StrategicConflict] = []
        try:
            current = tx.get_operation(op.party, op.id)
        except NotFound:
            tx.insert_operation(op)
            stored = op
        else:
            before = tx.conflicts_of(op.party, op.id)
            stored = replace(op, version=current.version + 1)
            tx.update_operation(stored, current.version)
        after = OperationService(self.store, self.default_minima).detect(tx, stored) if stored.live else []
        tx.replace_conflicts(stored.party, stored.id, after)
        self._record(tx, stored, entity, cause, before, after)

    def _retire_operation(self, tx: Transaction, entity: DssEntity) -> Operation:
        current = tx.get_operation(entity.party, entity.id)
        before = tx.conflicts_of(entity.party, entity.id)
        retired = replace(current, state=OperationState.CANCELLED, version=current.version + 1)
        tx.update_operation(retired, current.version)
        tx.replace_conflicts(entity.party, entity.id, [])
        self._record(tx, retired, entity, "deleted", before, [])
        return current

    def _record(
        self,
        tx: Transaction,
        op: Operation,
        entity: DssEntity,
        cause: str,
        before: Sequence[StrategicConflict],
        after: Sequence[StrategicConflict],
    ) -> None:
        now = self.clock.now()
        body = {
            "f3548_id": entity.id,
            "f3548_kind": entity.kind,
            "f3548_version": entity.version,
            "f3548_state": entity.state,
            "operation_id": op.id,
            "version": op.version,
            "state": op.state.value,
            "volumes_sha256": volumes_sha256(op.volumes),
        }
        tx.repo(AuditRepo).append(op.party, f"f3548.{entity.kind}.{cause}", op.party, body, now)
        announce_changes(tx, op.party, before, after, f"f3548 {cause}", now)

    @staticmethod
    def _drop_implicit(dss: DssRepo, subscription_id: str | None) -> None:
        if subscription_id is None:
            return
        sub = dss.get_subscription(subscription_id)
        if sub is not None and sub.implicit and not dss.dependents(subscription_id):
            dss.delete_subscription(subscription_id)
