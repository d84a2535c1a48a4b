"""The bridge between native operations and F3548 (migration 0011): native operations
published as constraint references at the disclosure grid, the constraint notifications
still to send, and the links from USS client ids to parties.

A published constraint is not an operation (it would then conflict natively a second
time); its gridded volumes are kept as JSON and indexed by cells here, with the same
coarse search as the DSS's own entities (:class:`~deconfliction.store.f3548.SearchBox`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from deconfliction.geo.cells import covering
from deconfliction.geo.codec import volume_from_dict, volume_to_dict
from deconfliction.geo.timewindow import format_utc
from deconfliction.geo.volume import Volume4D
from deconfliction.store.f3548 import SearchBox
from deconfliction.store.sql import RESOLUTION, SqlRepo

_COLUMNS: Final = "id, party, operation_id, version, ovn, time_start, time_end, volumes"


@dataclass(frozen=True, slots=True)
class BridgeConstraint:
    """A native operation as USSs see it: an opaque id, an OVN, and gridded volumes."""

    id: str
    party: str
    operation_id: str
    version: int
    ovn: str
    volumes: tuple[Volume4D, ...]

    @property
    def time_start(self) -> datetime:
        return min(v.window.start for v in self.volumes)

    @property
    def time_end(self) -> datetime:
        return max(v.window.end for v in self.volumes)


@dataclass(frozen=True, slots=True)
class PendingNotification:
    """A constraint notification to POST to ``uss_base_url``."""

    id: str
    uss_base_url: str
    constraint_id: str
    subscriptions: tuple[tuple[str, int], ...]
    attempts: int


def _constraint(row: Sequence[Any]) -> BridgeConstraint:
    volumes = tuple(volume_from_dict(v) for v in json.loads(row[7]))
    return BridgeConstraint(row[0], row[1], row[2], int(row[3]), row[4], volumes)


class BridgeRepo(SqlRepo):
    """Published constraints, their notifications and USS links inside one transaction."""

    # -- constraints ----------------------------------------------------------------------

    def get(self, constraint_id: str) -> BridgeConstraint | None:
        row = self._x(f"SELECT {_COLUMNS} FROM bridge_constraints WHERE id = ?", (constraint_id,)).fetchone()
        return _constraint(row) if row is not None else None

    def of_operation(self, party: str, operation_id: str) -> BridgeConstraint | None:
        row = self._x(
            f"SELECT {_COLUMNS} FROM bridge_constraints WHERE party = ? AND operation_id = ?",
            (party, operation_id),
        ).fetchone()
        return _constraint(row) if row is not None else None

    def put(self, c: BridgeConstraint) -> None:
        """Insert or replace ``c`` and re-index its volumes."""
        self.delete(c.id)
        self._x(
            f"INSERT INTO bridge_constraints ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                c.id,
                c.party,
                c.operation_id,
                c.version,
                c.ovn,
                format_utc(c.time_start),
                format_utc(c.time_end),
                json.dumps([volume_to_dict(v) for v in c.volumes], separators=(",", ":")),
            ),
        )
        rows: list[tuple[int, float, float, float, float, str]] = []
        for v in c.volumes:
            lo, hi = v.band.msl_envelope()
            w = v.window
            rows.extend(
                (cell, w.start_s, w.end_s, lo, hi, c.id)
                for cell in sorted(covering(v.footprint, 0.0, RESOLUTION))
            )
        self._many(
            "INSERT INTO bridge_constraint_cells (cell, t_start_s, t_end_s, alt_lo_msl_m, alt_hi_msl_m,"
            " constraint_id) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    def delete(self, constraint_id: str) -> None:
        self._x("DELETE FROM bridge_constraint_cells WHERE constraint_id = ?", (constraint_id,))
        self._x("DELETE FROM bridge_constraints WHERE id = ?", (constraint_id,))

    def search(self, boxes: Iterable[SearchBox]) -> list[BridgeConstraint]:
        """Constraints with a volume in one of ``boxes`` (coarse: cells, time, altitude)."""
        ids: set[str] = set()
        d = self.tx.dialect
        for box in boxes:
            rows = self._x(
                "SELECT DISTINCT constraint_id FROM bridge_constraint_cells WHERE cell IN {ints}"
                " AND t_end_s >= ? AND t_start_s <= ? AND alt_hi_msl_m >= ? AND alt_lo_msl_m <= ?",
                (
                    d.int_list_param(sorted(box.cells)),
                    box.t_start_s,
                    box.t_end_s,
                    box.alt_lo_msl_m,
                    box.alt_hi_msl_m,
                ),
            ).fetchall()
            ids.update(r[0] for r in rows)
        return [c for c in (self.get(i) for i in sorted(ids)) if c is not None]

    # -- notifications --------------------------------------------------------------------

    def enqueue(
        self, uss_base_url: str, constraint_id: str, subs: Sequence[tuple[str, int]], now_s: float
    ) -> None:
        self._x(
            "INSERT INTO bridge_notifications (id, uss_base_url, constraint_id, subscriptions, created_s,"
            " due_s, attempts) VALUES (?, ?, ?, ?, ?, ?, 0)",
            (
                str(uuid.uuid4()),
                uss_base_url,
                constraint_id,
                json.dumps([list(s) for s in subs]),
                now_s,
                now_s,
            ),
        )

    def claim_due(self, now_s: float, lease_s: float, limit: int) -> list[PendingNotification]:
        """Notifications due at ``now_s``, oldest first; each is leased for ``lease_s`` (its
        due time moved on), so another process's worker does not send it at the same time,
        and one whose sender died is sent again after the lease."""
        rows = self._x(
            "SELECT id, uss_base_url, constraint_id, subscriptions, attempts FROM bridge_notifications"
            " WHERE due_s <= ? ORDER BY due_s, created_s LIMIT ?",
            (now_s, limit),
        ).fetchall()
        claimed = []
        for row in rows:
            took = self._x(
                "UPDATE bridge_notifications SET due_s = ? WHERE id = ? AND due_s <= ? RETURNING id",
                (now_s + lease_s, row[0], now_s),
            ).fetchone()
            if took is not None:
                subs = tuple((str(s), int(i)) for s, i in json.loads(row[3]))
                claimed.append(PendingNotification(row[0], row[1], row[2], subs, int(row[4])))
        return claimed

    def delivered(self, notification_id: str) -> None:
        self._x("DELETE FROM bridge_notifications WHERE id = ?", (notification_id,))

    def failed(self, notification_id: str, due_s: float, error: str) -> None:
        self._x(
            "UPDATE bridge_notifications SET attempts = attempts + 1, due_s = ?, last_error = ? WHERE id = ?",
            (due_s, error[:500], notification_id),
        )

    def pending(self) -> list[tuple[str, str, int, str | None]]:
        """(uss_base_url, constraint_id, attempts, last_error) of every unsent notification."""
        rows = self._x(
            "SELECT uss_base_url, constraint_id, attempts, last_error FROM bridge_notifications"
            " ORDER BY created_s"
        ).fetchall()
        return [(r[0], r[1], int(r[2]), r[3]) for r in rows]

    # -- USS links ------------------------------------------------------------------------

    def link(self, client_id: str, party: str) -> None:
        self._x(
            "INSERT INTO uss_links (client_id, party) VALUES (?, ?)"
            " ON CONFLICT (client_id) DO UPDATE SET party = excluded.party",
            (client_id, party),
        )

    def unlink(self, client_id: str) -> bool:
        return (
            self._x("DELETE FROM uss_links WHERE client_id = ? RETURNING client_id", (client_id,)).fetchone()
            is not None
        )

    def party_of(self, client_id: str) -> str | None:
        row = self._x("SELECT party FROM uss_links WHERE client_id = ?", (client_id,)).fetchone()
        return str(row[0]) if row is not None else None

    def links(self) -> list[tuple[str, str]]:
        rows = self._x("SELECT client_id, party FROM uss_links ORDER BY client_id").fetchall()
        return [(r[0], r[1]) for r in rows]
