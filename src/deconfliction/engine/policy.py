"""Pair policies beyond minima: the notice each side owes, and what each side may see.

Pure values and decisions; the store keeps them (``store.policy``) and the service
applies them (``service.access``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from deconfliction.engine.minima import pair_key
from deconfliction.engine.operation import Operation, check_identifier
from deconfliction.errors import InvalidInput
from deconfliction.geo.grid import DEFAULT_GRID, DisclosureGrid

#: Longest minimum lead time a policy may ask for (30 days): anything longer is a typo.
MAX_LEAD_S = 30 * 86_400.0


class Visibility(StrEnum):
    """What a party may see of another party's operation that conflicts with its own.

    Each level shows less than the one before; none shows the other operation's own
    geometry, purpose or id: only the overlap, which both sides share."""

    OVERLAP = "overlap"  #: overlap region, altitude band, UTC window, other party, reference
    WINDOW = "window"  #: altitude band, UTC window, other party, reference (no region)
    REFERENCE = "reference"  #: other party and reference only

    def shows_window(self) -> bool:
        return self in (Visibility.OVERLAP, Visibility.WINDOW)

    def shows_region(self) -> bool:
        return self is Visibility.OVERLAP


def parse_visibility(value: object, field: str) -> Visibility:
    """A :class:`Visibility` from its name; InvalidInput names ``field`` otherwise."""
    try:
        if isinstance(value, str):
            return Visibility(value)
    except ValueError:
        pass
    levels = ", ".join(v.value for v in Visibility)
    raise InvalidInput(field, f"unknown visibility {value!r}; one of {levels}")


class PairMode(StrEnum):
    """Where a pair's conflicts are found."""

    NATIVE = "native"  #: by the service, from both parties' plans (the host sees them)
    PRIVATE = "private"  #: by the parties' own agents, by private set intersection (docs/private-mode.md)


def parse_mode(value: object) -> PairMode:
    """A :class:`PairMode` from its name; InvalidInput naming ``mode`` otherwise."""
    if isinstance(value, str) and value in {m.value for m in PairMode}:
        return PairMode(value)
    raise InvalidInput("mode", f"unknown mode {value!r}; one of native, private")


#: Cells (padded) each side of a private pair may submit in one epoch, unless set.
DEFAULT_PRIVATE_BUDGET = 65_536
#: The most a pair may allow: 2^22 cells a side, about 134 MB of blinded points.
MAX_PRIVATE_BUDGET = 1 << 22


@dataclass(frozen=True, slots=True)
class PairPolicy:
    """The lead time, visibility and disclosure grid agreed between two parties (stored
    with a <= b). ``grid`` None is the exact rule, for pairs that trust each other: their
    conflicts are decided, and their overlaps shown, exactly (docs/disclosure.md)."""

    party_a: str
    party_b: str
    min_lead_s: float = 0.0
    a_sees: Visibility = Visibility.OVERLAP
    b_sees: Visibility = Visibility.OVERLAP
    grid: DisclosureGrid | None = DEFAULT_GRID
    mode: PairMode = PairMode.NATIVE
    #: cells each side may submit per epoch in private mode (padded to buckets)
    private_budget: int = DEFAULT_PRIVATE_BUDGET

    def __post_init__(self) -> None:
        check_identifier(self.party_a, "party_a")
        check_identifier(self.party_b, "party_b")
        if self.party_a == self.party_b:
            raise InvalidInput("party_b", "a pair policy is between two different parties")
        lead = self.min_lead_s
        if isinstance(lead, bool) or not isinstance(lead, int | float) or not math.isfinite(lead):
            raise InvalidInput("min_lead_s", f"must be a finite number, got {lead!r}")
        if not 0 <= lead <= MAX_LEAD_S:
            raise InvalidInput("min_lead_s", f"must be between 0 and {MAX_LEAD_S:.0f} s, got {lead!r}")
        object.__setattr__(self, "min_lead_s", float(lead))
        for name in ("a_sees", "b_sees"):
            object.__setattr__(self, name, parse_visibility(getattr(self, name), name))
        if self.grid is not None and not isinstance(self.grid, DisclosureGrid):
            raise InvalidInput(
                "grid", f"must be a disclosure grid or None (the exact rule), got {self.grid!r}"
            )
        object.__setattr__(self, "mode", parse_mode(self.mode))
        if self.mode is PairMode.PRIVATE and self.grid is None:
            raise InvalidInput("mode", "private mode finds conflicts on a disclosure grid; the pair has none")
        budget = self.private_budget
        if isinstance(budget, bool) or not isinstance(budget, int) or not 256 <= budget <= MAX_PRIVATE_BUDGET:
            raise InvalidInput(
                "private_budget", f"must be an integer 256 .. {MAX_PRIVATE_BUDGET}, got {budget!r}"
            )
        if self.party_b < self.party_a:
            # One row per unordered pair: store it with the smaller id first.
            a, b, a_sees, b_sees = self.party_b, self.party_a, self.b_sees, self.a_sees
            object.__setattr__(self, "party_a", a)
            object.__setattr__(self, "party_b", b)
            object.__setattr__(self, "a_sees", a_sees)
            object.__setattr__(self, "b_sees", b_sees)

    def sees(self, viewer: str) -> Visibility:
        """What ``viewer`` (one of the pair) may see of the other's operations."""
        if viewer == self.party_a:
            return self.a_sees
        if viewer == self.party_b:
            return self.b_sees
        raise InvalidInput("viewer", f"{viewer!r} is not in the pair {self.party_a}/{self.party_b}")


def default_policy(party_a: str, party_b: str) -> PairPolicy:
    """The policy of a pair no admin has set: no lead time, overlaps visible both ways on
    the default grid."""
    a, b = pair_key(party_a, party_b)
    return PairPolicy(a, b)


@dataclass(frozen=True, slots=True)
class Notice:
    """How much notice a version of an operation gave, and to whom it was late."""

    filed_at: datetime
    lead_s: float
    late_for: tuple[str, ...]

    @property
    def late(self) -> bool:
        return bool(self.late_for)


def notice_given(
    operation: Operation,
    now: datetime,
    others: Iterable[str],
    policies: Mapping[tuple[str, str], PairPolicy],
) -> Notice:
    """The lead time from ``now`` to the operation's first volume start, and each other
    party whose agreed minimum lead time it falls short of (late filings are accepted,
    but the shortfall is recorded)."""
    first_start = min(v.window.start_s for v in operation.volumes)
    lead = first_start - now.timestamp()
    late = []
    for other in sorted(set(others) - {operation.party}):
        policy = policies.get(pair_key(operation.party, other))
        if policy is not None and lead < policy.min_lead_s:
            late.append(other)
    return Notice(now, lead, tuple(late))
