"""Hotline use-cases on both stores: sending, reading, receipt, acknowledgement, refusals."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hotlinehelpers import ALTITUDE, AREA, NOTIFY_FIELDS, STOP_FIELDS, T0, audit, events, make_service

from builders import circle_op
from deconfliction.engine.strategic import conflict_reference
from deconfliction.errors import Conflict, Forbidden, GeometryMismatch, InvalidInput, NotFound
from deconfliction.service.clock import ManualClock
from deconfliction.service.hotline import TEMPLATES, HotlineService, MessageClass
from deconfliction.service.hotline.model import MAX_ANNEX_CHARS
from deconfliction.service.hotline.service import ack_payload
from deconfliction.service.operations import OperationService
from deconfliction.service.signing import SIGNATURE_FIELD, b64u, public_raw, register_party_key, sign_payload
from deconfliction.store import Store
from deconfliction.store.events import AuditRepo, canonical_json, sha256_hex


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def hotline(store: Store, clock: ManualClock) -> HotlineService:
    return make_service(store, clock)


def test_a_message_goes_to_the_duty_desk_with_an_event_and_matching_audit_entries(
    hotline: HotlineService, store: Store
) -> None:
    sent = hotline.send("RED", "BLUE", "PRIORITY", "NOTIFY", NOTIFY_FIELDS, annex="callsign VIPER 1")
    assert sent.desk == "duty"
    assert sent.cls is MessageClass.PRIORITY
    assert sent.fields["start"] == "2026-11-26T07:00:00Z"
    assert sent.geometry_sha256 is None  # no geometry field given
    assert (sent.deliver_by - T0).total_seconds() == 30
    assert sent.ack_by is not None
    assert (sent.ack_by - T0).total_seconds() == 300
    assert hotline.get("BLUE", sent.id) == sent == hotline.get("RED", sent.id)
    kinds = events(store, "BLUE")
    assert [k for k, _ in kinds] == ["hotline.message"]
    assert kinds[0][1]["message"]["id"] == sent.id
    assert kinds[0][1]["rendered"]["language"] == "ru"  # BLUE's duty desk reads Russian
    assert kinds[0][1]["rendered"]["title"] == "Уведомление о деятельности"
    assert events(store, "RED") == []  # the sender's outbox is for what it must hear of
    red, blue = audit(store, "RED"), audit(store, "BLUE")
    assert red == blue
    assert red[0][0] == "hotline.message"


def test_a_third_party_cannot_see_or_touch_a_message(hotline: HotlineService) -> None:
    sent = hotline.send("RED", "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS)
    with pytest.raises(NotFound) as seen:
        hotline.get("CIVIL", sent.id)
    with pytest.raises(NotFound) as missing:
        hotline.get("CIVIL", "M-0000000000000000")
    assert str(seen.value) == str(missing.value).replace("M-0000000000000000", sent.id)
    with pytest.raises(NotFound):
        hotline.receipt("CIVIL", sent.id)
    with pytest.raises(NotFound):
        hotline.acknowledge("CIVIL", sent.id, None)
    with pytest.raises(NotFound):
        hotline.escalations("CIVIL", sent.id)
    assert hotline.inbox("CIVIL") == []
    assert hotline.sent("CIVIL") == []


def test_inbox_serves_stop_first(hotline: HotlineService, clock: ManualClock) -> None:
    routine = hotline.send("RED", "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS)
    clock.advance(timedelta(seconds=1))
    priority = hotline.send("CIVIL", "BLUE", "PRIORITY", "NOTIFY", NOTIFY_FIELDS)
    stop = hotline.send("RED", "BLUE", "STOP", "STOP", STOP_FIELDS)
    assert [m.id for m in hotline.inbox("BLUE")] == [stop.id, priority.id, routine.id]
    assert [m.id for m in hotline.sent("RED")] == [stop.id, routine.id]


def test_receipt_is_the_recipients_and_counts_once(hotline: HotlineService, store: Store) -> None:
    sent = hotline.send("RED", "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS)
    with pytest.raises(Forbidden):
        hotline.receipt("RED", sent.id)
    first = hotline.receipt("BLUE", sent.id)
    assert first.state == "received"
    assert first.received_at == T0
    assert hotline.receipt("BLUE", sent.id) == first
    assert [k for k, _ in events(store, "RED")] == ["hotline.receipt"]
    assert [k for k, _ in audit(store, "RED")] == ["hotline.message", "hotline.receipt"]


def test_reading_the_inbox_records_receipt_so_nothing_escalates_for_want_of_it(
    hotline: HotlineService, store: Store, clock: ManualClock
) -> None:
    sent = hotline.send("RED", "BLUE", "PRIORITY", "NOTIFY", NOTIFY_FIELDS)
    other = hotline.send("RED", "CIVIL", "PRIORITY", "NOTIFY", NOTIFY_FIELDS)
    assert hotline.inbox("BLUE")[0].received_at is None  # listing alone records nothing
    read = hotline.read_inbox("BLUE")
    assert [m.id for m in read] == [sent.id]
    assert read[0].received_at == T0
    assert hotline.read_inbox("BLUE")[0].received_at == T0  # once: the first time counts
    assert [k for k, _ in events(store, "RED")] == ["hotline.receipt"]
    # past the delivery deadline only the unread message escalates for delivery
    clock.set(sent.deliver_by + timedelta(seconds=1))
    missed = [e for e in hotline.sweep() if e.stage == "delivery"]
    assert [e.message_id for e in missed] == [other.id]


def test_reading_one_message_records_receipt_for_its_recipient_only(hotline: HotlineService) -> None:
    sent = hotline.send("RED", "BLUE", "PRIORITY", "NOTIFY", NOTIFY_FIELDS)
    assert hotline.read("RED", sent.id).received_at is None  # the sender reading it: no receipt
    assert hotline.read("BLUE", sent.id).received_at == T0


def _geometry_hash(fields: dict[str, Any]) -> str:
    """What a receiver computes from the fields it was shown (docs/hotline.md)."""
    geometry = {k: v for k, v in fields.items() if k in ("area", "position", "altitude")}
    return sha256_hex(canonical_json(geometry))


def test_acknowledgement_echoes_the_geometry_hash(hotline: HotlineService, store: Store) -> None:
    sent = hotline.send("RED", "BLUE", "STOP", "STOP", STOP_FIELDS)
    seen = hotline.get("BLUE", sent.id).fields
    assert sent.geometry_sha256 == _geometry_hash(seen) == _geometry_hash(STOP_FIELDS)
    # A position read out 9 km wrong hashes differently and is refused; nothing changes.
    wrong = copy.deepcopy(seen)
    wrong["area"]["geometry"]["coordinates"] = [40.1, 35.28]
    for echo in (_geometry_hash(wrong), None):
        with pytest.raises(GeometryMismatch, match="fetch it again"):
            hotline.acknowledge("BLUE", sent.id, echo)
    assert hotline.get("RED", sent.id).state == "sent"
    assert events(store, "RED") == []
    with pytest.raises(Forbidden):
        hotline.acknowledge("RED", sent.id, sent.geometry_sha256)
    ack, acked = hotline.acknowledge("BLUE", sent.id, _geometry_hash(seen))
    assert ack.template == "ACK"
    assert ack.sender == "BLUE"
    assert ack.recipient == "RED"
    assert ack.cls is MessageClass.STOP
    assert ack.reply_to == sent.id
    assert ack.ack_by is None
    assert ack.fields == {"message": sent.id, "geometry_sha256": sent.geometry_sha256}
    assert acked.state == "acknowledged"
    assert acked.ack_message == ack.id
    assert acked.received_at == T0
    kinds = [k for k, _ in events(store, "RED")]
    assert kinds == ["hotline.receipt", "hotline.message", "hotline.ack"]
    with pytest.raises(Conflict, match="already acknowledged"):
        hotline.acknowledge("BLUE", sent.id, sent.geometry_sha256)
    with pytest.raises(Conflict, match="not acknowledged in turn"):
        hotline.acknowledge("RED", ack.id, None)


def test_a_message_without_geometry_is_acknowledged_without_a_hash(hotline: HotlineService) -> None:
    sent = hotline.send("RED", "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS)
    with pytest.raises(GeometryMismatch, match="carries no geometry"):
        hotline.acknowledge("BLUE", sent.id, "a" * 64)
    ack, _ = hotline.acknowledge("BLUE", sent.id, None)
    assert ack.fields == {"message": sent.id}


def test_the_ack_template_acknowledges_through_send(hotline: HotlineService) -> None:
    sent = hotline.send("RED", "CIVIL", "PRIORITY", "QUERY-AFFILIATION", {
        "position": {"type": "Point", "coordinates": [40.0, 35.0]}, "time": "2026-11-26T06:10:00Z",
    })  # fmt: skip
    echo = {"message": sent.id, "geometry_sha256": sent.geometry_sha256}
    with pytest.raises(InvalidInput) as wrong_class:
        hotline.send("CIVIL", "RED", "ROUTINE", "ACK", echo)
    assert wrong_class.value.field == "class"
    with pytest.raises(InvalidInput) as wrong_to:
        hotline.send("CIVIL", "BLUE", "PRIORITY", "ACK", echo)
    assert wrong_to.value.field == "to"
    ack = hotline.send("CIVIL", "RED", "PRIORITY", "ACK", echo, annex="not ours, checking")
    assert ack.reply_to == sent.id
    assert ack.annex == "not ours, checking"
    assert hotline.get("RED", sent.id).ack_message == ack.id


def test_a_party_with_a_key_signs_its_acknowledgements(
    hotline: HotlineService, store: Store, clock: ManualClock
) -> None:
    private = Ed25519PrivateKey.generate()
    with store.transaction() as tx:
        register_party_key(tx, "BLUE", b64u(public_raw(private)), clock.now())
    sent = hotline.send("RED", "BLUE", "STOP", "STOP", STOP_FIELDS)
    echo = sent.geometry_sha256
    with pytest.raises(InvalidInput, match="must be signed"):
        hotline.acknowledge("BLUE", sent.id, echo)
    forged = sign_payload(private, ack_payload(sent.id, "BLUE", "0" * 64))
    with pytest.raises(InvalidInput, match="not a signature"):
        hotline.acknowledge("BLUE", sent.id, echo, forged)
    signature = sign_payload(private, ack_payload(sent.id, "BLUE", echo))
    _, acked = hotline.acknowledge("BLUE", sent.id, echo, signature)
    assert acked.ack_signature == signature
    with store.transaction() as tx:
        entry = tx.repo(AuditRepo).entries("BLUE")[-1]
    assert entry.kind == "hotline.ack"
    assert entry.body[SIGNATURE_FIELD]["signature"] == signature


_V0 = {"party": "RED", "operation_id": "X", "version": 0}
_FT = {"lower": 5000, "upper": 9000, "units": "ft"}
_LAT95 = {**AREA, "geometry": {"type": "Point", "coordinates": [40.1, 95]}}

BAD: list[tuple[str, str, str, Any, dict[str, Any], str]] = [
    # (to, class, template, fields, extra kwargs, field named by the error)
    ("BLUE", "ROUTINE", "SITREP", NOTIFY_FIELDS, {}, "template"),
    ("BLUE", "URGENT", "NOTIFY", NOTIFY_FIELDS, {}, "class"),
    ("BLUE", "STOP", "NOTIFY", NOTIFY_FIELDS, {}, "class"),
    ("BLUE", "ROUTINE", "STOP", STOP_FIELDS, {}, "class"),
    ("RED", "ROUTINE", "NOTIFY", NOTIFY_FIELDS, {}, "to"),
    ("bad id!", "ROUTINE", "NOTIFY", NOTIFY_FIELDS, {}, "to"),
    ("BLUE", "ROUTINE", "NOTIFY", {**NOTIFY_FIELDS, "colour": "red"}, {}, "fields.colour"),
    ("BLUE", "ROUTINE", "NOTIFY", {k: v for k, v in NOTIFY_FIELDS.items() if k != "end"}, {}, "fields.end"),
    ("BLUE", "ROUTINE", "NOTIFY", {**NOTIFY_FIELDS, "start": "07:00"}, {}, "fields.start"),
    ("BLUE", "ROUTINE", "NOTIFY", {**NOTIFY_FIELDS, "start": "2026-11-26T07:00:00"}, {}, "fields.start"),
    ("BLUE", "ROUTINE", "NOTIFY", {**NOTIFY_FIELDS, "start": 1764140400}, {}, "fields.start"),
    ("BLUE", "ROUTINE", "NOTIFY", {**NOTIFY_FIELDS, "operation": "ISR-1"}, {}, "fields.operation"),
    (
        "BLUE", "ROUTINE", "NOTIFY", {**NOTIFY_FIELDS, "operation": _V0},
        {}, "fields.operation.version",
    ),
    (
        "BLUE", "ROUTINE", "NOTIFY", {**NOTIFY_FIELDS, "altitude": {**ALTITUDE, "units": "yd"}},
        {}, "fields.altitude.units",
    ),
    (
        "BLUE", "ROUTINE", "NOTIFY", {**NOTIFY_FIELDS, "altitude": _FT},
        {}, "fields.altitude.datum",
    ),
    (
        "BLUE", "ROUTINE", "NOTIFY", {**NOTIFY_FIELDS, "altitude": {**ALTITUDE, "lower": "180"}},
        {}, "fields.altitude.lower",
    ),
    (
        "BLUE", "STOP", "STOP", {**STOP_FIELDS, "area": _LAT95},
        {}, "fields.area.geometry.coordinates[1]",
    ),
    (
        "BLUE", "STOP", "STOP", {**STOP_FIELDS, "area": {**AREA, "footprint": {"kind": "circle"}}},
        {}, "fields.area.footprint.radius",
    ),
    ("BLUE", "STOP", "STOP", {**STOP_FIELDS, "area": {**AREA, "colour": 1}}, {}, "fields.area.colour"),
    ("BLUE", "STOP", "STOP", {**STOP_FIELDS, "reason": "BORED"}, {}, "fields.reason"),
    ("BLUE", "STOP", "STOP", {"reason": "OTHER"}, {}, "fields.area"),
    ("BLUE", "ROUTINE", "REQUEST-DECONFLICT", {"conflict": "CX-12", "action": "HOLD"}, {}, "fields.conflict"),
    ("BLUE", "ROUTINE", "DISPUTE", {"reason": "TIME-WRONG"}, {}, "fields.conflict"),
    (
        "BLUE", "ROUTINE", "QUERY-AFFILIATION", {"position": [40, 35], "time": "2026-11-26T06:00:00Z"},
        {}, "fields.position",
    ),
    ("BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS, {"annex": "x" * (MAX_ANNEX_CHARS + 1)}, "annex"),
    ("BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS, {"annex": "ok\x1b[2Jgone"}, "annex"),
    ("BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS, {"annex": 42}, "annex"),
    ("BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS, {"annex": "lone \ud800 surrogate"}, "annex"),
    ("BLUE", "ROUTINE", "NOTIFY", {**NOTIFY_FIELDS, "end": "9999-12-31T23:59:59-05:00"}, {}, "fields.end"),
    ("BLUE", "ROUTINE", "NOTIFY", [1, 2], {}, "fields"),
    ("BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS, {"signature": "abc"}, "signature"),
    ("BLUE", "ROUTINE", "ACK", {"message": "M-1"}, {}, "fields.message"),
]  # fmt: skip


@pytest.mark.parametrize(("to", "cls", "code", "fields", "extra", "field"), BAD)
def test_bad_input_names_the_field_and_stores_nothing(
    hotline: HotlineService,
    store: Store,
    to: str,
    cls: str,
    code: str,
    fields: Any,
    extra: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(InvalidInput) as caught:
        hotline.send("RED", to, cls, code, fields, **extra)
    assert caught.value.field == field, caught.value
    for party in ("RED", "BLUE"):
        assert hotline.inbox(party) == []
        assert hotline.sent(party) == []
        assert events(store, party) == []
        assert audit(store, party) == []


def test_messages_to_unknown_parties_or_desks_are_not_found(hotline: HotlineService, store: Store) -> None:
    with pytest.raises(NotFound):
        hotline.send("RED", "GREEN", "ROUTINE", "NOTIFY", NOTIFY_FIELDS)
    with pytest.raises(NotFound):
        hotline.send("RED", "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS, desk="canteen")
    assert hotline.sent("RED") == []
    assert audit(store, "RED") == []
    chosen = hotline.send("RED", "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS, desk="watch")
    assert chosen.desk == "watch"


def _conflict(store: Store, a: str, b: str) -> str:
    """File two overlapping operations of ``a`` and ``b``; the reference both can cite."""
    operations = OperationService(store)
    operations.file(circle_op(a, f"{a}-1"))
    filed = operations.file(circle_op(b, f"{b}-1", lon=40.05))
    [conflict] = [c for c in filed.conflicts if c.b.party == a]
    return conflict_reference(conflict)


def test_every_template_round_trips_through_the_store(hotline: HotlineService, store: Store) -> None:
    reference = _conflict(store, "RED", "BLUE")
    samples: dict[str, tuple[str, dict[str, Any]]] = {
        "REQUEST-DECONFLICT": ("PRIORITY", {
            "conflict": reference, "action": "CHANGE-ALTITUDE", "altitude": {
                "lower": 3000, "upper": 4000, "units": "m", "datum": "MSL"},
            "respond_by": "2026-11-26T06:20:00+00:00",
        }),
        "NO-CLAIM": ("ROUTINE", {"conflict": "CX-1A2B3C4D"}),
        "DISPUTE": ("ROUTINE", {"reason": "GEOMETRY-WRONG", "message": "M-0123456789abcdef"}),
    }  # fmt: skip
    for code, (cls, fields) in samples.items():
        sent = hotline.send("BLUE", "RED", cls, code, fields)
        assert hotline.get("RED", sent.id) == sent
    deconflict = hotline.sent("BLUE")[-1]
    assert deconflict.fields["respond_by"] == "2026-11-26T06:20:00Z"
    assert deconflict.geometry_sha256 == sha256_hex(
        canonical_json({"altitude": samples["REQUEST-DECONFLICT"][1]["altitude"]})
    )


def test_a_request_to_deconflict_names_a_current_conflict_of_the_pair(
    hotline: HotlineService, store: Store
) -> None:
    reference = _conflict(store, "RED", "BLUE")
    fields = {"conflict": reference, "action": "HOLD"}
    for sender, to, ref in (
        ("RED", "BLUE", "CX-00000000"),  # made up
        ("RED", "CIVIL", reference),  # a conflict, but not between these two
        ("CIVIL", "RED", reference),
    ):
        with pytest.raises(InvalidInput) as caught:
            hotline.send(sender, to, "ROUTINE", "REQUEST-DECONFLICT", {**fields, "conflict": ref})
        assert caught.value.field == "fields.conflict"
        assert "not a current conflict" in caught.value.rule
    assert hotline.sent("RED") == []
    assert (
        hotline.send("RED", "BLUE", "ROUTINE", "REQUEST-DECONFLICT", fields).fields["conflict"] == reference
    )
    assert hotline.send("BLUE", "RED", "ROUTINE", "REQUEST-DECONFLICT", fields).recipient == "RED"
    # A changed version is a new conflict reference: the old one can no longer be requested,
    # but a STOP citing it always goes through.
    operations = OperationService(store)
    operations.update("RED", "RED-1", 1, priority=50)
    with pytest.raises(InvalidInput, match="current: CX-"):
        hotline.send("RED", "BLUE", "ROUTINE", "REQUEST-DECONFLICT", fields)
    assert (
        hotline.send("RED", "BLUE", "STOP", "STOP", {**STOP_FIELDS, "conflict": reference}).cls.value
        == "STOP"
    )


def test_the_clients_geometry_hash_is_the_services() -> None:
    from deconfliction.client import GEOMETRY_FIELDS, geometry_hash
    from deconfliction.service.hotline.fields import GEOMETRY_KINDS, geometry_sha256

    # The client hashes by field name: those names must mean geometry in every template.
    for tpl in TEMPLATES.values():
        for spec in tpl.fields:
            assert (spec.name in GEOMETRY_FIELDS) == (spec.kind in GEOMETRY_KINDS), (tpl.code, spec.name)
    for code, fields in (("STOP", STOP_FIELDS), ("NOTIFY", NOTIFY_FIELDS)):
        assert geometry_hash(fields) == geometry_sha256(fields, TEMPLATES[code].fields)
    assert geometry_hash(NOTIFY_FIELDS) is None


def test_a_malformed_echo_is_invalid_input(hotline: HotlineService) -> None:
    sent = hotline.send("RED", "BLUE", "STOP", "STOP", STOP_FIELDS)
    for echo in ("Z" * 64, "ab", 5):
        with pytest.raises(InvalidInput) as caught:
            hotline.acknowledge("BLUE", sent.id, echo)  # type: ignore[arg-type]
        assert caught.value.field == "geometry_sha256"
    assert hotline.get("BLUE", sent.id).state == "sent"


def test_concurrent_acknowledgements_make_one_ack(hotline: HotlineService) -> None:
    from concurrent.futures import ThreadPoolExecutor

    sent = hotline.send("RED", "BLUE", "STOP", "STOP", STOP_FIELDS)

    def ack(_: int) -> str:
        try:
            return hotline.acknowledge("BLUE", sent.id, sent.geometry_sha256)[0].id
        except Conflict:
            return "refused"

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(ack, range(4)))
    winners = [r for r in results if r != "refused"]
    assert len(winners) == 1, results
    assert [m.id for m in hotline.inbox("RED")] == winners
