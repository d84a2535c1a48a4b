"""Altitude bands, units and datums, and how different datums are compared."""

from __future__ import annotations

import math

import pytest

from deconfliction.errors import InvalidAltitude, InvalidInput
from deconfliction.geo.altitude import (
    GEOID_UNDULATION_RANGE_M,
    STD_QNH_RANGE_M,
    STD_TEMPERATURE_FRACTION,
    TERRAIN_RANGE_M,
    AltitudeBand,
    Datum,
    comparable_intervals,
    to_msl_interval,
    vertical_gap_m,
)
from deconfliction.units import FOOT_M


def test_parse_units():
    assert AltitudeBand.parse(0, 1000, "ft", "MSL") == AltitudeBand(0.0, 1000 * FOOT_M, Datum.MSL)
    assert AltitudeBand.parse(100, 200, "m", "W84") == AltitudeBand(100.0, 200.0, Datum.W84)
    fl = AltitudeBand.parse(100, 250, "FL", None)
    assert fl.datum is Datum.STD
    assert fl.lower_m == pytest.approx(10_000 * FOOT_M)
    assert fl.upper_m == pytest.approx(25_000 * FOOT_M)
    assert AltitudeBand.parse(100, 250, "FL", "STD") == fl


@pytest.mark.parametrize(
    ("spelling", "datum"),
    [
        ("W84", Datum.W84),
        ("WGS84", Datum.W84),
        ("WGS-84", Datum.W84),
        ("wgs 84", Datum.W84),
        ("MSL", Datum.MSL),
        ("msl", Datum.MSL),
        ("AMSL", Datum.MSL),
        ("EGM96", Datum.MSL),
        ("EGM2008", Datum.MSL),
        ("agl", Datum.AGL),
        ("STD", Datum.STD),
    ],
)
def test_common_spellings_of_a_datum_are_accepted(spelling, datum):
    assert AltitudeBand.parse(0, 100, "m", spelling).datum is datum


def test_flight_levels_accept_any_spelling_of_std_only():
    assert AltitudeBand.parse(100, 200, "FL", "std").datum is Datum.STD
    with pytest.raises(InvalidAltitude, match="STD datum"):
        AltitudeBand.parse(100, 200, "FL", "WGS84")


@pytest.mark.parametrize(
    ("args", "field", "words"),
    [
        ((0, 100, "furlong", "MSL"), "units", "unknown altitude unit"),
        ((0, 100, "FT", "MSL"), "units", "unknown altitude unit"),
        ((0, 100, "m", "QFE"), "datum", "unknown datum"),
        ((0, 100, "m", None), "datum", "needs a datum"),
        ((0, 100, "m", "WGS72"), "datum", "WGS84 is W84"),
        ((100, 200, "FL", "MSL"), "datum", "STD"),
        ((100, 200, "FL", "W84"), "datum", "STD"),
        ((200, 100, "m", "MSL"), "lower", "above upper"),
        ((200, 100, "FL", None), "lower", "above upper"),
        ((math.nan, 100, "m", "MSL"), "lower", "finite"),
        ((0, math.inf, "m", "MSL"), "upper", "finite"),
        ((0, -math.inf, "ft", "MSL"), "upper", "finite"),
        (("0", 100, "m", "MSL"), "lower", "finite number"),
        ((True, 100, "m", "MSL"), "lower", "finite number"),
        ((0, 200_000, "m", "MSL"), "upper", "outside"),
        ((-2000, 0, "m", "MSL"), "lower", "outside"),
        ((0, 100, "m", "MSL", (0.0, 10.0)), "ground", "only to AGL"),
        ((0, 100, "m", "AGL", (10.0, 0.0)), "ground", "range"),
        ((0, 100, "m", "AGL", (math.nan, 0.0)), "ground", "range"),
    ],
)
def test_parse_bad_input_names_the_field(args, field, words):
    with pytest.raises(InvalidAltitude) as info:
        AltitudeBand.parse(*args)
    assert isinstance(info.value, InvalidInput)
    assert info.value.field == field
    assert words in info.value.rule


