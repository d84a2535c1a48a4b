"""The disclosure ledger: what each viewer has been told of each owner's plans, and the
budget each owner allows each viewer (docs/disclosure.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from deconfliction.engine.disclosure import Box
from deconfliction.store.sql import SqlRepo


@dataclass(frozen=True, slots=True)
class Disclosed:
    """One box of one cell told to ``viewer`` about ``owner``, in conflict ``reference``."""

    owner: str
    viewer: str
    cell: int
    box: Box
    at_s: float
    reference: str


class DisclosuresRepo(SqlRepo):
    """Boxes disclosed, their charges against budgets, and the budgets."""

    def boxes(self, owner: str, viewer: str, cells: Iterable[int], since_s: float) -> dict[int, list[Box]]:
        """The boxes of ``cells`` told to ``viewer`` about ``owner`` since ``since_s``."""
        found: dict[int, list[Box]] = {}
        wanted = sorted(set(cells))
        for start in range(0, len(wanted), 500):  # under every driver's parameter limit
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self._x(
                "SELECT cell, band_lo, band_hi, slot_lo, slot_hi FROM disclosures"
                f" WHERE owner = ? AND viewer = ? AND at_s >= ? AND cell IN ({marks})",
                (owner, viewer, since_s, *chunk),
            ).fetchall()
            for cell, *box in rows:
                found.setdefault(int(cell), []).append(Box(*(int(v) for v in box)))
        return found

    def record(
        self,
        owner: str,
        viewer: str,
        boxes: Mapping[int, Sequence[Box]],
        units: int,
        at_s: float,
        reference: str,
    ) -> None:
        """Record what one disclosure told, and its charge of ``units``."""
        self._many(
            "INSERT INTO disclosures (owner, viewer, cell, band_lo, band_hi, slot_lo, slot_hi, at_s,"
            " reference) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (owner, viewer, cell, b.band_lo, b.band_hi, b.slot_lo, b.slot_hi, at_s, reference)
                for cell, cell_boxes in sorted(boxes.items())
                for b in cell_boxes
            ],
        )
        self._x(
            "INSERT INTO disclosure_charges (owner, viewer, at_s, units, reference) VALUES (?, ?, ?, ?, ?)",
            (owner, viewer, at_s, units, reference),
        )

    def charged(self, owner: str, viewer: str, since_s: float) -> int:
        """Units charged to ``viewer`` about ``owner`` since ``since_s``."""
        row = self._x(
            "SELECT COALESCE(SUM(units), 0) FROM disclosure_charges"
            " WHERE owner = ? AND viewer = ? AND at_s >= ?",
            (owner, viewer, since_s),
        ).fetchone()
        return int(row[0])

    def budget(self, owner: str, viewer: str) -> int | None:
        """The budget ``owner`` set for ``viewer``; None where it set none."""
        row = self._x(
            "SELECT units FROM disclosure_budgets WHERE owner = ? AND viewer = ?", (owner, viewer)
        ).fetchone()
        return None if row is None else int(row[0])

    def set_budget(self, owner: str, viewer: str, units: int, at_s: float) -> None:
        self._x(
            "INSERT INTO disclosure_budgets (owner, viewer, units, set_at_s) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (owner, viewer) DO UPDATE SET units = excluded.units, set_at_s = excluded.set_at_s",
            (owner, viewer, units, at_s),
        )

    def withhold(self, owner: str, viewer: str, reference: str, at_s: float) -> bool:
        """Record that ``reference``'s location was withheld from ``viewer``; False if it
        already was."""
        cursor = self._x(
            "INSERT INTO disclosures_withheld (owner, viewer, reference, at_s) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (owner, viewer, reference) DO NOTHING",
            (owner, viewer, reference, at_s),
        )
        return bool(cursor.rowcount)

    def told_about(self, owner: str, since_s: float) -> list[Disclosed]:
        """Every box told about ``owner`` since ``since_s``, by viewer and time."""
        rows = self._x(
            "SELECT viewer, cell, band_lo, band_hi, slot_lo, slot_hi, at_s, reference FROM disclosures"
            " WHERE owner = ? AND at_s >= ? ORDER BY viewer, at_s, cell",
            (owner, since_s),
        ).fetchall()
        return [
            Disclosed(
                owner, r[0], int(r[1]), Box(int(r[2]), int(r[3]), int(r[4]), int(r[5])), float(r[6]), r[7]
            )
            for r in rows
        ]
