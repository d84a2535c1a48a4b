"""Probe alarms in the service: the facts each change leaves, and the alarms they raise.

Called in the transaction of every change to an operation (filing, batch, update,
transition), after its conflicts are known: the change leaves a :class:`Fact` (when it
could matter to a detector), the detectors of ``engine.probing`` run over the filer's
recent facts and every party's recent small ones, and each new alarm goes to the owner's
desk as a ``disclosure.alarm`` event, into the owner's and the suspect's audit chains,
and into ``probe_alarms``, which the owner's ledger and the operator's alarm list read
(docs/disclosure.md). One alarm per suspect, owner and detector in any 24 hours.
:class:`ProbeAlarms` lists them for the operator (``deconfliction admin alarms``,
``GET /v1/admin/alarms``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np

from deconfliction.engine.operation import Operation
from deconfliction.engine.probing import HISTORY_S, MAX_FACTS, POOLED_HISTORY_S, Change, Fact, detect
from deconfliction.engine.strategic import StrategicConflict
from deconfliction.errors import InvalidInput
from deconfliction.geo.frame import mean_position
from deconfliction.geo.timewindow import format_utc
from deconfliction.service.clock import Clock
from deconfliction.store.base import Store, Transaction
from deconfliction.store.events import AuditRepo, EventsRepo
from deconfliction.store.probing import ProbingRepo, RaisedAlarm

#: An alarm is raised once per suspect, owner and detector in this long.
QUIET_S: Final = 24 * 3600.0

#: What each detector tells the owner's desk.
DESCRIPTIONS: Final = {
    "churn": "small operations that conflicted with your plans were cancelled or moved soon after",
    "unflown": "operations that conflicted with your plans were withdrawn without ever flying",
    "sweep": "a burst of small filings tiled the area around your plans",
    "stepping": "one operation was moved step by step across your plans",
}


def fact_of(
    operation: Operation, change: Change, conflicts: Sequence[StrategicConflict], shape: str, at: datetime
) -> Fact:
    """The fact ``change`` to ``operation`` leaves, with its ``conflicts`` (seen by its party)."""
    by_owner: dict[str, list[StrategicConflict]] = defaultdict(list)
    for c in conflicts:
        seen = c.seen_by(operation.party)
        by_owner[seen.b.party].append(seen)
    touched = {owner: frozenset(c.b.id for c in found) for owner, found in by_owner.items()}
    centres = [v.footprint.center for v in operation.volumes]
    lat, lon = mean_position(np.array([c[0] for c in centres]), np.array([c[1] for c in centres]))
    return Fact(
        operation.party,
        operation.id,
        operation.version,
        at.timestamp(),
        change,
        max(v.footprint.area_m2() for v in operation.volumes),
        float(lat),
        float(lon),
        min(v.window.start_s for v in operation.volumes),
        max(v.window.end_s for v in operation.volumes),
        shape,
        touched,
    )


def watch(
    tx: Transaction,
    operation: Operation,
    change: str,
    conflicts: Sequence[StrategicConflict],
    shape: str,
    at: datetime,
) -> list[RaisedAlarm]:
    """Record what ``change`` to ``operation`` did, and raise the alarms it trips.
    ``shape`` is a digest of the operation's volumes."""
    fact = fact_of(operation, Change(change), conflicts, shape, at)
    repo = tx.repo(ProbingRepo)
    if not (fact.small or fact.touched or repo.has_facts(fact.party, fact.operation_id)):
        return []  # a large operation that asked nothing: no detector would count it
    now_s = fact.at_s
    repo.record(fact, now_s - HISTORY_S)
    if fact.change is Change.FILED and not fact.small:
        # A new large operation completes no pattern: churn, sweep and stepping count
        # small filings, moves and withdrawals, and unflown counts withdrawals and lapses.
        # Lapses are found at the party's next change of another kind, so the common
        # filing (a real operation, which conflicts) pays for one insert only.
        return []
    own = repo.facts_of(fact.party, now_s - HISTORY_S, MAX_FACTS)
    alarms = detect(own, repo.small_facts(now_s - POOLED_HISTORY_S, MAX_FACTS), now_s)
    raised = []
    for alarm in alarms:
        for suspect in alarm.suspects:
            if repo.raised_since(suspect, alarm.owner, alarm.detector.value, now_s - QUIET_S):
                continue
            raised.append(repo.raise_alarm(alarm, suspect, now_s))
            _tell(tx, raised[-1], at)
    return raised


def alarm_view(alarm: RaisedAlarm) -> dict[str, Any]:
    """An alarm as the owner, the operator and the audit chains see it."""
    return {
        "detector": alarm.detector,
        "suspect": alarm.suspect,
        "owner": alarm.owner,
        "colluding": list(alarm.colluding),
        "operations": list(alarm.operations),
        "count": alarm.count,
        "threshold": alarm.threshold,
        "at": format_utc(datetime.fromtimestamp(alarm.at_s, UTC)),
        "description": DESCRIPTIONS[alarm.detector],
    }


def _tell(tx: Transaction, raised: RaisedAlarm, at: datetime) -> None:
    body = alarm_view(raised)
    tx.repo(EventsRepo).append(raised.owner, "disclosure.alarm", body, at)
    tx.repo(AuditRepo).append_many(
        [
            (raised.owner, "disclosure.alarm", "service", body),
            (raised.suspect, "disclosure.alarm", "service", body),
        ],
        at,
    )


#: The longest look back the operator's alarm list takes (30 days).
MAX_LOOKBACK_H: Final = 720.0


def check_lookback(hours: object) -> float:
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= MAX_LOOKBACK_H:
        raise InvalidInput(
            "hours", f"must be a number of hours above 0 and at most {MAX_LOOKBACK_H:g}, got {hours!r}"
        )
    return float(hours)


class ProbeAlarms:
    """The operator's list of probe alarms, every owner's; one store transaction."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def recent(self, hours: float = 24.0) -> list[dict[str, Any]]:
        """Alarms raised in the last ``hours``, oldest first."""
        since = self.clock.now().timestamp() - check_lookback(hours) * 3600.0
        with self.store.transaction() as tx:
            return [alarm_view(a) for a in tx.repo(ProbingRepo).alarms(None, since)]
