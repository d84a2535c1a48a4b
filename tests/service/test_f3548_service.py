"""The F3548 DSS use-cases in process, on SQLite and PostgreSQL (see docs/f3548.md).

Bodies go through the edge's conversion (:mod:`deconfliction.interop.f3548.wire`) as the
HTTP routes do, so the assertions read the F3548 JSON."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deconfliction.engine.operation import Operation
from deconfliction.errors import AlreadyExists, Forbidden, InvalidInput, NotFound, StaleVersion
from deconfliction.geo import AltitudeBand, Circle, Position, TimeWindow, Volume4D
from deconfliction.interop.f3548 import wire
from deconfliction.interop.f3548.volumes import parse_volume4d, volume_to_f3548
from deconfliction.service.clock import ManualClock
from deconfliction.service.f3548 import AirspaceConflict, F3548Service, UssDown
from deconfliction.service.f3548.access import (
    AVAILABILITY_ARBITRATION,
    CONFORMANCE_MONITORING_SA,
    CONSTRAINT_MANAGEMENT,
    CONSTRAINT_PROCESSING,
    STRATEGIC_COORDINATION,
    F3548Principal,
)
from deconfliction.service.f3548.model import NO_OVN
from deconfliction.service.operations import OperationService
from deconfliction.store import Party, PartyKind, Store
from deconfliction.store.auth import DesksRepo
from deconfliction.store.events import AuditRepo, EventsRepo
from deconfliction.store.f3548 import DssEntity, DssRepo

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SC = frozenset({STRATEGIC_COORDINATION})
USS1 = F3548Principal("uss1", SC)
USS2 = F3548Principal("uss2", SC)


def extent(
    lat: float = 47.0, lon: float = 8.0, radius_m: float = 300.0, minutes: float = 60.0, **alt: Any
) -> dict[str, Any]:
    start = NOW + timedelta(minutes=5)
    return {
        "volume": {
            "outline_circle": {
                "center": {"lat": lat, "lng": lon},
                "radius": {"value": radius_m, "units": "M"},
            },
            "altitude_lower": {
                "value": alt.get("lower", 0.0),
                "reference": alt.get("reference", "W84"),
                "units": alt.get("units", "M"),
            },
            "altitude_upper": {"value": alt.get("upper", 120.0), "reference": "W84", "units": "M"},
        },
        "time_start": {"value": start.isoformat().replace("+00:00", "Z"), "format": "RFC3339"},
        "time_end": {
            "value": (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
            "format": "RFC3339",
        },
    }


def oi_body(
    *extents: dict[str, Any], key: list[str] | None = None, state: str = "Accepted"
) -> dict[str, Any]:
    return {
        "extents": list(extents) or [extent()],
        "key": key or [],
        "state": state,
        "uss_base_url": "https://uss.example/f3548",
        "new_subscription": {"uss_base_url": "https://uss.example/f3548", "notify_for_constraints": False},
    }


@dataclass(frozen=True)
class Result:
    status: int
    body: dict[str, Any]


class DssService:
    """:class:`F3548Service` behind the edge's conversion, as :mod:`deconfliction.api.f3548`
    calls it: JSON bodies in, F3548 JSON out."""

    def __init__(self, store: Store, clock: ManualClock, time_based_index: bool = False) -> None:
        self.service = F3548Service(store, clock, time_based_index=time_based_index)

    def put_operational_intent(self, who: F3548Principal, oi: str, ovn: str | None, body: Any) -> Result:
        change = self.service.put_operational_intent(
            who, wire.check_id(oi, "entityid"), ovn, wire.intent_request(body)
        )
        return Result(201 if change.created else 200, wire.entity_change(change))

    def delete_operational_intent(self, who: F3548Principal, oi: str, ovn: str) -> Result:
        return Result(200, wire.entity_change(self.service.delete_operational_intent(who, oi, ovn)))

    def get_operational_intent(self, who: F3548Principal, oi: str) -> dict[str, Any]:
        return {"operational_intent_reference": wire.reference(self.service.get_operational_intent(who, oi))}

    def query_operational_intents(self, who: F3548Principal, body: Any) -> dict[str, Any]:
        refs = self.service.query_operational_intents(who, wire.area_of_interest(body))
        return {"operational_intent_references": [wire.reference(r) for r in refs]}

    def put_constraint(self, who: F3548Principal, cid: str, ovn: str | None, body: Any) -> Result:
        change = self.service.put_constraint(who, cid, ovn, wire.constraint_request(body))
        return Result(201 if change.created else 200, wire.entity_change(change))

    def put_subscription(self, who: F3548Principal, sub: str, version: str | None, body: Any) -> Result:
        change = self.service.put_subscription(who, sub, version, wire.subscription_request(body))
        return Result(200, wire.subscription_change(change))

    def get_subscription(self, who: F3548Principal, sub: str) -> dict[str, Any]:
        return {"subscription": wire.subscription(self.service.get_subscription(who, sub))}

    def delete_subscription(self, who: F3548Principal, sub: str, version: str) -> dict[str, Any]:
        return {"subscription": wire.subscription(self.service.delete_subscription(who, sub, version))}

    def set_availability(self, who: F3548Principal, uss: str, body: Any) -> dict[str, Any]:
        availability, old_version = wire.availability_request(body)
        return wire.availability(self.service.set_availability(who, uss, availability, old_version))


@pytest.fixture
def dss(store: Store) -> DssService:
    return DssService(store, ManualClock(NOW))


def new_id() -> str:
    return str(uuid.uuid4())


def test_create_get_update_delete(dss: DssService) -> None:
    oi = new_id()
    created = dss.put_operational_intent(USS1, oi, None, oi_body())
    assert created.status == 201
    ref = created.body["operational_intent_reference"]
    assert (ref["version"], ref["state"], ref["manager"], ref["uss_availability"]) == (
        1,
        "Accepted",
        "uss1",
        "Unknown",
    )
    ovn = ref["ovn"]
    assert dss.get_operational_intent(USS1, oi)["operational_intent_reference"]["ovn"] == ovn
    # Others see that the OVN exists, not what it is.
    assert dss.get_operational_intent(USS2, oi)["operational_intent_reference"]["ovn"] == NO_OVN

    with pytest.raises(AlreadyExists):
        dss.put_operational_intent(USS1, oi, None, oi_body())
    with pytest.raises(StaleVersion):
        dss.put_operational_intent(USS1, oi, "not-the-ovn", oi_body(key=[ovn]))
    with pytest.raises(Forbidden):
        dss.put_operational_intent(USS2, oi, ovn, oi_body())

    updated = dss.put_operational_intent(USS1, oi, ovn, oi_body(state="Activated"))
    new_ref = updated.body["operational_intent_reference"]
    assert updated.status == 200
    assert new_ref["version"] == 2
    assert new_ref["ovn"] != ovn

    with pytest.raises(StaleVersion):
        dss.delete_operational_intent(USS1, oi, ovn)
    dss.delete_operational_intent(USS1, oi, new_ref["ovn"])
    with pytest.raises(NotFound):
        dss.get_operational_intent(USS1, oi)
    # The id may be used again once deleted; its version starts afresh.
    assert (
        dss.put_operational_intent(USS1, oi, None, oi_body()).body["operational_intent_reference"]["version"]
        == 1
    )


def test_key_check_lists_missing_intents(dss: DssService) -> None:
    first = new_id()
    ovn1 = dss.put_operational_intent(USS1, first, None, oi_body()).body["operational_intent_reference"][
        "ovn"
    ]
    second = new_id()
    with pytest.raises(AirspaceConflict) as refused:
        dss.put_operational_intent(USS2, second, None, oi_body())
    missing = [wire.reference(m) for m in refused.value.missing]
    assert [m["id"] for m in missing] == [first]
    assert missing[0]["ovn"] == NO_OVN
    with pytest.raises(NotFound):
        dss.get_operational_intent(USS2, second)  # refused: nothing stored
    assert dss.put_operational_intent(USS2, second, None, oi_body(key=[ovn1])).status == 201
    # Far away, no key is needed.
    assert dss.put_operational_intent(USS2, new_id(), None, oi_body(extent(lat=-30.0))).status == 201


def test_subscribers_are_notified_with_rising_index(dss: DssService) -> None:
    watcher = F3548Principal("uss2", frozenset({STRATEGIC_COORDINATION, CONSTRAINT_PROCESSING}))
    sub = new_id()
    body = {
        "extents": extent(radius_m=2000.0),
        "uss_base_url": "https://watcher.example",
        "notify_for_operational_intents": True,
    }
    assert dss.put_subscription(watcher, sub, None, body).body["subscription"]["notification_index"] == 0

    oi = new_id()
    change = dss.put_operational_intent(USS1, oi, None, oi_body())
    by_url = {s["uss_base_url"]: s["subscriptions"] for s in change.body["subscribers"]}
    assert by_url["https://watcher.example"] == [{"subscription_id": sub, "notification_index": 1}]
    ovn = change.body["operational_intent_reference"]["ovn"]
    change = dss.delete_operational_intent(USS1, oi, ovn)
    by_url = {s["uss_base_url"]: s["subscriptions"] for s in change.body["subscribers"]}
    assert by_url["https://watcher.example"] == [{"subscription_id": sub, "notification_index": 2}]
    with pytest.raises(Forbidden):
        dss.get_subscription(USS1, sub)


def test_implicit_subscription_lives_with_its_intent(dss: DssService) -> None:
    oi = new_id()
    ref = dss.put_operational_intent(USS1, oi, None, oi_body()).body["operational_intent_reference"]
    sub = dss.get_subscription(USS1, ref["subscription_id"])["subscription"]
    assert sub["implicit_subscription"] is True
    assert sub["dependent_operational_intents"] == [oi]
    with pytest.raises(InvalidInput):
        dss.delete_subscription(USS1, sub["id"], sub["version"])
    dss.delete_operational_intent(USS1, oi, ref["ovn"])
    with pytest.raises(NotFound):
        dss.get_subscription(USS1, sub["id"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (oi_body(extent(reference="AGL")), "extents[0].volume.altitude_lower.reference"),
        (oi_body(extent(units="N")), "extents[0].volume.altitude_lower.units"),
        (oi_body(extent(radius_m=40_000.0)), "extents"),
        (oi_body(extent(lat=95.0)), "extents[0].volume.outline_circle.center.lat"),
        ({**oi_body(), "uss_base_url": "http://uss.example"}, "uss_base_url"),
        ({**oi_body(), "state": "Ended"}, "state"),
        ({**oi_body(), "extents": extent()}, "extents"),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(dss: DssService, body: dict[str, Any], field: str) -> None:
    oi = new_id()
    with pytest.raises(InvalidInput) as refused:
        dss.put_operational_intent(USS1, oi, None, body)
    assert refused.value.field == field
    with pytest.raises(NotFound):
        dss.get_operational_intent(USS1, oi)


def test_intent_in_the_past_and_bad_ids_are_refused(dss: DssService) -> None:
    with pytest.raises(InvalidInput):
        dss.put_operational_intent(USS1, new_id(), None, oi_body(extent(minutes=-1.0)))
    with pytest.raises(InvalidInput):
        dss.put_operational_intent(USS1, "not-a-uuid", None, oi_body())


def test_scopes_are_enforced(dss: DssService) -> None:
    cm_only = F3548Principal("uss1", frozenset({CONSTRAINT_MANAGEMENT}))
    with pytest.raises(Forbidden):
        dss.put_operational_intent(cm_only, new_id(), None, oi_body())
    with pytest.raises(Forbidden):
        dss.set_availability(USS1, "uss1", {"availability": "Normal", "old_version": ""})
    # An intent made before its USS is marked Down.
    oi = new_id()
    ref = dss.put_operational_intent(USS1, oi, None, oi_body()).body["operational_intent_reference"]
    arbiter = F3548Principal("arbiter", frozenset({AVAILABILITY_ARBITRATION}))
    status = dss.set_availability(arbiter, "uss1", {"availability": "down", "old_version": ""})
    assert status["status"]["availability"] == "Down"
    with pytest.raises(StaleVersion):
        dss.set_availability(arbiter, "uss1", {"availability": "Normal", "old_version": "wrong"})
    # A USS marked Down may not put intents in Accepted or Activated, nor delete them.
    with pytest.raises(UssDown):
        dss.put_operational_intent(USS1, new_id(), None, oi_body())
    # Conformance monitoring may still declare it Nonconforming.
    monitor = F3548Principal("uss1", frozenset({STRATEGIC_COORDINATION, CONFORMANCE_MONITORING_SA}))
    ref = dss.put_operational_intent(monitor, oi, ref["ovn"], oi_body(state="Nonconforming")).body[
        "operational_intent_reference"
    ]
    assert ref["uss_availability"] == "Down"
    with pytest.raises(UssDown):
        dss.delete_operational_intent(USS1, oi, ref["ovn"])
    dss.set_availability(arbiter, "uss1", {"availability": "Normal", "old_version": status["version"]})
    dss.delete_operational_intent(USS1, oi, ref["ovn"])


def test_native_and_f3548_filings_see_each_other(store: Store, dss: DssService) -> None:
    """A natively filed operation and an F3548 intent in the same airspace conflict; each
    party sees the conflict through its own API, with the overlap and not the plan."""
    oi = new_id()
    dss.put_operational_intent(USS1, oi, None, oi_body())
    with store.transaction() as tx:  # the USS became a party of kind uas, with a duty desk
        assert tx.get_party("uss1").kind is PartyKind.UAS
        assert [d.id for d in tx.repo(DesksRepo).list("uss1")] == ["duty"]
    native = OperationService(store)
    native.add_party(Party("RED", "Red air operations", PartyKind.MILITARY))
    start = NOW + timedelta(minutes=30)
    op = Operation(
        "RED",
        "strike-1",
        (
            Volume4D(
                Circle(Position(47.001, 8.001), 1000.0),
                AltitudeBand(50.0, 300.0, parse_volume4d(extent(), "x").band.datum),
                TimeWindow(start, start + timedelta(hours=1)),
            ),
        ),
    )
    filed = native.file(op)
    assert [(c.b.party, c.b.id) for c in filed.conflicts] == [("uss1", oi)]
    seen_by_uss = native.conflicts("uss1")
    assert [(c.a.id, c.b.party, c.b.id) for c in seen_by_uss] == [(oi, "RED", "strike-1")]
    # The DSS does not list the native operation: F3548 shows only F3548 references,
    # so the USS learns of it through the native conflict notice, not the plan.
    aoi = {"area_of_interest": extent(radius_m=5000.0)}
    listed = dss.query_operational_intents(USS1, aoi)["operational_intent_references"]
    assert [r["id"] for r in listed] == [oi]

    # An F3548 intent filed after the native operation conflicts with it too.
    later = new_id()
    dss.put_operational_intent(
        USS2, later, None, oi_body(extent(lat=47.002, lon=8.002), key=[r["ovn"] for r in listed])
    )
    assert ("RED", "strike-1") in [(c.b.party, c.b.id) for c in native.conflicts("uss2")]
    # Both sides are told through their outboxes, and the USS's filing is in its audit chain.
    with store.transaction() as tx:
        red_events = tx.repo(EventsRepo).after("RED", 0)
        uss2_events = tx.repo(EventsRepo).after("uss2", 0)
        uss2_audit = [e.kind for e in tx.repo(AuditRepo).entries("uss2")]
    notice = next(e for e in red_events if e.kind == "conflict.notice" and e.payload["changed_by"] == "uss2")
    assert "volumes" not in notice.payload["conflict"]  # the overlap, not the plan
    assert any(e.kind == "conflict.notice" for e in uss2_events)
    assert "f3548.operational_intent.created" in uss2_audit


def test_volume_round_trip() -> None:
    parsed = parse_volume4d(extent(lower=100.0), "v")
    assert parsed.lower_m == pytest.approx(100.0)
    wire = volume_to_f3548(parsed.volume())
    again = parse_volume4d(wire, "v")
    assert again == parsed


def test_concurrent_intersecting_creates_take_turns(
    store_url: str, open_url: Callable[[str], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two USSs file intersecting intents at once through two API processes (two store
    connections), neither knowing the other's OVN: the key check must refuse one of them
    on every store (cell locks on PostgreSQL; one writer on SQLite)."""
    services = {who: DssService(open_url(store_url), ManualClock(NOW)) for who in (USS1, USS2)}
    # Hold each filing between its key check and its write until the other one has
    # reached the same point (or 2 s passed): without the locks both checks pass.
    gate = threading.Barrier(2, timeout=2.0)
    put_entity = DssRepo.put_entity

    def held_put(repo: DssRepo, entity: DssEntity) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            gate.wait()
        put_entity(repo, entity)

    monkeypatch.setattr(DssRepo, "put_entity", held_put)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def file(who: F3548Principal) -> None:
        barrier.wait()
        try:
            services[who].put_operational_intent(who, new_id(), None, oi_body())
            outcomes.append("created")
        except AirspaceConflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=file, args=(who,)) for who in (USS1, USS2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created", "refused"]


def test_time_based_notification_index(store: Store) -> None:
    clock = ManualClock(NOW)
    dss = DssService(store, clock, time_based_index=True)
    watcher = F3548Principal("uss2", SC)
    sub = new_id()
    body = {
        "extents": extent(radius_m=5000.0),
        "uss_base_url": "https://w.example",
        "notify_for_operational_intents": True,
    }
    dss.put_subscription(watcher, sub, None, body)

    def index_after_filing() -> int:
        change = dss.put_operational_intent(
            USS1, new_id(), None, oi_body(extent(lat=47.0 + len(seen) * 0.02))
        )
        watched = next(s for s in change.body["subscribers"] if s["uss_base_url"] == "https://w.example")
        return int(watched["subscriptions"][0]["notification_index"])

    seen: list[int] = []
    seen.append(index_after_filing())
    assert seen[0] == int((NOW - datetime(2020, 1, 1, tzinfo=UTC)).total_seconds())
    seen.append(index_after_filing())  # same second: still rises
    clock.advance(timedelta(seconds=30))
    seen.append(index_after_filing())
    assert seen[1] == seen[0] + 1
    assert seen[2] == seen[0] + 30


def test_a_subscription_must_cover_its_intents(dss: DssService) -> None:
    sub = new_id()
    body = {
        "extents": extent(radius_m=1000.0),
        "uss_base_url": "https://uss.example/f3548",
        "notify_for_operational_intents": True,
    }
    dss.put_subscription(USS1, sub, None, body)
    outside = {**oi_body(extent(lat=47.1)), "subscription_id": sub}
    del outside["new_subscription"]
    oi = new_id()
    with pytest.raises(InvalidInput) as refused:
        dss.put_operational_intent(USS1, oi, None, outside)
    assert refused.value.field == "subscription_id"
    inside = {**outside, "extents": [extent()]}
    assert dss.put_operational_intent(USS1, oi, None, inside).status == 201


def test_an_implicit_subscription_grows_with_its_intent(dss: DssService) -> None:
    oi = new_id()
    ref = dss.put_operational_intent(USS1, oi, None, oi_body()).body["operational_intent_reference"]
    moved = {**oi_body(extent(lat=47.05), key=[ref["ovn"]]), "subscription_id": ref["subscription_id"]}
    del moved["new_subscription"]
    dss.put_operational_intent(USS1, oi, ref["ovn"], moved)
    # The implicit subscription grew to cover the moved intent (5.5 km away), so it hears
    # of a neighbour filed at the new place.
    neighbour = dss.put_operational_intent(
        USS2,
        new_id(),
        None,
        oi_body(
            extent(lat=47.05),
            key=[dss.get_operational_intent(USS1, oi)["operational_intent_reference"]["ovn"]],
        ),
    )
    notified = [s["subscription_id"] for u in neighbour.body["subscribers"] for s in u["subscriptions"]]
    assert ref["subscription_id"] in notified


def test_key_needs_constraints_when_the_subscription_asks_for_them(dss: DssService) -> None:
    authority = F3548Principal("authority", frozenset({CONSTRAINT_MANAGEMENT}))
    constraint = new_id()
    body = {"extents": [extent(radius_m=2000.0)], "uss_base_url": "https://authority.example"}
    made = dss.put_constraint(authority, constraint, None, body).body["constraint_reference"]

    # An intent whose subscription does not ask about constraints needs no constraint OVNs.
    quiet = dss.put_operational_intent(USS2, new_id(), None, oi_body()).body["operational_intent_reference"]

    wants_constraints = oi_body(key=[quiet["ovn"]])
    wants_constraints["new_subscription"] = {
        "uss_base_url": "https://uss.example/f3548",
        "notify_for_constraints": True,
    }
    with pytest.raises(AirspaceConflict) as refused:
        dss.put_operational_intent(USS1, new_id(), None, wants_constraints)
    assert [c.entity.id for c in refused.value.missing_constraints] == [constraint]
    assert refused.value.missing == []
    with_constraint = {**wants_constraints, "key": [quiet["ovn"], made["ovn"]]}
    assert dss.put_operational_intent(USS1, new_id(), None, with_constraint).status == 201
