"""Hypothesis properties of the disclosure grid (docs/disclosure.md).

Safety: whatever the grid, every conflict the exact rule finds is found on the grid, and
what the grid discloses (cells, bands, slots) contains the exact overlap, so quantising
what a party is told never hides a conflict. Reciprocity: both sides of a conflict are
told the same cells, bands and slots. And the grid rule is found through the same
coarse-then-exact paths as the exact one (index, batch).
"""

from __future__ import annotations

import math
from dataclasses import replace

import h3.api.basic_int as h3int
import shapely
from hypothesis import given
from hypothesis import strategies as st
from test_strategic_properties import SETTINGS, _norm, policies, scenarios

from deconfliction.engine.batch import earlier_candidates
from deconfliction.engine.minima import MinimaPolicy
from deconfliction.engine.plan import plan_conflicts
from deconfliction.engine.strategic import (
    all_conflicts,
    all_conflicts_brute_force,
    conflicts_of_each,
    operation_conflict,
)
from deconfliction.geo.grid import DisclosureGrid


@st.composite
def grids(draw):
    return DisclosureGrid(
        draw(st.sampled_from([5, 6, 7])),
        draw(st.sampled_from([30.48, 152.4, 304.8, 1000.0])),
        draw(st.sampled_from([60.0, 300.0, 900.0, 3600.0])),
    )


def _gridded(policy: MinimaPolicy, grid: DisclosureGrid) -> MinimaPolicy:
    return MinimaPolicy(policy.default, policy.pairs, grid)


def _points(region):
    """Points of an exact overlap region: its vertices and a point inside each part."""
    points = [tuple(p) for p in shapely.get_coordinates(region).tolist()]
    for part in shapely.get_parts(region):
        point = part.representative_point()
        points.append((point.x, point.y))
    return points


@SETTINGS
@given(scenarios(), policies(), grids())
def test_the_grid_never_hides_an_exact_conflict(ops, policy, grid):
    gridded = _gridded(policy, grid)
    for i, a in enumerate(ops):
        for b in ops[i + 1 :]:
            exact = operation_conflict(a, b, policy)
            if exact is None:
                continue
            on_grid = operation_conflict(a, b, gridded)
            assert on_grid is not None, "an exact conflict was hidden by the grid"
            disclosed = {(o.volume_a, o.volume_b): o for o in on_grid.overlaps}
            for o in exact.overlaps:
                d = disclosed[(o.volume_a, o.volume_b)]
                assert d.cells
                assert d.lower_m <= o.lower_m
                assert o.upper_m <= d.upper_m
                assert d.start <= o.start
                assert o.end <= d.end
                for lon, lat in _points(o.region):
                    cell = h3int.latlng_to_cell(lat, _norm(lon), grid.resolution)
                    assert cell in d.cells, f"({lat}, {lon}) of the exact overlap is in no disclosed cell"


def _told(o):
    return (o.volume_a, o.volume_b, o.cells, o.lower_m, o.upper_m, o.start, o.end)


@SETTINGS
@given(scenarios(), policies(), grids())
def test_both_sides_are_told_the_same(ops, policy, grid):
    gridded = _gridded(policy, grid)
    for i, a in enumerate(ops):
        for b in ops[i + 1 :]:
            ab, ba = operation_conflict(a, b, gridded), operation_conflict(b, a, gridded)
            assert (ab is None) == (ba is None)
            if ab is None or ba is None:
                continue
            seen_ab = {
                (o.volume_a, o.volume_b, o.cells, o.lower_m, o.upper_m, o.start, o.end) for o in ab.overlaps
            }
            seen_ba = {
                (o.volume_b, o.volume_a, o.cells, o.lower_m, o.upper_m, o.start, o.end) for o in ba.overlaps
            }
            assert seen_ab == seen_ba


@SETTINGS
@given(scenarios(), policies(), grids())
def test_nothing_finer_than_the_grid_is_disclosed(ops, policy, grid):
    gridded = _gridded(policy, grid)
    for i, a in enumerate(ops):
        for b in ops[i + 1 :]:
            conflict = operation_conflict(a, b, gridded)
            for o in conflict.overlaps if conflict else ():
                for edge in (o.lower_m, o.upper_m):
                    assert math.isclose(edge / grid.band_m, round(edge / grid.band_m), abs_tol=1e-9)
                for t in (o.start, o.end):
                    assert t.timestamp() % grid.slot_s == 0
                vertices = {
                    (round(lng, 9), round(lat, 9)) for c in o.cells for lat, lng in h3int.cell_to_boundary(c)
                }
                for lon, lat in shapely.get_coordinates(o.region).tolist():
                    assert (round(lon, 9), round(lat, 9)) in vertices


@SETTINGS
@given(scenarios(max_ops=8), policies(), grids())
def test_indexed_equals_brute_force_on_the_grid(ops, policy, grid):
    gridded = _gridded(policy, grid)
    brute = all_conflicts_brute_force(ops, gridded)
    indexed = all_conflicts(ops, gridded)
    assert indexed == brute


@SETTINGS
@given(scenarios(max_ops=8), policies(), grids())
def test_a_batch_finds_the_grid_conflicts_of_one_at_a_time(ops, policy, grid):
    gridded = _gridded(policy, grid)
    ops = [replace(op, id=f"op{n}") for n, op in enumerate(ops)]
    candidates = earlier_candidates(ops, gridded)
    found = conflicts_of_each(list(zip(ops, candidates, strict=True)), gridded)
    for n, (op, conflicts) in enumerate(zip(ops, found, strict=True)):
        expected = [
            c
            for other in sorted(ops[:n], key=lambda o: o.key)
            if (c := operation_conflict(op, other, gridded))
        ]
        assert conflicts == expected


@SETTINGS
@given(scenarios(max_ops=8), policies(), grids())
def test_the_plan_path_finds_the_grid_conflicts(ops, policy, grid):
    gridded = _gridded(policy, grid)
    assert plan_conflicts(ops, gridded) == all_conflicts_brute_force(ops, gridded)
