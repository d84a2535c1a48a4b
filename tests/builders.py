"""Small builders for operations in tests (not fixtures: plain functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deconfliction.engine.operation import Operation
from deconfliction.geo import AltitudeBand, Circle, Position, TimeWindow, Volume4D
from deconfliction.geo.frame import GEOD

T0 = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)


def moved(lat: float, lon: float, bearing_deg: float, metres: float) -> Position:
    """The point ``metres`` from (lat, lon) along ``bearing_deg``."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, bearing_deg, metres)
    return Position(float(lat2), float(lon2))


def circle_op(
    party: str,
    op_id: str,
    lat: float = 35.0,
    lon: float = 40.0,
    radius_m: float = 5_000.0,
    fl: tuple[int, int] = (100, 200),
    start: datetime = T0,
    hours: float = 2.0,
) -> Operation:
    """An operation of one circular volume between two flight levels."""
    volume = Volume4D(
        Circle(Position(lat, lon), radius_m),
        AltitudeBand.parse(fl[0], fl[1], "FL", "STD"),
        TimeWindow(start, start + timedelta(hours=hours)),
    )
    return Operation(party=party, id=op_id, volumes=(volume,))
