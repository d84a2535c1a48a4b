"""SQL of the hotline (migration 0004): messages, escalations, suspensions.

Rows go in and come out as plain mappings keyed by column name; the service turns
them into its domain values (the store layer sits below the service).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from deconfliction.errors import NotFound
from deconfliction.store.events import canonical_json
from deconfliction.store.sql import SqlRepo

MESSAGE_COLUMNS: Final = (
    "id",
    "sender",
    "recipient",
    "desk",
    "msg_class",
    "rank",
    "template",
    "fields",
    "annex",
    "geometry_sha256",
    "reply_to",
    "created_at",
    "deliver_by",
    "deliver_by_s",
    "ack_by",
    "ack_by_s",
    "ack_window_s",
    "sweep_delivery_s",
    "sweep_ack_s",
    "received_at",
    "acked_at",
    "ack_message",
    "ack_signature",
)
_SELECT: Final = f"SELECT {', '.join(MESSAGE_COLUMNS)} FROM hotline_messages"


def _row(row: Any) -> dict[str, Any]:
    out = dict(zip(MESSAGE_COLUMNS, row, strict=True))
    out["fields"] = json.loads(out["fields"])
    return out


class HotlineRepo(SqlRepo):
    """Messages, escalations and suspensions inside one transaction."""

    # messages -------------------------------------------------------------------------

    def insert_message(self, row: Mapping[str, Any]) -> None:
        values = dict(row)
        values["fields"] = canonical_json(values["fields"])
        placeholders = ", ".join("?" for _ in MESSAGE_COLUMNS)
        self._x(
            f"INSERT INTO hotline_messages ({', '.join(MESSAGE_COLUMNS)}) VALUES ({placeholders})",
            [values.get(c) for c in MESSAGE_COLUMNS],
        )

    def message(self, message_id: str, lock: bool = False) -> dict[str, Any]:
        """One message by id; NotFound if there is none. ``lock`` holds the row until commit
        on PostgreSQL (SQLite has one writer anyway), so receipt and ack do not race."""
        suffix = " FOR UPDATE" if lock and self.tx.dialect.name != "sqlite" else ""
        row = self._x(f"{_SELECT} WHERE id = ?{suffix}", (message_id,)).fetchone()
        if row is None:
            raise NotFound(f"no message {message_id!r}")
        return _row(row)

    def mark_received(self, message_id: str, at: str) -> bool:
        """Record machine receipt once; False if it was already recorded."""
        row = self._x(
            "UPDATE hotline_messages SET received_at = ?, sweep_delivery_s = NULL"
            " WHERE id = ? AND received_at IS NULL RETURNING id",
            (at, message_id),
        ).fetchone()
        return row is not None

    def mark_acked(self, message_id: str, at: str, ack_message: str, signature: str | None) -> bool:
        row = self._x(
            "UPDATE hotline_messages SET acked_at = ?, ack_message = ?, ack_signature = ?,"
            " sweep_delivery_s = NULL, sweep_ack_s = NULL WHERE id = ? AND acked_at IS NULL RETURNING id",
            (at, ack_message, signature, message_id),
        ).fetchone()
        return row is not None

    def inbox(self, party: str, limit: int, unacked_only: bool = False) -> list[dict[str, Any]]:
        """Messages to ``party``: STOP first, then PRIORITY, then ROUTINE; newest first in each."""
        extra = " AND acked_at IS NULL" if unacked_only else ""
        rows = self._x(
            f"{_SELECT} WHERE recipient = ?{extra} ORDER BY rank, msg_key DESC LIMIT ?", (party, limit)
        ).fetchall()
        return [_row(r) for r in rows]

    def sent(self, party: str, limit: int) -> list[dict[str, Any]]:
        rows = self._x(f"{_SELECT} WHERE sender = ? ORDER BY msg_key DESC LIMIT ?", (party, limit)).fetchall()
        return [_row(r) for r in rows]

    def overdue_delivery(self, now_s: float) -> list[dict[str, Any]]:
        """Messages whose delivery deadline passed with no receipt, not yet escalated."""
        rows = self._x(
            f"{_SELECT} WHERE sweep_delivery_s <= ? ORDER BY rank, sweep_delivery_s", (now_s,)
        ).fetchall()
        return [_row(r) for r in rows]

    def overdue_ack(self, now_s: float) -> list[dict[str, Any]]:
        """Unacknowledged messages with an acknowledgement escalation due."""
        rows = self._x(f"{_SELECT} WHERE sweep_ack_s <= ? ORDER BY rank, sweep_ack_s", (now_s,)).fetchall()
        return [_row(r) for r in rows]

    def ack_escalations(self, message_id: str) -> int:
        """How many acknowledgement escalations the message has had."""
        row = self._x(
            "SELECT COUNT(*) FROM hotline_escalations WHERE message_id = ? AND stage = 'acknowledgement'",
            (message_id,),
        ).fetchone()
        return int(row[0])

    def next_sweep(self, message_id: str, column: str, at_s: float | None) -> None:
        """When the sweep must next look at the message for ``column`` (None: never)."""
        if column not in ("sweep_delivery_s", "sweep_ack_s"):
            raise ValueError(column)
        self._x(f"UPDATE hotline_messages SET {column} = ? WHERE id = ?", (at_s, message_id))

    # escalations ----------------------------------------------------------------------

    def insert_escalation(
        self, message_id: str, stage: str, level: int, deadline: str, at: str, notify: Mapping[str, Any]
    ) -> bool:
        """Record an escalation once; False if a concurrent sweep already recorded it."""
        row = self._x(
            "INSERT INTO hotline_escalations (message_id, stage, level, deadline, at, notify)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (message_id, stage, level) DO NOTHING RETURNING esc_key",
            (message_id, stage, level, deadline, at, canonical_json(dict(notify))),
        ).fetchone()
        return row is not None

    def escalations(self, message_id: str) -> list[dict[str, Any]]:
        rows = self._x(
            "SELECT message_id, stage, level, deadline, at, notify FROM hotline_escalations"
            " WHERE message_id = ? ORDER BY esc_key",
            (message_id,),
        ).fetchall()
        keys = ("message_id", "stage", "level", "deadline", "at", "notify")
        return [{**dict(zip(keys, r, strict=True)), "notify": json.loads(r[5])} for r in rows]

    # suspensions ----------------------------------------------------------------------

    def suspend(self, party: str, other: str, since: str, reason: str | None) -> bool:
        """False if ``party`` had already suspended its line with ``other``."""
        row = self._x(
            "INSERT INTO hotline_suspensions (party, other, since, reason) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (party, other) DO NOTHING RETURNING party",
            (party, other, since, reason),
        ).fetchone()
        return row is not None

    def resume(self, party: str, other: str) -> bool:
        row = self._x(
            "DELETE FROM hotline_suspensions WHERE party = ? AND other = ? RETURNING party", (party, other)
        ).fetchone()
        return row is not None

    def suspensions(self, party: str) -> list[tuple[str, str, str, str | None]]:
        """(party, other, since, reason) of every suspension ``party`` made or is subject to."""
        rows = self._x(
            "SELECT party, other, since, reason FROM hotline_suspensions WHERE party = ? OR other = ?"
            " ORDER BY party, other",
            (party, party),
        ).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def suspended_between(self, a: str, b: str) -> list[tuple[str, str, str, str | None]]:
        rows = self._x(
            "SELECT party, other, since, reason FROM hotline_suspensions"
            " WHERE (party = ? AND other = ?) OR (party = ? AND other = ?) ORDER BY party",
            (a, b, b, a),
        ).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]
