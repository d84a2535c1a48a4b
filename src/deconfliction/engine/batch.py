"""Candidates among the operations of one batch: which earlier ones each may conflict with.

A batch (a day's plan, or filings that arrived together) is filed as if one operation
at a time: each is checked against the store as it stood before the batch, through the
store's index, and against the batch's earlier operations of other parties, found here
without an index by a coarse test of all their volume pairs at once. The test is the
cheap half of :func:`~deconfliction.engine.strategic.conflicts_with` made looser (time
windows, MSL envelopes and bounding caps, each against the pair's minima, with room to
spare): it may only keep too many pairs, and the exact check decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from deconfliction.engine.minima import MinimaPolicy
from deconfliction.engine.operation import Operation
from deconfliction.engine.strategic import Candidate
from deconfliction.geo.frame import great_circles_m

#: The exact check skips a pair whose caps are apart by its minimum with 1 % off the
#: haversine between their centres; this test takes 2 % off, and a millimetre and a
#: microsecond off the other gaps, so that rounding can only keep a pair.
_CENTRES_SLACK: Final = 0.02
_EPSILON: Final = 1e-3


def earlier_candidates(operations: Sequence[Operation], policy: MinimaPolicy) -> list[list[Candidate]]:
    """For each operation, the earlier operations of the batch, of other parties, that it
    may conflict with, each with the volume pairs that may (``(its volume, theirs)``), in
    (party, id) order."""
    parties = sorted({op.party for op in operations})
    if len(parties) < 2:
        return [[] for _ in operations]
    volumes = [(n, i, v) for n, op in enumerate(operations) for i, v in enumerate(op.volumes)]
    owner = np.array([n for n, _, _ in volumes])
    index = np.array([i for _, i, _ in volumes])
    t0 = np.array([v.window.start_s for _, _, v in volumes])
    t1 = np.array([v.window.end_s for _, _, v in volumes])
    envelopes = np.array([v.band.msl_envelope() for _, _, v in volumes])
    caps = np.array([v.footprint.cap for _, _, v in volumes])
    party_of = np.array([parties.index(operations[n].party) for n, _, _ in volumes])
    # minima of each pair of parties, as arrays indexed [party a, party b]
    minima = [[policy.reach_for(a, b) for b in parties] for a in parties]
    h = np.array([[m.horizontal_m for m in row] for row in minima])
    v = np.array([[m.vertical_m for m in row] for row in minima])
    t = np.array([[m.time_s for m in row] for row in minima])

    found: list[list[Candidate]] = []
    first = 0  # first volume of the current operation
    for operation in operations:
        count = len(operation.volumes)
        pairs: dict[int, set[tuple[int, int]]] = {}
        me = parties.index(operation.party)
        earlier = slice(0, first)
        other = party_of[earlier] != me
        for k in range(first, first + count):
            time_gap = np.maximum(0.0, np.maximum(t0[earlier] - t1[k], t0[k] - t1[earlier]))
            lo, hi = envelopes[k]
            vertical_gap = np.maximum(0.0, np.maximum(envelopes[earlier, 0] - hi, lo - envelopes[earlier, 1]))
            lat, lon, radius = caps[k]
            centres = great_circles_m(lat, lon, caps[earlier, 0], caps[earlier, 1]) * (1.0 - _CENTRES_SLACK)
            horizontal_gap = centres - radius - caps[earlier, 2]
            near = (
                other
                & (time_gap < t[me, party_of[earlier]] + _EPSILON)
                & (vertical_gap < v[me, party_of[earlier]] + _EPSILON)
                & (horizontal_gap < h[me, party_of[earlier]] + _EPSILON)
            )
            for j in np.flatnonzero(near).tolist():
                pairs.setdefault(int(owner[j]), set()).add((int(index[k]), int(index[j])))
        found.append(
            sorted(
                (Candidate.of(operations[m], frozenset(p)) for m, p in pairs.items()),
                key=lambda c: c.key,
            )
        )
        first += count
    return found
