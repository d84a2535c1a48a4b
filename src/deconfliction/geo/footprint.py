"""Horizontal footprints: polygon, circle, corridor, racetrack (orbit) and arc sector.

Every footprint is a *core* (a point, a line or a polygon, its edges geodesics on
WGS84) grown by a *radius*: a circle is a point grown by its radius, a corridor its
centreline grown by half its width. That makes the horizontal distance between two
footprints exact for every kind but the arc sector: ``max(0, d(core_a, core_b) -
r_a - r_b)``, measured in a local frame (:mod:`deconfliction.geo.frame`). Arc
sectors are polygons whose outer arc is drawn outside the true circle by at most
:data:`ARC_TOLERANCE_M`, so they are never smaller than the filer meant.

Values are validated on construction, so a footprint that exists is a valid one.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import ClassVar, Final, Literal, TypeVar, cast

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from deconfliction.errors import InvalidGeometry
from deconfliction.geo.frame import (
    GEOD,
    FloatArray,
    LocalFrame,
    cap_bbox,
    frame_at,
    great_circle_m,
    mean_position,
)

#: No footprint may reach further than this from its centre (600 km across): beyond it
#: the local projection's scale error would pass the 0.1 % we promise.
MAX_CAP_RADIUS_M: Final = 300_000.0
#: No footprint may cover more than this area.
MAX_AREA_M2: Final = 250_000e6
#: Geodesic edges are densified to points at most this far apart before projection.
DENSIFY_STEP_M: Final = 20_000.0
#: An edge whose haversine is below this has a geodesic below the step (the haversine is
#: within 0.6 % of the geodesic).
_SHORT_EDGE_M: Final = DENSIFY_STEP_M * 0.99
#: Arcs are drawn so that each chord lies at most this far inside the true arc.
ARC_TOLERANCE_M: Final = 1.0
#: Smallest polygon area accepted (m^2): below it a polygon is degenerate.
MIN_POLYGON_AREA_M2: Final = 1.0

#: Segments per quarter circle of a grown footprint (a chord sags r * 0.12 % inside the arc).
_QUAD_SEGS: Final = 16

Shape = Literal["point", "line", "polygon"]


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidGeometry(path, f"expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidGeometry(path, f"must be a finite number, got {value!r}")
    return number


def _positive_length(value: object, path: str) -> float:
    number = _number(value, path)
    if number <= 0:
        raise InvalidGeometry(path, f"must be greater than 0 m, got {number:g}")
    if number > 2 * MAX_CAP_RADIUS_M:
        raise InvalidGeometry(path, f"{number:g} m exceeds the limit of {2 * MAX_CAP_RADIUS_M:g} m")
    return number


@dataclass(frozen=True, slots=True)
class Position:
    """A point on WGS84: latitude in [-90, 90], longitude in [-180, 180] degrees."""

    lat_deg: float
    lon_deg: float

    def __post_init__(self) -> None:
        lat = _number(self.lat_deg, "lat")
        lon = _number(self.lon_deg, "lon")
        if not -90.0 <= lat <= 90.0:
            raise InvalidGeometry("lat", f"latitude {lat:g} is outside -90 .. 90 degrees")
        if not -180.0 <= lon <= 180.0:
            raise InvalidGeometry("lon", f"longitude {lon:g} is outside -180 .. 180 degrees")
        object.__setattr__(self, "lat_deg", lat)
        object.__setattr__(self, "lon_deg", lon)


def _geodesic_path(points: tuple[Position, ...], closed: bool) -> tuple[FloatArray, FloatArray]:
    """Lat/lon of ``points`` with extra points on every geodesic edge longer than the step."""
    seq = [*points, points[0]] if closed else list(points)
    lats = np.array([p.lat_deg for p in seq])
    lons = np.array([p.lon_deg for p in seq])
    # Most edges are far shorter than the step: when the haversine says so of every edge,
    # the geodesics are not measured.
    if all(
        great_circle_m(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg) < _SHORT_EDGE_M
        for a, b in itertools.pairwise(seq)
    ):
        return (lats[:-1], lons[:-1]) if closed else (lats, lons)
    _, _, dists = GEOD.inv(lons[:-1], lats[:-1], lons[1:], lats[1:])
    long_edges = np.flatnonzero(np.asarray(dists) >= DENSIFY_STEP_M)
    if not len(long_edges):
        return (lats[:-1], lons[:-1]) if closed else (lats, lons)
    out_lats: list[float] = []
    out_lons: list[float] = []
    start = 0
    for edge in long_edges.tolist():
        out_lats.extend(lats[start : edge + 1].tolist())
        out_lons.extend(lons[start : edge + 1].tolist())
        extra = int(dists[edge] // DENSIFY_STEP_M)
        for lon, lat in GEOD.npts(lons[edge], lats[edge], lons[edge + 1], lats[edge + 1], extra):
            out_lats.append(lat)
            out_lons.append(lon)
        start = edge + 1
    end = len(seq) - 1 if closed else len(seq)
    out_lats.extend(lats[start:end].tolist())
    out_lons.extend(lons[start:end].tolist())
    return np.array(out_lats), np.array(out_lons)


def _steps(total: float, count: int) -> FloatArray:
    """``count + 1`` evenly spaced values from 0 to ``total``, both included: what
    ``np.linspace(0, total, count + 1)`` gives, at a tenth of its cost for short arrays."""
    out: FloatArray = np.arange(count + 1, dtype=np.float64) * (total / count)
    out[-1] = total
    return out


def _arc(
    center: Position, radius_m: float, start_deg: float, span_deg: float
) -> tuple[FloatArray, FloatArray]:
    """Points of a clockwise arc, pushed out so that every chord stays outside the circle."""
    step = 2.0 * math.sqrt(2.0 * ARC_TOLERANCE_M / radius_m)  # chord angle for a given sagitta
    count = min(4096, max(8, math.ceil(math.radians(span_deg) / step)))
    bearings = start_deg + _steps(span_deg, count)
    half = math.radians(span_deg) / count / 2.0
    reach = np.full(bearings.shape, radius_m / math.cos(half))
    reach[0] = reach[-1] = radius_m  # the ends lie on the circle exactly
    lons, lats, _ = GEOD.fwd(
        np.full(bearings.shape, center.lon_deg), np.full(bearings.shape, center.lat_deg), bearings, reach
    )
    return np.asarray(lats, dtype=np.float64), np.asarray(lons, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _Outline:
    """A footprint's core as lat/lon coordinates plus the radius it is grown by."""

    shape: Shape
    lats: FloatArray = field(repr=False)
    lons: FloatArray = field(repr=False)
    radius_m: float
    center: tuple[float, float]
    cap_radius_m: float


