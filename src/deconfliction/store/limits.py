"""Each party's plausibility limits and the space-time it holds (migration 0011).

The store keeps every operation's claim (``operations.claim_m2s``) and each party's
total over its live operations (``party_limits.held_m2s``) as it writes operations
(:mod:`deconfliction.store.sql`), so a filing reads one row however many operations
its party holds. Reading a party's standing locks that row until the transaction ends
(on PostgreSQL; SQLite has one writer): two filings of one party, from two threads or
two API nodes, are checked one after the other, so they cannot both squeeze under the
space-time limit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

from deconfliction.engine.limits import DEFAULT_LIMITS, LIMIT_NAMES, Limits, operation_claim_m2s
from deconfliction.engine.operation import LIVE_STATES
from deconfliction.errors import InvalidInput, NotFound
from deconfliction.store.sql import LOCK_PARTY_LIMITS, SqlRepo

_COLUMNS: Final = ", ".join(LIMIT_NAMES)


@dataclass(frozen=True, slots=True)
class Standing:
    """A party's limits in force, which of them the operator set (the rest are the
    defaults), and the space-time its live operations hold, m²·s."""

    party: str
    limits: Limits
    set_by_operator: frozenset[str]
    held_m2s: float


def _limits(row: tuple[Any, ...]) -> tuple[Limits, frozenset[str]]:
    # explicit types: SQLite's RETURNING hands back a whole REAL as an integer
    given: dict[str, Any] = {
        name: int(value) if name == "max_volumes" else float(value)
        for name, value in zip(LIMIT_NAMES, row, strict=True)
        if value is not None
    }
    return replace(DEFAULT_LIMITS, **given), frozenset(given)


class LimitsRepo(SqlRepo):
    """Limits per party, and the space-time each holds."""

    def standing(self, party: str, lock: bool = True) -> Standing:
        """``party``'s limits and what it holds, with what this transaction has written so
        far. ``lock`` keeps others from changing them until the transaction ends (a filing
        needs that; showing them does not). NotFound for no party."""
        if lock:
            try:
                row = self._x(LOCK_PARTY_LIMITS, (party,)).fetchone()
            except self.tx.dialect.integrity_error as exc:
                raise NotFound(f"no party {party!r}") from exc
        else:
            self.tx.get_party(party)
            row = self._x(
                f"SELECT {_COLUMNS}, held_m2s FROM party_limits WHERE party = ?", (party,)
            ).fetchone()
            if row is None:  # no row yet: nothing set, nothing held
                row = (*(None for _ in LIMIT_NAMES), 0.0)
        limits, given = _limits(tuple(row[:-1]))
        held = row[-1]
        if held is None:
            held = self._count(party)
        return Standing(party, limits, given, float(held) + self.tx.pending_held(party))

    def set(self, party: str, values: dict[str, float | int | None] | Limits) -> Standing:
        """Set the limits named in ``values`` (None: back to the default; all of them when
        ``values`` is a :class:`Limits`); the others stay."""
        if isinstance(values, Limits):
            values = {name: getattr(values, name) for name in LIMIT_NAMES}
        unknown = sorted(set(values) - set(LIMIT_NAMES))
        if unknown:
            raise InvalidInput(unknown[0], f"not a limit; the limits are {', '.join(LIMIT_NAMES)}")
        current = self.standing(party)
        wanted = {name: getattr(current.limits, name) for name in current.set_by_operator}
        wanted.update(values)
        given = {name: value for name, value in wanted.items() if value is not None}
        replace(DEFAULT_LIMITS, **given)  # validates every value together
        stored = tuple(wanted.get(name) for name in LIMIT_NAMES)
        self._x(
            f"UPDATE party_limits SET ({_COLUMNS}) = ({', '.join('?' for _ in LIMIT_NAMES)}) WHERE party = ?",
            (*stored, party),
        )
        return self.standing(party)

    def _count(self, party: str) -> float:
        """Count ``party``'s space-time held afresh, storing each live operation's claim
        (operations written before claims were stored have none) and the total."""
        operations = self.tx.list_operations(party, LIVE_STATES)
        claims = [(operation_claim_m2s(op), party, op.id) for op in operations]
        self._many("UPDATE operations SET claim_m2s = ? WHERE party = ? AND id = ?", claims)
        total = sum(claim for claim, _, _ in claims)
        self._x("UPDATE party_limits SET held_m2s = ? WHERE party = ?", (total, party))
        self.tx.forget_pending_held(party)  # the count includes this transaction's writes
        return total
