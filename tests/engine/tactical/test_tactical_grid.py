"""The candidate grid: a superset of the conflicts, each pair once, whatever the tuning."""

from __future__ import annotations

import numpy as np
import pytest

import deconfliction.engine.tactical.grid as grid
from deconfliction.engine.tactical.detect import EARTH_RADIUS_M, evaluate_pairs, velocity_enu

FloatArray = np.ndarray


def traffic(
    n: int, box_deg: float, seed: int, lat0: float = 45.0, lon0: float = 5.0
) -> tuple[FloatArray, ...]:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(lat0, lat0 + box_deg, n)
    lon = rng.uniform(lon0, lon0 + box_deg, n)
    lon = (lon + 180.0) % 360.0 - 180.0
    alt = rng.uniform(3000, 12000, n)
    gs, trk = rng.uniform(0, 300, n), rng.uniform(0, 360, n)
    vs = np.where(rng.random(n) < 0.6, 0.0, rng.uniform(-15, 15, n))
    east, north = velocity_enu(gs, trk)
    return np.radians(lat), np.radians(lon), alt, east, north, vs


def brute_force(arrays: tuple[FloatArray, ...]) -> set[tuple[int, int]]:
    n = arrays[0].size
    i, j = np.triu_indices(n, 1)
    mask, _ = evaluate_pairs(
        i.astype(np.int64), j.astype(np.int64), *arrays, lookahead_s=300.0, hsep_m=9260.0, vsep_m=304.8
    )
    return set(zip(i[mask].tolist(), j[mask].tolist(), strict=True))


def candidates(arrays: tuple[FloatArray, ...], slices: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    return grid.candidate_pairs(
        *arrays,
        None,
        lookahead_s=300.0,
        hsep_m=9260.0,
        vsep_m=304.8,
        earth_radius_m=EARTH_RADIUS_M,
        slices=slices,
    )


@pytest.mark.parametrize(
    ("box_deg", "lat0", "lon0"),
    [(2.0, 45.0, 5.0), (6.0, 45.0, 5.0), (3.0, 86.0, 0.0), (2.0, -1.0, 179.0), (1.0, -60.0, -100.0)],
)
@pytest.mark.parametrize("slices", [None, 1, 3, 5])
def test_candidates_cover_every_conflict_once(
    box_deg: float, lat0: float, lon0: float, slices: int | None
) -> None:
    arrays = traffic(1500, box_deg, seed=int(box_deg * 10 + abs(lat0)), lat0=lat0, lon0=lon0)
    i, j = candidates(arrays, slices)
    assert np.all(i < j)
    keys = i * arrays[0].size + j
    assert np.unique(keys).size == keys.size, "a candidate pair was produced twice"
    found = set(zip(i.tolist(), j.tolist(), strict=True))
    conflicts = brute_force(arrays)
    assert conflicts, "the scenario should have conflicts"
    assert conflicts <= found
    # And the grid prunes: far fewer candidates than pairs.
    assert len(found) < 0.2 * arrays[0].size ** 2 / 2


@pytest.mark.parametrize(("factor_h", "factor_v"), [(0.3, 0.5), (1.0, 3.0), (4.0, 10.0)])
def test_cell_size_changes_speed_not_results(
    monkeypatch: pytest.MonkeyPatch, factor_h: float, factor_v: float
) -> None:
    arrays = traffic(1200, 2.0, seed=5)
    monkeypatch.setattr(grid, "CELL_FACTOR_H", factor_h)
    monkeypatch.setattr(grid, "CELL_FACTOR_V", factor_v)
    i, j = candidates(arrays)
    assert brute_force(arrays) <= set(zip(i.tolist(), j.tolist(), strict=True))


def test_tracks_covering_many_cells_are_paired_with_everyone(monkeypatch: pytest.MonkeyPatch) -> None:
    arrays = traffic(600, 2.0, seed=8)
    monkeypatch.setattr(grid, "MAX_CELLS_PER_TRACK", 1)
    i, j = candidates(arrays)
    assert brute_force(arrays) <= set(zip(i.tolist(), j.tolist(), strict=True))
    keys = i * 600 + j
    assert np.unique(keys).size == keys.size


def test_party_filter() -> None:
    arrays = traffic(800, 1.0, seed=9)
    party = np.arange(800, dtype=np.int64) % 2
    i, j = grid.candidate_pairs(
        *arrays, party, lookahead_s=300.0, hsep_m=9260.0, vsep_m=304.8, earth_radius_m=EARTH_RADIUS_M
    )
    assert np.all(party[i] != party[j])
    cross = {(a, b) for a, b in brute_force(arrays) if party[a] != party[b]}
    assert cross <= set(zip(i.tolist(), j.tolist(), strict=True))