@dataclass(frozen=True, slots=True)
class _FootprintBase:
    """Behaviour shared by every footprint kind; subclasses define ``_core_shape`` and
    ``_outline_coords``."""

    kind: ClassVar[str]
    #: derived values (outline, core per frame, grown shapes), kept with the value; not part of it
    _memo: dict[object, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def _core_shape(self) -> tuple[Shape, float]:
        """What the core is and the radius it is grown by."""
        raise NotImplementedError

    def _outline_coords(self) -> tuple[FloatArray, FloatArray]:
        """Latitudes and longitudes of the core, geodesic edges densified."""
        raise NotImplementedError

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled (to worker processes, say) without the derived shapes, which are large
        # and made again on demand; the value was validated when it was first made.
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_memo"}
        return (_unpickle, (type(self), values))

    @property
    def outline(self) -> _Outline:
        memo = self._memo
        found = memo.get("outline")
        if found is None:
            found = memo["outline"] = _outline(self)
        return cast(_Outline, found)

    @property
    def cap(self) -> tuple[float, float, float]:
        """The bounding cap: (lat, lon) of its centre and its geodesic radius in metres."""
        found = self._memo.get("cap")
        if found is None:
            outline = self.outline
            found = self._memo["cap"] = (*outline.center, outline.cap_radius_m)
        return cast(tuple[float, float, float], found)

    @property
    def center(self) -> tuple[float, float]:
        """(lat, lon) of the centre of the footprint's bounding cap."""
        lat, lon, _ = self.cap
        return lat, lon

    @property
    def cap_radius_m(self) -> float:
        """Geodesic distance from :attr:`center` that contains the whole footprint."""
        return self.cap[2]

    def bbox(self, extra_m: float = 0.0) -> tuple[float, float, float, float]:
        """``(lat_lo, lat_hi, lon_lo, lon_hi)`` degrees containing the footprint grown by
        ``extra_m`` (from its bounding cap, with 1 % + 100 m to spare; see :func:`cap_bbox`)."""
        lat, lon = self.center
        return cap_bbox(lat, lon, (self.cap_radius_m + extra_m) * 1.01 + 100.0)

    def frame(self) -> LocalFrame:
        """The shared local frame nearest this footprint's centre."""
        lat, lon = self.center
        return frame_at(lat, lon)

    def core_in(self, frame: LocalFrame) -> tuple[BaseGeometry, float]:
        """The core geometry in ``frame`` metres and the radius it is grown by."""
        found = self._memo.get(frame)
        if found is None:
            found = self._memo[frame] = _core_in(self.outline, frame)
        return cast(tuple[BaseGeometry, float], found)

    def shape_in(self, frame: LocalFrame, extra_m: float = 0.0) -> BaseGeometry:
        """The footprint grown by ``extra_m``, as a polygon in ``frame`` metres (memoised: a
        filing grows its own footprint by the same half-minima for every conflict)."""
        key = (frame, extra_m)
        found = self._memo.get(key)
        if found is None:
            core, radius = self.core_in(frame)
            grow = radius + extra_m
            found = self._memo[key] = core.buffer(grow, quad_segs=_QUAD_SEGS) if grow > 0 else core
        return cast(BaseGeometry, found)

    def shape_lonlat(self, extra_m: float = 0.0) -> BaseGeometry:
        """The footprint grown by ``extra_m`` as a lon/lat polygon, for display and export."""
        frame = self.frame()
        return frame.to_lonlat(self.shape_in(frame, extra_m))

    def area_m2(self) -> float:
        """Area of the footprint, from its shape in its own frame."""
        return float(self.shape_in(self.frame()).area)

    def _validate_extent(self) -> None:
        outline = self.outline
        if outline.cap_radius_m > MAX_CAP_RADIUS_M:
            raise InvalidGeometry(
                "footprint",
                f"reaches {outline.cap_radius_m / 1000:.1f} km from its centre; the limit is "
                f"{MAX_CAP_RADIUS_M / 1000:.0f} km",
            )
        core, radius = self.core_in(self.frame())
        # Steiner's bound (exact for convex cores) is cheap; buffer only when it could fail.
        bound = core.area + core.length * radius + math.pi * radius * radius
        area = bound if bound <= MAX_AREA_M2 else self.area_m2()
        if area > MAX_AREA_M2:
            raise InvalidGeometry(
                "footprint", f"area {area / 1e6:,.0f} km^2 exceeds the limit of {MAX_AREA_M2 / 1e6:,.0f} km^2"
            )


def _outline(footprint: _FootprintBase) -> _Outline:
    shape, radius = footprint._core_shape()
    stored = footprint._memo.get("coords")
    lats, lons = (
        footprint._outline_coords() if stored is None else cast(tuple[FloatArray, FloatArray], stored)
    )
    if shape == "point":
        return _Outline(shape, lats, lons, radius, (float(lats[0]), float(lons[0])), radius)
    cap = footprint._memo.get("cap")
    if cap is not None:  # known already (stored with the footprint): the same numbers
        lat, lon, cap_radius = cast(tuple[float, float, float], cap)
        return _Outline(shape, lats, lons, radius, (lat, lon), cap_radius)
    lat0, lon0 = mean_position(lats, lons)
    _, _, dists = GEOD.inv(np.full(lats.shape, lon0), np.full(lats.shape, lat0), lons, lats)
    return _Outline(shape, lats, lons, radius, (lat0, lon0), float(np.max(dists)) + radius)


def cores_in(wanted: Sequence[tuple[_FootprintBase, LocalFrame]]) -> list[tuple[BaseGeometry, float]]:
    """:meth:`~_FootprintBase.core_in` of many footprints at once (remembered the same way).

    The exact check of a filing needs a dozen cores in a few frames; made one by one, the
    projection's and shapely's per-call costs are most of the work, so the outlines missing
    in each frame are projected in one call and made into geometries in one call per shape.
    """
    found = [cast(tuple[BaseGeometry, float] | None, fp._memo.get(frame)) for fp, frame in wanted]
    missing: dict[LocalFrame, dict[int, _FootprintBase]] = defaultdict(dict)
    for (fp, frame), core in zip(wanted, found, strict=True):
        if core is None:
            missing[frame][id(fp)] = fp
    for frame, by_id in missing.items():
        footprints = list(by_id.values())
        if len(footprints) == 1:  # validation and coverings: one footprint in its own frame
            fp = footprints[0]
            fp._memo[frame] = _core_in(fp.outline, frame)
            continue
        outlines = [fp.outline for fp in footprints]
        x, y = frame.forward(
            np.concatenate([o.lons for o in outlines]), np.concatenate([o.lats for o in outlines])
        )
        xy = np.column_stack([x, y])
        owner = np.repeat(np.arange(len(outlines)), [len(o.lons) for o in outlines])
        cores = np.empty(len(outlines), dtype=object)
        for shape in ("point", "line", "polygon"):
            which = np.array([o.shape == shape for o in outlines])
            if not which.any():
                continue
            rows = which[owner]
            # each selected outline's rows numbered 0, 1, ... in the order of the selection
            ids = np.searchsorted(np.flatnonzero(which), owner[rows])
            if shape == "point":
                cores[which] = shapely.points(xy[rows])
            elif shape == "line":
                cores[which] = shapely.linestrings(xy[rows], indices=ids)
            else:
                cores[which] = shapely.polygons(shapely.linearrings(xy[rows], indices=ids))
        shapely.prepare(cores)  # speeds up the point tests of coverings and validation
        for fp, outline, core in zip(footprints, outlines, cores, strict=True):
            fp._memo[frame] = (core, outline.radius_m)
    return [
        core if core is not None else cast(tuple[BaseGeometry, float], fp._memo[frame])
        for (fp, frame), core in zip(wanted, found, strict=True)
    ]


def _core_in(outline: _Outline, frame: LocalFrame) -> tuple[BaseGeometry, float]:
    """One core, as :func:`cores_in` makes many (the same numbers: PROJ projects a point
    alone as it does in an array), without the bookkeeping of a batch."""
    if outline.shape == "point":
        core: BaseGeometry = shapely.Point(
            frame.forward_point(float(outline.lons[0]), float(outline.lats[0]))
        )
    else:
        xy = np.column_stack(frame.forward(outline.lons, outline.lats))
        core = shapely.linestrings(xy) if outline.shape == "line" else shapely.polygons(xy)
    shapely.prepare(core)
    return core, outline.radius_m


def shapes_in(wanted: Sequence[tuple[_FootprintBase, LocalFrame, float]]) -> list[BaseGeometry]:
    """:meth:`~_FootprintBase.shape_in` of many ``(footprint, frame, extra_m)`` at once,
    the missing ones grown in one shapely call."""
    found = [cast(BaseGeometry | None, fp._memo.get((frame, extra))) for fp, frame, extra in wanted]
    todo = {
        (id(fp), frame, extra): fp
        for (fp, frame, extra), shape in zip(wanted, found, strict=True)
        if shape is None
    }
    if todo:
        keys = list(todo)
        cores = cores_in([(todo[key], key[1]) for key in keys])
        grow = np.array([radius + key[2] for key, (_, radius) in zip(keys, cores, strict=True)])
        shapes = np.empty(len(keys), dtype=object)
        shapes[:] = [core for core, _ in cores]
        positive = grow > 0
        shapes[positive] = shapely.buffer(shapes[positive], grow[positive], quad_segs=_QUAD_SEGS)
        for key, shape in zip(keys, shapes, strict=True):
            todo[key]._memo[(key[1], key[2])] = shape
    return [
        shape if shape is not None else cast(BaseGeometry, fp._memo[(frame, extra)])
        for (fp, frame, extra), shape in zip(wanted, found, strict=True)
    ]


def _describe_invalid(shape: BaseGeometry, frame: LocalFrame) -> str:
    """shapely's reason, with the offending point given in degrees rather than frame metres."""
    reason = str(explain_validity(shape))
    name, _, where = reason.partition("[")
    try:
        x, y = (float(v) for v in where.rstrip("]").split())
    except ValueError:
        return reason
    lon, lat = frame.inverse(np.array([x]), np.array([y]))
    return f"{name.lower()} near lat {lat[0]:.6f}, lon {lon[0]:.6f}"


@dataclass(frozen=True, slots=True)
class Polygon(_FootprintBase):
    """A simple polygon; edges are geodesics; the closing vertex may be repeated or not."""

    kind: ClassVar[str] = "polygon"
    vertices: tuple[Position, ...]

    def __post_init__(self) -> None:
        vertices = tuple(self.vertices)
        if len(vertices) > 1 and vertices[0] == vertices[-1]:
            vertices = vertices[:-1]
        object.__setattr__(self, "vertices", vertices)
        if len(set(vertices)) < 3:
            raise InvalidGeometry(
                "vertices", f"a polygon needs at least 3 distinct vertices, got {len(set(vertices))}"
            )
        for i, (a, b) in enumerate(itertools.pairwise(vertices)):
            if a == b:
                raise InvalidGeometry(f"vertices[{i + 1}]", "repeats the previous vertex")
        frame = self.frame()
        shape = self.shape_in(frame)
        if not shape.is_valid:
            raise InvalidGeometry("vertices", f"polygon is not simple: {_describe_invalid(shape, frame)}")
        if shape.area < MIN_POLYGON_AREA_M2:
            raise InvalidGeometry("vertices", f"polygon is degenerate (area {shape.area:.3g} m^2)")
        self._validate_extent()

    def _core_shape(self) -> tuple[Shape, float]:
        return "polygon", 0.0

    def _outline_coords(self) -> tuple[FloatArray, FloatArray]:
        return _geodesic_path(self.vertices, closed=True)


@dataclass(frozen=True, slots=True)
class Circle(_FootprintBase):
    """All points within ``radius_m`` (geodesic) of ``center``."""

    kind: ClassVar[str] = "circle"
    center_position: Position
    radius_m: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "radius_m", _positive_length(self.radius_m, "radius"))
        self._validate_extent()

    def _core_shape(self) -> tuple[Shape, float]:
        return "point", self.radius_m

    def _outline_coords(self) -> tuple[FloatArray, FloatArray]:
        p = self.center_position
        return np.array([p.lat_deg]), np.array([p.lon_deg])


