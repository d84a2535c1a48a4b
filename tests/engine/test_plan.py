"""The all-pairs path (``engine.plan``): golden cases beside the Hypothesis properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np

from builders import circle_op
from deconfliction.engine.minima import MinimaPolicy
from deconfliction.engine.plan import VolumeTable, _pair_frames, plan_conflicts, plan_pairs
from deconfliction.engine.strategic import StrategicConflict, all_conflicts, all_conflicts_brute_force
from deconfliction.geo.frame import frame_at, midpoint
from deconfliction.interop.geojson import conflict_feature, conflict_to_dict
from deconfliction.scenarios import euphrates


def _without_regions(conflicts: list[StrategicConflict]) -> list[StrategicConflict]:
    return [replace(c, overlaps=tuple(replace(o, region=None) for o in c.overlaps)) for c in conflicts]


def test_the_scenario_day_gives_what_all_conflicts_gives() -> None:
    day = euphrates.build(datetime(2025, 10, 1, tzinfo=UTC))
    policy = MinimaPolicy(pairs=day.pair_minima)
    expected = all_conflicts(day.operations, policy)
    assert len(expected) > 50
    assert plan_conflicts(day.operations, policy) == _without_regions(expected)
    assert plan_conflicts(day.operations, policy, regions=True) == expected


def test_nothing_to_pair() -> None:
    policy = MinimaPolicy()
    assert plan_conflicts([], policy) == []
    assert plan_conflicts([circle_op("A", "1")], policy) == []
    # one party: its operations never conflict, however they overlap
    assert plan_conflicts([circle_op("A", "1"), circle_op("A", "2")], policy) == []
    assert len(plan_pairs([circle_op("A", "1"), circle_op("A", "2")], policy)) == 0


def test_a_midpoint_on_the_edge_between_frames_takes_the_strategic_checks_frame() -> None:
    # caps centred either side of latitude 35.5 and longitude 40.5: the midpoint lies on the
    # corner of four 1-degree frames, where numpy's and libm's last bits could round apart
    ops = [
        circle_op("A", "1", lat=35.4, lon=40.4, radius_m=9_000.0),
        circle_op("B", "1", lat=35.6, lon=40.6, radius_m=9_000.0),
        circle_op("C", "1", lat=35.45, lon=40.55, radius_m=9_000.0),
    ]
    table = VolumeTable.of(ops)
    a, b = np.array([0, 0, 1]), np.array([1, 2, 2])
    which, frames = _pair_frames(table, a, b)
    for k in range(3):
        i, j = int(a[k]), int(b[k])
        assert frames[which[k]] == frame_at(*midpoint(table.lat[i], table.lon[i], table.lat[j], table.lon[j]))
    policy = MinimaPolicy()
    assert plan_conflicts(ops, policy) == _without_regions(all_conflicts_brute_force(ops, policy))


def test_without_regions_the_wire_leaves_them_out() -> None:
    ops = [circle_op("A", "1"), circle_op("B", "1", lon=40.05)]
    (conflict,) = plan_conflicts(ops, MinimaPolicy())
    assert conflict.region is None
    data = conflict_to_dict(conflict)
    assert all("region" not in o for o in data["overlaps"])
    assert conflict_feature(conflict)["geometry"] is None
    (drawn,) = plan_conflicts(ops, MinimaPolicy(), regions=True)
    assert conflict_feature(drawn)["geometry"]["type"] == "Polygon"
    assert {k: v for k, v in conflict_to_dict(drawn).items() if k != "overlaps"} == {
        k: v for k, v in data.items() if k != "overlaps"
    }
