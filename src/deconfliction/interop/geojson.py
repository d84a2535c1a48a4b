"""The GeoJSON operations format (read and written) and GeoJSON output of conflicts.

One Feature is one volume. Features with the same ``party`` and ``operation_id`` make
one operation, their volumes in file order. The geometry is the footprint's anchor
in GeoJSON order ``[lon, lat]``: a Polygon for a polygon, a Point for the centre of a
circle or arc sector, a LineString for a corridor's centreline or a racetrack's two
ends; ``properties.footprint`` holds the kind and its lengths with units. Features
whose ``properties.feature`` is not ``"operation"`` (for example the ``"conflict"``
regions this module writes) are skipped when reading. The full format is in
``docs/geojson-format.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal

import shapely
from pydantic import Field, ValidationError

from deconfliction.engine.minima import Minima, MinimaPolicy
from deconfliction.engine.operation import Operation, OperationState
from deconfliction.engine.strategic import StrategicConflict
from deconfliction.engine.strategic import conflict_reference as conflict_reference  # re-exported
from deconfliction.errors import InvalidDocument, InvalidFeatures, InvalidInput
from deconfliction.geo.altitude import Datum
from deconfliction.geo.footprint import ArcSector, Circle, Corridor, Footprint, Polygon, Position, Racetrack
from deconfliction.geo.timewindow import format_utc
from deconfliction.geo.volume import Volume4D
from deconfliction.interop.quantities import AltitudeWire, Length, MinimaWire, TimeWire, Wire
from deconfliction.units import FLIGHT_LEVEL_M, FOOT_M, NAUTICAL_MILE_M

FORMAT_VERSION = 1
#: Largest operations file read, so a mistaken path cannot exhaust memory.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


class FootprintWire(Wire):
    kind: Literal["polygon", "circle", "corridor", "racetrack", "arc_sector"]
    radius: Length | None = None
    width: Length | None = None
    inner_radius: Length | None = None
    outer_radius: Length | None = None
    start_bearing_deg: float | None = Field(default=None, allow_inf_nan=False)
    end_bearing_deg: float | None = Field(default=None, allow_inf_nan=False)


class GeometryWire(Wire):
    type: Literal["Point", "LineString", "Polygon"]
    coordinates: Any


class OperationProperties(Wire):
    feature: Literal["operation"] = "operation"
    party: str
    operation_id: str
    footprint: FootprintWire
    altitude: AltitudeWire
    time: TimeWire
    priority: int = 0
    state: OperationState = OperationState.PROPOSED
    affiliation: str | None = None
    title: str | None = None


class FeatureWire(Wire):
    type: Literal["Feature"]
    geometry: GeometryWire
    properties: OperationProperties
    id: str | int | None = None
    bbox: list[float] | None = None


class PairMinimaWire(MinimaWire):
    parties: tuple[str, str]


class DocumentMeta(Wire):
    format_version: Literal[1] = 1
    minima: MinimaWire | None = None
    pairs: tuple[PairMinimaWire, ...] = ()


@dataclass(frozen=True, slots=True)
class OperationsDocument:
    """What an operations file holds: the operations and the minima it states."""

    operations: tuple[Operation, ...]
    policy: MinimaPolicy
    #: index in ``features`` of each operation's first feature, for error paths
    first_features: tuple[int, ...] = ()

    def feature_path(self, n: int) -> str:
        """``features[k]``, where operation ``n`` of :attr:`operations` begins."""
        return f"features[{self.first_features[n]}]" if n < len(self.first_features) else f"operations[{n}]"


def _path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pydantic_error(exc: ValidationError, prefix: str) -> InvalidDocument:
    first = exc.errors()[0]
    path = _path([*([prefix] if prefix else []), *first["loc"]])
    return InvalidDocument(path, first["msg"])


def _position(value: Any, field: str) -> Position:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise InvalidDocument(field, f"a position is [lon, lat] (two numbers), got {value!r}")
    lon, lat = value
    try:
        return Position(lat, lon)
    except InvalidInput as exc:
        raise type(exc)(f"{field}[{0 if exc.field == 'lon' else 1}]", exc.rule) from None


def _positions(value: Any, field: str) -> tuple[Position, ...]:
    if not isinstance(value, list):
        raise InvalidDocument(field, "expected a list of [lon, lat] positions")
    return tuple(_position(p, f"{field}[{i}]") for i, p in enumerate(value))


def _required(value: Length | float | None, name: str, kind: str) -> Any:
    if value is None:
        raise InvalidDocument(f"footprint.{name}", f"a {kind} footprint needs {name}")
    return value


def _footprint(geometry: GeometryWire, spec: FootprintWire) -> Footprint:
    kind, coords = spec.kind, geometry.coordinates
    expected = {"polygon": "Polygon", "circle": "Point", "arc_sector": "Point"}.get(kind, "LineString")
    if geometry.type != expected:
        raise InvalidDocument(
            "geometry.type", f"a {kind} footprint has a {expected} geometry, not {geometry.type}"
        )
    try:
        if kind == "polygon":
            if not isinstance(coords, list) or len(coords) != 1:
                raise InvalidDocument(
                    "geometry.coordinates", "a polygon footprint is one ring; holes are not supported"
                )
            return Polygon(_positions(coords[0], "geometry.coordinates[0]"))
        if kind == "circle":
            radius = _required(spec.radius, "radius", kind).metres("footprint.radius")
            return Circle(_position(coords, "geometry.coordinates"), radius)
        if kind == "corridor":
            width = _required(spec.width, "width", kind).metres("footprint.width")
            return Corridor(_positions(coords, "geometry.coordinates"), width)
        if kind == "racetrack":
            ends = _positions(coords, "geometry.coordinates")
            if len(ends) != 2:
                raise InvalidDocument("geometry.coordinates", f"a racetrack has 2 ends, got {len(ends)}")
            width = _required(spec.width, "width", kind).metres("footprint.width")
            return Racetrack(ends[0], ends[1], width)
        return ArcSector(
            _position(coords, "geometry.coordinates"),
            _required(spec.inner_radius, "inner_radius", kind).metres("footprint.inner_radius"),
            _required(spec.outer_radius, "outer_radius", kind).metres("footprint.outer_radius"),
            _required(spec.start_bearing_deg, "start_bearing_deg", kind),
            _required(spec.end_bearing_deg, "end_bearing_deg", kind),
        )
    except InvalidInput as exc:
        if exc.field.startswith(("geometry", "footprint")):
            raise
        raise type(exc)(_wire_field(exc.field), exc.rule) from None


#: A footprint's own field -> where the wire format holds it (the positions are in the
#: GeoJSON geometry, the lengths and bearings in ``footprint``).
_WIRE_FIELDS: Final = {
    "vertices": "geometry.coordinates[0]",
    "centreline": "geometry.coordinates",
    "a": "geometry.coordinates[0]",
    "b": "geometry.coordinates[1]",
    "center": "geometry.coordinates",
    "footprint": "geometry",
    "width_m": "footprint.width",
    "width": "footprint.width",
    "radius_m": "footprint.radius",
    "radius": "footprint.radius",
    "inner_radius": "footprint.inner_radius",
    "outer_radius": "footprint.outer_radius",
    "start_bearing": "footprint.start_bearing_deg",
    "end_bearing": "footprint.end_bearing_deg",
}


def _wire_field(field: str) -> str:
    """The wire path of a footprint constructor's field: ``vertices[3]`` is
    ``geometry.coordinates[0][3]``, ``width_m`` is ``footprint.width``."""
    head = field.split("[", 1)[0].split(".", 1)[0]
    if head in _WIRE_FIELDS:
        return _WIRE_FIELDS[head] + field[len(head) :]
    return f"footprint.{field}"


def parse_document(data: Any, max_operations: int | None = None) -> OperationsDocument:
    """Operations and minima from a decoded GeoJSON document; InvalidInput names the field.

    With ``max_operations``, a document with more operations is refused before any
    feature is validated (counting the ids is cheap; building the geometry is not)."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InvalidDocument("type", "the document must be a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list):
        raise InvalidDocument("features", "expected a list of features")
    try:
        meta = DocumentMeta.model_validate(data.get("deconfliction") or {})
    except ValidationError as exc:
        raise _pydantic_error(exc, "deconfliction") from None
    try:
        default = (meta.minima or MinimaWire()).to_domain()
        pairs = {p.parties: p.to_domain() for p in meta.pairs}
    except InvalidInput as exc:
        raise exc.within("deconfliction.minima") from None
    if max_operations is not None:
        count = len(_operation_ids(features))
        if count > max_operations:
            raise InvalidDocument(
                "features", f"{count:,} operations exceed the limit of {max_operations:,} per filing"
            )
    grouped: dict[tuple[str, str], list[tuple[int, FeatureWire, Volume4D]]] = {}
    problems: list[InvalidInput] = []  # every bad feature is reported, each with its path
    for i, raw in enumerate(features):
        where = f"features[{i}]"
        props_raw = raw.get("properties") if isinstance(raw, dict) else None
        if isinstance(props_raw, dict) and props_raw.get("feature", "operation") != "operation":
            continue
        try:
            feature, volume = _feature(raw, where)
        except InvalidInput as exc:
            problems.append(exc)
            continue
        key = (feature.properties.party, feature.properties.operation_id)
        grouped.setdefault(key, []).append((i, feature, volume))
    operations = []
    first_features = []
    for (party, op_id), entries in grouped.items():
        first_index, first, _ = entries[0]
        props = first.properties
        try:
            operations.append(
                Operation(
                    party=party,
                    id=op_id,
                    volumes=tuple(v for _, _, v in entries),
                    state=props.state,
                    priority=props.priority,
                    affiliation=props.affiliation,
                )
            )
            first_features.append(first_index)
        except InvalidInput as exc:
            problems.append(exc.within(f"features[{first_index}].properties"))
    if problems:
        problems.sort(key=lambda p: _feature_number(p.field))
        raise problems[0] if len(problems) == 1 else InvalidFeatures(problems)
    return OperationsDocument(tuple(operations), MinimaPolicy(default, pairs), tuple(first_features))


