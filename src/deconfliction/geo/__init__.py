"""Pure geometry: altitudes with datums, footprints, Volume4D, local frames, cell coverings."""

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
