"""F3548 volumes and times at the edge: round trips and the rules (see docs/f3548.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconfliction.errors import InvalidInput
from deconfliction.geo import AltitudeBand, Circle, Position, TimeWindow, Volume4D
from deconfliction.geo.altitude import Datum
from deconfliction.geo.footprint import Polygon
from deconfliction.interop.f3548.volumes import parse_time, parse_volume4d, volume_to_f3548

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(-80, 80),
    lon=st.floats(-179.9, 179.9),
    radius=st.floats(1.0, 20_000.0),
    lower=st.floats(-500.0, 5000.0),
    height=st.floats(1.0, 3000.0),
    minutes=st.integers(1, 60 * 24 * 30),
    polygon=st.booleans(),
)
def test_round_trip(
    lat: float, lon: float, radius: float, lower: float, height: float, minutes: int, polygon: bool
) -> None:
    centre = Position(lat, lon)
    footprint = (
        Polygon((centre, Position(lat + 0.01, lon), Position(lat + 0.01, lon + 0.01)))
        if polygon
        else Circle(centre, radius)
    )
    volume = Volume4D(
        footprint,
        AltitudeBand(lower, lower + height, Datum.W84),
        TimeWindow(T0, T0 + timedelta(minutes=minutes)),
    )
    assert parse_volume4d(volume_to_f3548(volume), "v").volume() == volume


@pytest.mark.parametrize("part", ["altitude_upper", "radius"])
def test_only_metres_as_the_standard_has_it(part: str) -> None:
    wire = volume_to_f3548(
        Volume4D(
            Circle(Position(1.0, 2.0), 100.0),
            AltitudeBand(0.0, 10.0, Datum.W84),
            TimeWindow(T0, T0 + timedelta(hours=1)),
        )
    )
    if part == "radius":
        wire["volume"]["outline_circle"]["radius"] = {"value": 1000, "units": "FT"}
    else:
        wire["volume"][part] = {"value": 400, "reference": "W84", "units": "FT"}
    with pytest.raises(InvalidInput) as refused:
        parse_volume4d(wire, "v")
    assert refused.value.field.endswith(".units")


def test_msl_bands_are_widened_to_w84_on_the_wire() -> None:
    volume = Volume4D(
        Circle(Position(1.0, 2.0), 100.0),
        AltitudeBand(100.0, 200.0, Datum.MSL),
        TimeWindow(T0, T0 + timedelta(hours=1)),
    )
    wire = volume_to_f3548(volume)["volume"]
    assert wire["altitude_lower"]["value"] < 100.0 < 200.0 < wire["altitude_upper"]["value"]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"value": "2026-05-01T08:00:00", "format": "RFC3339"}, "t.value"),  # no offset
        ({"value": "yesterday", "format": "RFC3339"}, "t.value"),
        ({"value": "2026-05-01T08:00:00Z", "format": "ISO8601"}, "t.format"),
        ({"value": 1714550400}, "t.value"),
        ("2026-05-01T08:00:00Z", "t"),
    ],
)
def test_bad_times(value: object, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_time(value, "t")
    assert refused.value.field == field


def test_nanoseconds_and_offsets() -> None:
    assert parse_time({"value": "2026-05-01T10:00:00.123456789+02:00"}, "t") == T0.replace(microsecond=123456)
