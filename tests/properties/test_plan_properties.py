"""Hypothesis properties of the all-pairs path (``engine.plan``): the same conflicts as the
pairwise reference, pair for pair and value for value, including pairs within a metre
(or a second) of every minimum."""

from __future__ import annotations

import itertools
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st
from test_strategic_properties import REGIONS, SETTINGS, bands, footprints, policies, scenarios, windows

from deconfliction.engine.batch import earlier_candidates
from deconfliction.engine.minima import Minima, MinimaPolicy
from deconfliction.engine.operation import Operation
from deconfliction.engine.plan import conflicting_candidates, plan_conflicts, plan_pairs
from deconfliction.engine.strategic import (
    Candidate,
    StrategicConflict,
    all_conflicts_brute_force,
    conflicts_of_each,
    operation_conflict,
)
from deconfliction.geo import Volume4D
from deconfliction.geo.altitude import comparable_intervals
from deconfliction.geo.footprint import horizontal_distance_m
from deconfliction.geo.frame import frame_at, midpoint
from deconfliction.geo.timewindow import time_gap_s


def _without_regions(conflicts: list[StrategicConflict]) -> list[StrategicConflict]:
    return [replace(c, overlaps=tuple(replace(o, region=None) for o in c.overlaps)) for c in conflicts]


@SETTINGS
@given(scenarios(max_ops=8), policies())
def test_plan_equals_brute_force(ops: list[Operation], policy: MinimaPolicy) -> None:
    brute = all_conflicts_brute_force(ops, policy)
    assert plan_conflicts(ops, policy) == _without_regions(brute)


@SETTINGS
@given(scenarios(max_ops=5), policies())
def test_plan_with_regions_equals_brute_force_exactly(ops: list[Operation], policy: MinimaPolicy) -> None:
    assert plan_conflicts(ops, policy, regions=True) == all_conflicts_brute_force(ops, policy)


# minima set a metre (or a second) either side of what the pair measures, in each dimension
_DELTAS = st.one_of(st.just(0.0), st.sampled_from([-1.0, -1e-6, 1e-6, 1.0]), st.floats(-1.0, 1.0))


@st.composite
def threshold_plans(draw):
    """A scenario plus pairs of parties ``t<k>a``/``t<k>b`` whose minima lie within 1 m (or
    1 s) of what their volumes measure, in one, two or all three dimensions."""
    ops = draw(scenarios(max_ops=4))
    pairs = {}
    lat0, lon0 = draw(st.sampled_from(REGIONS))
    for k in range(draw(st.integers(1, 3))):
        a = Volume4D(draw(footprints(lat0, lon0)), draw(bands()), draw(windows()))
        b = Volume4D(draw(footprints(lat0, lon0)), draw(bands()), draw(windows()))
        (la, oa, _), (lb, ob, _) = a.footprint.cap, b.footprint.cap
        measured = (
            horizontal_distance_m(a.footprint, b.footprint, frame_at(*midpoint(la, oa, lb, ob))),
            _vertical_gap(a, b),
            time_gap_s(a.window, b.window),
        )
        tight = draw(st.lists(st.booleans(), min_size=3, max_size=3).filter(any))
        minima = [
            value + draw(_DELTAS) if is_tight else value + draw(st.floats(10.0, 5_000.0))
            for value, is_tight in zip(measured, tight, strict=True)
        ]
        pairs[(f"t{k}a", f"t{k}b")] = Minima(*(max(m, 1e-3) for m in minima))
        ops += [Operation(f"t{k}a", f"tight{k}", (a,)), Operation(f"t{k}b", f"tight{k}", (b,))]
    base = draw(policies())
    return draw(st.permutations(ops)), MinimaPolicy(base.default, {**base.pairs, **pairs})


def _vertical_gap(a: Volume4D, b: Volume4D) -> float:
    (a_lo, a_hi), (b_lo, b_hi), _ = comparable_intervals(a.band, b.band)
    return max(0.0, b_lo - a_hi, a_lo - b_hi)


@SETTINGS
@given(threshold_plans())
def test_plan_equals_brute_force_at_every_threshold(plan: tuple[list[Operation], MinimaPolicy]) -> None:
    ops, policy = plan
    assert plan_conflicts(ops, policy) == _without_regions(all_conflicts_brute_force(ops, policy))


@SETTINGS
@given(threshold_plans())
def test_a_batch_sees_each_pair_as_filing_in_order_does(plan: tuple[list[Operation], MinimaPolicy]) -> None:
    """``later_first`` measures each pair from its later operation, as filing one at a time
    does (at the last bit, a distance can depend on which side is measured from, so the
    orientation is part of the result); the batch's candidates are exactly its pairs."""
    ops, policy = plan
    ops = [replace(op, id=f"op{n}") for n, op in enumerate(ops)]
    pairs = plan_pairs(ops, policy, later_first=True)
    owner = pairs.table.owner
    assert all(owner[a] > owner[b] for a, b in zip(pairs.a, pairs.b, strict=True))
    candidates = earlier_candidates(ops, policy)
    assert sum(len(c.pairs) for cs in candidates for c in cs) == len(pairs)
    found = conflicts_of_each(list(zip(ops, candidates, strict=True)), policy)
    for n, (op, conflicts) in enumerate(zip(ops, found, strict=True)):
        expected = [
            c
            for other in sorted(ops[:n], key=lambda o: o.key)
            if (c := operation_conflict(op, other, policy))
        ]
        assert conflicts == expected


@SETTINGS
@given(threshold_plans())
def test_narrowed_candidates_give_what_the_full_ones_give(plan: tuple[list[Operation], MinimaPolicy]) -> None:
    """Each operation checked against every other as a candidate on all its volume pairs (as
    a store's index may hand them over): narrowed on arrays to the conflicting pairs, the
    exact check finds the same conflicts, and every pair kept is one of them."""
    ops, policy = plan
    ops = [replace(op, id=f"op{n}") for n, op in enumerate(ops)]
    checks = [
        (
            op,
            [
                Candidate.of(
                    other, frozenset(itertools.product(range(len(op.volumes)), range(len(other.volumes))))
                )
                for other in ops
                if other is not op
            ],
        )
        for op in ops
    ]
    narrowed = conflicting_candidates(checks, policy)
    expected = conflicts_of_each(checks, policy)
    assert conflicts_of_each(list(zip(ops, narrowed, strict=True)), policy) == expected
    for candidates, conflicts in zip(narrowed, expected, strict=True):
        assert sum(len(c.pairs) for c in candidates) == sum(len(c.overlaps) for c in conflicts)
