"""Separation at exactly the vertical minimum, decided the same way for every level and unit.

Two bands (or two aircraft) exactly one minimum apart are separated; a little closer,
they are not. In floating point ``310 x 30.48 - 300 x 30.48`` is ``304.7999999999993``,
below ``304.8``: without the one tolerance both engines share
(:func:`deconfliction.geo.altitude.vertical_limit_m`) the answer would depend on the level.
Every pair of flight levels from FL000 to FL600 is tried, in every altitude unit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from deconfliction.engine.minima import Minima
from deconfliction.engine.strategic import volume_overlap
from deconfliction.engine.tactical.detect import detect_conflicts
from deconfliction.geo import AltitudeBand, Circle, Position, TimeWindow, Volume4D
from deconfliction.geo.altitude import VERTICAL_TOLERANCE_M, vertical_limit_m
from deconfliction.units import FLIGHT_LEVEL_M, FOOT_M, length_to_m

T0 = datetime(2026, 1, 1, 6, tzinfo=UTC)
WINDOW = TimeWindow(T0, T0 + timedelta(hours=1))
HERE = Circle(Position(35.0, 40.0), 5_000.0)
LEVELS = range(601)

#: (units, datum, the value of flight level ``n`` in those units)
UNITS = [
    ("FL", None, lambda n: float(n)),
    ("ft", "MSL", lambda n: n * 100.0),
    ("m", "MSL", lambda n: n * FLIGHT_LEVEL_M),
]
#: A minimum of 1,000 ft as a user may give it, each converted to metres at the edge.
MINIMA_1000_FT = [length_to_m(1000, "ft"), length_to_m(304.8, "m"), 10 * FLIGHT_LEVEL_M]


def _band(units: str, datum: str | None, lower: float, upper: float) -> Volume4D:
    return Volume4D(HERE, AltitudeBand.parse(lower, upper, units, datum), WINDOW)


def _strategic_conflict(
    units: str, datum: str | None, value, top: int, bottom: int, vertical_m: float
) -> bool:
    below = _band(units, datum, value(max(0, top - 50)), value(top))
    above = _band(units, datum, value(bottom), value(bottom + 50))
    return volume_overlap(below, above, Minima(9260.0, vertical_m, 300.0)) is not None


@pytest.mark.parametrize(("units", "datum", "value"), UNITS, ids=[u for u, _, _ in UNITS])
@pytest.mark.parametrize("vertical_m", MINIMA_1000_FT, ids=["ft", "m", "FL"])
def test_bands_exactly_the_minimum_apart_are_separated_at_every_level(
    units, datum, value, vertical_m
) -> None:
    exactly = [
        top
        for top in LEVELS
        if top + 10 <= 600 and _strategic_conflict(units, datum, value, top, top + 10, vertical_m)
    ]
    assert exactly == []


@pytest.mark.parametrize(("units", "datum", "value"), UNITS, ids=[u for u, _, _ in UNITS])
def test_bands_one_level_closer_conflict_at_every_level(units, datum, value) -> None:
    separated = [
        top
        for top in LEVELS
        if top + 9 <= 600 and not _strategic_conflict(units, datum, value, top, top + 9, 1000 * FOOT_M)
    ]
    assert separated == []


def _tactical_conflict(low_m: float, high_m: float, vsep_m: float) -> bool:
    # Co-located, converging head-on, level: only the vertical gap separates them.
    pairs = detect_conflicts(
        lat_deg=np.array([10.0, 10.0]),
        lon_deg=np.array([20.0, 20.0]),
        alt_m=np.array([low_m, high_m]),
        gs_mps=np.array([200.0, 200.0]),
        trk_deg=np.array([90.0, 270.0]),
        vs_mps=np.array([0.0, 0.0]),
        party=[1, 2],
        vsep_m=vsep_m,
    )
    return len(pairs) > 0


@pytest.mark.parametrize(("units", "datum", "value"), UNITS, ids=[u for u, _, _ in UNITS])
def test_the_tactical_engine_decides_the_same_at_every_level(units, datum, value) -> None:
    for level in LEVELS[:-10]:
        low = AltitudeBand.parse(value(level), value(level), units, datum).lower_m
        high = AltitudeBand.parse(value(level + 10), value(level + 10), units, datum).lower_m
        strategic = _strategic_conflict(units, datum, value, level, level + 10, 1000 * FOOT_M)
        assert _tactical_conflict(low, high, 1000 * FOOT_M) is strategic is False, level
        assert _tactical_conflict(low, high - FOOT_M, 1000 * FOOT_M), level


def test_the_tolerance_is_far_below_any_altitude_anyone_states() -> None:
    # A micrometre: well above rounding (about 1e-11 m at FL600), far below a foot.
    assert (
        abs((610 * FLIGHT_LEVEL_M - 600 * FLIGHT_LEVEL_M) - 10 * FLIGHT_LEVEL_M) < VERTICAL_TOLERANCE_M / 1000
    )
    assert vertical_limit_m(1000 * FOOT_M) > 1000 * FOOT_M - FOOT_M / 1000
