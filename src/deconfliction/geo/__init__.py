"""Pure geometry: altitudes with datums, footprints, Volume4D, local frames, cell coverings.

The names below load their module on first use: ``geo.altitude`` (numpy only) is needed
by the tactical engine and the command line's fast paths, which must not pay for shapely
and pyproj that footprints and frames bring in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from deconfliction.lazy import exports

_HOMES: Final[dict[str, str]] = {
    "AltitudeBand": "deconfliction.geo.altitude",
    "Datum": "deconfliction.geo.altitude",
    "FOOTPRINT_KINDS": "deconfliction.geo.footprint",
    "ArcSector": "deconfliction.geo.footprint",
    "Circle": "deconfliction.geo.footprint",
    "Corridor": "deconfliction.geo.footprint",
    "Footprint": "deconfliction.geo.footprint",
    "Polygon": "deconfliction.geo.footprint",
    "Position": "deconfliction.geo.footprint",
    "Racetrack": "deconfliction.geo.footprint",
    "TimeWindow": "deconfliction.geo.timewindow",
    "Volume4D": "deconfliction.geo.volume",
}

__all__ = [
    "FOOTPRINT_KINDS",
    "AltitudeBand",
    "ArcSector",
    "Circle",
    "Corridor",
    "Datum",
    "Footprint",
    "Polygon",
    "Position",
    "Racetrack",
    "TimeWindow",
    "Volume4D",
]


__getattr__, __dir__ = exports(__name__, _HOMES)


if TYPE_CHECKING:
    from deconfliction.geo.altitude import AltitudeBand, Datum
    from deconfliction.geo.footprint import (
        FOOTPRINT_KINDS,
        ArcSector,
        Circle,
        Corridor,
        Footprint,
        Polygon,
        Position,
        Racetrack,
    )
    from deconfliction.geo.timewindow import TimeWindow
    from deconfliction.geo.volume import Volume4D
