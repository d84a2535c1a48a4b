"""Pair policies, the notice given with each operation version, and acknowledgements."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from deconfliction.engine.minima import pair_key
from deconfliction.engine.policy import Notice, PairMode, PairPolicy, Visibility, default_policy
from deconfliction.errors import NotFound
from deconfliction.geo.grid import DEFAULT_GRID, DisclosureGrid
from deconfliction.geo.timewindow import format_utc, parse_utc
from deconfliction.store.sql import SqlRepo


class PoliciesRepo(SqlRepo):
    """Lead time, visibility and disclosure grid per pair (minima stay in the core
    ``pair_minima``)."""

    def set(self, policy: PairPolicy) -> None:
        p = policy
        grid = p.grid or DEFAULT_GRID  # the exact rule keeps the default grid's columns
        try:
            self._x(
                "INSERT INTO pair_policies (party_a, party_b, min_lead_s, a_sees, b_sees,"
                " rule, grid_resolution, grid_band_m, grid_slot_s, mode, private_budget)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (party_a, party_b) DO UPDATE SET"
                " min_lead_s = excluded.min_lead_s, a_sees = excluded.a_sees, b_sees = excluded.b_sees,"
                " rule = excluded.rule, grid_resolution = excluded.grid_resolution,"
                " grid_band_m = excluded.grid_band_m, grid_slot_s = excluded.grid_slot_s,"
                " mode = excluded.mode, private_budget = excluded.private_budget",
                (
                    p.party_a,
                    p.party_b,
                    p.min_lead_s,
                    p.a_sees.value,
                    p.b_sees.value,
                    "exact" if p.grid is None else "grid",
                    grid.resolution,
                    grid.band_m,
                    grid.slot_s,
                    p.mode.value,
                    p.private_budget,
                ),
            )
        except self.tx.dialect.integrity_error as exc:
            raise NotFound(f"no party {p.party_a!r} or no party {p.party_b!r}") from exc

    def get(self, party_a: str, party_b: str) -> PairPolicy:
        """The pair's policy; the default one when none was set."""
        a, b = pair_key(party_a, party_b)
        row = self._x(
            f"SELECT {_COLUMNS} FROM pair_policies WHERE party_a = ? AND party_b = ?",
            (a, b),
        ).fetchone()
        return default_policy(a, b) if row is None else _policy(row)

    def all(self) -> dict[tuple[str, str], PairPolicy]:
        rows = self._x(f"SELECT {_COLUMNS} FROM pair_policies ORDER BY party_a, party_b").fetchall()
        return {(r[0], r[1]): _policy(r) for r in rows}


_COLUMNS = (
    "party_a, party_b, min_lead_s, a_sees, b_sees, rule, grid_resolution, grid_band_m, grid_slot_s,"
    " mode, private_budget"
)


def _policy(row: tuple[str, str, float, str, str, str, int, float, float, str, int]) -> PairPolicy:
    grid = None if row[5] == "exact" else DisclosureGrid(int(row[6]), float(row[7]), float(row[8]))
    return PairPolicy(
        row[0],
        row[1],
        float(row[2]),
        Visibility(row[3]),
        Visibility(row[4]),
        grid,
        PairMode(row[9]),
        int(row[10]),
    )


@dataclass(frozen=True, slots=True)
class NoticeRecord:
    """The notice given with one version of an operation, and its stated purpose."""

    party: str
    id: str
    version: int
    notice: Notice
    purpose: str | None


class NoticesRepo(SqlRepo):
    """One row per filed version: filed when, with what lead time, late to whom."""

    def record(self, party: str, op_id: str, version: int, notice: Notice, purpose: str | None) -> None:
        self._x(
            "INSERT INTO operation_notices (party, id, version, filed_at, lead_s, late_for, purpose)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                party,
                op_id,
                version,
                format_utc(notice.filed_at),
                notice.lead_s,
                json.dumps(list(notice.late_for)),
                purpose,
            ),
        )

    def latest(self, party: str, op_id: str) -> NoticeRecord | None:
        """The record of the newest filed version (state changes file no new notice)."""
        row = self._x(
            "SELECT version, filed_at, lead_s, late_for, purpose FROM operation_notices"
            " WHERE party = ? AND id = ? ORDER BY version DESC LIMIT 1",
            (party, op_id),
        ).fetchone()
        if row is None:
            return None
        notice = Notice(parse_utc(row[1], "filed_at"), float(row[2]), tuple(json.loads(row[3])))
        return NoticeRecord(party, op_id, int(row[0]), notice, row[4])


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """``party`` acknowledged version ``other_version`` of another party's operation."""

    party: str
    other_party: str
    other_id: str
    other_version: int
    reference: str
    at: datetime


class AcknowledgementsRepo(SqlRepo):
    """Proof of awareness: which versions of other operations a party has acknowledged."""

    def add(self, ack: Acknowledgement) -> bool:
        """Record; False when that version was already acknowledged (kept as first made)."""
        row = self._x(
            "INSERT INTO acknowledgements (party, other_party, other_id, other_version, reference, at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (party, other_party, other_id, other_version)"
            " DO NOTHING RETURNING party",
            (ack.party, ack.other_party, ack.other_id, ack.other_version, ack.reference, format_utc(ack.at)),
        ).fetchone()
        return row is not None

    def has(self, party: str, other_party: str, other_id: str, other_version: int) -> bool:
        row = self._x(
            "SELECT 1 FROM acknowledgements WHERE party = ? AND other_party = ? AND other_id = ?"
            " AND other_version = ?",
            (party, other_party, other_id, other_version),
        ).fetchone()
        return row is not None
