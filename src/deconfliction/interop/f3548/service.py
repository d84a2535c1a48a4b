"""The F3548-21 DSS use-cases over our store: one transaction each.

An operational intent (or constraint) reference is filed as an operation of its
manager's party, so the same cell index finds it and the same engine detects its
conflicts with natively filed operations (stored in the core conflicts table, seen by
each party through its own API). F3548 adds, in :class:`~deconfliction.store.dss.DssRepo`:
the OVN (shown to the manager only), the F3548 version (bumped by every change), the
F3548 state, the USS base URL and the subscription the entity depends on.

Semantics follow F3548-21 and the InterUSS DSS: create on an existing id and a stale
OVN are 409; the key check refuses (409, ``AirspaceConflictResponse``) an Accepted or
Activated intent whose key lacks the OVN of an intersecting Accepted or Activated
intent; every change bumps the notification index of each intersecting subscription
and returns those subscribers; implicit subscriptions live as long as an entity
depends on them.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Final

import shapely
from uas_standards.astm.f3548.v21.api import OperationalIntentState as OIState
from uas_standards.astm.f3548.v21.api import UssAvailabilityState

from deconfliction.engine.minima import EN_ROUTE, Minima
from deconfliction.engine.operation import Operation, OperationState
from deconfliction.engine.strategic import StrategicConflict
from deconfliction.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTimeWindow,
    NotFound,
    StaleVersion,
)
from deconfliction.geo.altitude import AltitudeBand, Datum
from deconfliction.geo.codec import volume_to_dict
from deconfliction.geo.footprint import Footprint, Polygon, Position
from deconfliction.geo.timewindow import TimeWindow
from deconfliction.geo.volume import Volume4D
from deconfliction.interop.f3548.auth import (
    AVAILABILITY_ARBITRATION,
    CONFORMANCE_MONITORING_SA,
    CONSTRAINT_MANAGEMENT,
    CONSTRAINT_PROCESSING,
    STRATEGIC_COORDINATION,
    F3548Principal,
)
from deconfliction.interop.f3548.volumes import Extent, format_time, parse_volume4d, union_area_m2
from deconfliction.service.clock import Clock
from deconfliction.service.notices import announce_changes
from deconfliction.service.operations import OperationService
from deconfliction.store.base import Party, PartyKind, Store, Transaction
from deconfliction.store.dss import (
    CONSTRAINT,
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
MAX_SUBSCRIPTION: Final = timedelta(hours=24)
#: What others see instead of an entity's OVN.
NO_OVN: Final = "Available from USS"
AVAILABILITIES: Final = tuple(a.value for a in UssAvailabilityState)
#: How far a subscription may miss a dependent intent's start or end: USS clocks differ.
COVER_SLACK: Final = timedelta(seconds=60)


class AirspaceConflict(Conflict):
    """The key lacks the OVNs of intersecting entities (409 ``AirspaceConflictResponse``)."""

    def __init__(self, message: str, missing: list[dict[str, Any]]) -> None:
        self.missing = missing
        super().__init__(message)


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


def _object(data: Any, path: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(path, f"expected a JSON object, got {type(data).__name__}")
    return data


def _https_url(data: Any, path: str) -> str:
    if not isinstance(data, str) or not data.startswith("https://") or len(data) > 2048:
        raise InvalidInput(path, "must be an https:// URL (F3548 requires TLS)")
    return data


def _bool(data: Any, path: str) -> bool:
    if data is None:
        return False
    if not isinstance(data, bool):
        raise InvalidInput(path, f"expected true or false, got {data!r}")
    return data


def _new_ovn() -> str:
    return secrets.token_urlsafe(24)


def _check_area(footprints: Sequence[Footprint], path: str) -> None:
    area = union_area_m2(footprints)
    if area > MAX_AREA_M2:
        raise InvalidInput(path, f"covers {area / 1e6:,.0f} km^2; the limit is {MAX_AREA_M2 / 1e6:,.0f} km^2")


def _hull(footprints: Sequence[Footprint]) -> Footprint:
    """One footprint covering all of ``footprints``: itself if one, else their convex hull."""
    if len(footprints) == 1:
        return footprints[0]
    frame = footprints[0].frame()
    hull = shapely.union_all([f.shape_in(frame) for f in footprints]).convex_hull
    ring = frame.to_lonlat(hull).exterior.coords[:-1]
    return Polygon(tuple(Position(lat, lon) for lon, lat in ring))


class DssService:
    """F3548 DSS use-cases; ``principal`` is the verified caller of each."""

    def __init__(self, store: Store, clock: Clock, default_minima: Minima = EN_ROUTE) -> None:
        self.store = store
        self.clock = clock
        self.default_minima = default_minima

    # -- shared ----------------------------------------------------------------------

    @staticmethod
    def _ensure_party(tx: Transaction, manager: str) -> None:
        try:
            tx.get_party(manager)
        except NotFound:
            tx.add_party(Party(manager, manager, PartyKind.UAS))

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
        _check_area([e.footprint for e in extents], path)
        end = max(e.end for e in extents if e.end is not None)
        if end < self.clock.now():
            raise InvalidTimeWindow(f"{path}", "ends in the past")
        return extents

    def _parse_aoi(self, body: Any) -> Extent:
        obj = _object(body, "body")
        if obj.get("area_of_interest") is None:
            raise InvalidInput("area_of_interest", "is required")
        aoi = parse_volume4d(obj["area_of_interest"], "area_of_interest")
        _check_area([aoi.footprint], "area_of_interest")
        return aoi

    def _search(
        self, dss: DssRepo, kind: str, extents: Sequence[Extent]
    ) -> list[tuple[DssEntity, Operation]]:
        """Entities of ``kind`` intersecting one of ``extents`` exactly, with their operations."""
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
            if not wants or not any(_sub_extent(sub).intersects(v) for v in volumes):
                continue
            index = dss.bump_notification_index(sub.id)
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

    # -- operational intents ----------------------------------------------------------

    def put_operational_intent(
        self, who: F3548Principal, entity_id: str, ovn: str | None, body: Any
    ) -> Change:
        who.require_any(STRATEGIC_COORDINATION)
        entity_id = check_id(entity_id, "entityid")
        obj = _object(body, "body")
        extents = self._parse_extents(obj.get("extents"), "extents")
        given_state = obj.get("state")
        if given_state not in OI_STATES:
            raise InvalidInput("state", f"{given_state!r} is not one of {', '.join(OI_STATES)}")
        state = str(given_state)
        url = _https_url(obj.get("uss_base_url"), "uss_base_url")
        key = obj.get("key") or []
        if not isinstance(key, list) or not all(isinstance(k, str) for k in key):
            raise InvalidInput("key", "must be a list of OVNs")
        sub_id = obj.get("subscription_id")
        new_sub = obj.get("new_subscription")
        if sub_id is not None and new_sub is not None:
            raise InvalidInput("subscription_id", "give subscription_id or new_subscription, not both")
        if sub_id is None and new_sub is None and state in KEY_STATES:
            raise InvalidInput(
                "subscription_id", f"an {state} intent needs subscription_id or new_subscription"
            )
        if sub_id is not None:
            sub_id = check_id(sub_id, "subscription_id")
        volumes = [e.volume() for e in extents]
        start = min(v.window.start for v in volumes)
        end = max(v.window.end for v in volumes)
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            self._ensure_party(tx, who.manager)
            old = dss.get_entity(entity_id)
            self._check_change(old, who, ovn, OPERATIONAL_INTENT, "operational intent")
            if sub_id is not None:
                sub = dss.get_subscription(sub_id)
                if sub is None:
                    raise InvalidInput("subscription_id", f"no subscription {sub_id}")
                if sub.party != who.manager:
                    raise Forbidden(f"subscription {sub_id} belongs to another manager")
            elif new_sub is not None:
                ns = _object(new_sub, "new_subscription")
                window = TimeWindow(start, end)
                sub = DssSubscription(
                    id=str(uuid.uuid4()),
                    party=who.manager,
                    version=_new_ovn(),
                    notification_index=0,
                    uss_base_url=_https_url(ns.get("uss_base_url"), "new_subscription.uss_base_url"),
                    notify_for_operational_intents=True,
                    notify_for_constraints=_bool(
                        ns.get("notify_for_constraints"), "new_subscription.notify_for_constraints"
                    ),
                    implicit=True,
                    volume=Volume4D(
                        _hull([v.footprint for v in volumes]),
                        _band_hull(volumes),
                        window,
                    ),
                )
                dss.put_subscription(sub)
                sub_id = sub.id
            if state in KEY_STATES:
                held = set(key)
                missing = [
                    self._reference(dss, e, who.manager)
                    for e, _ in self._search(dss, OPERATIONAL_INTENT, extents)
                    if e.id != entity_id and e.state in KEY_STATES and e.ovn not in held
                ]
                if missing:
                    raise AirspaceConflict(
                        f"the key lacks the OVNs of {len(missing)} intersecting operational intent(s)",
                        missing,
                    )
            touched = list(volumes)
            if old is not None:
                touched.extend(tx.get_operation(old.party, old.id).volumes)
            entity = DssEntity(
                id=entity_id,
                kind=OPERATIONAL_INTENT,
                party=who.manager,
                version=old.version + 1 if old is not None else 1,
                ovn=_new_ovn(),
                state=state,
                uss_base_url=url,
                subscription_id=sub_id,
                time_start=start,
                time_end=end,
            )
            operation = Operation(who.manager, entity_id, tuple(volumes), OI_STATES[state])
            self._store_operation(tx, operation, entity, "created" if old is None else "updated")
            dss.put_entity(entity)
            if old is not None and old.subscription_id != sub_id:
                self._drop_implicit(dss, old.subscription_id)
            subscribers = self._notify(dss, OPERATIONAL_INTENT, touched)
            return Change(
                {
                    "subscribers": subscribers,
                    "operational_intent_reference": self._reference(dss, entity, who.manager),
                },
                201 if old is None else 200,
            )

    @staticmethod
    def _check_change(
        old: DssEntity | None, who: F3548Principal, ovn: str | None, kind: str, what: str
    ) -> None:
        if ovn is None:
            if old is not None:
                raise AlreadyExists(f"{what} {old.id} already exists; update it with its OVN")
            return
        if old is None or old.kind != kind:
            raise NotFound(f"no {what} with that id")
        if old.party != who.manager:
            raise Forbidden(f"{what} {old.id} is managed by another USS")
        if old.ovn != ovn:
            raise StaleVersion(f"OVN {ovn!r} is not the current OVN of {what} {old.id}")

    def delete_operational_intent(self, who: F3548Principal, entity_id: str, ovn: str) -> Change:
        who.require_any(STRATEGIC_COORDINATION)
        return self._delete(
            who, check_id(entity_id, "entityid"), ovn, OPERATIONAL_INTENT, "operational intent"
        )

    def _delete(self, who: F3548Principal, entity_id: str, ovn: str, kind: str, what: str) -> Change:
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            old = dss.get_entity(entity_id)
            self._check_change(old, who, ovn, kind, what)
            assert old is not None
            op = self._retire_operation(tx, old)
            dss.delete_entity(old.id)
            self._drop_implicit(dss, old.subscription_id)
            subscribers = self._notify(dss, kind, op.volumes)
            key = "operational_intent_reference" if kind == OPERATIONAL_INTENT else "constraint_reference"
            return Change({"subscribers": subscribers, key: self._reference(dss, old, who.manager)})

    def get_operational_intent(self, who: F3548Principal, entity_id: str) -> dict[str, Any]:
        who.require_any(STRATEGIC_COORDINATION, CONFORMANCE_MONITORING_SA)
        return {
            "operational_intent_reference": self._get(
                who, entity_id, OPERATIONAL_INTENT, "operational intent"
            )
        }

    def _get(self, who: F3548Principal, entity_id: str, kind: str, what: str) -> dict[str, Any]:
        entity_id = check_id(entity_id, "entityid")
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            e = dss.get_entity(entity_id)
            if e is None or e.kind != kind:
                raise NotFound(f"no {what} {entity_id}")
            return self._reference(dss, e, who.manager)

    def query_operational_intents(self, who: F3548Principal, body: Any) -> dict[str, Any]:
        who.require_any(STRATEGIC_COORDINATION, CONFORMANCE_MONITORING_SA)
        aoi = self._parse_aoi(body)
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            found = self._search(dss, OPERATIONAL_INTENT, [aoi])
            return {"operational_intent_references": [self._reference(dss, e, who.manager) for e, _ in found]}

    # -- constraints --------------------------------------------------------------------

    def put_constraint(self, who: F3548Principal, entity_id: str, ovn: str | None, body: Any) -> Change:
        who.require_any(CONSTRAINT_MANAGEMENT)
        entity_id = check_id(entity_id, "entityid")
        obj = _object(body, "body")
        extents = self._parse_extents(obj.get("extents"), "extents")
        url = _https_url(obj.get("uss_base_url"), "uss_base_url")
        volumes = [e.volume() for e in extents]
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            self._ensure_party(tx, who.manager)
            old = dss.get_entity(entity_id)
            self._check_change(old, who, ovn, CONSTRAINT, "constraint")
            touched = list(volumes)
            if old is not None:
                touched.extend(tx.get_operation(old.party, old.id).volumes)
            entity = DssEntity(
                id=entity_id,
                kind=CONSTRAINT,
                party=who.manager,
                version=old.version + 1 if old is not None else 1,
                ovn=_new_ovn(),
                state="",
                uss_base_url=url,
                subscription_id=None,
                time_start=min(v.window.start for v in volumes),
                time_end=max(v.window.end for v in volumes),
            )
            operation = Operation(who.manager, entity_id, tuple(volumes), OperationState.ACTIVATED)
            self._store_operation(tx, operation, entity, "created" if old is None else "updated")
            dss.put_entity(entity)
            subscribers = self._notify(dss, CONSTRAINT, touched)
            return Change(
                {
                    "subscribers": subscribers,
                    "constraint_reference": self._reference(dss, entity, who.manager),
                },
                201 if old is None else 200,
            )

    def delete_constraint(self, who: F3548Principal, entity_id: str, ovn: str) -> Change:
        who.require_any(CONSTRAINT_MANAGEMENT)
        return self._delete(who, check_id(entity_id, "entityid"), ovn, CONSTRAINT, "constraint")

    def get_constraint(self, who: F3548Principal, entity_id: str) -> dict[str, Any]:
        who.require_any(CONSTRAINT_MANAGEMENT, CONSTRAINT_PROCESSING)
        return {"constraint_reference": self._get(who, entity_id, CONSTRAINT, "constraint")}

    def query_constraints(self, who: F3548Principal, body: Any) -> dict[str, Any]:
        who.require_any(CONSTRAINT_MANAGEMENT, CONSTRAINT_PROCESSING)
        aoi = self._parse_aoi(body)
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            found = self._search(dss, CONSTRAINT, [aoi])
            return {"constraint_references": [self._reference(dss, e, who.manager) for e, _ in found]}

    # -- subscriptions ------------------------------------------------------------------

    def _subscription(self, dss: DssRepo, s: DssSubscription) -> dict[str, Any]:
        return {
            "id": s.id,
            "version": s.version,
            "notification_index": s.notification_index,
            "time_start": format_time(s.volume.window.start),
            "time_end": format_time(s.volume.window.end),
            "uss_base_url": s.uss_base_url,
            "notify_for_operational_intents": s.notify_for_operational_intents,
            "notify_for_constraints": s.notify_for_constraints,
            "implicit_subscription": s.implicit,
            "dependent_operational_intents": dss.dependents(s.id),
        }

    def put_subscription(self, who: F3548Principal, sub_id: str, version: str | None, body: Any) -> Change:
        who.require_any(STRATEGIC_COORDINATION, CONSTRAINT_PROCESSING)
        sub_id = check_id(sub_id, "subscriptionid")
        obj = _object(body, "body")
        if obj.get("extents") is None:
            raise InvalidInput("extents", "is required")
        extent = parse_volume4d(obj["extents"], "extents")
        _check_area([extent.footprint], "extents")
        now = self.clock.now()
        start = extent.start or now
        end = extent.end or start + MAX_SUBSCRIPTION
        if end < now:
            raise InvalidTimeWindow("extents.time_end", "is in the past")
        if end - start > MAX_SUBSCRIPTION:
            raise InvalidTimeWindow("extents", f"lasts {end - start}; the limit is {MAX_SUBSCRIPTION}")
        url = _https_url(obj.get("uss_base_url"), "uss_base_url")
        for_ops = _bool(obj.get("notify_for_operational_intents"), "notify_for_operational_intents")
        for_constraints = _bool(obj.get("notify_for_constraints"), "notify_for_constraints")
        if not for_ops and not for_constraints:
            raise InvalidInput("notify_for_operational_intents", "a subscription must notify for something")
        if for_constraints and CONSTRAINT_PROCESSING not in who.scopes:
            raise Forbidden(f"notifications for constraints need the {CONSTRAINT_PROCESSING} scope")
        if for_ops and STRATEGIC_COORDINATION not in who.scopes:
            raise Forbidden(f"notifications for operational intents need the {STRATEGIC_COORDINATION} scope")
        volume = Volume4D(extent.footprint, extent.band, TimeWindow(start, end))
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            self._ensure_party(tx, who.manager)
            old = dss.get_subscription(sub_id)
            if version is None and old is not None:
                raise AlreadyExists(f"subscription {sub_id} already exists; update it with its version")
            if version is not None:
                if old is None:
                    raise NotFound(f"no subscription {sub_id}")
                if old.party != who.manager:
                    raise Forbidden(f"subscription {sub_id} belongs to another manager")
                if old.version != version:
                    raise StaleVersion(
                        f"version {version!r} is not the current version of subscription {sub_id}"
                    )
                for dep in dss.entities(dss.dependents(sub_id)):
                    op = tx.get_operation(dep.party, dep.id)
                    if not all(_covers(volume, v) for v in op.volumes):
                        raise InvalidInput(
                            "extents", f"no longer covers operational intent {dep.id}, which depends on it"
                        )
            sub = DssSubscription(
                id=sub_id,
                party=who.manager,
                version=_new_ovn(),
                notification_index=old.notification_index if old is not None else 0,
                uss_base_url=url,
                notify_for_operational_intents=for_ops,
                notify_for_constraints=for_constraints,
                # Put explicitly, a subscription is the manager's to delete, no longer implicit.
                implicit=False,
                volume=volume,
            )
            dss.put_subscription(sub)
            search = Extent(volume.footprint, extent.lower_m, extent.upper_m, start, end)
            body_out: dict[str, Any] = {"subscription": self._subscription(dss, sub)}
            if for_ops:
                body_out["operational_intent_references"] = [
                    self._reference(dss, e, who.manager)
                    for e, _ in self._search(dss, OPERATIONAL_INTENT, [search])
                ]
            if for_constraints:
                body_out["constraint_references"] = [
                    self._reference(dss, e, who.manager) for e, _ in self._search(dss, CONSTRAINT, [search])
                ]
            return Change(body_out)

    def get_subscription(self, who: F3548Principal, sub_id: str) -> dict[str, Any]:
        who.require_any(STRATEGIC_COORDINATION, CONSTRAINT_PROCESSING)
        sub_id = check_id(sub_id, "subscriptionid")
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            sub = dss.get_subscription(sub_id)
            if sub is None:
                raise NotFound(f"no subscription {sub_id}")
            if sub.party != who.manager:
                raise Forbidden(f"subscription {sub_id} belongs to another manager")
            return {"subscription": self._subscription(dss, sub)}

    def query_subscriptions(self, who: F3548Principal, body: Any) -> dict[str, Any]:
        who.require_any(STRATEGIC_COORDINATION, CONSTRAINT_PROCESSING)
        aoi = self._parse_aoi(body)
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            subs = [
                s
                for s in dss.search_subscriptions([aoi.search_box()], party=who.manager)
                if aoi.intersects(s.volume)
            ]
            if len(subs) > MAX_RESULTS:
                raise InvalidInput("area_of_interest", f"matches more than {MAX_RESULTS} subscriptions")
            return {"subscriptions": [self._subscription(dss, s) for s in subs]}

    def delete_subscription(self, who: F3548Principal, sub_id: str, version: str) -> dict[str, Any]:
        who.require_any(STRATEGIC_COORDINATION, CONSTRAINT_PROCESSING)
        sub_id = check_id(sub_id, "subscriptionid")
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            sub = dss.get_subscription(sub_id)
            if sub is None:
                raise NotFound(f"no subscription {sub_id}")
            if sub.party != who.manager:
                raise Forbidden(f"subscription {sub_id} belongs to another manager")
            if sub.version != version:
                raise StaleVersion(f"version {version!r} is not the current version of subscription {sub_id}")
            if dss.dependents(sub_id):
                raise InvalidInput("subscriptionid", "operational intents still depend on this subscription")
            body = {"subscription": self._subscription(dss, sub)}
            dss.delete_subscription(sub_id)
            return body

    # -- availability and reports -----------------------------------------------------

    def get_availability(self, who: F3548Principal, uss: str) -> dict[str, Any]:
        who.require_any(STRATEGIC_COORDINATION, CONFORMANCE_MONITORING_SA, AVAILABILITY_ARBITRATION)
        with self.store.transaction() as tx:
            found = tx.repo(DssRepo).availability(uss)
        availability, version = found if found is not None else ("Unknown", "")
        return {"status": {"uss": uss, "availability": availability}, "version": version}

    def set_availability(self, who: F3548Principal, uss: str, body: Any) -> dict[str, Any]:
        who.require_any(AVAILABILITY_ARBITRATION)
        obj = _object(body, "body")
        given = obj.get("availability")
        # The standard's enum is capitalised; clients send it in any case.
        availability = next(
            (a for a in AVAILABILITIES if isinstance(given, str) and a.lower() == given.lower()), None
        )
        if availability is None:
            raise InvalidInput("availability", f"must be one of {', '.join(AVAILABILITIES)}")
        old_version = obj.get("old_version", "")
        if not isinstance(old_version, str):
            raise InvalidInput("old_version", "must be a string")
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            found = dss.availability(uss)
            current = found[1] if found is not None else ""
            if current != old_version:
                raise StaleVersion(f"old_version {old_version!r} is not the current version {current!r}")
            version = _new_ovn()
            dss.set_availability(uss, availability, version)
        return {"status": {"uss": uss, "availability": availability}, "version": version}

    def report(self, who: F3548Principal, body: Any) -> dict[str, Any]:
        who.require_any(
            STRATEGIC_COORDINATION,
            CONSTRAINT_MANAGEMENT,
            CONSTRAINT_PROCESSING,
            CONFORMANCE_MONITORING_SA,
            AVAILABILITY_ARBITRATION,
        )
        obj = dict(_object(body, "body"))
        _object(obj.get("exchange"), "exchange")
        obj["report_id"] = str(uuid.uuid4())
        with self.store.transaction() as tx:
            self._ensure_party(tx, who.manager)
            tx.repo(DssRepo).add_report(obj["report_id"], who.manager, self.clock.now(), obj)
        return obj


def _sub_extent(sub: DssSubscription) -> Extent:
    v = sub.volume
    return Extent(v.footprint, v.band.lower_m, v.band.upper_m, v.window.start, v.window.end)


def _band_hull(volumes: Sequence[Volume4D]) -> AltitudeBand:
    return AltitudeBand(min(v.band.lower_m for v in volumes), max(v.band.upper_m for v in volumes), Datum.W84)


def _covers(outer: Volume4D, inner: Volume4D) -> bool:
    """Whether ``outer`` contains ``inner``: in time (give or take :data:`COVER_SLACK`, as
    USS clocks differ), in altitude and horizontally (1 m tolerance)."""
    if (
        inner.window.start < outer.window.start - COVER_SLACK
        or inner.window.end > outer.window.end + COVER_SLACK
    ):
        return False
    if inner.band.lower_m < outer.band.lower_m or inner.band.upper_m > outer.band.upper_m:
        return False
    frame = outer.footprint.frame()
    return bool(outer.footprint.shape_in(frame, 1.0).contains(inner.footprint.shape_in(frame)))
