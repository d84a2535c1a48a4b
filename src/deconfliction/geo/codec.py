"""The canonical, SI-only dictionary form of geometry values, for storage.

This is not a wire format: it has no units to choose and no datum aliases, and it is
read back only by this package. Wire formats (GeoJSON, F3548) live in ``interop`` and
carry their units and datums explicitly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deconfliction.errors import InvalidDocument, InvalidInput
from deconfliction.geo.altitude import AltitudeBand, Datum
from deconfliction.geo.footprint import (
    ArcSector,
    Circle,
    Corridor,
    Footprint,
    Polygon,
    Position,
    Racetrack,
    unchecked,
)
from deconfliction.geo.timewindow import TimeWindow, format_utc, parse_utc
from deconfliction.geo.volume import Volume4D


def _pos(p: Position) -> list[float]:
    return [p.lat_deg, p.lon_deg]


def _unpos(value: Any) -> Position:
    lat, lon = value
    return Position(float(lat), float(lon))


def _stored_pos(value: Any) -> Position:
    lat, lon = value
    return unchecked(Position, lat_deg=float(lat), lon_deg=float(lon))


def footprint_to_dict(footprint: Footprint) -> dict[str, Any]:
    """``{"kind": ..., ...}`` with positions as ``[lat, lon]`` and lengths in metres."""
    match footprint:
        case Polygon(vertices=vertices):
            return {"kind": "polygon", "vertices": [_pos(p) for p in vertices]}
        case Circle(center_position=c, radius_m=r):
            return {"kind": "circle", "center": _pos(c), "radius_m": r}
        case Corridor(centreline=line, width_m=w):
            return {"kind": "corridor", "centreline": [_pos(p) for p in line], "width_m": w}
        case Racetrack(a=a, b=b, width_m=w):
            return {"kind": "racetrack", "a": _pos(a), "b": _pos(b), "width_m": w}
        case ArcSector():
            return {
                "kind": "arc_sector",
                "center": _pos(footprint.center_position),
                "inner_radius_m": footprint.inner_radius_m,
                "outer_radius_m": footprint.outer_radius_m,
                "start_bearing_deg": footprint.start_bearing_deg,
                "end_bearing_deg": footprint.end_bearing_deg,
            }
    raise TypeError(f"not a footprint: {footprint!r}")


def footprint_from_dict(data: dict[str, Any]) -> Footprint:
    """Inverse of :func:`footprint_to_dict`, checking every rule again."""
    try:
        kind = data["kind"]
        if kind == "polygon":
            return Polygon(tuple(_unpos(p) for p in data["vertices"]))
        if kind == "circle":
            return Circle(_unpos(data["center"]), data["radius_m"])
        if kind == "corridor":
            return Corridor(tuple(_unpos(p) for p in data["centreline"]), data["width_m"])
        if kind == "racetrack":
            return Racetrack(_unpos(data["a"]), _unpos(data["b"]), data["width_m"])
        if kind == "arc_sector":
            return ArcSector(
                _unpos(data["center"]),
                data["inner_radius_m"],
                data["outer_radius_m"],
                data["start_bearing_deg"],
                data["end_bearing_deg"],
            )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidDocument("footprint", f"malformed stored footprint: {exc!r}") from exc
    raise InvalidDocument("footprint.kind", f"unknown footprint kind {data.get('kind')!r}")


def stored_footprint(data: dict[str, Any]) -> Footprint:
    """Inverse of :func:`footprint_to_dict` for dictionaries this package wrote itself from
    validated footprints (the stores' rows): the checks are not run again."""
    try:
        match data["kind"]:
            case "polygon":
                return unchecked(Polygon, vertices=tuple(_stored_pos(p) for p in data["vertices"]))
            case "circle":
                return unchecked(
                    Circle, center_position=_stored_pos(data["center"]), radius_m=float(data["radius_m"])
                )
            case "corridor":
                return unchecked(
                    Corridor,
                    centreline=tuple(_stored_pos(p) for p in data["centreline"]),
                    width_m=float(data["width_m"]),
                )
            case "racetrack":
                return unchecked(
                    Racetrack,
                    a=_stored_pos(data["a"]),
                    b=_stored_pos(data["b"]),
                    width_m=float(data["width_m"]),
                )
            case "arc_sector":
                return unchecked(
                    ArcSector,
                    center_position=_stored_pos(data["center"]),
                    inner_radius_m=float(data["inner_radius_m"]),
                    outer_radius_m=float(data["outer_radius_m"]),
                    start_bearing_deg=float(data["start_bearing_deg"]),
                    end_bearing_deg=float(data["end_bearing_deg"]),
                )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidDocument("footprint", f"malformed stored footprint: {exc!r}") from exc
    raise InvalidDocument("footprint.kind", f"unknown footprint kind {data.get('kind')!r}")


def volume_to_dict(volume: Volume4D) -> dict[str, Any]:
    """A volume as a JSON-ready dictionary (SI units, RFC 3339 UTC times)."""
    band = volume.band
    out: dict[str, Any] = {
        "footprint": footprint_to_dict(volume.footprint),
        "band": {"lower_m": band.lower_m, "upper_m": band.upper_m, "datum": band.datum.value},
        "window": {"start": format_utc(volume.window.start), "end": format_utc(volume.window.end)},
    }
    if band.ground_m is not None:
        out["band"]["ground_m"] = list(band.ground_m)
    return out


def volume_from_dict(data: dict[str, Any], *, stored: bool = False) -> Volume4D:
    """Inverse of :func:`volume_to_dict`; ``stored`` skips re-checking a dictionary this
    package wrote itself from a validated volume (see :func:`stored_footprint`)."""
    try:
        band = data["band"]
        ground = band.get("ground_m")
        lower, upper, datum = float(band["lower_m"]), float(band["upper_m"]), Datum(band["datum"])
        ground_m = (float(ground[0]), float(ground[1])) if ground is not None else None
        window = data["window"]
        if stored:
            return unchecked(
                Volume4D,
                footprint=stored_footprint(data["footprint"]),
                band=unchecked(AltitudeBand, lower_m=lower, upper_m=upper, datum=datum, ground_m=ground_m),
                window=TimeWindow.stored(
                    datetime.fromisoformat(window["start"]).astimezone(UTC),
                    datetime.fromisoformat(window["end"]).astimezone(UTC),
                ),
            )
        return Volume4D(
            footprint_from_dict(data["footprint"]),
            AltitudeBand(lower, upper, datum, ground_m),
            TimeWindow(parse_utc(window["start"], "start"), parse_utc(window["end"], "end")),
        )
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidDocument("volume", f"malformed stored volume: {exc!r}") from exc
