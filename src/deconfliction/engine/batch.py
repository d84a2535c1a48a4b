"""Candidates among the operations of one batch: which earlier ones each conflicts with.

A batch (a day's plan, or filings that arrived together) is filed as if one operation
at a time: each is checked against the store as it stood before the batch, through the
store's index, and against the batch's earlier operations of other parties, found here
without an index by the all-pairs path (:mod:`deconfliction.engine.plan`), which
measures them as the strategic check does. Its pairs are handed on as candidates, so the
one exact check of the batch confirms them beside the store's and draws their regions.
"""

from __future__ import annotations

from collections.abc import Sequence

from deconfliction.engine.minima import MinimaPolicy
from deconfliction.engine.operation import Operation
from deconfliction.engine.plan import plan_pairs
from deconfliction.engine.strategic import Candidate


def earlier_candidates(operations: Sequence[Operation], policy: MinimaPolicy) -> list[list[Candidate]]:
    """For each operation, the earlier operations of the batch, of other parties, that it
    conflicts with, each with the volume pairs that do (``(its volume, theirs)``), in
    (party, id) order."""
    if len({op.party for op in operations}) < 2:  # a filing alone, or one party's batch
        return [[] for _ in operations]
    pairs = plan_pairs(operations, policy, later_first=True)
    table = pairs.table
    found: list[dict[int, set[tuple[int, int]]]] = [{} for _ in operations]
    owner, index = table.owner.tolist(), table.index.tolist()
    for a, b in zip(pairs.a.tolist(), pairs.b.tolist(), strict=True):
        found[owner[a]].setdefault(owner[b], set()).add((index[a], index[b]))
    return [
        sorted((Candidate.of(operations[m], frozenset(p)) for m, p in by_other.items()), key=lambda c: c.key)
        for by_other in found
    ]