def _operation_ids(features: list[Any]) -> set[tuple[object, object]]:
    """The (party, operation_id) pairs the operation features name, unvalidated."""
    ids: set[tuple[object, object]] = set()
    for raw in features:
        props = raw.get("properties") if isinstance(raw, dict) else None
        if isinstance(props, dict) and props.get("feature", "operation") == "operation":
            ids.add((str(props.get("party")), str(props.get("operation_id"))))
    return ids


def _feature_number(field: str) -> int:
    return int(field.split("]", 1)[0].removeprefix("features[")) if field.startswith("features[") else -1


def _feature(raw: Any, where: str) -> tuple[FeatureWire, Volume4D]:
    """One operation feature and its volume; InvalidInput's field is the feature's path."""
    try:
        feature = FeatureWire.model_validate(raw)
    except ValidationError as exc:
        raise _pydantic_error(exc, where) from None
    props = feature.properties
    try:
        footprint = _footprint(feature.geometry, props.footprint)
    except InvalidInput as exc:
        raise exc.within(where if exc.field.startswith("geometry") else f"{where}.properties") from None
    try:
        band = props.altitude.to_domain()
    except InvalidInput as exc:
        raise exc.within(f"{where}.properties.altitude") from None
    try:
        window = props.time.to_domain()
    except InvalidInput as exc:
        raise exc.within(f"{where}.properties.time") from None
    return feature, Volume4D(footprint, band, window)


