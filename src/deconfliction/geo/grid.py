"""The disclosure grid: the coarsest unit in which one party learns of another's plans.

A grid is an H3 resolution, an altitude band height and a time slot length. Space is cut
into the H3 cells of that resolution, altitude into bands ``[k·B, (k+1)·B)`` metres of the
band's datum, and time into slots ``[k·S, (k+1)·S)`` seconds since the Unix epoch. What a
party is told about another's operation — and, under the grid rule, whether it is told
anything at all — depends only on which cells, bands and slots the two operations'
buffered volumes touch, never on where inside them they lie.

Every quantity here is widened outward: a volume's cover holds every cell, band and slot
its buffered volume touches, so the meeting of two covers always contains the true
overlap of the two buffered volumes (deconfliction stays safe; see
``tests/properties/test_grid_properties.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import h3
import h3.api.basic_int as h3int
import shapely

from deconfliction.errors import InvalidInput
from deconfliction.geo.cells import candidate_cells, max_cell_radius_m
from deconfliction.geo.footprint import Footprint
from deconfliction.units import FOOT_M

#: Resolutions a pair may choose: 4 (about 1,770 km² a cell) to 8 (about 0.7 km²). Finer
#: than 8 and one filing covers tens of thousands of cells; coarser than 4 and a single
#: conflict discloses a region the size of a small country.
MIN_RESOLUTION: Final = 4
MAX_RESOLUTION: Final = 8


def _check_range(value: object, field: str, low: float, high: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(field, f"must be a finite number, got {value!r}")
    if not low <= value <= high:
        raise InvalidInput(field, f"must be between {low:g} and {high:g} {unit}, got {value!r}")
    return float(value)


#: The most a cover's outward margin adds: 50 m and 0.2 % of the radius of a footprint of
#: the largest area a volume may have (250,000 km², a radius under 300 km), grown by the
#: widest horizontal minimum.
_COVER_MARGIN_M: Final = 700.0


@dataclass(frozen=True, slots=True)
class DisclosureGrid:
    """Cells of an H3 ``resolution``, altitude bands of ``band_m`` metres and time slots
    of ``slot_s`` seconds."""

    resolution: int = 6
    band_m: float = 1000 * FOOT_M
    slot_s: float = 900.0

    def __post_init__(self) -> None:
        r = self.resolution
        if isinstance(r, bool) or not isinstance(r, int) or not MIN_RESOLUTION <= r <= MAX_RESOLUTION:
            raise InvalidInput(
                "grid.resolution",
                f"must be an H3 resolution from {MIN_RESOLUTION} to {MAX_RESOLUTION}, got {r!r}",
            )
        # Bands from 100 ft to 10,000 ft, slots from 1 minute to 6 hours.
        object.__setattr__(self, "band_m", _check_range(self.band_m, "grid.band_m", 30.48, 3048.0, "m"))
        object.__setattr__(self, "slot_s", _check_range(self.slot_s, "grid.slot_s", 60.0, 21_600.0, "s"))

    # -- covers ---------------------------------------------------------------------------

    def cells(self, footprint: Footprint, grow_m: float) -> frozenset[int]:
        """Every cell that ``footprint`` grown by ``grow_m`` metres touches, and a few
        next to them: the cells whose centre lies within a cell's radius of it
        (``geo.cells.candidate_cells``), measured in the footprint's own frame. The H3
        polygon fill (``geo.cells.covering``) was tried first and missed cells that a wide
        footprint at 64° N touches, where its straight edges in lon/lat leave the chords
        of the frame by more than the fill's margin (the safety property test found it)."""
        return candidate_cells(footprint, grow_m, self.resolution)

    def bands(self, lower_m: float, upper_m: float) -> tuple[int, int]:
        """The first and last band index that the open interval ``(lower_m, upper_m)``
        touches. A bound that falls on a band's edge does not enter the band beyond it,
        except by floating-point error, which only ever adds a band."""
        return math.floor(lower_m / self.band_m), max(
            math.floor(lower_m / self.band_m), math.ceil(upper_m / self.band_m) - 1
        )

    def slots(self, start_s: float, end_s: float) -> tuple[int, int]:
        """The first and last slot index that the open interval ``(start_s, end_s)``
        (seconds since the epoch) touches."""
        first = math.floor(start_s / self.slot_s)
        return first, max(first, math.ceil(end_s / self.slot_s) - 1)

    # -- what is disclosed ----------------------------------------------------------------

    def band_bounds_m(self, first: int, last: int) -> tuple[float, float]:
        """The lower and upper altitude (m) of bands ``first`` to ``last``."""
        return first * self.band_m, (last + 1) * self.band_m

    def slot_bounds_s(self, first: int, last: int) -> tuple[float, float]:
        """The start and end (s since the epoch) of slots ``first`` to ``last``."""
        return first * self.slot_s, (last + 1) * self.slot_s

    def region(self, cells: frozenset[int]) -> shapely.MultiPolygon:
        """The cells as one multipolygon in lon/lat, one polygon per cell, each ring made
        of the cell's own H3 vertices: nothing finer than the grid is in it."""
        return shapely.MultiPolygon([cell_polygon(c) for c in sorted(cells)])

    @property
    def reach_m(self) -> float:
        """How much farther apart than the horizontal minimum two footprints may be and
        still share a cell: the widest a cell can be (twice its largest centre-to-vertex
        distance), and the outward margin of each cover (``geo.cells``: 50 m and 0.2 % of
        the grown footprint's radius, under 700 m for the widest footprint accepted)."""
        return 2.0 * max_cell_radius_m(self.resolution) + 2.0 * _COVER_MARGIN_M


#: The grid of a pair whose policy does not name one: cells of about 36 km², bands of
#: 1,000 ft and slots of 15 minutes (docs/disclosure.md).
DEFAULT_GRID: Final = DisclosureGrid()


def cell_polygon(cell: int) -> shapely.Polygon:
    """The cell's boundary as a lon/lat polygon of its H3 vertices."""
    return shapely.Polygon([(lng, lat) for lat, lng in h3int.cell_to_boundary(cell)])


def cell_token(cell: int) -> str:
    """The cell's id as H3's hexadecimal string, as it goes on the wire."""
    return str(h3int.int_to_str(cell))


def cell_area_km2(cell: int) -> float:
    """The cell's area on the WGS84 authalic sphere, km²."""
    return float(h3int.cell_area(cell, unit="km^2"))


def cell_outlines(cells: frozenset[int]) -> list[tuple[tuple[float, float], ...]]:
    """The outer rings (lat, lon) of the unions of ``cells``, one per connected group, each
    vertex a vertex of one of the cells (H3 builds them from the cells' own boundaries);
    holes are left out, which adds only whole cells (the ones in the hole)."""
    shape = h3int.cells_to_h3shape(sorted(cells))
    polys = [shape] if isinstance(shape, h3.LatLngPoly) else list(shape)
    return [tuple((float(lat), float(lng)) for lat, lng in p.outer) for p in polys]
