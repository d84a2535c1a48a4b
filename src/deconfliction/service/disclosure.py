"""Disclosure budgets and the ledger: what each party has learned of each other's plans.

Every conflict view shown to a viewer on a disclosure grid tells it some units (cell ×
band × slot) of the other party's — the owner's — plans (``engine.disclosure``). Before a
view is shown, the units new to the viewer are charged against the budget the owner
allows it over a rolling 24 hours. Within budget, the disclosure is recorded in the
ledger and in both parties' audit chains; past it, the view is withheld (the conflict is
announced with its window and no location: call the hotline), and the owner's desk is
told which of the viewer's volumes asked. Only the owner raises the budget.

A unit is charged when it is told and no charge of the previous 24 hours covers it, so
a viewer may be told at most twice its budget in any 24 hours (docs/disclosure.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from deconfliction.engine.disclosure import boxes_of, new_units, union_units
from deconfliction.engine.strategic import StrategicConflict, conflict_reference
from deconfliction.errors import InvalidInput
from deconfliction.geo.grid import DisclosureGrid, cell_area_km2, cell_token
from deconfliction.geo.timewindow import format_utc
from deconfliction.service.clock import Clock
from deconfliction.service.probing import alarm_view
from deconfliction.store.base import Store, Transaction
from deconfliction.store.disclosure import DisclosuresRepo
from deconfliction.store.events import AuditRepo, EventsRepo
from deconfliction.store.policy import PoliciesRepo
from deconfliction.store.probing import ProbingRepo

#: The rolling window of a budget.
WINDOW: Final = timedelta(hours=24)

#: Units a viewer may be told of an owner's plans in 24 hours unless the owner sets
#: otherwise: about 4.3 times what the busiest pair of the demo's day tells each other
#: (57,575 units; docs/disclosure.md).
DEFAULT_BUDGET: Final = 250_000

#: The most an owner may allow (a whole theatre at a fine grid for a day).
MAX_BUDGET: Final = 100_000_000


def check_budget(units: object) -> int:
    if isinstance(units, bool) or not isinstance(units, int) or not 0 <= units <= MAX_BUDGET:
        raise InvalidInput("units", f"must be a whole number from 0 to {MAX_BUDGET:,}, got {units!r}")
    return units


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a view may show its conflict's location, and what that charged."""

    shown: bool
    units: int


class Ledger:
    """Charges and records the disclosures of the views made in one transaction at ``at``."""

    def __init__(self, tx: Transaction, at: datetime) -> None:
        self.tx = tx
        self.at = at
        self._verdicts: dict[tuple[str, str], Verdict] = {}

    def admit(self, viewer: str, conflict: StrategicConflict, grid: DisclosureGrid) -> Verdict:
        """Charge what ``conflict`` (seen by ``viewer``) tells ``viewer`` about the other
        party, if the budget allows; the same verdict for every view of it in this
        transaction."""
        seen = conflict.seen_by(viewer)
        reference = conflict_reference(seen)
        key = (viewer, reference)
        if key not in self._verdicts:
            self._verdicts[key] = self._admit(viewer, seen, reference, grid)
        return self._verdicts[key]

    def _admit(self, viewer: str, seen: StrategicConflict, reference: str, grid: DisclosureGrid) -> Verdict:
        owner = seen.b.party
        repo = self.tx.repo(DisclosuresRepo)
        told = boxes_of(seen.overlaps, grid)
        since = (self.at - WINDOW).timestamp()
        units = new_units(repo.boxes(owner, viewer, told, since), told)
        if units == 0:
            return Verdict(True, 0)
        budget = repo.budget(owner, viewer)
        limit = DEFAULT_BUDGET if budget is None else budget
        charged = repo.charged(owner, viewer, since)
        if charged + units > limit:
            self._withheld(viewer, owner, seen, reference, units, charged, limit, grid)
            return Verdict(False, units)
        at_s = self.at.timestamp()
        repo.record(owner, viewer, told, units, at_s, reference)
        body = {
            "reference": reference,
            "owner": owner,
            "viewer": viewer,
            "units": units,
            "cells": sorted(cell_token(c) for c in told),
            "boxes": sorted(
                {(b.band_lo, b.band_hi, b.slot_lo, b.slot_hi) for boxes in told.values() for b in boxes}
            ),
        }
        self.tx.repo(AuditRepo).append_many(
            [(owner, "disclosure", "service", body), (viewer, "disclosure", "service", body)], self.at
        )
        return Verdict(True, units)

    def _withheld(
        self,
        viewer: str,
        owner: str,
        seen: StrategicConflict,
        reference: str,
        units: int,
        charged: int,
        limit: int,
        grid: DisclosureGrid,
    ) -> None:
        """Tell the owner's desk that a view of ``viewer`` was withheld, with the viewer's
        volumes that asked — at the grid's grain, as everything either side is told —
        once per conflict reference."""
        if not self.tx.repo(DisclosuresRepo).withhold(owner, viewer, reference, self.at.timestamp()):
            return
        asked = [
            {
                "volume": o.volume_a,
                "cells": sorted(cell_token(c) for c in (o.cells or ())),
                "lower_m": o.lower_m,
                "upper_m": o.upper_m,
                "start": format_utc(o.start),
                "end": format_utc(o.end),
            }
            for o in seen.overlaps
        ]
        payload: dict[str, Any] = {
            "reference": reference,
            "viewer": viewer,
            "operation_id": seen.a.id,
            "units": units,
            "charged": charged,
            "budget": limit,
            "volumes": asked,
        }
        self.tx.repo(EventsRepo).append(owner, "disclosure.withheld", payload, self.at)
        body = {"reference": reference, "owner": owner, "viewer": viewer, "units": units, "budget": limit}
        self.tx.repo(AuditRepo).append_many(
            [
                (owner, "disclosure.withheld", "service", body),
                (viewer, "disclosure.withheld", "service", body),
            ],
            self.at,
        )


