"""What the F3548 DSS use-cases share: limits, errors, body checks, references and searches.

The use-cases themselves are in :mod:`~deconfliction.interop.f3548.service` (operational
intents and constraints) and :mod:`~deconfliction.interop.f3548.subscriptions`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from uas_standards.astm.f3548.v21 import constants as f3548_constants
from uas_standards.astm.f3548.v21.api import OperationalIntentState as OIState
from uas_standards.astm.f3548.v21.api import UssAvailabilityState

from deconfliction.engine.minima import EN_ROUTE, Minima
from deconfliction.engine.operation import Operation, OperationState
from deconfliction.engine.strategic import StrategicConflict
from deconfliction.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTimeWindow,
    NotFound,
)
from deconfliction.geo.codec import volume_to_dict
from deconfliction.geo.footprint import Footprint
from deconfliction.geo.volume import Volume4D
from deconfliction.interop.f3548.volumes import Extent, format_time, parse_volume4d, union_area_m2
from deconfliction.service.admin import DEFAULT_DESK
from deconfliction.service.clock import Clock
from deconfliction.service.notices import announce_changes
from deconfliction.service.operations import OperationService
from deconfliction.store.auth import Desk, DesksRepo
from deconfliction.store.base import Party, PartyKind, Store, Transaction
from deconfliction.store.dss import (
    OPERATIONAL_INTENT,
    DssEntity,
    DssRepo,
    DssSubscription,
)
from deconfliction.store.events import AuditRepo, canonical_json

#: F3548 operational intent states a reference may be put in, and the state of the
#: operation that carries it: all of them still claim airspace.
OI_STATES: Final = {
    OIState.Accepted.value: OperationState.ACCEPTED,
    OIState.Activated.value: OperationState.ACTIVATED,
    OIState.Nonconforming.value: OperationState.ACTIVATED,
    OIState.Contingent.value: OperationState.ACTIVATED,
}
#: States that need a key holding every intersecting intent in these states.
KEY_STATES: Final = frozenset({OIState.Accepted.value, OIState.Activated.value})
#: Largest area a reference, subscription or query may cover (F3548 / InterUSS DSS).
MAX_AREA_M2: Final = 2500e6
#: Most references or subscriptions one query returns.
MAX_RESULTS: Final = 10_000
#: Longest subscription (F3548-21 DSSMaxSubscriptionDurationHours).
MAX_SUBSCRIPTION: Final = timedelta(hours=f3548_constants.DSSMaxSubscriptionDurationHours)
#: Origin of time-based notification indices (which must fit F3548's int32 until 2088).
INDEX_EPOCH: Final = datetime(2020, 1, 1, tzinfo=UTC)
#: What others see instead of an entity's OVN.
NO_OVN: Final = "Available from USS"
AVAILABILITIES: Final = tuple(a.value for a in UssAvailabilityState)
#: How far a subscription may miss a dependent intent's start or end: USS clocks differ.
COVER_SLACK: Final = timedelta(seconds=60)


class AirspaceConflict(Conflict):
    """The key lacks the OVNs of intersecting entities (409 ``AirspaceConflictResponse``)."""

    def __init__(
        self,
        message: str,
        missing: list[dict[str, Any]],
        missing_constraints: list[dict[str, Any]] | None = None,
    ) -> None:
        self.missing = missing
        self.missing_constraints = missing_constraints or []
        super().__init__(message)


class UssDown(Conflict):
    """The USS is marked Down (by availability arbitration) and may not put an intent in
    Accepted or Activated, nor delete one (HTTP 412 in F3548)."""


@dataclass(frozen=True, slots=True)
class Change:
    """The response of a change: the entity (or subscription) and whom to notify."""

    body: dict[str, Any]
    status: int = 200


def check_id(value: str, what: str) -> str:
    """F3548 entity and subscription ids are UUIDs."""
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(what, f"{value!r} is not a UUID") from None
    return value.lower()


def json_object(data: Any, path: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(path, f"expected a JSON object, got {type(data).__name__}")
    return data


def https_url(data: Any, path: str) -> str:
    if not isinstance(data, str) or not data.startswith("https://") or len(data) > 2048:
        raise InvalidInput(path, "must be an https:// URL (F3548 requires TLS)")
    return data


def json_bool(data: Any, path: str) -> bool:
    if data is None:
        return False
    if not isinstance(data, bool):
        raise InvalidInput(path, f"expected true or false, got {data!r}")
    return data


def new_ovn() -> str:
    return secrets.token_urlsafe(24)


def check_area(footprints: Sequence[Footprint], path: str) -> None:
    area = union_area_m2(footprints)
    if area > MAX_AREA_M2:
        raise InvalidInput(path, f"covers {area / 1e6:,.0f} km^2; the limit is {MAX_AREA_M2 / 1e6:,.0f} km^2")


class DssBase:
    """What every F3548 use-case shares: the store, the clock, and the helpers below."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        default_minima: Minima = EN_ROUTE,
        time_based_index: bool = False,
    ) -> None:
        self.store = store
        self.clock = clock
        self.default_minima = default_minima
        #: Notification indices from the clock (seconds since :data:`INDEX_EPOCH`, and
        #: always at least one more than before) instead of plain counters.
        self.time_based_index = time_based_index

    # -- shared ----------------------------------------------------------------------

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

    def _availability(self, dss: DssRepo, manager: str) -> str:
        found = dss.availability(manager)
        return found[0] if found is not None else "Unknown"

    def _reference(self, dss: DssRepo, e: DssEntity, viewer: str) -> dict[str, Any]:
        ref: dict[str, Any] = {
            "id": e.id,
            "manager": e.party,
            "uss_availability": self._availability(dss, e.party),
            "version": e.version,
            "ovn": e.ovn if e.party == viewer else NO_OVN,
            "time_start": format_time(e.time_start),
            "time_end": format_time(e.time_end),
            "uss_base_url": e.uss_base_url,
        }
        if e.kind == OPERATIONAL_INTENT:
            ref["state"] = e.state
            ref["subscription_id"] = e.subscription_id or ""
        return ref

    def _parse_extents(self, data: Any, path: str) -> list[Extent]:
        if not isinstance(data, list) or not data:
            raise InvalidInput(path, "must be a non-empty list of Volume4D")
        extents = [parse_volume4d(v, f"{path}[{i}]") for i, v in enumerate(data)]
        for i, e in enumerate(extents):
            if e.start is None:
                raise InvalidTimeWindow(f"{path}[{i}].time_start", "is required")
            if e.end is None:
                raise InvalidTimeWindow(f"{path}[{i}].time_end", "is required")
        check_area([e.footprint for e in extents], path)
        end = max(e.end for e in extents if e.end is not None)
        if end < self.clock.now():
            raise InvalidTimeWindow(f"{path}", "ends in the past")
        return extents

    def _parse_aoi(self, body: Any) -> Extent:
        obj = json_object(body, "body")
        if obj.get("area_of_interest") is None:
            raise InvalidInput("area_of_interest", "is required")
        aoi = parse_volume4d(obj["area_of_interest"], "area_of_interest")
        check_area([aoi.footprint], "area_of_interest")
        return aoi

    def _search(
        self, dss: DssRepo, kind: str, extents: Sequence[Extent]
    ) -> list[tuple[DssEntity, Operation]]:
        """Entities of ``kind`` that may intersect one of ``extents`` (:meth:`Extent.intersects`:
        cells at the DSS resolution, exact times and altitudes), with their operations."""
        found = []
        for entity in dss.search_entities(kind, [e.search_box() for e in extents]):
            op = dss.tx.get_operation(entity.party, entity.id)
            if any(ext.intersects(v) for ext in extents for v in op.volumes):
                found.append((entity, op))
        if len(found) > MAX_RESULTS:
            raise InvalidInput("area_of_interest", f"matches more than {MAX_RESULTS} entities; narrow it")
        return found

    def _notify(self, dss: DssRepo, kind: str, volumes: Sequence[Volume4D]) -> list[dict[str, Any]]:
        """Bump the index of each subscription intersecting ``volumes`` that wants ``kind``;
        return them as F3548 ``SubscriberToNotify`` grouped by base URL."""
        extents = [
            Extent(v.footprint, v.band.lower_m, v.band.upper_m, v.window.start, v.window.end) for v in volumes
        ]
        by_url: dict[str, list[dict[str, Any]]] = {}
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
            by_url.setdefault(sub.uss_base_url, []).append(
                {"subscription_id": sub.id, "notification_index": index}
            )
        return [{"uss_base_url": url, "subscriptions": subs} for url, subs in sorted(by_url.items())]

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
            "volumes_sha256": hashlib.sha256(
                canonical_json([volume_to_dict(v) for v in op.volumes]).encode()
            ).hexdigest(),
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


def subscription_extent(sub: DssSubscription) -> Extent:
    v = sub.volume
    return Extent(v.footprint, v.band.lower_m, v.band.upper_m, v.window.start, v.window.end)
