"""The F3548-21 DSS use-cases for operational intent and constraint references: one
transaction each.

An operational intent (or constraint) reference is filed as an operation of its
manager's party, so the same cell index finds it and the same engine detects its
conflicts with natively filed operations (stored in the core conflicts table, seen by
each party through its own API). F3548 adds, in :class:`~deconfliction.store.f3548.DssRepo`:
the OVN (shown to the manager only), the F3548 version (bumped by every change), the
F3548 state, the USS base URL and the subscription the entity depends on.

Semantics follow F3548-21 and the InterUSS DSS: an intent is created in Accepted; only
conformance monitoring may put one in Nonconforming or Contingent; every state but
Accepted needs a subscription; create on an existing id and a stale OVN are 409; the key
check refuses (409, ``AirspaceConflictResponse``) an Accepted or Activated intent whose
key lacks the OVN of an intersecting entity; every change bumps the notification index of
each intersecting subscription and returns those subscribers; implicit subscriptions live
as long as an entity depends on them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

import shapely

from deconfliction.engine.operation import Operation, OperationState
from deconfliction.errors import AlreadyExists, Forbidden, InvalidInput, NotFound, StaleVersion
from deconfliction.geo.altitude import AltitudeBand, Datum
from deconfliction.geo.footprint import Footprint, Polygon, Position
from deconfliction.geo.timewindow import TimeWindow
from deconfliction.geo.volume import Volume4D
from deconfliction.service.f3548.access import (
    CONFORMANCE_MONITORING_SA,
    CONSTRAINT_MANAGEMENT,
    CONSTRAINT_PROCESSING,
    STRATEGIC_COORDINATION,
    F3548Principal,
)
from deconfliction.service.f3548.common import new_ovn
from deconfliction.service.f3548.model import (
    BRIDGE_MANAGER,
    CONSTRAINT,
    INITIAL_STATE,
    KEY_STATES,
    OFF_NOMINAL_STATES,
    OI_STATES,
    OPERATIONAL_INTENT,
    AirspaceConflict,
    ConstraintRequest,
    EntityChange,
    Extent,
    IntentRequest,
    Reference,
    UssDown,
    bridge_entity,
)
from deconfliction.service.f3548.subscriptions import SubscriptionUseCases, covers
from deconfliction.store.f3548 import DssEntity, DssRepo, DssSubscription
from deconfliction.store.f3548_bridge import BridgeRepo


def _hull(footprints: Sequence[Footprint]) -> Footprint:
    """One footprint covering all of ``footprints``: itself if one, else their convex hull."""
    if len(footprints) == 1:
        return footprints[0]
    frame = footprints[0].frame()
    hull = shapely.union_all([f.shape_in(frame) for f in footprints]).convex_hull
    ring = frame.to_lonlat(hull).exterior.coords[:-1]
    return Polygon(tuple(Position(lat, lon) for lon, lat in ring))


def _band_hull(volumes: Sequence[Volume4D]) -> AltitudeBand:
    return AltitudeBand(min(v.band.lower_m for v in volumes), max(v.band.upper_m for v in volumes), Datum.W84)


def _check_state(who: F3548Principal, state: str, creating: bool) -> None:
    if state not in OI_STATES:
        raise InvalidInput("state", f"{state!r} is not one of {', '.join(OI_STATES)}")
    if creating and state != INITIAL_STATE:
        raise InvalidInput("state", f"an operational intent is created {INITIAL_STATE}, not {state}")
    if state in OFF_NOMINAL_STATES and CONFORMANCE_MONITORING_SA not in who.scopes:
        raise Forbidden(f"only {CONFORMANCE_MONITORING_SA} may put an operational intent in {state}")


class F3548Service(SubscriptionUseCases):
    """F3548 DSS use-cases; ``who`` is the verified caller of each."""

    # -- operational intents ----------------------------------------------------------

    def put_operational_intent(
        self, who: F3548Principal, entity_id: str, ovn: str | None, request: IntentRequest
    ) -> EntityChange:
        who.require_any(STRATEGIC_COORDINATION, CONFORMANCE_MONITORING_SA)
        state = request.state
        _check_state(who, state, creating=ovn is None)
        if state != INITIAL_STATE and request.subscription_id is None and request.new_subscription is None:
            raise InvalidInput(
                "subscription_id", f"a {state} intent needs subscription_id or new_subscription"
            )
        volumes = self._check_extents(request.extents, "extents")
        start = min(v.window.start for v in volumes)
        end = max(v.window.end for v in volumes)
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            dss.lock_cells(cell for e in request.extents for cell in e.search_box().cells)
            self._ensure_party(tx, who.manager)
            old = dss.get_entity(entity_id)
            self._check_change(old, who, ovn, OPERATIONAL_INTENT, "operational intent")
            if state in KEY_STATES and self._availability(dss, who.manager) == "Down":
                raise UssDown(f"USS {who.manager} is marked Down; it may not put an intent in {state}")
            sub = self._intent_subscription(dss, who, request, volumes)
            if state in KEY_STATES:
                self._check_key(dss, who, entity_id, request, sub)
            touched = list(volumes)
            if old is not None:
                touched.extend(tx.get_operation(old.party, old.id).volumes)
            entity = DssEntity(
                id=entity_id,
                kind=OPERATIONAL_INTENT,
                party=who.manager,
                version=old.version + 1 if old is not None else 1,
                ovn=new_ovn(),
                state=state,
                uss_base_url=request.uss_base_url,
                subscription_id=sub.id if sub is not None else None,
                time_start=start,
                time_end=end,
            )
            operation = Operation(who.manager, entity_id, tuple(volumes), OI_STATES[state])
            self._store_operation(tx, operation, entity, "created" if old is None else "updated")
            dss.put_entity(entity)
            if old is not None and old.subscription_id != entity.subscription_id:
                self._drop_implicit(dss, old.subscription_id)
            subscribers = self._notify(dss, OPERATIONAL_INTENT, touched)
            return EntityChange(self._reference(dss, entity, who.manager), subscribers, created=old is None)

    def _intent_subscription(
        self, dss: DssRepo, who: F3548Principal, request: IntentRequest, volumes: Sequence[Volume4D]
    ) -> DssSubscription | None:
        """The subscription the intent will depend on: the one named (which must cover the
        intent exactly, unless the DSS keeps it as implicit and grows it), a new implicit one,
        or none (Accepted intents may go without)."""
        if request.subscription_id is not None:
            sub_id = request.subscription_id
            sub = dss.get_subscription(sub_id)
            if sub is None:
                raise InvalidInput("subscription_id", f"no subscription {sub_id}")
            if sub.party != who.manager:
                raise Forbidden(f"subscription {sub_id} belongs to another manager")
            if not sub.notify_for_operational_intents:
                raise InvalidInput("subscription_id", f"subscription {sub_id} does not notify for intents")
            if all(covers(sub.volume, v) for v in volumes):
                return sub
            if not sub.implicit:
                raise InvalidInput(
                    "subscription_id",
                    f"subscription {sub_id} does not cover the extents in space, altitude and time",
                )
            # An implicit subscription is the DSS's to keep: it grows with its intents.
            grown = [sub.volume, *volumes]
            window = TimeWindow(min(v.window.start for v in grown), max(v.window.end for v in grown))
            hull = Volume4D(_hull([v.footprint for v in grown]), _band_hull(grown), window)
            sub = replace(sub, version=new_ovn(), volume=hull)
            dss.put_subscription(sub)
            return sub
        if request.new_subscription is not None:
            ns = request.new_subscription
            sub = DssSubscription(
                id=str(uuid.uuid4()),
                party=who.manager,
                version=new_ovn(),
                notification_index=0,
                uss_base_url=ns.uss_base_url,
                notify_for_operational_intents=True,
                notify_for_constraints=ns.notify_for_constraints,
                implicit=True,
                volume=Volume4D(
                    _hull([v.footprint for v in volumes]),
                    _band_hull(volumes),
                    TimeWindow(min(v.window.start for v in volumes), max(v.window.end for v in volumes)),
                ),
            )
            dss.put_subscription(sub)
            return sub
        return None

    def _check_key(
        self,
        dss: DssRepo,
        who: F3548Principal,
        entity_id: str,
        request: IntentRequest,
        sub: DssSubscription | None,
    ) -> None:
        """Refuse the change unless the key holds the OVN of every relevant intersecting
        entity: every other intent (but the Accepted intents of a USS marked Down) and,
        when the intent's subscription asks to hear of them, every constraint."""
        held = request.key
        missing = [
            self._reference(dss, e, who.manager)
            for e in self._search(dss, OPERATIONAL_INTENT, request.extents)
            if e.id != entity_id and e.ovn not in held and self._requires_key(dss, e)
        ]
        missing_constraints = (
            [
                self._reference(dss, e, who.manager)
                for e in self._search(dss, CONSTRAINT, request.extents)
                if e.ovn not in held
            ]
            if sub is not None and sub.notify_for_constraints
            else []
        )
        if missing or missing_constraints:
            raise AirspaceConflict(
                f"the key lacks the OVNs of {len(missing)} intersecting operational intent(s)"
                f" and {len(missing_constraints)} constraint(s)",
                missing,
                missing_constraints,
            )

    def _requires_key(self, dss: DssRepo, e: DssEntity) -> bool:
        return not (e.state == INITIAL_STATE and self._availability(dss, e.party) == "Down")

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

    def delete_operational_intent(self, who: F3548Principal, entity_id: str, ovn: str) -> EntityChange:
        who.require_any(STRATEGIC_COORDINATION, CONFORMANCE_MONITORING_SA)
        return self._delete(who, entity_id, ovn, OPERATIONAL_INTENT, "operational intent")

    def _delete(self, who: F3548Principal, entity_id: str, ovn: str, kind: str, what: str) -> EntityChange:
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            old = dss.get_entity(entity_id)
            self._check_change(old, who, ovn, kind, what)
            assert old is not None
            if kind == OPERATIONAL_INTENT and self._availability(dss, who.manager) == "Down":
                raise UssDown(f"USS {who.manager} is marked Down; it may not delete intents")
            op = self._retire_operation(tx, old)
            dss.delete_entity(old.id)
            self._drop_implicit(dss, old.subscription_id)
            subscribers = self._notify(dss, kind, op.volumes)
            return EntityChange(self._reference(dss, old, who.manager), subscribers)

    def get_operational_intent(self, who: F3548Principal, entity_id: str) -> Reference:
        who.require_any(STRATEGIC_COORDINATION, CONFORMANCE_MONITORING_SA)
        return self._get(who, entity_id, OPERATIONAL_INTENT, "operational intent")

    def _get(self, who: F3548Principal, entity_id: str, kind: str, what: str) -> Reference:
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            e = dss.get_entity(entity_id)
            if e is None and kind == CONSTRAINT:  # a native operation's, published by the bridge
                published = tx.repo(BridgeRepo).get(entity_id)
                e = bridge_entity(published, self.base_url) if published is not None else None
            if e is None or e.kind != kind:
                raise NotFound(f"no {what} {entity_id}")
            return self._reference(dss, e, who.manager)

    def query_operational_intents(self, who: F3548Principal, aoi: Extent) -> list[Reference]:
        who.require_any(STRATEGIC_COORDINATION, CONFORMANCE_MONITORING_SA)
        return self._query(who, OPERATIONAL_INTENT, aoi)

    def _query(self, who: F3548Principal, kind: str, aoi: Extent) -> list[Reference]:
        self._check_aoi(aoi)
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            return [self._reference(dss, e, who.manager) for e in self._search(dss, kind, [aoi])]

    # -- constraints --------------------------------------------------------------------

    def put_constraint(
        self, who: F3548Principal, entity_id: str, ovn: str | None, request: ConstraintRequest
    ) -> EntityChange:
        who.require_any(CONSTRAINT_MANAGEMENT)
        volumes = self._check_extents(request.extents, "extents")
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            self._ensure_party(tx, who.manager)
            old = dss.get_entity(entity_id)
            self._check_change(old, who, ovn, CONSTRAINT, "constraint")
            if tx.repo(BridgeRepo).get(entity_id) is not None:
                raise AlreadyExists(f"constraint {entity_id} is managed by {BRIDGE_MANAGER}")
            touched = list(volumes)
            if old is not None:
                touched.extend(tx.get_operation(old.party, old.id).volumes)
            entity = DssEntity(
                id=entity_id,
                kind=CONSTRAINT,
                party=who.manager,
                version=old.version + 1 if old is not None else 1,
                ovn=new_ovn(),
                state="",
                uss_base_url=request.uss_base_url,
                subscription_id=None,
                time_start=min(v.window.start for v in volumes),
                time_end=max(v.window.end for v in volumes),
            )
            operation = Operation(who.manager, entity_id, tuple(volumes), OperationState.ACTIVATED)
            self._store_operation(tx, operation, entity, "created" if old is None else "updated")
            dss.put_entity(entity)
            subscribers = self._notify(dss, CONSTRAINT, touched)
            return EntityChange(self._reference(dss, entity, who.manager), subscribers, created=old is None)

    def delete_constraint(self, who: F3548Principal, entity_id: str, ovn: str) -> EntityChange:
        who.require_any(CONSTRAINT_MANAGEMENT)
        return self._delete(who, entity_id, ovn, CONSTRAINT, "constraint")

    def get_constraint(self, who: F3548Principal, entity_id: str) -> Reference:
        who.require_any(CONSTRAINT_MANAGEMENT, CONSTRAINT_PROCESSING)
        return self._get(who, entity_id, CONSTRAINT, "constraint")

    def query_constraints(self, who: F3548Principal, aoi: Extent) -> list[Reference]:
        who.require_any(CONSTRAINT_MANAGEMENT, CONSTRAINT_PROCESSING)
        return self._query(who, CONSTRAINT, aoi)