def set_budget(tx: Transaction, owner: str, viewer: str, units: int, at: datetime) -> None:
    """``owner`` allows ``viewer`` ``units`` a day; recorded in both chains."""
    if owner == viewer:
        raise InvalidInput("viewer", "a budget is for another party")
    tx.get_party(viewer)
    tx.repo(DisclosuresRepo).set_budget(owner, viewer, check_budget(units), at.timestamp())
    body = {"owner": owner, "viewer": viewer, "units": units}
    tx.repo(AuditRepo).append_many(
        [(owner, "disclosure.budget", owner, body), (viewer, "disclosure.budget", owner, body)], at
    )


def ledger(tx: Transaction, owner: str, others: Sequence[str], at: datetime) -> list[dict[str, Any]]:
    """What each of ``others`` has learned of ``owner``'s plans over the rolling window:
    cells and their area, band-hours (the altitude bands × time told, whatever the cell),
    units, units charged, the budget and what is left of it."""
    repo = tx.repo(DisclosuresRepo)
    policies = tx.repo(PoliciesRepo)
    since = (at - WINDOW).timestamp()
    told = repo.told_about(owner, since)
    alarms = tx.repo(ProbingRepo).alarms(owner, since)
    rows = []
    for viewer in others:
        mine = [d for d in told if d.viewer == viewer]
        by_cell: dict[int, list[Any]] = {}
        for d in mine:
            by_cell.setdefault(d.cell, []).append(d.box)
        budget = repo.budget(owner, viewer)
        limit = DEFAULT_BUDGET if budget is None else budget
        charged = repo.charged(owner, viewer, since)
        grid = policies.get(owner, viewer).grid
        slot_h = (grid.slot_s if grid is not None else 0.0) / 3600.0
        rows.append(
            {
                "viewer": viewer,
                "cells": len(by_cell),
                "area_km2": round(sum(cell_area_km2(c) for c in by_cell), 1),
                "band_hours": round(union_units([d.box for d in mine]) * slot_h, 2),
                "units": sum(union_units(boxes) for boxes in by_cell.values()),
                "disclosures": len({d.reference for d in mine}),
                "charged": charged,
                "budget": limit,
                "left": max(0, limit - charged),
                "last": format_utc(datetime.fromtimestamp(max(d.at_s for d in mine), UTC)) if mine else None,
                "alarms": [alarm_view(a) for a in alarms if a.suspect == viewer],
            }
        )
    return rows


class DisclosureService:
    """The ledger and budgets, for one acting party; one store transaction each."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def ledger(self, party: str) -> dict[str, Any]:
        """What every other party has learned of ``party``'s plans, and the budgets."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.get_party(party)
            others = [p.id for p in tx.list_parties() if p.id != party]
            return {
                "party": party,
                "window_h": WINDOW.total_seconds() / 3600.0,
                "at": format_utc(now),
                "learned_by": ledger(tx, party, others, now),
            }

    def set_budget(self, owner: str, viewer: str, units: int) -> dict[str, Any]:
        """``owner`` allows ``viewer`` ``units`` a rolling day; the viewer's ledger row."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            set_budget(tx, owner, viewer, units, now)
            [row] = ledger(tx, owner, [viewer], now)
            return row
