"""Deadlines and escalation, on a manual clock (no sleeping), and line suspension."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hotlinehelpers import NOTIFY_FIELDS, STOP_FIELDS, T0, audit, events, make_service

from deconfliction.errors import Conflict, InvalidInput, LineSuspended, NotFound
from deconfliction.interop.hotline import read_area
from deconfliction.service.clock import ManualClock
from deconfliction.service.hotline import Deadline, Deadlines, HotlineService, MessageClass, Stage
from deconfliction.store import Store
from deconfliction.store.hotline import HotlineRepo


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def hotline(store: Store, clock: ManualClock) -> HotlineService:
    return make_service(store, clock)


def _at(clock: ManualClock, seconds: float) -> None:
    clock.set(T0 + timedelta(seconds=seconds))


def test_a_stop_escalates_on_time_up_the_chain_and_back_to_the_sender(
    hotline: HotlineService, store: Store, clock: ManualClock
) -> None:
    stop = hotline.send("RED", "BLUE", "STOP", "STOP", STOP_FIELDS)
    _at(clock, 9.999)
    assert hotline.sweep() == []
    _at(clock, 10)  # the delivery deadline of a STOP: 10 s
    [late] = hotline.sweep()
    assert (late.stage, late.level, late.deadline) == (Stage.DELIVERY, 1, T0 + timedelta(seconds=10))
    assert late.notify == {"parties": ["BLUE", "RED"], "desk": "duty", "escalate_to": None}
    assert hotline.sweep() == []  # once only
    _at(clock, 30)
    hotline.receipt("BLUE", stop.id)
    _at(clock, 59)
    assert hotline.sweep() == []
    _at(clock, 60)  # acknowledgement due at 60 s: the first desk of the chain is alerted
    [first] = hotline.sweep()
    assert (first.stage, first.level, first.notify["escalate_to"]) == (Stage.ACKNOWLEDGEMENT, 1, "watch")
    _at(clock, 109)  # each further window (60 - 10 = 50 s) goes one desk higher
    assert hotline.sweep() == []
    _at(clock, 110)
    [second] = hotline.sweep()
    assert (second.level, second.notify["escalate_to"], second.deadline) == (
        2, "director", T0 + timedelta(seconds=110),
    )  # fmt: skip
    _at(clock, 10_000)
    assert hotline.sweep() == []  # the chain has ended; nothing is repeated
    with store.transaction() as tx:  # and the sweep no longer even reads the message
        assert tx.repo(HotlineRepo).overdue_ack(1e12) == []
        assert tx.repo(HotlineRepo).overdue_delivery(1e12) == []
    assert [e.level for e in hotline.escalations("RED", stop.id)] == [1, 1, 2]
    assert [e.stage for e in hotline.escalations("BLUE", stop.id)] == [
        Stage.DELIVERY, Stage.ACKNOWLEDGEMENT, Stage.ACKNOWLEDGEMENT,
    ]  # fmt: skip
    for party in ("RED", "BLUE"):
        kinds = [k for k, _ in events(store, party)]
        assert kinds.count("hotline.escalation") == 3
        assert [k for k, _ in audit(store, party)].count("hotline.escalation") == 3
    assert audit(store, "RED") == audit(store, "BLUE")


def test_a_missed_deadline_is_caught_by_a_late_sweep_at_every_level_it_passed(
    hotline: HotlineService, clock: ManualClock
) -> None:
    sent = hotline.send("RED", "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS)
    _at(clock, 4 * 3600)  # nobody swept for four hours: delivery and both chain steps at once
    found = hotline.sweep()
    assert [(e.stage, e.level) for e in found] == [
        (Stage.DELIVERY, 1), (Stage.ACKNOWLEDGEMENT, 1), (Stage.ACKNOWLEDGEMENT, 2),
    ]  # fmt: skip
    assert found[1].deadline == sent.ack_by


def test_acknowledged_messages_and_acks_do_not_escalate(hotline: HotlineService, clock: ManualClock) -> None:
    sent = hotline.send("RED", "CIVIL", "PRIORITY", "NOTIFY", NOTIFY_FIELDS)
    _at(clock, 5)
    ack, _ = hotline.acknowledge("CIVIL", sent.id, None)
    hotline.receipt("RED", ack.id)
    _at(clock, 100_000)
    assert hotline.sweep() == []


def test_a_party_without_a_chain_still_escalates_once_to_both_sides(
    hotline: HotlineService, clock: ManualClock, store: Store
) -> None:
    sent = hotline.send("BLUE", "RED", "PRIORITY", "NOTIFY", NOTIFY_FIELDS)
    hotline.receipt("RED", sent.id)
    _at(clock, 300)
    [esc] = hotline.sweep()
    assert (esc.stage, esc.notify["escalate_to"]) == (Stage.ACKNOWLEDGEMENT, None)
    _at(clock, 100_000)
    assert hotline.sweep() == []
    assert ("hotline.escalation", esc.to_dict() | {"from": "BLUE", "to": "RED", "class": "PRIORITY",
            "template": "NOTIFY"}) in events(store, "BLUE")  # fmt: skip


def test_deadlines_are_configurable(store: Store, clock: ManualClock) -> None:
    hotline = make_service(store, clock)
    fast = HotlineService(store, clock, read_area, Deadlines.parse("ROUTINE=1/2"))
    sent = fast.send("RED", "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS)
    assert (sent.deliver_by - T0, sent.ack_by) == (timedelta(seconds=1), T0 + timedelta(seconds=2))
    assert fast.deadlines.of(MessageClass.STOP) == Deadline(10, 60)  # omitted classes keep defaults
    _at(clock, 1)
    assert [e.stage for e in hotline.sweep()] == [Stage.DELIVERY]  # stored deadlines rule the sweep
    for text, field in (("ROUTINE=1", "deadlines"), ("FAST=1/2", "deadlines"), ("STOP=x/y", "deadlines"),
                        ("STOP=0/5", "deadlines.delivery_s"), ("STOP=10/5", "deadlines.ack_s")):  # fmt: skip
        with pytest.raises(InvalidInput) as caught:
            Deadlines.parse(text)
        assert caught.value.field == field, text


def test_a_suspended_line_refuses_all_but_stop_with_a_notice_and_an_event(
    hotline: HotlineService, store: Store
) -> None:
    line = hotline.suspend("BLUE", "RED", "exercise over")
    assert (line.state, line.suspended_by_me is not None, line.suspended_by_them) == ("suspended", True, None)
    assert events(store, "RED")[-1] == (
        "hotline.line",
        {"by": "BLUE", "other": "RED", "state": "suspended", "reason": "exercise over",
         "at": "2026-11-26T06:00:00Z"},
    )  # fmt: skip
    for sender, to in (("RED", "BLUE"), ("BLUE", "RED")):
        with pytest.raises(LineSuspended, match=r"suspended by BLUE since .*\(exercise over\).*only STOP"):
            hotline.send(sender, to, "PRIORITY", "NOTIFY", NOTIFY_FIELDS)
    assert hotline.inbox("BLUE") == []
    assert hotline.inbox("RED") == []
    refused = [p for k, p in events(store, "BLUE") if k == "hotline.refused"]
    assert [(p["from"], p["class"], p["suspended_by"]) for p in refused] == [("RED", "PRIORITY", ["BLUE"])]
    assert [k for k, _ in audit(store, "RED")] == ["hotline.suspend", "hotline.refused", "hotline.refused"]
    stop = hotline.send("RED", "BLUE", "STOP", "STOP", STOP_FIELDS)  # safety passes
    assert hotline.inbox("BLUE") == [stop]
    hotline.send("CIVIL", "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS)  # other lines are open
    [red_view] = [ln for ln in hotline.lines("RED") if ln.other == "BLUE"]
    assert red_view.state == "suspended"
    assert red_view.suspended_by_them is not None
    assert red_view.suspended_by_them.reason == "exercise over"
    with pytest.raises(Conflict, match="has not suspended"):
        hotline.resume("RED", "BLUE")  # only the side that suspended lifts its suspension
    with pytest.raises(Conflict, match="already suspended"):
        hotline.suspend("BLUE", "RED")
    hotline.suspend("RED", "BLUE")
    assert hotline.resume("BLUE", "RED").state == "suspended"  # RED's own suspension stands
    assert hotline.resume("RED", "BLUE").state == "open"
    assert hotline.send("RED", "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS).recipient == "BLUE"
    assert events(store, "BLUE")[-2][0] == "hotline.line"


def test_suspension_input_is_checked(hotline: HotlineService, store: Store) -> None:
    for other, reason, field in (
        ("RED", None, "party"),
        ("no way", None, "party"),
        ("BLUE", "x" * 501, "reason"),
    ):
        with pytest.raises(InvalidInput) as caught:
            hotline.suspend("RED", other, reason)
        assert caught.value.field == field
    with pytest.raises(NotFound):
        hotline.suspend("RED", "GREEN")
    assert audit(store, "RED") == []
    assert {ln.other: ln.state for ln in hotline.lines("RED")} == {"BLUE": "open", "CIVIL": "open"}