@dataclass(frozen=True, slots=True)
class Corridor(_FootprintBase):
    """All points within ``width_m / 2`` of a centreline of geodesic segments."""

    kind: ClassVar[str] = "corridor"
    centreline: tuple[Position, ...]
    width_m: float

    def __post_init__(self) -> None:
        line = tuple(self.centreline)
        object.__setattr__(self, "centreline", line)
        if len(line) < 2:
            raise InvalidGeometry("centreline", f"a corridor needs at least 2 points, got {len(line)}")
        for i, (a, b) in enumerate(itertools.pairwise(line)):
            if a == b:
                raise InvalidGeometry(f"centreline[{i + 1}]", "repeats the previous point")
        object.__setattr__(self, "width_m", _positive_length(self.width_m, "width"))
        self._validate_extent()

    def _core_shape(self) -> tuple[Shape, float]:
        return "line", self.width_m / 2.0

    def _outline_coords(self) -> tuple[FloatArray, FloatArray]:
        return _geodesic_path(self.centreline, closed=False)


@dataclass(frozen=True, slots=True)
class Racetrack(_FootprintBase):
    """An orbit: the stadium of all points within ``width_m / 2`` of the segment ``a``-``b``."""

    kind: ClassVar[str] = "racetrack"
    a: Position
    b: Position
    width_m: float

    def __post_init__(self) -> None:
        if self.a == self.b:
            raise InvalidGeometry("b", "racetrack ends coincide; use a circle")
        object.__setattr__(self, "width_m", _positive_length(self.width_m, "width"))
        self._validate_extent()

    def _core_shape(self) -> tuple[Shape, float]:
        return "line", self.width_m / 2.0

    def _outline_coords(self) -> tuple[FloatArray, FloatArray]:
        return _geodesic_path((self.a, self.b), closed=False)


