"""The ASTM F3548-21 DSS repository: what F3548 adds to our operations (migration 0006).

An operational intent or constraint reference is stored as an operation of its
manager's party (volumes, cell index and conflicts are the core tables'); this
repository keeps the DSS metadata keyed to it, the subscriptions with their own cell
index, USS availability and reports. Searches read the core cell index, so an F3548
query and a native filing find the same volumes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from deconfliction.engine.operation import Operation
from deconfliction.geo.cells import covering
from deconfliction.geo.codec import volume_from_dict, volume_to_dict
from deconfliction.geo.timewindow import format_utc, parse_utc
from deconfliction.geo.volume import Volume4D
from deconfliction.store.sql import RESOLUTION, SqlRepo

#: Stored ``kind`` of the two F3548 entity types.
OPERATIONAL_INTENT: Final = "operational_intent"
CONSTRAINT: Final = "constraint"

_ENTITY_COLUMNS: Final = (
    "e.id, e.kind, e.party, e.version, e.ovn, e.state, e.uss_base_url, e.subscription_id,"
    " e.time_start, e.time_end"
)
_SUB_COLUMNS: Final = (
    "s.id, s.party, s.version, s.notification_index, s.uss_base_url, s.notify_for_operational_intents,"
    " s.notify_for_constraints, s.implicit, s.volume"
)


@dataclass(frozen=True, slots=True)
class DssEntity:
    """F3548 metadata of one operational intent or constraint (an operation of ``party``)."""

    id: str
    kind: str
    party: str
    version: int
    ovn: str
    state: str
    uss_base_url: str
    subscription_id: str | None
    time_start: datetime
    time_end: datetime


@dataclass(frozen=True, slots=True)
class DssSubscription:
    """A subscription to changes of entities in ``volume``."""

    id: str
    party: str
    version: str
    notification_index: int
    uss_base_url: str
    notify_for_operational_intents: bool
    notify_for_constraints: bool
    implicit: bool
    volume: Volume4D


def _entity(row: Sequence[Any]) -> DssEntity:
    return DssEntity(
        id=row[0],
        kind=row[1],
        party=row[2],
        version=int(row[3]),
        ovn=row[4],
        state=row[5],
        uss_base_url=row[6],
        subscription_id=row[7],
        time_start=parse_utc(row[8], "time_start"),
        time_end=parse_utc(row[9], "time_end"),
    )


def _subscription(row: Sequence[Any]) -> DssSubscription:
    return DssSubscription(
        id=row[0],
        party=row[1],
        version=row[2],
        notification_index=int(row[3]),
        uss_base_url=row[4],
        notify_for_operational_intents=bool(row[5]),
        notify_for_constraints=bool(row[6]),
        implicit=bool(row[7]),
        volume=volume_from_dict(json.loads(row[8])),
    )


@dataclass(frozen=True, slots=True)
class SearchBox:
    """The coarse part of a 4D search: cells, a time range (epoch s) and an MSL altitude range (m)."""

    cells: frozenset[int]
    t_start_s: float
    t_end_s: float
    alt_lo_msl_m: float
    alt_hi_msl_m: float


class DssRepo(SqlRepo):
    """F3548 metadata, subscriptions, availability and reports inside one transaction."""

    def lock_cells(self, cells: Iterable[int]) -> None:
        """Hold, until commit, a lock on each cell: two writers whose searches share a cell
        take turns, so a key check sees every entity committed before it.

        On PostgreSQL a transaction-level advisory lock per cell, in ascending order (no
        deadlocks); SQLite already has one writer at a time."""
        if self.tx.dialect.name != "postgresql":
            return
        for cell in sorted(set(cells)):
            self._x("SELECT pg_advisory_xact_lock(?)", (cell,)).fetchone()

    # -- entities ---------------------------------------------------------------------

    def get_entity(self, entity_id: str) -> DssEntity | None:
        row = self._x(f"SELECT {_ENTITY_COLUMNS} FROM dss_entities e WHERE e.id = ?", (entity_id,)).fetchone()
        return _entity(row) if row is not None else None

    def put_entity(self, e: DssEntity) -> None:
        """Insert or replace the metadata of ``e.id`` (its operation must be stored already)."""
        self._x(
            "INSERT INTO dss_entities (id, kind, party, version, ovn, state, uss_base_url, subscription_id,"
            " time_start, time_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " kind = excluded.kind, party = excluded.party, version = excluded.version, ovn = excluded.ovn,"
            " state = excluded.state, uss_base_url = excluded.uss_base_url,"
            " subscription_id = excluded.subscription_id, time_start = excluded.time_start,"
            " time_end = excluded.time_end",
            (
                e.id,
                e.kind,
                e.party,
                e.version,
                e.ovn,
                e.state,
                e.uss_base_url,
                e.subscription_id,
                format_utc(e.time_start),
                format_utc(e.time_end),
            ),
        )

    def delete_entity(self, entity_id: str) -> None:
        self._x("DELETE FROM dss_entities WHERE id = ?", (entity_id,))

    def search_entities(self, kind: str, boxes: Iterable[SearchBox]) -> list[DssEntity]:
        """Entities of ``kind`` with a volume in one of ``boxes`` (coarse: cells, time, altitude)."""
        ids: set[str] = set()
        d = self.tx.dialect
        for box in boxes:
            rows = self._x(
                "SELECT DISTINCT e.id FROM volume_cells c JOIN operations o ON o.op_key = c.op_key"
                " JOIN dss_entities e ON e.party = o.party AND e.id = o.id"
                " WHERE c.cell IN {ints} AND c.t_end_s >= ? AND c.t_start_s <= ?"
                " AND c.alt_hi_msl_m >= ? AND c.alt_lo_msl_m <= ? AND e.kind = ?",
                (
                    d.int_list_param(sorted(box.cells)),
                    box.t_start_s,
                    box.t_end_s,
                    box.alt_lo_msl_m,
                    box.alt_hi_msl_m,
                    kind,
                ),
            ).fetchall()
            ids.update(r[0] for r in rows)
        return self.entities(sorted(ids))

    def entities(self, ids: Sequence[str]) -> list[DssEntity]:
        found = []
        for entity_id in ids:
            entity = self.get_entity(entity_id)
            if entity is not None:
                found.append(entity)
        return found

    def dependents(self, subscription_id: str) -> list[str]:
        """Ids of the entities that depend on the subscription, sorted."""
        rows = self._x(
            "SELECT id FROM dss_entities WHERE subscription_id = ? ORDER BY id", (subscription_id,)
        ).fetchall()
        return [r[0] for r in rows]

    # -- subscriptions ------------------------------------------------------------------

    def get_subscription(self, subscription_id: str) -> DssSubscription | None:
        row = self._x(
            f"SELECT {_SUB_COLUMNS} FROM dss_subscriptions s WHERE s.id = ?", (subscription_id,)
        ).fetchone()
        return _subscription(row) if row is not None else None

    def put_subscription(self, s: DssSubscription) -> None:
        """Insert or replace ``s`` and re-index its volume."""
        w = s.volume.window
        self._x(
            "INSERT INTO dss_subscriptions (id, party, version, notification_index, uss_base_url,"
            " notify_for_operational_intents, notify_for_constraints, implicit, t_start_s, t_end_s, volume)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " party = excluded.party, version = excluded.version,"
            " notification_index = excluded.notification_index, uss_base_url = excluded.uss_base_url,"
            " notify_for_operational_intents = excluded.notify_for_operational_intents,"
            " notify_for_constraints = excluded.notify_for_constraints, implicit = excluded.implicit,"
            " t_start_s = excluded.t_start_s, t_end_s = excluded.t_end_s, volume = excluded.volume",
            (
                s.id,
                s.party,
                s.version,
                s.notification_index,
                s.uss_base_url,
                int(s.notify_for_operational_intents),
                int(s.notify_for_constraints),
                int(s.implicit),
                w.start_s,
                w.end_s,
                json.dumps(volume_to_dict(s.volume), separators=(",", ":")),
            ),
        )
        self._x("DELETE FROM dss_subscription_cells WHERE subscription_id = ?", (s.id,))
        cells = covering(s.volume.footprint, 0.0, RESOLUTION)
        self._many(
            "INSERT INTO dss_subscription_cells (cell, t_end_s, subscription_id) VALUES (?, ?, ?)",
            [(cell, w.end_s, s.id) for cell in sorted(cells)],
        )

    def delete_subscription(self, subscription_id: str) -> None:
        self._x("DELETE FROM dss_subscription_cells WHERE subscription_id = ?", (subscription_id,))
        self._x("DELETE FROM dss_subscriptions WHERE id = ?", (subscription_id,))

    def search_subscriptions(
        self, boxes: Iterable[SearchBox], party: str | None = None
    ) -> list[DssSubscription]:
        """Subscriptions (of ``party``, or anyone's) sharing a cell and time with a box."""
        ids: set[str] = set()
        d = self.tx.dialect
        for box in boxes:
            sql = (
                "SELECT DISTINCT s.id FROM dss_subscription_cells c JOIN dss_subscriptions s"
                " ON s.id = c.subscription_id WHERE c.cell IN {ints} AND c.t_end_s >= ? AND s.t_start_s <= ?"
            )
            params: list[Any] = [d.int_list_param(sorted(box.cells)), box.t_start_s, box.t_end_s]
            if party is not None:
                sql += " AND s.party = ?"
                params.append(party)
            ids.update(r[0] for r in self._x(sql, params).fetchall())
        found = []
        for subscription_id in sorted(ids):
            sub = self.get_subscription(subscription_id)
            if sub is not None:
                found.append(sub)
        return found

    def bump_notification_index(self, subscription_id: str, at_least: int = 0) -> int:
        """Raise the subscription's notification index by one, or to ``at_least`` when that
        is higher (time-based indices); return the new value."""
        row = self._x(
            "UPDATE dss_subscriptions SET notification_index = CASE"
            " WHEN notification_index + 1 > ? THEN notification_index + 1 ELSE ? END"
            " WHERE id = ? RETURNING notification_index",
            (at_least, at_least, subscription_id),
        ).fetchone()
        return int(row[0])

    # -- availability and reports --------------------------------------------------------

    def availability(self, uss: str) -> tuple[str, str] | None:
        """(availability, version) of a USS, or None when never set."""
        row = self._x("SELECT availability, version FROM dss_availability WHERE uss = ?", (uss,)).fetchone()
        return (str(row[0]), str(row[1])) if row is not None else None

    def set_availability(self, uss: str, availability: str, version: str) -> None:
        self._x(
            "INSERT INTO dss_availability (uss, availability, version) VALUES (?, ?, ?)"
            " ON CONFLICT (uss) DO UPDATE SET availability = excluded.availability,"
            " version = excluded.version",
            (uss, availability, version),
        )

    def add_report(self, report_id: str, party: str, at: datetime, report: dict[str, Any]) -> None:
        self._x(
            "INSERT INTO dss_reports (id, party, at, report) VALUES (?, ?, ?, ?)",
            (report_id, party, format_utc(at), json.dumps(report, separators=(",", ":"))),
        )


def operation_of(tx_repo: DssRepo, entity: DssEntity) -> Operation:
    """The operation that carries ``entity``'s volumes."""
    return tx_repo.tx.get_operation(entity.party, entity.id)
