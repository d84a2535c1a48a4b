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
from deconfliction.store.sql import SqlRepo, SqlTransaction

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


class PendingAppends(SqlRepo):
    """The events and audit entries a transaction has appended, numbered and written when it
    ends (or before it reads an outbox or a chain).

    Numbering locks a counter row per party and counter until commit. Taken as each append
    came, two transactions could take two parties' counters in opposite orders (a batch
    telling red then civil, a filing telling civil then red; an escalation each way) and
    PostgreSQL would abort one of them as deadlocked. Taken here, all at once, in
    (party, counter) order, a transaction only ever waits for a counter that comes after
    every one it holds, so no two can wait for each other. (A transaction that read an
    outbox or a chain between two appends would number in two passes; no use-case does.)
    """

    def __init__(self, tx: SqlTransaction) -> None:
        super().__init__(tx)
        self.events: list[tuple[str, str, dict[str, Any], datetime]] = []
        self.entries: list[tuple[str, str, str, dict[str, Any], datetime]] = []

    def before_commit(self) -> None:
        self.flush()

    def flush(self) -> None:
        if not self.events and not self.entries:
            return
        events, entries = self.events, self.entries
        self.events, self.entries = [], []
        counters = self.tx.repo(_Counters)
        tally = Counter([(e[0], "events") for e in events] + [(e[0], "audit") for e in entries])
        taken = {key: counters.next(*key, count) for key, count in sorted(tally.items())}
        seqs = {party: seq for (party, counter), (seq, _) in taken.items() if counter == "events"}
        heads = {party: head for (party, counter), head in taken.items() if counter == "audit"}
        self._write_events(events, seqs)
        self._write_entries(entries, heads)
        for party, (_, link) in heads.items():
            counters.set_head(party, "audit", link)

    def _write_events(
        self, events: Sequence[tuple[str, str, dict[str, Any], datetime]], seqs: dict[str, int]
    ) -> None:
        rows = []
        for party, kind, payload, at in events:
            rows.append((party, seqs[party], kind, canonical_json(payload), format_utc(at)))
            seqs[party] += 1
        self._many("INSERT INTO events (party, seq, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)", rows)
        notify = self.tx.dialect.notify_events
        if notify is not None and seqs:  # one round trip, delivered at commit
            self._x(notify, (sorted(seqs),))

    def _write_entries(
        self,
        entries: Sequence[tuple[str, str, str, dict[str, Any], datetime]],
        heads: dict[str, tuple[int, str]],
    ) -> None:
        """Each party's entries linked one after the other from its head; ``heads`` ends at
        each party's new head."""
        rows = []
        for party, kind, actor, body, at in entries:
            seq, prev = heads[party]
            at_text = format_utc(at)
            body_text = canonical_json(body)
            body_hash = sha256_hex(body_text)
            link = entry_hash(seq, prev, at_text, kind, actor, body_hash)
            heads[party] = (seq + 1, link)
            rows.append((party, seq, at_text, kind, actor, body_text, body_hash, prev, link))
        self._many(
            "INSERT INTO audit_log (party, seq, at, kind, actor, body, body_hash, prev, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


class EventsRepo(SqlRepo):
    """Append to and read from parties' outboxes. Appends are numbered when the
    transaction ends (see :class:`PendingAppends`); reads see them."""

    def append(self, party: str, kind: str, payload: dict[str, Any], at: datetime) -> None:
        self.append_many([(party, kind, payload)], at)

    def append_many(self, items: Sequence[tuple[str, str, dict[str, Any]]], at: datetime) -> None:
        """:meth:`append` of each ``(party, kind, payload)`` in order."""
        self.tx.repo(PendingAppends).events.extend((p, kind, payload, at) for p, kind, payload in items)

    def after(self, party: str, after_seq: int, limit: int = 1000) -> list[Event]:
        """``party``'s events with ``seq > after_seq``, oldest first."""
        self.tx.repo(PendingAppends).flush()
        rows = self._x(
            "SELECT seq, kind, payload, created_at FROM events"
            " WHERE party = ? AND seq > ? ORDER BY seq LIMIT ?",
            (party, after_seq, limit),
        ).fetchall()
        return [Event(party, int(r[0]), r[1], json.loads(r[2]), parse_utc(r[3], "created_at")) for r in rows]

    def last_seq(self, party: str) -> int:
        self.tx.repo(PendingAppends).flush()
        row = self._x("SELECT max(seq) FROM events WHERE party = ?", (party,)).fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0


class AuditRepo(SqlRepo):
    """Append to and read parties' audit chains. Appends are numbered and linked when the
    transaction ends (see :class:`PendingAppends`); reads see them."""

    def append(self, party: str, kind: str, actor: str, body: dict[str, Any], at: datetime) -> None:
        self.append_many([(party, kind, actor, body)], at)

    def append_many(self, items: Sequence[tuple[str, str, str, dict[str, Any]]], at: datetime) -> None:
        """:meth:`append` of each ``(party, kind, actor, body)`` in order."""
        self.tx.repo(PendingAppends).entries.extend((p, k, actor, body, at) for p, k, actor, body in items)

    def entries(self, party: str, after_seq: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """``party``'s chain from ``after_seq + 1``, in order."""
        self.tx.repo(PendingAppends).flush()
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
        self.tx.repo(PendingAppends).flush()
        row = self._x(
            "SELECT value, head FROM party_counters WHERE party = ? AND counter = 'audit'", (party,)
        ).fetchone()
        return (int(row[0]), str(row[1])) if row is not None else (0, GENESIS)