@dataclass(frozen=True, slots=True)
class ArcSector(_FootprintBase):
    """Between ``inner_radius_m`` and ``outer_radius_m`` of ``center``, clockwise from
    ``start_bearing_deg`` to ``end_bearing_deg`` (true bearings). Equal bearings are refused;
    an inner radius of 0 makes a pie slice."""

    kind: ClassVar[str] = "arc_sector"
    center_position: Position
    inner_radius_m: float
    outer_radius_m: float
    start_bearing_deg: float
    end_bearing_deg: float

    def __post_init__(self) -> None:
        inner = _number(self.inner_radius_m, "inner_radius")
        outer = _positive_length(self.outer_radius_m, "outer_radius")
        if inner < 0:
            raise InvalidGeometry("inner_radius", f"must be 0 m or more, got {inner:g}")
        if inner >= outer:
            raise InvalidGeometry("inner_radius", f"{inner:g} m is not below the outer radius {outer:g} m")
        start = _number(self.start_bearing_deg, "start_bearing")
        end = _number(self.end_bearing_deg, "end_bearing")
        if (end - start) % 360.0 == 0.0:
            raise InvalidGeometry(
                "end_bearing", "start and end bearings coincide; use a circle for a full disc"
            )
        object.__setattr__(self, "inner_radius_m", inner)
        object.__setattr__(self, "outer_radius_m", outer)
        object.__setattr__(self, "start_bearing_deg", start % 360.0)
        object.__setattr__(self, "end_bearing_deg", end % 360.0)
        self._validate_extent()

    @property
    def span_deg(self) -> float:
        """Clockwise angle from the start to the end bearing."""
        return (self.end_bearing_deg - self.start_bearing_deg) % 360.0

    def _core_shape(self) -> tuple[Shape, float]:
        return "polygon", 0.0

    def _outline_coords(self) -> tuple[FloatArray, FloatArray]:
        c = self.center_position
        inner, outer = self.inner_radius_m, self.outer_radius_m
        out_lat, out_lon = _arc(c, outer, self.start_bearing_deg, self.span_deg)
        # The radial edges are geodesics up to 600 km long: like polygon edges, they get
        # points every DENSIFY_STEP_M, or their chords in a frame centred elsewhere cut
        # metres into the sector.
        steps = max(1, math.ceil((outer - inner) / DENSIFY_STEP_M))
        inward = outer + _steps(inner - outer, steps)[1:-1]
        end_lat, end_lon = _radial(c, self.end_bearing_deg, inward)
        start_lat, start_lon = _radial(c, self.start_bearing_deg, inward[::-1])
        if inner > 0:
            # Inner arc points on the circle: chords cut inwards, which only adds area.
            count = max(8, len(out_lat) - 1)
            bearings = self.start_bearing_deg + _steps(self.span_deg, count)[::-1]
            in_lat, in_lon = _radial(c, bearings, np.full(bearings.shape, inner))
        else:
            in_lat, in_lon = np.array([c.lat_deg]), np.array([c.lon_deg])
        lats = np.concatenate([out_lat, end_lat, in_lat, start_lat])
        lons = np.concatenate([out_lon, end_lon, in_lon, start_lon])
        return lats, lons


