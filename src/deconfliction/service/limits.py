"""Plausibility limits applied to filings, inside the filing's transaction.

Every use-case that files new operations (one, a group of threads' filings, a batch)
or changes an operation's volumes calls :func:`check_new` or :func:`check_change` in
its own transaction before it writes: the party's row of limits is locked from that
read until the commit (:class:`~deconfliction.store.limits.LimitsRepo`), so concurrent
filings of one party are checked one after the other against what the others stored.
A filing beyond a limit is refused whole (a batch: every operation of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from deconfliction.engine.limits import (
    KM2_M2,
    KM2H_M2S,
    Limits,
    check_operation,
    check_volumes,
    operation_claim_m2s,
)
from deconfliction.engine.operation import Operation
from deconfliction.errors import LimitExceeded
from deconfliction.store.base import Transaction
from deconfliction.store.limits import LimitsRepo, Standing
from deconfliction.units import FOOT_M

#: Each limit as the API and the CLI show it: its name there and its unit in SI units.
EDGE_UNITS: Final[dict[str, tuple[str, float]]] = {
    "max_volume_area_m2": ("max_volume_area_km2", KM2_M2),
    "max_altitude_span_m": ("max_altitude_span_ft", FOOT_M),
    "max_duration_s": ("max_duration_h", 3600.0),
    "max_volumes": ("max_volumes", 1.0),
    "max_claim_m2s": ("max_claim_km2h", KM2H_M2S),
}


def check_new(tx: Transaction, operations: Sequence[Operation]) -> None:
    """:class:`LimitExceeded` for the first of new ``operations`` (filed in this order)
    beyond its party's limits, counting the batch's earlier operations as held; the
    field names it (``operations[3].volumes[0].footprint``) when there are several."""
    repo = tx.repo(LimitsRepo)
    # parties in one order, as every writer locks them (store.sql before_commit)
    held = {party: repo.standing(party) for party in sorted({op.party for op in operations})}
    claimed = dict.fromkeys(held, 0.0)
    for n, operation in enumerate(operations):
        standing = held[operation.party]
        try:
            claim = check_operation(standing.limits, operation, standing.held_m2s + claimed[operation.party])
        except LimitExceeded as exc:
            if len(operations) == 1:
                raise
            raise exc.within(f"operations[{n}]") from None
        claimed[operation.party] += claim


def check_change(tx: Transaction, current: Operation, changed: Operation) -> None:
    """:class:`LimitExceeded` if ``changed`` (``current`` with new volumes) is beyond its
    party's limits; the space-time its old volumes held is given back first. A change
    that keeps the volumes is not checked: a lowered limit never blocks a priority change."""
    if changed.volumes is current.volumes:
        return
    standing = tx.repo(LimitsRepo).standing(changed.party)
    if not changed.live:
        check_volumes(standing.limits, changed.volumes)
        return
    released = operation_claim_m2s(current) if current.live else 0.0
    check_operation(standing.limits, changed, standing.held_m2s, released)


def limits_to_edge(limits: Limits) -> dict[str, float | int]:
    """``limits`` in the API's and the CLI's units (km², ft, h, km²·h)."""
    out: dict[str, float | int] = {}
    for name, (edge, scale) in EDGE_UNITS.items():
        value = getattr(limits, name)
        out[edge] = value if name == "max_volumes" else round(value / scale, 6)
    return out


def standing_to_edge(standing: Standing) -> dict[str, Any]:
    """A party's limits and space-time held, as its profile shows them."""
    limit = standing.limits.max_claim_m2s
    return {
        "party": standing.party,
        "limits": limits_to_edge(standing.limits),
        "set_by_operator": sorted(EDGE_UNITS[name][0] for name in standing.set_by_operator),
        "held_km2h": round(max(0.0, standing.held_m2s) / KM2H_M2S, 3),  # no -0.0 from rounding
        "left_km2h": round(max(0.0, limit - standing.held_m2s) / KM2H_M2S, 3),
    }
