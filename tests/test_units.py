"""Unit conversions at the edges."""

from __future__ import annotations

import math

import pytest

from deconfliction.errors import InvalidInput
from deconfliction.units import (
    FLIGHT_LEVEL_M,
    FOOT_M,
    KNOT_MPS,
    NAUTICAL_MILE_M,
    length_to_m,
    m_to_length,
    require_finite,
    speed_to_mps,
)


def test_exact_definitions():
    assert FOOT_M == 0.3048
    assert NAUTICAL_MILE_M == 1852.0
    assert pytest.approx(30.48) == FLIGHT_LEVEL_M
    assert pytest.approx(1852 / 3600) == KNOT_MPS


@pytest.mark.parametrize(
    ("value", "unit", "metres"),
    [(1, "m", 1.0), (2.5, "km", 2500.0), (1000, "ft", 304.8), (5, "NM", 9260.0), (3, "nm", 5556.0)],
)
def test_lengths_round_trip(value, unit, metres):
    assert length_to_m(value, unit) == pytest.approx(metres)
    assert m_to_length(length_to_m(value, unit), unit) == pytest.approx(value)


def test_speeds():
    assert speed_to_mps(100, "kt") == pytest.approx(51.4444, rel=1e-5)
    assert speed_to_mps(3.6, "km/h") == pytest.approx(1.0)
    assert speed_to_mps(600, "ft/min") == pytest.approx(3.048)


@pytest.mark.parametrize("unit", ["furlong", "M", "miles", ""])
def test_unknown_length_unit_names_the_units_field(unit):
    with pytest.raises(InvalidInput) as info:
        length_to_m(1, unit, field="width")
    assert info.value.field == "width.units"
    assert "use one of" in info.value.rule


def test_unknown_speed_unit():
    with pytest.raises(InvalidInput) as info:
        speed_to_mps(1, "mph", field="ground_speed")
    assert info.value.field == "ground_speed.units"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "abc", None])
def test_non_finite_refused(value):
    with pytest.raises(InvalidInput) as info:
        length_to_m(value, "m", field="radius")
    assert info.value.field == "radius"
    with pytest.raises(InvalidInput):
        require_finite(value, "x")
