"""F3548 subscriptions, USS availability and reports: one transaction each.

A subscription has its own cell index (``dss_subscription_cells``); changes to entities
bump its ``notification_index`` (:meth:`F3548Base._notify`). One that entities depend on
may not be deleted, nor shrunk so that it no longer covers them. Expired subscriptions
are not found by searches.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
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
from deconfliction.service.f3548.access import (
    AVAILABILITY_ARBITRATION,
    CONFORMANCE_MONITORING_SA,
    CONSTRAINT_MANAGEMENT,
    CONSTRAINT_PROCESSING,
    STRATEGIC_COORDINATION,
    F3548Principal,
)
from deconfliction.service.f3548.common import AreaTooLarge, F3548Base, check_area, new_ovn
from deconfliction.service.f3548.model import (
    AVAILABILITIES,
    CONSTRAINT,
    DEPENDENT_START_SLACK,
    MAX_CLOCK_SKEW,
    MAX_RESULTS,
    MAX_SUBSCRIPTION,
    OPERATIONAL_INTENT,
    Availability,
    Extent,
    SubscriptionChange,
    SubscriptionRequest,
    SubscriptionView,
)
from deconfliction.store.f3548 import DssRepo, DssSubscription


class SubscriptionUseCases(F3548Base):
    """Subscriptions, availability and reports."""

    # -- subscriptions ------------------------------------------------------------------

    @staticmethod
    def _view(dss: DssRepo, s: DssSubscription) -> SubscriptionView:
        return SubscriptionView(s, tuple(dss.dependents(s.id)))

    def _window(self, extent: Extent, old: DssSubscription | None) -> TimeWindow:
        """The subscription's window: an open start is now (or the old start), an open end
        the old end (or 24 hours after the start); at most 24 hours, starting no more than
        the clock skew in the past (DSS0015)."""
        now = self.clock.now()
        if extent.start is None:
            start = old.volume.window.start if old is not None else now
        elif now - extent.start > MAX_CLOCK_SKEW:
            raise InvalidTimeWindow("extents.time_start", "is in the past")
        else:
            start = extent.start
        end = extent.end or (old.volume.window.end if old is not None else start + MAX_SUBSCRIPTION)
        if end < start:
            raise InvalidTimeWindow("extents.time_end", "is before time_start")
        if end < now:
            raise InvalidTimeWindow("extents.time_end", "is in the past")
        if end - start > MAX_SUBSCRIPTION:
            raise InvalidTimeWindow("extents", f"lasts {end - start}; the limit is {MAX_SUBSCRIPTION}")
        return TimeWindow(start, end)

    def put_subscription(
        self, who: F3548Principal, sub_id: str, version: str | None, request: SubscriptionRequest
    ) -> SubscriptionChange:
        who.require_any(STRATEGIC_COORDINATION, CONSTRAINT_PROCESSING)
        extent = request.extent
        check_area([extent.footprint], "extents")
        for_ops = request.notify_for_operational_intents
        for_constraints = request.notify_for_constraints
        if not for_ops and not for_constraints:
            raise InvalidInput("notify_for_operational_intents", "a subscription must notify for something")
        if for_constraints and CONSTRAINT_PROCESSING not in who.scopes:
            raise Forbidden(f"notifications for constraints need the {CONSTRAINT_PROCESSING} scope")
        if for_ops and STRATEGIC_COORDINATION not in who.scopes:
            raise Forbidden(f"notifications for operational intents need the {STRATEGIC_COORDINATION} scope")
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
            window = self._window(extent, old)
            volume = Volume4D(extent.footprint, extent.band, window)
            if old is not None:
                for dep in dss.entities(dss.dependents(sub_id)):
                    op = tx.get_operation(dep.party, dep.id)
                    if not all(covers(volume, v, DEPENDENT_START_SLACK) for v in op.volumes):
                        raise InvalidInput(
                            "extents", f"no longer covers operational intent {dep.id}, which depends on it"
                        )
            sub = DssSubscription(
                id=sub_id,
                party=who.manager,
                version=new_ovn(),
                notification_index=old.notification_index if old is not None else 0,
                uss_base_url=request.uss_base_url,
                notify_for_operational_intents=for_ops,
                notify_for_constraints=for_constraints,
                # Put explicitly, a subscription is the manager's to delete, no longer implicit.
                implicit=False,
                volume=volume,
            )
            dss.put_subscription(sub)
            search = Extent(volume.footprint, extent.lower_m, extent.upper_m, window.start, window.end)
            return SubscriptionChange(
                self._view(dss, sub),
                tuple(
                    self._reference(dss, e, who.manager)
                    for e in self._search(dss, OPERATIONAL_INTENT, [search])
                )
                if for_ops
                else None,
                tuple(self._reference(dss, e, who.manager) for e in self._search(dss, CONSTRAINT, [search]))
                if for_constraints
                else None,
            )

    def get_subscription(self, who: F3548Principal, sub_id: str) -> SubscriptionView:
        who.require_any(STRATEGIC_COORDINATION, CONSTRAINT_PROCESSING)
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            return self._view(dss, self._own(dss, who, sub_id))

    @staticmethod
    def _own(dss: DssRepo, who: F3548Principal, sub_id: str) -> DssSubscription:
        """The caller's subscription ``sub_id``; NotFound, or Forbidden if another manager's."""
        sub = dss.get_subscription(sub_id)
        if sub is None:
            raise NotFound(f"no subscription {sub_id}")
        if sub.party != who.manager:
            raise Forbidden(f"subscription {sub_id} belongs to another manager")
        return sub

    def _check_aoi(self, aoi: Extent) -> None:
        check_area([aoi.footprint], "area_of_interest")

    def query_subscriptions(self, who: F3548Principal, aoi: Extent) -> list[SubscriptionView]:
        """The caller's subscriptions that intersect ``aoi`` and have not expired."""
        who.require_any(STRATEGIC_COORDINATION, CONSTRAINT_PROCESSING)
        self._check_aoi(aoi)
        now = self.clock.now()
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            subs = [
                s
                for s in dss.search_subscriptions([aoi.search_box()], party=who.manager)
                if s.volume.window.end >= now and aoi.intersects(s.volume)
            ]
            if len(subs) > MAX_RESULTS:
                raise AreaTooLarge("area_of_interest", f"matches more than {MAX_RESULTS} subscriptions")
            return [self._view(dss, s) for s in subs]

    def delete_subscription(self, who: F3548Principal, sub_id: str, version: str) -> SubscriptionView:
        who.require_any(STRATEGIC_COORDINATION, CONSTRAINT_PROCESSING)
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            sub = self._own(dss, who, sub_id)
            if sub.version != version:
                raise StaleVersion(f"version {version!r} is not the current version of subscription {sub_id}")
            if dss.dependents(sub_id):
                raise InvalidInput("subscriptionid", "operational intents still depend on this subscription")
            view = self._view(dss, sub)
            dss.delete_subscription(sub_id)
            return view

    # -- availability and reports -----------------------------------------------------

    def get_availability(self, who: F3548Principal, uss: str) -> Availability:
        who.require_any(STRATEGIC_COORDINATION, CONFORMANCE_MONITORING_SA, AVAILABILITY_ARBITRATION)
        with self.store.transaction() as tx:
            found = tx.repo(DssRepo).availability(uss)
        availability, version = found if found is not None else ("Unknown", "")
        return Availability(uss, availability, version)

    def set_availability(
        self, who: F3548Principal, uss: str, availability: str, old_version: str
    ) -> Availability:
        who.require_any(AVAILABILITY_ARBITRATION)
        if availability not in AVAILABILITIES:
            raise InvalidInput("availability", f"must be one of {', '.join(AVAILABILITIES)}")
        with self.store.transaction() as tx:
            dss = tx.repo(DssRepo)
            found = dss.availability(uss)
            current = found[1] if found is not None else ""
            if current != old_version:
                raise StaleVersion(f"old_version {old_version!r} is not the current version {current!r}")
            version = new_ovn()
            dss.set_availability(uss, availability, version)
        return Availability(uss, availability, version)

    def report(self, who: F3548Principal, report: dict[str, Any]) -> dict[str, Any]:
        """Keep a USS's report of a problem; the stored report, with the id given to it."""
        who.require_any(
            STRATEGIC_COORDINATION,
            CONSTRAINT_MANAGEMENT,
            CONSTRAINT_PROCESSING,
            CONFORMANCE_MONITORING_SA,
            AVAILABILITY_ARBITRATION,
        )
        stored = {**report, "report_id": str(uuid.uuid4())}
        with self.store.transaction() as tx:
            self._ensure_party(tx, who.manager)
            tx.repo(DssRepo).add_report(stored["report_id"], who.manager, self.clock.now(), stored)
        return stored


def covers(outer: Volume4D, inner: Volume4D, start_slack: timedelta = timedelta(0)) -> bool:
    """Whether ``outer`` contains ``inner``: in time (``outer`` may start up to
    ``start_slack`` late), in altitude and horizontally (1 m tolerance)."""
    if inner.window.start < outer.window.start - start_slack or inner.window.end > outer.window.end:
        return False
    if inner.band.lower_m < outer.band.lower_m or inner.band.upper_m > outer.band.upper_m:
        return False
    frame = outer.footprint.frame()
    return bool(outer.footprint.shape_in(frame, 1.0).contains(inner.footprint.shape_in(frame)))