def _radial(
    center: Position, bearing_deg: float | FloatArray, distances_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Lat/lon of the points at ``distances_m`` from ``center`` along ``bearing_deg``."""
    distances = np.asarray(distances_m, dtype=np.float64)
    bearings = np.broadcast_to(np.asarray(bearing_deg, dtype=np.float64), distances.shape)
    lons, lats, _ = GEOD.fwd(
        np.full(distances.shape, center.lon_deg),
        np.full(distances.shape, center.lat_deg),
        bearings,
        distances,
    )
    return np.asarray(lats, dtype=np.float64), np.asarray(lons, dtype=np.float64)


Footprint = Polygon | Circle | Corridor | Racetrack | ArcSector


_T = TypeVar("_T")


def _unpickle(cls: type[_T], values: dict[str, object]) -> _T:
    return unchecked(cls, **values)


def unchecked(cls: type[_T], **values: object) -> _T:
    """A value rebuilt from fields this package validated when it was first made and
    then stored itself, without running the checks again.

    For the stores' decoding only (of frozen values of ``geo`` and of operations):
    re-checking a footprint costs about 0.3 ms, and a filing reads dozens of stored ones.
    Anything from outside goes through the normal constructor.
    """
    value: _T = object.__new__(cls)
    for name, field_value in values.items():
        object.__setattr__(value, name, field_value)
    if isinstance(value, _FootprintBase):
        object.__setattr__(value, "_memo", {})
    return value


def remember_cap(footprint: _FootprintBase, cap: tuple[float, float, float]) -> None:
    """Tell ``footprint`` its bounding cap (:attr:`~_FootprintBase.cap`), as this package
    computed it before and stored it alongside: the cheap tests that reject most pairs
    need only the cap, and computing it means densifying the outline."""
    footprint._memo["cap"] = cap


def remember_outline(footprint: _FootprintBase, lats: FloatArray, lons: FloatArray) -> None:
    """Tell ``footprint`` the coordinates of its outline (:attr:`~_FootprintBase.outline`),
    as this package computed them before and stored them alongside: an arc sector's
    outline is a hundred geodesic points or more, a long corridor's needs its edges
    measured and densified, and a filing does that for every stored one it checks."""
    footprint._memo["coords"] = (lats, lons)


def outline_worth_storing(footprint: Footprint) -> tuple[FloatArray, FloatArray] | None:
    """The outline's coordinates if they are more than the footprint's own points (an arc
    sector's, or a core with edges long enough to be densified), to store beside it for
    :func:`remember_outline`; None when making the outline costs nothing worth storing."""
    match footprint:
        case Circle():
            return None
        case Polygon(vertices=points) | Corridor(centreline=points):
            given = len(points)
        case Racetrack():
            given = 2
        case _:
            given = 0
    outline = footprint.outline
    return (outline.lats, outline.lons) if len(outline.lats) > given else None


FOOTPRINT_KINDS: Final = {cls.kind: cls for cls in (Polygon, Circle, Corridor, Racetrack, ArcSector)}


def horizontal_distance_m(a: Footprint, b: Footprint, frame: LocalFrame) -> float:
    """Smallest distance between the two footprints in ``frame``; 0 when they overlap."""
    core_a, r_a = a.core_in(frame)
    core_b, r_b = b.core_in(frame)
    return max(0.0, float(core_a.distance(core_b)) - r_a - r_b)
