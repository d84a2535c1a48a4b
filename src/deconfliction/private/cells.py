"""A party's plan as private mode sees it: the set of space-time cells its volumes touch.

For each volume, grown by half the pair's minima, every (H3 cell, altitude band, time
slot) of the pair's disclosure grid that the grown volume touches: exactly the cover the
native grid rule compares (``engine.strategic._on_grid``), so a cell both parties hold is
what the grid rule would disclose to both.

One representation choice differs from the native rule, and only ever adds cells: bands
are counted on each volume's **MSL envelope** (``AltitudeBand.msl_envelope``: the MSL
altitudes it may occupy, conversion uncertainty included). The native engine compares
two bands in their own datum when they share one, and MSL envelopes otherwise
(``geo.altitude.comparable_intervals``); a party in private mode does not know the other's
datum, and raw bands of different datums cannot be compared, so the one representation
that is safe against every datum the peer may use is the envelope. An envelope contains
the band's own values shifted by the conversion, so the gap between two envelopes is never
larger than the gap the native rule measures: no conflict is missed. For two MSL bands the
envelope is the band itself and the cells are exactly the native grid's.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from deconfliction.engine.minima import Minima
from deconfliction.engine.operation import Operation
from deconfliction.errors import InvalidInput
from deconfliction.geo.grid import DisclosureGrid
from deconfliction.geo.volume import Volume4D

#: One cell on the wire of the hash: H3 index (unsigned 64), band (signed 32), slot
#: (signed 64), big-endian. Fixed width, so no two cells encode alike.
_CELL = struct.Struct(">QiQ")
CELL_BYTES: Final = _CELL.size

#: The most cells one volume may cover (a volume over a whole region for a whole week):
#: past this a plan is refused before anything is enumerated, as no budget admits it.
MAX_CELLS_PER_VOLUME: Final = 2_000_000


@dataclass(frozen=True, slots=True, order=True)
class SpaceTimeCell:
    """One H3 cell at one altitude band in one time slot."""

    cell: int
    band: int
    slot: int

    def encode(self) -> bytes:
        """The cell's fixed-width encoding (what is hashed to the group)."""
        # slot as unsigned two's complement: slots before 1970 stay distinct
        return _CELL.pack(self.cell, self.band, self.slot & 0xFFFF_FFFF_FFFF_FFFF)

    @staticmethod
    def decode(data: bytes) -> SpaceTimeCell:
        cell, band, slot = _CELL.unpack(data)
        if slot >= 1 << 63:
            slot -= 1 << 64
        return SpaceTimeCell(cell, band, slot)


def volume_cells(volume: Volume4D, minima: Minima, grid: DisclosureGrid) -> set[SpaceTimeCell]:
    """Every cell of ``grid`` that ``volume`` grown by half ``minima`` touches."""
    half_h, half_v, half_t = minima.horizontal_m / 2.0, minima.vertical_m / 2.0, minima.time_s / 2.0
    lo, hi = volume.band.msl_envelope()
    b0, b1 = grid.bands(lo - half_v, hi + half_v)
    s0, s1 = grid.slots(volume.window.start_s - half_t, volume.window.end_s + half_t)
    cells = grid.cells(volume.footprint, half_h)
    count = len(cells) * (b1 - b0 + 1) * (s1 - s0 + 1)
    if count > MAX_CELLS_PER_VOLUME:
        raise InvalidInput(
            "volumes", f"a volume covers {count} cells of the grid; the limit is {MAX_CELLS_PER_VOLUME}"
        )
    return {SpaceTimeCell(c, b, s) for c in cells for b in range(b0, b1 + 1) for s in range(s0, s1 + 1)}


@dataclass(frozen=True, slots=True)
class CellSet:
    """A party's cells for one peer, each with the (operation id, volume index) that
    touch it: what the agent needs to turn a shared cell back into its own conflicts."""

    owners: dict[SpaceTimeCell, tuple[tuple[str, int], ...]]

    @property
    def cells(self) -> frozenset[SpaceTimeCell]:
        return frozenset(self.owners)

    def __len__(self) -> int:
        return len(self.owners)


def plan_cells(operations: Iterable[Operation], minima: Minima, grid: DisclosureGrid) -> CellSet:
    """The cells of every live operation of a plan, with their owners."""
    owners: dict[SpaceTimeCell, list[tuple[str, int]]] = {}
    for operation in operations:
        if not operation.live:
            continue
        for k, volume in enumerate(operation.volumes):
            for cell in volume_cells(volume, minima, grid):
                owners.setdefault(cell, []).append((operation.id, k))
    return CellSet({c: tuple(sorted(o)) for c, o in owners.items()})


def shared_by_operation(mine: CellSet, shared: Iterable[SpaceTimeCell]) -> dict[str, list[SpaceTimeCell]]:
    """The shared cells grouped by the operation of ``mine`` that touches them."""
    found: dict[str, set[SpaceTimeCell]] = {}
    for cell in shared:
        for op_id, _ in mine.owners.get(cell, ()):
            found.setdefault(op_id, set()).add(cell)
    return {op: sorted(cells) for op, cells in sorted(found.items())}


def encode_all(cells: Sequence[SpaceTimeCell]) -> list[bytes]:
    return [c.encode() for c in cells]
