"""F3548-21 ``Volume4D`` and ``Time`` on the wire <-> our :class:`~deconfliction.geo.volume.Volume4D`.

F3548 altitudes are ``{"value", "reference", "units"}``: the standard's only reference
is ``W84`` (height above the WGS84 ellipsoid) and its only unit ``M``, as for radii;
nothing else is taken. Times are ``{"value", "format": "RFC3339"}`` in UTC. Footprints
are an ``outline_polygon`` (geodesic edges, as ours) or an ``outline_circle``. Every rule
broken raises
:class:`~deconfliction.errors.InvalidInput` with the path of the offending field.
Pure conversion: no store, no clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import shapely
from uas_standards.astm.f3548.v21 import constants as f3548_constants

from deconfliction.errors import InvalidGeometry, InvalidInput, InvalidTimeWindow
from deconfliction.geo.altitude import ALTITUDE_LIMITS_M
from deconfliction.geo.footprint import Circle, Footprint, Polygon, Position
from deconfliction.geo.timewindow import format_utc, parse_utc
from deconfliction.geo.volume import Volume4D
from deconfliction.service.f3548.model import Extent

#: Length units F3548 altitudes and radii may carry, in metres per unit.
LENGTH_UNITS: Final = {"M": 1.0}
#: The standard's altitude references (F3548-21 Table: W84 only).
ALTITUDE_REFERENCES: Final = ("W84",)
#: Most vertices one outline polygon may have (F3548-21 OiMaxVertices).
MAX_VERTICES: Final = int(f3548_constants.OiMaxVertices)
_FRACTION = re.compile(r"(\.\d{6})\d+")


def _object(data: Any, path: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(path, f"expected an object, got {type(data).__name__}")
    return data


def _number(data: Any, path: str) -> float:
    if isinstance(data, bool) or not isinstance(data, int | float) or not math.isfinite(data):
        raise InvalidInput(path, f"expected a finite number, got {data!r}")
    return float(data)


def _length_m(data: Any, path: str) -> float:
    obj = _object(data, path)
    value = _number(obj.get("value"), f"{path}.value")
    units = obj.get("units", "M")
    if units not in LENGTH_UNITS:
        raise InvalidInput(f"{path}.units", f"unknown unit {units!r}; use one of {', '.join(LENGTH_UNITS)}")
    return value * LENGTH_UNITS[units]


def parse_altitude(data: Any, path: str) -> float:
    """An F3548 Altitude as W84 metres."""
    obj = _object(data, path)
    reference = obj.get("reference", "W84")
    if reference not in ALTITUDE_REFERENCES:
        raise InvalidInput(f"{path}.reference", f"unknown altitude reference {reference!r}; use W84")
    return _length_m(obj, path)


def parse_time(data: Any, path: str) -> datetime:
    """An F3548 Time (RFC 3339, UTC)."""
    obj = _object(data, path)
    fmt = obj.get("format", "RFC3339")
    if fmt != "RFC3339":
        raise InvalidTimeWindow(f"{path}.format", f"unknown time format {fmt!r}; use RFC3339")
    value = obj.get("value")
    if not isinstance(value, str):
        raise InvalidTimeWindow(f"{path}.value", f"expected an RFC 3339 string, got {value!r}")
    # Python keeps microseconds; other clients send nanoseconds.
    return parse_utc(_FRACTION.sub(r"\1", value), f"{path}.value")


def format_time(value: datetime) -> dict[str, str]:
    return {"value": format_utc(value), "format": "RFC3339"}


def _point(data: Any, path: str) -> Position:
    obj = _object(data, path)
    try:
        return Position(_number(obj.get("lat"), f"{path}.lat"), _number(obj.get("lng"), f"{path}.lng"))
    except InvalidInput as exc:
        raise exc.within(path) if not exc.field.startswith(path) else exc from None


def parse_footprint(volume: dict[str, Any], path: str) -> Footprint:
    polygon = volume.get("outline_polygon")
    circle = volume.get("outline_circle")
    if (polygon is None) == (circle is None):
        raise InvalidGeometry(path, "needs exactly one of outline_polygon and outline_circle")
    try:
        if polygon is not None:
            vertices = _object(polygon, f"{path}.outline_polygon").get("vertices")
            if not isinstance(vertices, list) or len(vertices) < 3:
                raise InvalidGeometry(f"{path}.outline_polygon.vertices", "needs at least 3 vertices")
            if len(vertices) > MAX_VERTICES:
                raise InvalidGeometry(
                    f"{path}.outline_polygon.vertices",
                    f"{len(vertices)} vertices; the limit is {MAX_VERTICES}",
                )
            points = tuple(_point(v, f"{path}.outline_polygon.vertices[{i}]") for i, v in enumerate(vertices))
            return Polygon(points)
        c = _object(circle, f"{path}.outline_circle")
        center = _point(c.get("center"), f"{path}.outline_circle.center")
        radius = _length_m(c.get("radius"), f"{path}.outline_circle.radius")
        return Circle(center, radius)
    except InvalidInput as exc:
        if exc.field.startswith(path):
            raise
        raise exc.within(path) from None


def parse_volume4d(data: Any, path: str) -> Extent:
    """An F3548 Volume4D; times and altitudes may be absent (the caller decides if they may)."""
    obj = _object(data, path)
    volume = _object(obj.get("volume"), f"{path}.volume")
    footprint = parse_footprint(volume, f"{path}.volume")
    lower = volume.get("altitude_lower")
    upper = volume.get("altitude_upper")
    lower_m = None if lower is None else parse_altitude(lower, f"{path}.volume.altitude_lower")
    upper_m = None if upper is None else parse_altitude(upper, f"{path}.volume.altitude_upper")
    lo, hi = ALTITUDE_LIMITS_M
    for name, value in (("altitude_lower", lower_m), ("altitude_upper", upper_m)):
        if value is not None and not lo <= value <= hi:
            raise InvalidInput(f"{path}.volume.{name}", f"{value:g} m is outside {lo:g} .. {hi:g} m")
    if lower_m is not None and upper_m is not None and lower_m > upper_m:
        raise InvalidInput(f"{path}.volume.altitude_lower", "is above altitude_upper")
    start = None if obj.get("time_start") is None else parse_time(obj["time_start"], f"{path}.time_start")
    end = None if obj.get("time_end") is None else parse_time(obj["time_end"], f"{path}.time_end")
    if start is not None and end is not None and end < start:
        raise InvalidTimeWindow(f"{path}.time_end", "is before time_start")
    return Extent(footprint, lower_m, upper_m, start, end)


def union_area_m2(footprints: Sequence[Footprint]) -> float:
    """Area of the union of ``footprints``, in the frame of the first."""
    frame = footprints[0].frame()
    return float(shapely.union_all([f.shape_in(frame) for f in footprints]).area)


def _position(p: Position) -> dict[str, float]:
    return {"lat": p.lat_deg, "lng": p.lon_deg}


def volume_to_f3548(volume: Volume4D) -> dict[str, Any]:
    """Our Volume4D as an F3548 Volume4D (W84 metres; other footprints as their outline polygon).

    A band on another datum is given as the W84 interval it may occupy, conversion
    uncertainty included, so that the wire never understates it."""
    fp = volume.footprint
    outline: dict[str, Any]
    if isinstance(fp, Circle):
        outline = {
            "outline_circle": {
                "center": _position(fp.center_position),
                "radius": {"value": fp.radius_m, "units": "M"},
            }
        }
    elif isinstance(fp, Polygon):
        outline = {"outline_polygon": {"vertices": [_position(p) for p in fp.vertices]}}
    else:
        ring = fp.shape_lonlat().exterior.coords[:-1]
        outline = {"outline_polygon": {"vertices": [{"lat": y, "lng": x} for x, y in ring]}}
    band = volume.band
    lo, hi = band.w84_envelope()
    return {
        "volume": {
            **outline,
            "altitude_lower": {"value": lo, "reference": "W84", "units": "M"},
            "altitude_upper": {"value": hi, "reference": "W84", "units": "M"},
        },
        "time_start": format_time(volume.window.start),
        "time_end": format_time(volume.window.end),
    }
