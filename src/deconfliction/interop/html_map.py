"""A self-contained HTML map of operations and conflict regions (inline SVG, no network).

The page draws an equirectangular projection scaled by cos(latitude) at the map's
centre, which is faithful enough for a region a few hundred kilometres across; it
has layer toggles per party and for conflicts, hover details, and wheel zoom, all
with inline script so it opens offline from a file.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import shapely
from shapely.geometry.base import BaseGeometry

from deconfliction.engine.operation import Operation
from deconfliction.engine.strategic import StrategicConflict
from deconfliction.geo.timewindow import format_utc
from deconfliction.interop.quantities import band_text
from deconfliction.units import NAUTICAL_MILE_M

PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f")
CONFLICT_COLOUR = "#d62728"
WIDTH = 1100


@dataclass(frozen=True, slots=True)
class Landmarks:
    """Reference geography drawn under the operations: named points and polylines."""

    places: Mapping[str, tuple[float, float]]
    lines: Mapping[str, Sequence[tuple[float, float]]]


def _operation_shape(operation: Operation) -> BaseGeometry:
    return shapely.union_all([v.footprint.shape_lonlat() for v in operation.volumes])


class _Projection:
    def __init__(self, bounds: tuple[float, float, float, float]) -> None:
        minx, miny, maxx, maxy = bounds
        pad_x, pad_y = (maxx - minx) * 0.04 + 0.05, (maxy - miny) * 0.04 + 0.05
        self.minx, self.maxy = minx - pad_x, maxy + pad_y
        self.kx = math.cos(math.radians((miny + maxy) / 2))
        span_x = (maxx + pad_x - self.minx) * self.kx
        span_y = self.maxy - (miny - pad_y)
        self.scale = WIDTH / span_x
        self.height = round(span_y * self.scale)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.minx) * self.kx * self.scale, (self.maxy - lat) * self.scale

    def path(self, geometry: BaseGeometry) -> str:
        parts = []
        for geom in getattr(geometry, "geoms", [geometry]):
            if isinstance(geom, shapely.Polygon):
                rings = [geom.exterior, *geom.interiors]
                for ring in rings:
                    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (self.xy(*c) for c in ring.coords))
                    parts.append(f"M{pts}Z")
            elif isinstance(geom, shapely.Point):
                x, y = self.xy(geom.x, geom.y)
                parts.append(f"M{x - 3:.1f},{y:.1f}a3,3 0 1,0 6,0a3,3 0 1,0 -6,0")
        return "".join(parts)


def render(
    operations: Sequence[Operation],
    conflicts: Sequence[StrategicConflict],
    title: str,
    landmarks: Landmarks | None = None,
) -> str:
    """The HTML page as a string."""
    shapes = {op.key: _operation_shape(op) for op in operations}
    regions = [c.region for c in conflicts]
    everything = shapely.union_all([*shapes.values(), *(r for r in regions if r is not None)])
    proj = _Projection(everything.bounds)
    parties = sorted({op.party for op in operations})
    colour = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(parties)}

    layers: list[str] = []
    if landmarks is not None:
        for name, line in landmarks.lines.items():
            pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (proj.xy(lon, lat) for lat, lon in line))
            layers.append(
                f'<polyline class="river" points="{pts}"><title>{html.escape(name)}</title></polyline>'
            )
        for name, (lat, lon) in landmarks.places.items():
            x, y = proj.xy(lon, lat)
            layers.append(
                f'<g class="place"><circle cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>'
                f'<text x="{x + 4:.1f}" y="{y - 4:.1f}">{html.escape(name)}</text></g>'
            )
    for op in operations:
        first = op.volumes[0]
        detail = (
            f"{op.party} {op.id} v{op.version} ({op.state})\n"
            f"{len(op.volumes)} volume(s), {first.footprint.kind}\n"
            f"{band_text(first.band.lower_m, first.band.upper_m, first.band.datum)}\n"
            f"{format_utc(first.window.start)} - {format_utc(first.window.end)}"
        )
        layers.append(
            f'<path class="op" data-layer="{html.escape(op.party)}" fill="{colour[op.party]}" '
            f'stroke="{colour[op.party]}" d="{proj.path(shapes[op.key])}">'
            f"<title>{html.escape(detail)}</title></path>"
        )
    for c, region in zip(conflicts, regions, strict=True):
        if region is None:
            continue
        lowest = min(o.lower_m for o in c.overlaps)
        highest = max(o.upper_m for o in c.overlaps)
        detail = (
            f"CONFLICT {c.a.party}/{c.a.id} x {c.b.party}/{c.b.id}\n"
            f"{format_utc(c.start)} - {format_utc(c.end)}\n"
            f"{band_text(lowest, highest, c.overlaps[0].datum)}\n"
            f"closest {c.horizontal_distance_m / NAUTICAL_MILE_M:.1f} NM"
        )
        layers.append(
            f'<path class="cx" data-layer="conflicts" d="{proj.path(region)}">'
            f"<title>{html.escape(detail)}</title></path>"
        )
    toggles = "".join(
        f'<label><input type="checkbox" checked data-toggle="{html.escape(p)}">'
        f'<span class="swatch" style="background:{colour[p]}"></span>{html.escape(p)}</label>'
        for p in parties
    )
    toggles += (
        '<label><input type="checkbox" checked data-toggle="conflicts">'
        f'<span class="swatch" style="background:{CONFLICT_COLOUR}"></span>'
        f"conflicts ({len(conflicts)})</label>"
    )
    page = resources.files(__package__).joinpath("map_page.html").read_text(encoding="utf-8")
    return page.format(
        title=html.escape(title),
        width=WIDTH,
        height=proj.height,
        layers="\n".join(layers),
        toggles=toggles,
        conflict=CONFLICT_COLOUR,
        summary=html.escape(json.dumps({"operations": len(operations), "conflicts": len(conflicts)})),
    )
