"""Volume4D: a footprint, an altitude band and a UTC time window."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from deconfliction.errors import InvalidInput
from deconfliction.geo.altitude import AltitudeBand
from deconfliction.geo.footprint import Footprint
from deconfliction.geo.timewindow import TimeWindow


@dataclass(frozen=True, slots=True)
class Volume4D:
    """A region of airspace over a span of time."""

    footprint: Footprint
    band: AltitudeBand
    window: TimeWindow

    def __post_init__(self) -> None:
        # Built from parts that validate themselves; this only guards against wrong types
        # arriving from untyped callers.
        if not isinstance(self.footprint, Footprint):
            raise InvalidInput("footprint", f"expected a footprint, got {type(self.footprint).__name__}")
        if not isinstance(self.band, AltitudeBand):
            raise InvalidInput("band", f"expected an AltitudeBand, got {type(self.band).__name__}")
        if not isinstance(self.window, TimeWindow):
            raise InvalidInput("window", f"expected a TimeWindow, got {type(self.window).__name__}")

    def shifted(self, delta: timedelta) -> Volume4D:
        """The same volume at another time."""
        return replace(self, window=self.window.shifted(delta))
