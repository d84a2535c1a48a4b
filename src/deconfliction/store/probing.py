"""Facts for the probe detectors and the alarms they raised (docs/disclosure.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deconfliction.engine.probing import SMALL_AREA_M2, Alarm, Change, Fact
from deconfliction.store.sql import SqlRepo

_FACT_COLUMNS = (
    "party, operation_id, version, at_s, change, area_m2, lat, lon, start_s, end_s, shape, touched"
)


def _touched_json(fact: Fact) -> str:
    return json.dumps({owner: sorted(ops) for owner, ops in sorted(fact.touched.items())}, sort_keys=True)


def _fact(row: Sequence[Any]) -> Fact:
    touched = {owner: frozenset(ops) for owner, ops in json.loads(row[11]).items()}
    return Fact(
        str(row[0]),
        str(row[1]),
        int(row[2]),
        float(row[3]),
        Change(row[4]),
        float(row[5]),
        float(row[6]),
        float(row[7]),
        float(row[8]),
        float(row[9]),
        str(row[10]),
        touched,
    )


@dataclass(frozen=True, slots=True)
class RaisedAlarm:
    """An alarm as recorded: one suspect, with the others that probed with it."""

    suspect: str
    owner: str
    detector: str
    at_s: float
    colluding: tuple[str, ...]
    operations: tuple[str, ...]
    count: int
    threshold: int


class ProbingRepo(SqlRepo):
    """The detectors' facts and the alarms raised."""

    def has_facts(self, party: str, operation_id: str) -> bool:
        row = self._x(
            "SELECT 1 FROM probe_facts WHERE party = ? AND operation_id = ? LIMIT 1", (party, operation_id)
        ).fetchone()
        return row is not None

    def record(self, fact: Fact, forget_before_s: float) -> None:
        """Record ``fact``, and forget its party's facts older than ``forget_before_s``."""
        self._x("DELETE FROM probe_facts WHERE party = ? AND at_s < ?", (fact.party, forget_before_s))
        self._x(
            f"INSERT INTO probe_facts ({_FACT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fact.party,
                fact.operation_id,
                fact.version,
                fact.at_s,
                fact.change.value,
                fact.area_m2,
                fact.lat,
                fact.lon,
                fact.start_s,
                fact.end_s,
                fact.shape,
                _touched_json(fact),
            ),
        )

    def facts_of(self, party: str, since_s: float, limit: int) -> list[Fact]:
        """``party``'s newest ``limit`` facts since ``since_s``, oldest first."""
        rows = self._x(
            f"SELECT {_FACT_COLUMNS} FROM probe_facts WHERE party = ? AND at_s >= ?"
            " ORDER BY at_s DESC LIMIT ?",
            (party, since_s, limit),
        ).fetchall()
        return [_fact(r) for r in reversed(rows)]

    def small_facts(self, since_s: float, limit: int) -> list[Fact]:
        """Every party's newest ``limit`` facts about small operations since ``since_s``,
        oldest first."""
        rows = self._x(
            f"SELECT {_FACT_COLUMNS} FROM probe_facts WHERE at_s >= ? AND area_m2 < ?"
            " ORDER BY at_s DESC LIMIT ?",
            (since_s, SMALL_AREA_M2, limit),
        ).fetchall()
        return [_fact(r) for r in reversed(rows)]

    def raised_since(self, suspect: str, owner: str, detector: str, since_s: float) -> bool:
        row = self._x(
            "SELECT 1 FROM probe_alarms"
            " WHERE suspect = ? AND owner = ? AND detector = ? AND at_s >= ? LIMIT 1",
            (suspect, owner, detector, since_s),
        ).fetchone()
        return row is not None

    def raise_alarm(self, alarm: Alarm, suspect: str, at_s: float) -> RaisedAlarm:
        raised = RaisedAlarm(
            suspect,
            alarm.owner,
            alarm.detector.value,
            at_s,
            tuple(s for s in alarm.suspects if s != suspect),
            alarm.operations,
            alarm.count,
            alarm.threshold,
        )
        self._x(
            "INSERT INTO probe_alarms"
            " (suspect, owner, detector, at_s, colluding, operations, count, threshold)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                suspect,
                alarm.owner,
                raised.detector,
                at_s,
                json.dumps(list(raised.colluding)),
                json.dumps(list(raised.operations)),
                alarm.count,
                alarm.threshold,
            ),
        )
        return raised

    def alarms(self, owner: str | None, since_s: float) -> list[RaisedAlarm]:
        """Alarms about ``owner``'s plans (every owner's: None) since ``since_s``, oldest first."""
        where, params = ("owner = ? AND at_s >= ?", (owner, since_s)) if owner else ("at_s >= ?", (since_s,))
        rows = self._x(
            "SELECT suspect, owner, detector, at_s, colluding, operations, count, threshold FROM probe_alarms"
            f" WHERE {where} ORDER BY at_s, suspect, detector",
            params,
        ).fetchall()
        return [
            RaisedAlarm(
                str(r[0]),
                str(r[1]),
                str(r[2]),
                float(r[3]),
                tuple(json.loads(r[4])),
                tuple(json.loads(r[5])),
                int(r[6]),
                int(r[7]),
            )
            for r in rows
        ]