def read_document(path: Path, max_operations: int | None = None) -> OperationsDocument:
    """Read and parse an operations file (see :func:`parse_document` for ``max_operations``)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidDocument(str(path), f"cannot read the file: {exc.strerror}") from exc
    if size > MAX_DOCUMENT_BYTES:
        raise InvalidDocument(str(path), f"file is {size:,} bytes; the limit is {MAX_DOCUMENT_BYTES:,}")
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InvalidDocument(str(path), f"not valid JSON: {exc}") from exc
    return parse_document(data, max_operations)


# -- writing ---------------------------------------------------------------------------


def _lonlat(p: Position) -> list[float]:
    return [p.lon_deg, p.lat_deg]


def _altitude_wire(volume: Volume4D) -> dict[str, Any]:
    band = volume.band
    if band.datum is Datum.STD:
        return {"lower": band.lower_m / FLIGHT_LEVEL_M, "upper": band.upper_m / FLIGHT_LEVEL_M, "units": "FL"}
    out: dict[str, Any] = {
        "lower": band.lower_m / FOOT_M,
        "upper": band.upper_m / FOOT_M,
        "units": "ft",
        "datum": band.datum.value,
    }
    if band.ground_m is not None:
        out["ground_m"] = list(band.ground_m)
    return out


def _geometry_and_footprint(footprint: Footprint) -> tuple[dict[str, Any], dict[str, Any]]:
    def metres(value: float) -> dict[str, Any]:
        return {"value": value, "units": "m"}

    match footprint:
        case Polygon(vertices=vs):
            ring = [_lonlat(p) for p in vs]
            return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}, {"kind": "polygon"}
        case Circle(center_position=c, radius_m=r):
            return {"type": "Point", "coordinates": _lonlat(c)}, {"kind": "circle", "radius": metres(r)}
        case Corridor(centreline=line, width_m=w):
            geometry = {"type": "LineString", "coordinates": [_lonlat(p) for p in line]}
            return geometry, {"kind": "corridor", "width": metres(w)}
        case Racetrack(a=a, b=b, width_m=w):
            geometry = {"type": "LineString", "coordinates": [_lonlat(a), _lonlat(b)]}
            return geometry, {"kind": "racetrack", "width": metres(w)}
        case ArcSector():
            return {"type": "Point", "coordinates": _lonlat(footprint.center_position)}, {
                "kind": "arc_sector",
                "inner_radius": metres(footprint.inner_radius_m),
                "outer_radius": metres(footprint.outer_radius_m),
                "start_bearing_deg": footprint.start_bearing_deg,
                "end_bearing_deg": footprint.end_bearing_deg,
            }
    raise TypeError(f"not a footprint: {footprint!r}")


def operation_features(operation: Operation) -> list[dict[str, Any]]:
    """An operation as features of this format, one per volume (reads back identically)."""
    features = []
    for volume in operation.volumes:
        geometry, footprint = _geometry_and_footprint(volume.footprint)
        properties: dict[str, Any] = {
            "feature": "operation",
            "party": operation.party,
            "operation_id": operation.id,
            "footprint": footprint,
            "altitude": _altitude_wire(volume),
            "time": {"start": format_utc(volume.window.start), "end": format_utc(volume.window.end)},
            "priority": operation.priority,
            "state": operation.state.value,
        }
        if operation.affiliation is not None:
            properties["affiliation"] = operation.affiliation
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return features


# A plan's conflicts share a few minima and many window edges (filed on a minute grid):
# each is put in wire form once, not once per conflict (which was most of ``check --json``).
@lru_cache(maxsize=256)
def _minima_wire(minima: Minima) -> dict[str, Any]:
    return MinimaWire.from_domain(minima).model_dump()


@lru_cache(maxsize=65_536)
def _utc(value: datetime) -> str:
    return format_utc(value)


def conflict_to_dict(conflict: StrategicConflict) -> dict[str, Any]:
    """A conflict as JSON-ready data: both operations, minima, and each overlap's region
    (GeoJSON geometry, lon/lat; left out where it was not computed), band (metres and
    feet, with datum) and UTC window."""
    overlaps = []
    for o in conflict.overlaps:
        overlaps.append(
            {
                "volume_a": o.volume_a,
                "volume_b": o.volume_b,
                **(
                    {}
                    if o.region is None
                    else {"region": shapely.geometry.mapping(shapely.set_precision(o.region, 1e-7))}
                ),
                "altitude": {
                    "lower_m": round(o.lower_m, 1),
                    "upper_m": round(o.upper_m, 1),
                    "lower_ft": round(o.lower_m / FOOT_M),
                    "upper_ft": round(o.upper_m / FOOT_M),
                    "datum": o.datum.value,
                },
                "time": {"start": _utc(o.start), "end": _utc(o.end)},
                "horizontal_distance_m": round(o.horizontal_distance_m, 1),
                "vertical_gap_m": round(o.vertical_gap_m, 1),
                "time_gap_s": round(o.time_gap_s, 1),
            }
        )
    return {
        "a": {"party": conflict.a.party, "operation_id": conflict.a.id, "version": conflict.a.version},
        "b": {"party": conflict.b.party, "operation_id": conflict.b.id, "version": conflict.b.version},
        "reference": conflict_reference(conflict),
        "minima": dict(_minima_wire(conflict.minima)),
        "start": _utc(conflict.start),
        "end": _utc(conflict.end),
        "horizontal_distance_m": round(conflict.horizontal_distance_m, 1),
        "horizontal_distance_nm": round(conflict.horizontal_distance_m / NAUTICAL_MILE_M, 2),
        "overlaps": overlaps,
    }


def conflict_feature(conflict: StrategicConflict) -> dict[str, Any]:
    """A conflict region as a GeoJSON feature (``properties.feature == "conflict"``); its
    geometry is null where the regions were not computed."""
    data = conflict_to_dict(conflict)
    region = conflict.region
    properties = {k: v for k, v in data.items() if k != "overlaps"}
    properties["feature"] = "conflict"
    lowest = min(o.lower_m for o in conflict.overlaps)
    highest = max(o.upper_m for o in conflict.overlaps)
    properties["altitude_ft"] = [round(lowest / FOOT_M), round(highest / FOOT_M)]
    geometry = None if region is None else shapely.geometry.mapping(shapely.set_precision(region, 1e-7))
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def document(
    operations: Sequence[Operation],
    conflicts: Sequence[StrategicConflict] = (),
    policy: MinimaPolicy | None = None,
) -> dict[str, Any]:
    """A FeatureCollection of operations (readable by :func:`parse_document`) and conflicts."""
    meta: dict[str, Any] = {"format_version": FORMAT_VERSION}
    if policy is not None:
        meta["minima"] = MinimaWire.from_domain(policy.default).model_dump()
        meta["pairs"] = [
            {"parties": list(pair), **MinimaWire.from_domain(m).model_dump()}
            for pair, m in policy.pairs.items()
        ]
    features = [f for op in operations for f in operation_features(op)]
    features += [conflict_feature(c) for c in conflicts]
    return {"type": "FeatureCollection", "deconfliction": meta, "features": features}


# -- one volume, for wire formats that reuse this one's parts (the HTTP API) ----------


class VolumeWire(Wire):
    """One Volume4D as the HTTP API carries it: this format's geometry, footprint
    (lengths with units), altitude band (units and datum) and UTC window."""

    geometry: GeometryWire
    footprint: FootprintWire
    altitude: AltitudeWire
    time: TimeWire


def volume_from_wire(wire: VolumeWire) -> Volume4D:
    """The Volume4D a :class:`VolumeWire` describes; InvalidInput names the field in it."""
    footprint = _footprint(wire.geometry, wire.footprint)
    try:
        band = wire.altitude.to_domain()
    except InvalidInput as exc:
        raise exc.within("altitude") from None
    try:
        window = wire.time.to_domain()
    except InvalidInput as exc:
        raise exc.within("time") from None
    return Volume4D(footprint, band, window)


def volume_to_wire(volume: Volume4D) -> VolumeWire:
    """A Volume4D in the wire form :func:`volume_from_wire` reads back."""
    geometry, footprint = _geometry_and_footprint(volume.footprint)
    return VolumeWire.model_validate(
        {
            "geometry": geometry,
            "footprint": footprint,
            "altitude": _altitude_wire(volume),
            "time": {"start": format_utc(volume.window.start), "end": format_utc(volume.window.end)},
        }
    )
