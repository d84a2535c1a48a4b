"""F3548 subscriptions, USS availability and reports: one transaction each.

A subscription has its own cell index (``dss_subscription_cells``); changes to entities
bump its ``notification_index`` (:meth:`DssBase._notify`). One that entities depend on
may not be deleted, nor shrunk so that it no longer covers them.
"""

from __future__ import annotations

import uuid
from typing import Any

from deconfliction.errors import (
    AlreadyExists,
    Forbidden,
    InvalidInput,
    InvalidTimeWindow,
    NotFound,
    StaleVersion,
)
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
from deconfliction.interop.f3548.common import (
    AVAILABILITIES,
    COVER_SLACK,
    MAX_RESULTS,
    MAX_SUBSCRIPTION,
    Change,
    DssBase,
    check_area,
    check_id,
    https_url,
    json_bool,
    json_object,
    new_ovn,
)
from deconfliction.interop.f3548.volumes import Extent, format_time, parse_volume4d
from deconfliction.store.dss import (
    CONSTRAINT,
    OPERATIONAL_INTENT,
    DssRepo,
    DssSubscription,
)


class SubscriptionUseCases(DssBase):
    """Subscriptions, availability and reports."""

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
        obj = json_object(body, "body")
        if obj.get("extents") is None:
            raise InvalidInput("extents", "is required")
        extent = parse_volume4d(obj["extents"], "extents")
        check_area([extent.footprint], "extents")
        now = self.clock.now()
        start = extent.start or now
        end = extent.end or start + MAX_SUBSCRIPTION
        if end < now:
            raise InvalidTimeWindow("extents.time_end", "is in the past")
        if end - start > MAX_SUBSCRIPTION:
            raise InvalidTimeWindow("extents", f"lasts {end - start}; the limit is {MAX_SUBSCRIPTION}")
        url = https_url(obj.get("uss_base_url"), "uss_base_url")
        for_ops = json_bool(obj.get("notify_for_operational_intents"), "notify_for_operational_intents")
        for_constraints = json_bool(obj.get("notify_for_constraints"), "notify_for_constraints")
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
                    if not all(covers(volume, v) for v in op.volumes):
                        raise InvalidInput(
                            "extents", f"no longer covers operational intent {dep.id}, which depends on it"
                        )
            sub = DssSubscription(
                id=sub_id,
                party=who.manager,
                version=new_ovn(),
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
            sub = self._own(dss, who, sub_id)
            return {"subscription": self._subscription(dss, sub)}

    @staticmethod
    def _own(dss: DssRepo, who: F3548Principal, sub_id: str) -> DssSubscription:
        """The caller's subscription ``sub_id``; NotFound, or Forbidden if another manager's."""
        sub = dss.get_subscription(sub_id)
        if sub is None:
            raise NotFound(f"no subscription {sub_id}")
        if sub.party != who.manager:
            raise Forbidden(f"subscription {sub_id} belongs to another manager")
        return sub

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
            sub = self._own(dss, who, sub_id)
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
        obj = json_object(body, "body")
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
            version = new_ovn()
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
        obj = dict(json_object(body, "body"))
        json_object(obj.get("exchange"), "exchange")
        obj["report_id"] = str(uuid.uuid4())
        with self.store.transaction() as tx:
            self._ensure_party(tx, who.manager)
            tx.repo(DssRepo).add_report(obj["report_id"], who.manager, self.clock.now(), obj)
        return obj


def covers(outer: Volume4D, inner: Volume4D) -> bool:
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