def test_constructor_validates_too():
    with pytest.raises(InvalidAltitude) as info:
        AltitudeBand(10.0, 5.0, Datum.MSL)
    assert info.value.field == "lower"
    with pytest.raises(InvalidAltitude) as info:
        AltitudeBand(0.0, 5.0, "MSL")  # type: ignore[arg-type]
    assert info.value.field == "datum"
    with pytest.raises(InvalidAltitude) as info:
        AltitudeBand(0.0, math.nan, Datum.MSL)
    assert info.value.field == "upper_m"


def test_empty_band_is_a_level():
    band = AltitudeBand(300.0, 300.0, Datum.MSL)
    assert vertical_gap_m(band, AltitudeBand(300.0, 400.0, Datum.MSL)) == 0.0


def test_msl_conversion_intervals():
    assert to_msl_interval(500.0, Datum.MSL) == (500.0, 500.0)
    n_lo, n_hi = GEOID_UNDULATION_RANGE_M
    assert to_msl_interval(500.0, Datum.W84) == (500.0 - n_hi, 500.0 - n_lo)
    g_lo, g_hi = TERRAIN_RANGE_M
    assert to_msl_interval(100.0, Datum.AGL) == (100.0 + g_lo, 100.0 + g_hi)
    assert to_msl_interval(100.0, Datum.AGL, (300.0, 350.0)) == (400.0, 450.0)
    q_lo, q_hi = STD_QNH_RANGE_M
    t = STD_TEMPERATURE_FRACTION * 3000.0
    assert to_msl_interval(3000.0, Datum.STD) == (3000.0 + q_lo - t, 3000.0 + q_hi + t)
    # the documented bounds are the real-world extremes, rounded outwards
    assert n_lo <= -106.2
    assert n_hi >= 85.8
    assert g_lo <= -430
    assert g_hi >= 8848.86


def test_same_datum_compared_raw():
    a = AltitudeBand(0.0, 100.0, Datum.W84)
    b = AltitudeBand(400.0, 500.0, Datum.W84)
    assert comparable_intervals(a, b) == ((0.0, 100.0), (400.0, 500.0), Datum.W84)
    assert vertical_gap_m(a, b) == 300.0
    assert vertical_gap_m(b, a) == 300.0
    s1, s2 = AltitudeBand.parse(100, 200, "FL", None), AltitudeBand.parse(210, 300, "FL", None)
    assert vertical_gap_m(s1, s2) == pytest.approx(1000 * FOOT_M)


def test_agl_bands_with_different_ground_go_through_msl():
    a = AltitudeBand(0.0, 100.0, Datum.AGL, (200.0, 250.0))
    b = AltitudeBand(0.0, 100.0, Datum.AGL, (900.0, 950.0))
    assert comparable_intervals(a, b)[2] is Datum.MSL
    assert vertical_gap_m(a, b) == pytest.approx(900.0 - 350.0)
    same = AltitudeBand(300.0, 400.0, Datum.AGL)
    assert comparable_intervals(AltitudeBand(0.0, 100.0, Datum.AGL), same)[2] is Datum.AGL


def test_different_datums_widen_by_the_documented_worst_case():
    w84 = AltitudeBand(1000.0, 1100.0, Datum.W84)
    msl = AltitudeBand(1450.0, 1550.0, Datum.MSL)  # 350 m above, raw
    (a_lo, a_hi), (b_lo, b_hi), datum = comparable_intervals(w84, msl)
    assert datum is Datum.MSL
    assert (a_lo, a_hi) == (1000.0 - 86.0, 1100.0 + 107.0)
    assert (b_lo, b_hi) == (1450.0, 1550.0)
    assert vertical_gap_m(w84, msl) == pytest.approx(1450.0 - 1207.0)
    # the same raw numbers in one datum keep their 350 m
    assert vertical_gap_m(AltitudeBand(1000.0, 1100.0, Datum.MSL), msl) == 350.0


def test_msl_envelope_is_conservative_for_std():
    band = AltitudeBand.parse(50, 60, "FL", None)
    lo, hi = band.msl_envelope()
    assert lo < band.lower_m - 400
    assert hi > band.upper_m + 650
