"""The private-mode relay's storage: sealed messages between agents, and refusals.

Nothing here can name a cell, a coordinate or a plan: a message is its clear header
(sender, receiver, epoch, sequence, round, step, bucket, commitment) and a sealed box the
relay cannot open (docs/private-mode.md, "What leaks").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deconfliction.errors import AlreadyExists
from deconfliction.store.sql import SqlRepo


@dataclass(frozen=True, slots=True)
class StoredMessage:
    sender: str
    receiver: str
    epoch: int
    seq: int
    round: int
    kind: str
    bucket: int
    commitment: str | None
    box: str  # base64 of the sealed bytes
    size: int
    at_s: float


@dataclass(frozen=True, slots=True)
class Refusal:
    party: str  #: whose message was refused
    peer: str
    epoch: int
    round: int
    reporter: str  #: "relay", or the agent that refused it
    code: str
    field: str
    at_s: float


_MESSAGE = "sender, receiver, epoch, seq, round, kind, bucket, commitment, box, size, at_s"


def _message(row: Any) -> StoredMessage:
    s, r, e, q, rd, k, b, c, box, size, at = row
    commitment = None if c is None else str(c)
    return StoredMessage(
        str(s), str(r), int(e), int(q), int(rd), str(k), int(b), commitment, str(box), int(size), float(at)
    )


class RelayRepo(SqlRepo):
    """The mailbox and the refusals."""

    def last(self, sender: str, receiver: str, epoch: int) -> StoredMessage | None:
        """The last message of a direction in an epoch."""
        row = self._x(
            f"SELECT {_MESSAGE} FROM private_messages WHERE sender = ? AND receiver = ? AND epoch = ?"
            " ORDER BY seq DESC LIMIT 1",
            (sender, receiver, epoch),
        ).fetchone()
        return None if row is None else _message(row)

    def add(self, m: StoredMessage) -> None:
        try:
            self._x(
                f"INSERT INTO private_messages ({_MESSAGE}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    m.sender,
                    m.receiver,
                    m.epoch,
                    m.seq,
                    m.round,
                    m.kind,
                    m.bucket,
                    m.commitment,
                    m.box,
                    m.size,
                    m.at_s,
                ),
            )
        except self.tx.dialect.integrity_error as exc:
            raise AlreadyExists(
                f"message {m.seq} of {m.sender} in epoch {m.epoch} is already stored"
            ) from exc

    def of_round(self, sender: str, receiver: str, epoch: int, round_: int, kind: str) -> list[StoredMessage]:
        rows = self._x(
            f"SELECT {_MESSAGE} FROM private_messages WHERE sender = ? AND receiver = ? AND epoch = ?"
            " AND round = ? AND kind = ? ORDER BY seq",
            (sender, receiver, epoch, round_, kind),
        ).fetchall()
        return [_message(r) for r in rows]

    def submitted(self, sender: str, receiver: str, epoch: int) -> int:
        """Cells (padded) ``sender`` has committed to in the epoch: what its budget is charged."""
        row = self._x(
            "SELECT COALESCE(SUM(bucket), 0) FROM private_messages WHERE sender = ? AND receiver = ?"
            " AND epoch = ? AND kind = 'commit'",
            (sender, receiver, epoch),
        ).fetchone()
        return int(row[0])

    def after(
        self, sender: str, receiver: str, epoch: int, after_seq: int, limit: int
    ) -> list[StoredMessage]:
        rows = self._x(
            f"SELECT {_MESSAGE} FROM private_messages WHERE sender = ? AND receiver = ? AND epoch = ?"
            " AND seq > ? ORDER BY seq LIMIT ?",
            (sender, receiver, epoch, after_seq, limit),
        ).fetchall()
        return [_message(r) for r in rows]

    def between(self, party: str, peer: str, since_epoch: int) -> list[StoredMessage]:
        """Both directions' messages from ``since_epoch`` on, by epoch, time and sequence."""
        rows = self._x(
            f"SELECT {_MESSAGE} FROM private_messages WHERE ((sender = ? AND receiver = ?)"
            " OR (sender = ? AND receiver = ?)) AND epoch >= ? ORDER BY epoch, at_s, sender, seq",
            (party, peer, peer, party, since_epoch),
        ).fetchall()
        return [_message(r) for r in rows]

    def refuse(self, r: Refusal) -> None:
        self._x(
            "INSERT INTO private_refusals (party, peer, epoch, round, reporter, code, field, at_s)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (r.party, r.peer, r.epoch, r.round, r.reporter, r.code, r.field, r.at_s),
        )

    def refusals(self, party: str, peer: str, since_epoch: int) -> list[Refusal]:
        rows = self._x(
            "SELECT party, peer, epoch, round, reporter, code, field, at_s FROM private_refusals"
            " WHERE ((party = ? AND peer = ?) OR (party = ? AND peer = ?)) AND epoch >= ? ORDER BY at_s",
            (party, peer, peer, party, since_epoch),
        ).fetchall()
        return [
            Refusal(str(a), str(b), int(e), int(rd), str(rep), str(c), str(f), float(at))
            for a, b, e, rd, rep, c, f, at in rows
        ]
