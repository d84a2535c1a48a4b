"""Typed template fields: what each kind accepts on the wire and the value it stands for.

A message's fields arrive as JSON. Each is checked against its kind and parsed into a
domain value (a UTC datetime, an :class:`~deconfliction.geo.AltitudeBand`, a
:class:`~deconfliction.geo.Position`, a footprint, ...). What is stored and shown is
the sender's JSON value itself (times normalised to ``Z``), so the geometry hash that
sender and receiver compute is over the same bytes; the parsed value is what renders.

Footprints arrive in the GeoJSON operations format (``docs/geojson-format.md``); that
format belongs to the interop edge, so the service is given a :data:`FootprintReader`
for it rather than importing the edge.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from deconfliction.engine.operation import check_identifier
from deconfliction.errors import InvalidInput
from deconfliction.geo.altitude import AltitudeBand
from deconfliction.geo.footprint import Footprint, Position
from deconfliction.geo.timewindow import format_utc, parse_utc
from deconfliction.store.events import canonical_json, sha256_hex

#: Parses ``{"geometry": {...}, "footprint": {...}}`` into a footprint; InvalidInput names
#: the field relative to that object (``geometry.coordinates[0]``).
FootprintReader = Callable[[Any], Footprint]

#: ``CX-…`` names a conflict the service found; ``PX-…`` a cell a private pair's agents
#: found shared (docs/private-mode.md), which only the two agents can check.
CONFLICT_REF: Final = re.compile(r"CX-[0-9A-F]{8}|PX-[0-9A-F]{10}")
MESSAGE_ID: Final = re.compile(r"M-[0-9a-f]{16}")
SHA256: Final = re.compile(r"[0-9a-f]{64}")


class FieldKind(StrEnum):
    CONFLICT = "conflict"  #: a conflict reference ``CX-1A2B3C4D`` (or ``PX-1A2B3C4D5E``)
    OPERATION = "operation"  #: ``{"party", "operation_id", "version"?}``
    TIME = "time"  #: RFC 3339 UTC
    ALTITUDE = "altitude"  #: ``{"lower", "upper", "units", "datum"?}``
    POSITION = "position"  #: GeoJSON Point ``{"type": "Point", "coordinates": [lon, lat]}``
    AREA = "area"  #: ``{"geometry", "footprint"}`` of the GeoJSON operations format
    MESSAGE = "message"  #: a message id ``M-…``
    CHOICE = "choice"  #: one code of a fixed list
    SHA256 = "sha256"  #: 64 lowercase hex digits


#: Kinds whose values say where: the acknowledgement must echo their hash.
GEOMETRY_KINDS: Final = frozenset({FieldKind.AREA, FieldKind.POSITION, FieldKind.ALTITUDE})


@dataclass(frozen=True, slots=True)
class OperationRef:
    party: str
    operation_id: str
    version: int | None


@dataclass(frozen=True, slots=True)
class AltitudeValue:
    """A band, with the units the sender used (so it renders as it was said)."""

    band: AltitudeBand
    units: str
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: FieldKind
    required: bool = False
    #: For CHOICE: code -> English label (the label is a catalogue msgid).
    choices: tuple[tuple[str, str], ...] = ()


def _keys(value: Any, allowed: set[str], required: set[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(where, f"expected an object with {', '.join(sorted(required))}")
    for key in value:
        if key not in allowed:
            raise InvalidInput(f"{where}.{key}", f"unknown field; allowed: {', '.join(sorted(allowed))}")
    for key in sorted(required):
        if key not in value:
            raise InvalidInput(f"{where}.{key}", "is required")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(where, f"expected a number, got {value!r}")
    return float(value)


def _text(value: Any, pattern: re.Pattern[str], example: str, where: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidInput(where, f"expected a reference like {example}, got {value!r}")
    return value


def parse_position(value: Any, where: str) -> Position:
    data = _keys(value, {"type", "coordinates"}, {"type", "coordinates"}, where)
    if data["type"] != "Point":
        raise InvalidInput(f"{where}.type", f"a position is a GeoJSON Point, not {data['type']!r}")
    coords = data["coordinates"]
    if not isinstance(coords, list) or len(coords) != 2:
        raise InvalidInput(f"{where}.coordinates", "expected [lon, lat]")
    lon = _number(coords[0], f"{where}.coordinates[0]")
    lat = _number(coords[1], f"{where}.coordinates[1]")
    try:
        return Position(lat, lon)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}.coordinates[{0 if exc.field == 'lon' else 1}]", exc.rule) from None


def parse_altitude(value: Any, where: str) -> AltitudeValue:
    data = _keys(value, {"lower", "upper", "units", "datum"}, {"lower", "upper", "units"}, where)
    lower = _number(data["lower"], f"{where}.lower")
    upper = _number(data["upper"], f"{where}.upper")
    units, datum = data["units"], data.get("datum")
    if not isinstance(units, str) or (datum is not None and not isinstance(datum, str)):
        raise InvalidInput(f"{where}.units", "units and datum are text")
    try:
        band = AltitudeBand.parse(lower, upper, units, datum)
    except InvalidInput as exc:
        raise exc.within(where) from None
    return AltitudeValue(band, units, lower, upper)


def parse_operation(value: Any, where: str) -> OperationRef:
    data = _keys(value, {"party", "operation_id", "version"}, {"party", "operation_id"}, where)
    party = check_identifier(data["party"], f"{where}.party")
    op_id = check_identifier(data["operation_id"], f"{where}.operation_id")
    version = data.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise InvalidInput(f"{where}.version", f"expected a version number >= 1, got {version!r}")
    return OperationRef(party, op_id, version)


def parse_field(spec: FieldSpec, value: Any, where: str, footprints: FootprintReader) -> tuple[Any, Any]:
    """(wire value to store, parsed value) of one field; InvalidInput names ``where``."""
    kind = spec.kind
    if kind is FieldKind.CONFLICT:
        return value, _text(value, CONFLICT_REF, "CX-1A2B3C4D", where)
    if kind is FieldKind.MESSAGE:
        return value, _text(value, MESSAGE_ID, "M-0123456789abcdef", where)
    if kind is FieldKind.SHA256:
        return value, _text(value, SHA256, "64 lowercase hex digits", where)
    if kind is FieldKind.TIME:
        try:
            moment = parse_utc(value, where)
        except OverflowError:  # a time at the edge of the calendar, shifted out of it by its offset
            raise InvalidInput(where, f"{value!r} is outside the calendar") from None
        return format_utc(moment), moment
    if kind is FieldKind.OPERATION:
        return value, parse_operation(value, where)
    if kind is FieldKind.ALTITUDE:
        return value, parse_altitude(value, where)
    if kind is FieldKind.POSITION:
        return value, parse_position(value, where)
    if kind is FieldKind.AREA:
        _keys(value, {"geometry", "footprint"}, {"geometry", "footprint"}, where)
        try:
            return value, footprints(value)
        except InvalidInput as exc:
            raise exc.within(where) from None
    codes = [code for code, _ in spec.choices]
    if not isinstance(value, str) or value not in codes:
        raise InvalidInput(where, f"expected one of {', '.join(codes)}, got {value!r}")
    return value, value


def geometry_sha256(wire_fields: dict[str, Any], specs: tuple[FieldSpec, ...]) -> str | None:
    """SHA-256 of the canonical JSON of the geometry fields present (None if there are none).

    The hashed object maps each geometry field's name to its value as stored and shown,
    so a receiver recomputes it from what it was given: ``sha256(canonical_json({...}))``.
    """
    geometry = {
        s.name: wire_fields[s.name] for s in specs if s.kind in GEOMETRY_KINDS and s.name in wire_fields
    }
    return sha256_hex(canonical_json(geometry)) if geometry else None
