"""Hypothesis properties of private mode's cells (docs/private-mode.md).

No missed conflict: for random operations of two parties, every conflict the plaintext
engine finds at the same minima shares a cell of the two parties' private cell sets, on
the volumes the engine names. Same cells as the native grid: where both volumes are in
MSL, or in different datums, the cells the two sets share for a volume pair are exactly
the cells × bands × slots the native grid rule discloses for it (and none when it finds
no conflict); in one shared non-MSL datum they are a superset (MSL envelopes; see
``private/cells.py``).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from test_strategic_properties import SETTINGS, minimas, scenarios

from deconfliction.engine.minima import MinimaPolicy
from deconfliction.engine.strategic import operation_conflict
from deconfliction.geo import Datum
from deconfliction.geo.grid import DisclosureGrid
from deconfliction.private.cells import SpaceTimeCell, plan_cells, volume_cells

#: Coarse grids only: a fine grid over a scenario's 40 km footprints and AGL envelopes
#: (9 km tall) is millions of cells, which the property would enumerate for nothing.
grids = st.builds(
    DisclosureGrid,
    st.sampled_from([4, 5]),
    st.sampled_from([1000.0, 3048.0]),
    st.sampled_from([3600.0, 7200.0]),
)
small_minima = minimas().filter(lambda m: m.horizontal_m <= 20_000)


def _native_cells(overlap, grid):
    b0 = round(overlap.lower_m / grid.band_m)
    b1 = round(overlap.upper_m / grid.band_m) - 1
    s0 = round(overlap.start.timestamp() / grid.slot_s)
    s1 = round(overlap.end.timestamp() / grid.slot_s) - 1
    return {
        SpaceTimeCell(c, b, s) for c in overlap.cells for b in range(b0, b1 + 1) for s in range(s0, s1 + 1)
    }


def _exact_envelopes_comparable(a, b):
    # The native rule compares raw bands when the datums agree; envelopes otherwise.
    return (a.band.datum is Datum.MSL and b.band.datum is Datum.MSL) or a.band.datum is not b.band.datum


@SETTINGS
@given(scenarios(max_ops=4), small_minima, grids)
def test_every_plaintext_conflict_is_found_in_private_mode(ops, minima, grid):
    exact = MinimaPolicy(minima)
    for i, a in enumerate(ops):
        for b in ops[i + 1 :]:
            if a.party == b.party:
                continue
            conflict = operation_conflict(a, b, exact)
            if conflict is None:
                continue
            shared = plan_cells([a], minima, grid).cells & plan_cells([b], minima, grid).cells
            assert shared, "a plaintext conflict shares no private cell"
            for o in conflict.overlaps:
                va, vb = a.volumes[o.volume_a], b.volumes[o.volume_b]
                assert volume_cells(va, minima, grid) & volume_cells(vb, minima, grid)


@SETTINGS
@given(scenarios(max_ops=4), small_minima, grids)
def test_private_cells_are_the_native_grids(ops, minima, grid):
    gridded = MinimaPolicy(minima, default_grid=grid)
    for i, a in enumerate(ops):
        for b in ops[i + 1 :]:
            if a.party == b.party:
                continue
            native = operation_conflict(a, b, gridded)
            told = {(o.volume_a, o.volume_b): o for o in native.overlaps} if native else {}
            for ka, va in enumerate(a.volumes):
                for kb, vb in enumerate(b.volumes):
                    private = volume_cells(va, minima, grid) & volume_cells(vb, minima, grid)
                    overlap = told.get((ka, kb))
                    on_grid = _native_cells(overlap, grid) if overlap else set()
                    if _exact_envelopes_comparable(va, vb):
                        assert private == on_grid
                    else:
                        assert private >= on_grid
