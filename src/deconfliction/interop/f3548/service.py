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

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import shapely

from deconfliction.engine.operation import Operation, OperationState
from deconfliction.errors import (
    AlreadyExists,
    Forbidden,
    InvalidInput,
    NotFound,
    StaleVersion,
)
from deconfliction.geo.altitude import AltitudeBand, Datum
from deconfliction.geo.footprint import Footprint, Polygon, Position
from deconfliction.geo.timewindow import TimeWindow
from deconfliction.geo.volume import Volume4D
from deconfliction.interop.f3548.auth import (
    CONFORMANCE_MONITORING_SA,
    CONSTRAINT_MANAGEMENT,
    CONSTRAINT_PROCESSING,
    STRATEGIC_COORDINATION,
    F3548Principal,
)
from deconfliction.interop.f3548.common import (
    KEY_STATES,
    OI_STATES,
    AirspaceConflict,
    Change,
    UssDown,
    check_id,
    https_url,
    json_bool,
    json_object,
    new_ovn,
)
from deconfliction.interop.f3548.subscriptions import SubscriptionUseCases, covers
from deconfliction.store.dss import (
    CONSTRAINT,
    OPERATIONAL_INTENT,
    DssEntity,
    DssRepo,
    DssSubscription,
)


def _hull(footprints: Sequence[Footprint]) -> Footprint:
    """One footprint covering all of ``footprints``: itself if one, else their convex hull."""
    if len(footprints) == 1:
        return footprints[0]
    frame = footprints[0].frame()
    hull = shapely.union_all([f.shape_in(frame) for f in footprints]).convex_hull
    ring = frame.to_lonlat(hull).exterior.coords[:-1]
    return Polygon(tuple(Position(lat, lon) for lon, lat in ring))


class DssService(SubscriptionUseCases):
    """F3548 DSS use-cases; ``who`` is the verified caller of each."""

    # -- operational intents ----------------------------------------------------------

    def put_operational_intent(
        self, who: F3548Principal, entity_id: str, ovn: str | None, body: Any
    ) -> Change:
        who.require_any(STRATEGIC_COORDINATION, CONFORMANCE_MONITORING_SA)
        entity_id = check_id(entity_id, "entityid")
        obj = json_object(body, "body")
        extents = self._parse_extents(obj.get("extents"), "extents")
        given_state = obj.get("state")
        if given_state not in OI_STATES:
            raise InvalidInput("state", f"{given_state!r} is not one of {', '.join(OI_STATES)}")
        state = str(given_state)
        url = https_url(obj.get("uss_base_url"), "uss_base_url")
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
            dss.lock_cells(cell for e in extents for cell in e.search_box().cells)
            self._ensure_party(tx, who.manager)
            old = dss.get_entity(entity_id)
            self._check_change(old, who, ovn, OPERATIONAL_INTENT, "operational intent")
            if state in KEY_STATES and self._availability(dss, who.manager) == "Down":
                raise UssDown(f"USS {who.manager} is marked Down; it may not put an intent in {state}")
            sub: DssSubscription | None = None
            if sub_id is not None:
                sub = dss.get_subscription(sub_id)
                if sub is None:
                    raise InvalidInput("subscription_id", f"no subscription {sub_id}")
                if sub.party != who.manager:
                    raise Forbidden(f"subscription {sub_id} belongs to another manager")
                if not all(covers(sub.volume, v) for v in volumes):
                    if not sub.implicit:
                        raise InvalidInput(
                            "subscription_id",
                            f"subscription {sub_id} does not cover the extents in space, altitude and time",
                        )
                    # An implicit subscription is the DSS's to keep: it grows with its intents.
                    grown = [sub.volume, *volumes]
                    window = TimeWindow(min(v.window.start for v in grown), max(v.window.end for v in grown))
                    hull = Volume4D(_hull([v.footprint for v in grown]), _band_hull(grown), window)
                    dss.put_subscription(replace(sub, version=new_ovn(), volume=hull))
            elif new_sub is not None:
                ns = json_object(new_sub, "new_subscription")
                window = TimeWindow(start, end)
                sub = DssSubscription(
                    id=str(uuid.uuid4()),
                    party=who.manager,
                    version=new_ovn(),
                    notification_index=0,
                    uss_base_url=https_url(ns.get("uss_base_url"), "new_subscription.uss_base_url"),
                    notify_for_operational_intents=True,
                    notify_for_constraints=json_bool(
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
                # Constraints count when the intent's subscription asks to hear of them.
                missing_constraints = (
                    [
                        self._reference(dss, e, who.manager)
                        for e, _ in self._search(dss, CONSTRAINT, extents)
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
        who.require_any(STRATEGIC_COORDINATION, CONFORMANCE_MONITORING_SA)
        return self._delete(
            who, check_id(entity_id, "entityid"), ovn, OPERATIONAL_INTENT, "operational intent"
        )

    def _delete(self, who: F3548Principal, entity_id: str, ovn: str, kind: str, what: str) -> Change:
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
        obj = json_object(body, "body")
        extents = self._parse_extents(obj.get("extents"), "extents")
        url = https_url(obj.get("uss_base_url"), "uss_base_url")
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
                ovn=new_ovn(),
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


def _band_hull(volumes: Sequence[Volume4D]) -> AltitudeBand:
    return AltitudeBand(min(v.band.lower_m for v in volumes), max(v.band.upper_m for v in volumes), Datum.W84)
