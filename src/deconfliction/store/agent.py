"""A private-mode agent's own records, in the party's own store (never the relay's):
its progress in each epoch with each peer, each round's figures, and its notices."""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from typing import Any

import orjson

from deconfliction.store.sql import SqlRepo


@dataclass(frozen=True, slots=True)
class RoundRecord:
    peer: str
    epoch: int
    round: int
    cells_sent: int  #: real cells sent (the rest of the bucket is padding)
    bucket: int
    peer_bucket: int
    shared: int  #: own cells the peer also holds, after this round
    bytes_sent: int
    bytes_received: int
    seconds: float
    at_s: float


@dataclass(frozen=True, slots=True)
class PrivateNotice:
    """A shared cell of one of our operations: the conflict notice at cell grain."""

    peer: str
    epoch: int
    reference: str
    operation_id: str
    version: int
    cell: int
    band: int
    slot: int
    found_at_s: float
    acknowledged_at_s: float | None


_NOTICE = "peer, epoch, reference, operation_id, version, cell, band, slot, found_at_s, acknowledged_at_s"


class AgentRepo(SqlRepo):
    def state(self, peer: str, epoch: int) -> dict[str, Any] | None:
        row = self._x(
            "SELECT state FROM private_agent_state WHERE peer = ? AND epoch = ?", (peer, epoch)
        ).fetchone()
        return None if row is None else dict(orjson.loads(row[0]))

    def save_state(self, peer: str, epoch: int, state: dict[str, Any]) -> None:
        self._x(
            "INSERT INTO private_agent_state (peer, epoch, state) VALUES (?, ?, ?)"
            " ON CONFLICT (peer, epoch) DO UPDATE SET state = excluded.state",
            (peer, epoch, orjson.dumps(state).decode()),
        )

    def add_round(self, r: RoundRecord) -> None:
        self._x(
            "INSERT INTO private_agent_rounds (peer, epoch, round, cells_sent, bucket, peer_bucket, shared,"
            " bytes_sent, bytes_received, seconds, at_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.peer,
                r.epoch,
                r.round,
                r.cells_sent,
                r.bucket,
                r.peer_bucket,
                r.shared,
                r.bytes_sent,
                r.bytes_received,
                r.seconds,
                r.at_s,
            ),
        )

    def rounds(self, peer: str) -> list[RoundRecord]:
        rows = self._x(
            "SELECT peer, epoch, round, cells_sent, bucket, peer_bucket, shared, bytes_sent, bytes_received,"
            " seconds, at_s FROM private_agent_rounds WHERE peer = ? ORDER BY epoch, round",
            (peer,),
        ).fetchall()
        return [
            RoundRecord(
                str(r[0]),
                int(r[1]),
                int(r[2]),
                int(r[3]),
                int(r[4]),
                int(r[5]),
                int(r[6]),
                int(r[7]),
                int(r[8]),
                float(r[9]),
                float(r[10]),
            )
            for r in rows
        ]

    def add_notices(self, notices: list[PrivateNotice]) -> None:
        """Store new notices; one whose cell (reference) the same operation's earlier
        version already acknowledged stays acknowledged: the shared cell is the same."""
        acked = {
            (str(p), int(e), str(r), str(o)): float(at)
            for p, e, r, o, at in self._x(
                "SELECT peer, epoch, reference, operation_id, MIN(acknowledged_at_s) FROM private_notices"
                " WHERE acknowledged_at_s IS NOT NULL GROUP BY peer, epoch, reference, operation_id"
            ).fetchall()
        }
        notices = [
            replace(n, acknowledged_at_s=acked.get((n.peer, n.epoch, n.reference, n.operation_id)))
            for n in notices
        ]
        self._many(
            f"INSERT INTO private_notices ({_NOTICE}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (peer, epoch, reference, operation_id, version) DO NOTHING",
            [
                (
                    n.peer,
                    n.epoch,
                    n.reference,
                    n.operation_id,
                    n.version,
                    n.cell,
                    n.band,
                    n.slot,
                    n.found_at_s,
                    n.acknowledged_at_s,
                )
                for n in notices
            ],
        )

    def notices(self, operation_id: str | None = None) -> list[PrivateNotice]:
        where, params = ("WHERE operation_id = ?", (operation_id,)) if operation_id else ("", ())
        rows = self._x(
            f"SELECT {_NOTICE} FROM private_notices {where} ORDER BY epoch, reference, operation_id", params
        ).fetchall()
        return [
            PrivateNotice(
                str(r[0]),
                int(r[1]),
                str(r[2]),
                str(r[3]),
                int(r[4]),
                int(r[5]),
                int(r[6]),
                int(r[7]),
                float(r[8]),
                None if r[9] is None else float(r[9]),
            )
            for r in rows
        ]

    def ahead(self, peer: str, epoch: int) -> dict[tuple[int, int, int], bytes]:
        """The points blinded ahead for ``epoch``, by (cell, band, slot)."""
        rows = self._x(
            "SELECT cell, band, slot, point FROM private_agent_ahead WHERE peer = ? AND epoch = ?",
            (peer, epoch),
        ).fetchall()
        return {(int(c), int(b), int(s)): base64.b64decode(p) for c, b, s, p in rows}

    def save_ahead(self, peer: str, epoch: int, points: dict[tuple[int, int, int], bytes]) -> None:
        self._many(
            "INSERT INTO private_agent_ahead (peer, epoch, cell, band, slot, point) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (peer, epoch, cell, band, slot) DO NOTHING",
            [(peer, epoch, c, b, s, base64.b64encode(p).decode()) for (c, b, s), p in points.items()],
        )

    def drop_ahead(self, peer: str, through_epoch: int) -> None:
        """Forget the points of epochs up to ``through_epoch``: a round has sent them (a
        cell is never sent twice in an epoch) or they are past."""
        self._x("DELETE FROM private_agent_ahead WHERE peer = ? AND epoch <= ?", (peer, through_epoch))

    def acknowledge(self, reference: str, at_s: float) -> int:
        cursor = self._x(
            "UPDATE private_notices SET acknowledged_at_s = ?"
            " WHERE reference = ? AND acknowledged_at_s IS NULL",
            (at_s, reference),
        )
        return int(cursor.rowcount)
