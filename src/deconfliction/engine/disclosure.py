"""Disclosure units: how much a conflict tells one party about another's plans.

On a disclosure grid, what a conflict discloses is a set of units, each one cell × one
altitude band × one time slot. In each cell, an overlap discloses a box of bands × slots;
a disclosure budget counts the distinct units a viewer has been told about an owner, so
telling it the same units again costs nothing, and a box that overlaps earlier ones costs
only its new units. Pure functions; the ledger that keeps the boxes is
``service.disclosure``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from deconfliction.engine.strategic import Overlap
from deconfliction.geo.grid import DisclosureGrid


@dataclass(frozen=True, slots=True, order=True)
class Box:
    """Bands ``band_lo``..``band_hi`` × slots ``slot_lo``..``slot_hi`` (inclusive) of one cell."""

    band_lo: int
    band_hi: int
    slot_lo: int
    slot_hi: int

    @property
    def units(self) -> int:
        return (self.band_hi - self.band_lo + 1) * (self.slot_hi - self.slot_lo + 1)


#: Boxes by cell.
Boxes = Mapping[int, Sequence[Box]]


def boxes_of(overlaps: Iterable[Overlap], grid: DisclosureGrid) -> dict[int, list[Box]]:
    """What ``overlaps`` (decided on ``grid``) disclose: one box per overlap per cell."""
    found: dict[int, list[Box]] = {}
    for o in overlaps:
        if o.cells is None:
            continue
        box = Box(
            round(o.lower_m / grid.band_m),
            round(o.upper_m / grid.band_m) - 1,
            round(o.start.timestamp() / grid.slot_s),
            round(o.end.timestamp() / grid.slot_s) - 1,
        )
        for cell in o.cells:
            if box not in found.setdefault(cell, []):
                found[cell].append(box)
    return found


def union_units(boxes: Sequence[Box]) -> int:
    """Distinct units covered by ``boxes`` (of one cell): the area of their union, by
    sweeping the slot axis and merging band intervals in each strip."""
    if not boxes:
        return 0
    edges = sorted({b.slot_lo for b in boxes} | {b.slot_hi + 1 for b in boxes})
    total = 0
    for left, right in itertools.pairwise(edges):
        spans = sorted(
            (b.band_lo, b.band_hi + 1) for b in boxes if b.slot_lo <= left and b.slot_hi + 1 >= right
        )
        covered, end = 0, None
        for lo, hi in spans:
            if end is None or lo > end:
                covered += hi - lo
                end = hi
            elif hi > end:
                covered += hi - end
                end = hi
        total += covered * (right - left)
    return total


def new_units(known: Boxes, adding: Boxes) -> int:
    """How many units of ``adding`` are not already in ``known``."""
    added = 0
    for cell, boxes in adding.items():
        before = list(known.get(cell, ()))
        added += union_units(before + list(boxes)) - union_units(before)
    return added
