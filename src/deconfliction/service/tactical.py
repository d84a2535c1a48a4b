"""Tactical alerts reach parties as events, and both sides' records hold them.

Every alert change of a cycle (:class:`~deconfliction.engine.tactical.Alert`) is written in
one transaction to each registered party it names — both parties of a conflict; the track's
party and the volume's owner of an intrusion — as a ``tactical.alert`` event in its outbox
(the push stream delivers it) and as an entry in its audit log, with the same body on both
sides so the two records cross-verify. A party the store does not know (a track of an
unregistered party) gets nothing. The event time is the alert's cycle time: in a replay,
the time in the replayed airspace.

Need-to-know: a conflict names both tracks and their parties (each side must know whom to
call); an intrusion names the track, its party, and the operation it enters by reference
(id and version), never the operation's geometry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from deconfliction.engine.tactical import Alert, Change
from deconfliction.geo.timewindow import format_utc
from deconfliction.store.base import Store
from deconfliction.store.events import AuditRepo, EventsRepo

EVENT_KIND: Final = "tactical.alert"
#: The actor of alert audit entries: the service itself, as for hotline escalations.
SYSTEM: Final = "system"


def _rounded(value: float, digits: int) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def alert_body(alert: Alert) -> dict[str, Any]:
    """The event payload and audit body of one alert change (JSON-ready, no NaN)."""
    cleared = alert.change is Change.CLEARED
    body: dict[str, Any] = {
        "time": format_utc(datetime.fromtimestamp(alert.time_s, UTC)),
        "alert": alert.kind,
        "change": alert.change.value,
        "tier": (alert.previous if cleared else alert.tier).name.lower(),
        "previous_tier": alert.previous.name.lower(),
        "parties": sorted({alert.party_a, alert.party_b}),
    }
    if alert.kind == "conflict":
        body["tracks"] = [
            {"id": alert.subject_a, "party": alert.party_a},
            {"id": alert.subject_b, "party": alert.party_b},
        ]
        if not cleared:
            body["t_in_s"] = _rounded(alert.t_in_s, 1)
            body["tcpa_s"] = _rounded(alert.tcpa_s, 1)
            body["dcpa_m"] = _rounded(alert.dcpa_m, 0)
    else:
        body["track"] = {"id": alert.subject_a, "party": alert.party_a}
        body["operation"] = {"party": alert.party_b, "reference": alert.subject_b}
        if not cleared:
            body["t_in_s"] = _rounded(alert.t_in_s, 1)
    return body


class AlertPublisher:
    """Writes alert changes to the parties' outboxes and audit logs of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def publish(self, alerts: Sequence[Alert]) -> int:
        """One transaction for the given alerts (e.g. one cycle's); returns the events written."""
        if not alerts:
            return 0
        written = 0
        with self.store.transaction() as tx:
            registered = {party.id for party in tx.list_parties()}
            events, audit = tx.repo(EventsRepo), tx.repo(AuditRepo)
            for alert in alerts:
                body = alert_body(alert)
                at = datetime.fromtimestamp(alert.time_s, UTC)
                for party in body["parties"]:
                    if party in registered:
                        events.append(party, EVENT_KIND, body, at)
                        audit.append(party, EVENT_KIND, SYSTEM, body, at)
                        written += 1
        return written
