"""Builders for hotline tests: parties with desks, a service on a manual clock, field values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deconfliction.interop.hotline import deadlines_from_env, read_area
from deconfliction.service.clock import ManualClock
from deconfliction.service.hotline import HotlineService
from deconfliction.store import Party, Store
from deconfliction.store.auth import Desk, DesksRepo
from deconfliction.store.events import AuditRepo, EventsRepo

T0 = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
#: RED reads English, BLUE Russian (with a two-step escalation chain), CIVIL Arabic.
PARTIES = {"RED": "en", "BLUE": "ru", "CIVIL": "ar"}

AREA: dict[str, Any] = {
    "geometry": {"type": "Point", "coordinates": [40.1, 35.2]},
    "footprint": {"kind": "circle", "radius": {"value": 5, "units": "nm"}},
}
ALTITUDE: dict[str, Any] = {"lower": 180, "upper": 220, "units": "FL"}
STOP_FIELDS: dict[str, Any] = {"area": AREA, "reason": "COLLISION-RISK", "altitude": ALTITUDE}
NOTIFY_FIELDS: dict[str, Any] = {
    "operation": {"party": "RED", "operation_id": "ISR-1", "version": 2},
    "start": "2026-11-26T07:00:00Z",
    "end": "2026-11-26T09:30:00Z",
}


def setup_parties(store: Store) -> None:
    with store.transaction() as tx:
        for party, language in PARTIES.items():
            tx.add_party(Party(party, f"Party {party}"))
            desks = tx.repo(DesksRepo)
            if party == "BLUE":
                desks.add(Desk(party, "director", "ru"))
                desks.add(Desk(party, "watch", "ru", ("director",)))
                desks.add(Desk(party, "duty", "ru", ("watch", "director")))
            else:
                desks.add(Desk(party, "duty", language))


def make_service(store: Store, clock: ManualClock | None = None) -> HotlineService:
    setup_parties(store)
    return HotlineService(store, clock or ManualClock(T0), read_area, deadlines_from_env())


def events(store: Store, party: str) -> list[tuple[str, dict[str, Any]]]:
    with store.transaction() as tx:
        return [(e.kind, e.payload) for e in tx.repo(EventsRepo).after(party, 0)]


def audit(store: Store, party: str) -> list[tuple[str, str]]:
    with store.transaction() as tx:
        return [(e.kind, e.body_hash) for e in tx.repo(AuditRepo).entries(party)]
