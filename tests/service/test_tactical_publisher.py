"""Tactical alerts as events: both named parties' outboxes and audit logs, nothing for strangers."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from deconfliction.engine.tactical import Alert, Change, Tier
from deconfliction.service.tactical import EVENT_KIND, AlertPublisher, alert_body
from deconfliction.store import Store
from deconfliction.store.base import Party, PartyKind
from deconfliction.store.events import AuditRepo, EventsRepo

T = 1_772_366_405.0  # 2026-03-01T12:00:05Z


def conflict(change: Change = Change.RAISED) -> Alert:
    return Alert(
        T, "conflict", change, Tier.CAUTION, Tier.NONE, "4ca2d6", "BLUE", "3c6445", "RED", 47.2, 70.04, 12.6
    )


def intrusion(party: str = "BLUE") -> Alert:
    return Alert(
        T, "intrusion", Change.CLEARED, Tier.NONE, Tier.WARNING, "4ca2d6", party, "OP-7 v3", "RED", math.nan
    )


def test_bodies_are_need_to_know_and_json_ready() -> None:
    body = alert_body(conflict())
    assert body == {
        "time": "2026-03-01T12:00:05Z",
        "alert": "conflict",
        "change": "raised",
        "tier": "caution",
        "previous_tier": "none",
        "parties": ["BLUE", "RED"],
        "tracks": [{"id": "4ca2d6", "party": "BLUE"}, {"id": "3c6445", "party": "RED"}],
        "t_in_s": 47.2,
        "tcpa_s": 70.0,
        "dcpa_m": 13.0,
    }
    cleared = alert_body(intrusion())
    assert cleared["tier"] == "warning"  # the tier it had
    assert cleared["operation"] == {"party": "RED", "reference": "OP-7 v3"}
    assert "t_in_s" not in cleared
    json.dumps(cleared, allow_nan=False)


def test_publisher_writes_both_parties_outboxes_and_audit_logs(
    store_url: str, open_url: Callable[[str], Store]
) -> None:
    store = open_url(store_url)
    with store.transaction() as tx:
        tx.add_party(Party("BLUE", "Blue", PartyKind.MILITARY))
        tx.add_party(Party("RED", "Red", PartyKind.MILITARY))
    publisher = AlertPublisher(store)
    assert publisher.publish([]) == 0
    # An intrusion by a track of an unregistered party reaches only the volume's owner.
    assert publisher.publish([conflict(), intrusion(), intrusion("GHOST")]) == 2 + 2 + 1
    with store.transaction() as tx:
        blue = tx.repo(EventsRepo).after("BLUE", 0)
        red = tx.repo(EventsRepo).after("RED", 0)
        blue_audit = tx.repo(AuditRepo).entries("BLUE")
        red_audit = tx.repo(AuditRepo).entries("RED")
    assert [e.kind for e in blue] == [EVENT_KIND, EVENT_KIND]
    assert len(red) == 3
    assert red[2].payload["track"] == {"id": "4ca2d6", "party": "GHOST"}
    assert [e.body for e in blue_audit] == [e.payload for e in blue]
    assert [e.body for e in red_audit] == [e.payload for e in red]
    assert {e.actor for e in red_audit} == {"system"}
