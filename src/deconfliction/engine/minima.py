"""Separation minima and the policy that says which minima hold for a pair of parties."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from deconfliction.errors import InvalidInput
from deconfliction.geo.grid import DisclosureGrid
from deconfliction.units import FOOT_M, NAUTICAL_MILE_M


@dataclass(frozen=True, slots=True)
class Minima:
    """Horizontal and vertical distances (m) and a time buffer (s), all strictly positive.

    Two volumes conflict when they are closer than all three at once; strictness is why a
    zero minimum is refused: nothing is ever closer than zero, so it would silently turn
    detection off in that dimension.
    """

    horizontal_m: float
    vertical_m: float
    time_s: float

    def __post_init__(self) -> None:
        for name in ("horizontal_m", "vertical_m", "time_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise InvalidInput(name, f"must be a finite number, got {value!r}")
            if value <= 0:
                raise InvalidInput(name, f"must be greater than 0, got {value!r}")
            object.__setattr__(self, name, float(value))

    def widest(self, other: Minima) -> Minima:
        """The larger of each component."""
        return Minima(
            max(self.horizontal_m, other.horizontal_m),
            max(self.vertical_m, other.vertical_m),
            max(self.time_s, other.time_s),
        )


#: En-route defaults: 5 NM, 1000 ft, and 5 minutes between windows.
EN_ROUTE: Final = Minima(5 * NAUTICAL_MILE_M, 1000 * FOOT_M, 300.0)


def pair_key(party_a: str, party_b: str) -> tuple[str, str]:
    """Order-free key of a pair of parties."""
    return (party_a, party_b) if party_a <= party_b else (party_b, party_a)


@dataclass(frozen=True, slots=True)
class MinimaPolicy:
    """Minima per pair of parties, with a default for pairs not listed, and the rule that
    decides each pair's conflicts: exact (``None``) or on a disclosure grid.

    Under a grid, two volumes conflict when the grid covers of the two buffered volumes
    meet (docs/disclosure.md): a superset of the exact conflicts, reaching up to a cell,
    a band and a slot farther, which :meth:`reach_for` adds to the minima so that every
    candidate search finds them."""

    default: Minima = EN_ROUTE
    pairs: Mapping[tuple[str, str], Minima] = field(default_factory=dict)
    default_grid: DisclosureGrid | None = None
    grids: Mapping[tuple[str, str], DisclosureGrid | None] = field(default_factory=dict)
    #: pairs in private mode: their own agents find their conflicts (docs/private-mode.md),
    #: so the service never decides, stores or discloses one between them
    private: frozenset[tuple[str, str]] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "pairs", {pair_key(*k): v for k, v in dict(self.pairs).items()})
        object.__setattr__(self, "grids", {pair_key(*k): v for k, v in dict(self.grids).items()})
        object.__setattr__(self, "private", frozenset(pair_key(*k) for k in self.private))

    def __hash__(self) -> int:
        return hash(
            (
                self.default,
                tuple(sorted(self.pairs.items())),
                self.default_grid,
                tuple(sorted(self.grids.items(), key=lambda item: item[0])),
                self.private,
            )
        )

    def is_private(self, party_a: str, party_b: str) -> bool:
        """Whether the pair is in private mode (the service decides none of its conflicts)."""
        return bool(self.private) and pair_key(party_a, party_b) in self.private

    def for_pair(self, party_a: str, party_b: str) -> Minima:
        """Minima in force between two parties."""
        return self.pairs.get(pair_key(party_a, party_b), self.default)

    @property
    def has_grid(self) -> bool:
        """Whether any pair decides on a disclosure grid."""
        return self.default_grid is not None or any(g is not None for g in self.grids.values())

    def grid_for(self, party_a: str, party_b: str) -> DisclosureGrid | None:
        """The pair's disclosure grid, or None when the pair decides conflicts exactly."""
        key = pair_key(party_a, party_b)
        return self.grids.get(key, self.default_grid)

    def reach_for(self, party_a: str, party_b: str) -> Minima:
        """How far apart two volumes of the pair may be and still conflict: the minima,
        widened by a cell, two bands and two slots where a grid decides."""
        return _reach(self.for_pair(party_a, party_b), self.grid_for(party_a, party_b))

    def widest_for(self, party: str, others: Iterable[str] | None = None) -> Minima:
        """The widest reach ``party`` may face (:meth:`reach_for`): what a candidate
        search must reach."""
        wanted = None if others is None else set(others)  # once: ``others`` may be an iterator
        widest = _reach(self.default, self.default_grid)
        for a, b in set(self.pairs) | set(self.grids):
            if party in (a, b) and (wanted is None or (b if a == party else a) in wanted):
                widest = widest.widest(self.reach_for(a, b))
        return widest


def _reach(minima: Minima, grid: DisclosureGrid | None) -> Minima:
    if grid is None:
        return minima
    return Minima(
        minima.horizontal_m + grid.reach_m,
        minima.vertical_m + 2.0 * grid.band_m,
        minima.time_s + 2.0 * grid.slot_s,
    )
