"""The outbox of per-party events and the per-party hash-chained audit log.

Both are appended inside the transaction of the change that causes them (design
decision 3), through repositories on that transaction::

    with store.transaction() as tx:
        ...change something...
        tx.repo(EventsRepo).append("RED", "conflict.notice", {...}, now)
        tx.repo(AuditRepo).append("RED", "operation.filed", "RED", {...}, now)

so a crash never loses or invents a notification or a record.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from deconfliction.errors import NotFound
from deconfliction.geo.timewindow import format_utc, parse_utc
from deconfliction.store.sql import SqlRepo

GENESIS: Final = "0" * 64


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a party's outbox; ``seq`` is the party's event id (1, 2, 3, ...)."""

    party: str
    seq: int
    kind: str
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One link of a party's audit chain."""

    party: str
    seq: int
    at: datetime
    kind: str
    actor: str
    body: dict[str, Any]
    body_hash: str
    prev: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": format_utc(self.at),
            "kind": self.kind,
            "actor": self.actor,
            "body": self.body,
            "body_hash": self.body_hash,
            "prev": self.prev,
            "hash": self.hash,
        }


def entry_hash(seq: int, prev: str, at: str, kind: str, actor: str, body_hash: str) -> str:
    """The hash that links an entry into its chain."""
    return sha256_hex(
        canonical_json({"seq": seq, "prev": prev, "at": at, "kind": kind, "actor": actor, "body": body_hash})
    )


class _Counters(SqlRepo):
    def next(self, party: str, counter: str, count: int = 1) -> tuple[int, str]:
        """Take the next ``count`` numbers of ``counter`` for ``party``: the first of them,
        and the head before them.

        The UPDATE locks the counter row until commit, which is what orders appends."""
        bump = (
            "UPDATE party_counters SET value = value + ?"
            " WHERE party = ? AND counter = ? RETURNING value, head"
        )
        row = self._x(bump, (count, party, counter)).fetchone()
        if row is None:
            if self._x("SELECT 1 FROM parties WHERE id = ?", (party,)).fetchone() is None:
                raise NotFound(f"no party {party!r}")
            # Two first appends may race here: ON CONFLICT lets both go on to the UPDATE.
            self._x(
                "INSERT INTO party_counters (party, counter, value, head) VALUES (?, ?, 0, ?)"
                " ON CONFLICT (party, counter) DO NOTHING",
                (party, counter, GENESIS),
            )
            row = self._x(bump, (count, party, counter)).fetchone()
        return int(row[0]) - count + 1, str(row[1])

    def set_head(self, party: str, counter: str, head: str) -> None:
        self._x("UPDATE party_counters SET head = ? WHERE party = ? AND counter = ?", (head, party, counter))


def _tally(items: Sequence[tuple[Any, ...]]) -> list[tuple[str, int]]:
    """How many of ``items`` each party (their first field) has, by party: counters are
    locked in that order, so two appends that touch the same parties lock them in the same
    order (a transaction that appends several times can still take them in another)."""
    return sorted(Counter(item[0] for item in items).items())


class EventsRepo(SqlRepo):
    """Append to and read from parties' outboxes."""

    def append(self, party: str, kind: str, payload: dict[str, Any], at: datetime) -> Event:
        return self.append_many([(party, kind, payload)], at)[0]

    def append_many(self, items: Sequence[tuple[str, str, dict[str, Any]]], at: datetime) -> list[Event]:
        """:meth:`append` of each ``(party, kind, payload)`` in order: what one change tells
        several parties, in one counter update per party and one insert."""
        counters = self.tx.repo(_Counters)
        seqs = {party: counters.next(party, "events", count)[0] for party, count in _tally(items)}
        events = []
        for party, kind, payload in items:
            events.append(Event(party, seqs[party], kind, payload, at))
            seqs[party] += 1
        created = format_utc(at)
        self._many(
            "INSERT INTO events (party, seq, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)",
            [(e.party, e.seq, e.kind, canonical_json(e.payload), created) for e in events],
        )
        return events

    def after(self, party: str, after_seq: int, limit: int = 1000) -> list[Event]:
        """``party``'s events with ``seq > after_seq``, oldest first."""
        rows = self._x(
            "SELECT seq, kind, payload, created_at FROM events"
            " WHERE party = ? AND seq > ? ORDER BY seq LIMIT ?",
            (party, after_seq, limit),
        ).fetchall()
        return [Event(party, int(r[0]), r[1], json.loads(r[2]), parse_utc(r[3], "created_at")) for r in rows]

    def last_seq(self, party: str) -> int:
        row = self._x("SELECT max(seq) FROM events WHERE party = ?", (party,)).fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0


class AuditRepo(SqlRepo):
    """Append to and read parties' audit chains."""

    def append(self, party: str, kind: str, actor: str, body: dict[str, Any], at: datetime) -> AuditEntry:
        return self.append_many([(party, kind, actor, body)], at)[0]

    def append_many(
        self, items: Sequence[tuple[str, str, str, dict[str, Any]]], at: datetime
    ) -> list[AuditEntry]:
        """:meth:`append` of each ``(party, kind, actor, body)`` in order, each party's
        entries linked one after the other from its head: one counter update and one head
        update per party, and one insert."""
        counters = self.tx.repo(_Counters)
        at_text = format_utc(at)
        at_value = parse_utc(at_text, "at")
        heads = {party: counters.next(party, "audit", count) for party, count in _tally(items)}
        entries, rows = [], []
        for party, kind, actor, body in items:
            seq, prev = heads[party]
            body_text = canonical_json(body)
            body_hash = sha256_hex(body_text)
            link = entry_hash(seq, prev, at_text, kind, actor, body_hash)
            heads[party] = (seq + 1, link)
            entries.append(AuditEntry(party, seq, at_value, kind, actor, body, body_hash, prev, link))
            rows.append((party, seq, at_text, kind, actor, body_text, body_hash, prev, link))
        self._many(
            "INSERT INTO audit_log (party, seq, at, kind, actor, body, body_hash, prev, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        for party, (_, link) in heads.items():
            counters.set_head(party, "audit", link)
        return entries

    def entries(self, party: str, after_seq: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """``party``'s chain from ``after_seq + 1``, in order."""
        sql = (
            "SELECT seq, at, kind, actor, body, body_hash, prev, hash FROM audit_log"
            " WHERE party = ? AND seq > ? ORDER BY seq"
        )
        params: list[Any] = [party, after_seq]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self._x(sql, params).fetchall()
        return [
            AuditEntry(
                party, int(r[0]), parse_utc(r[1], "at"), r[2], r[3], json.loads(r[4]), r[5], r[6], r[7]
            )
            for r in rows
        ]

    def head(self, party: str) -> tuple[int, str]:
        """(seq, hash) of the last entry of ``party``'s chain; (0, GENESIS) when empty."""
        row = self._x(
            "SELECT value, head FROM party_counters WHERE party = ? AND counter = 'audit'", (party,)
        ).fetchone()
        return (int(row[0]), str(row[1])) if row is not None else (0, GENESIS)
