"""Wire models for quantities that carry their units: lengths, altitudes, times, minima."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from deconfliction.engine.minima import EN_ROUTE, Minima
from deconfliction.geo.altitude import AltitudeBand, Datum
from deconfliction.geo.timewindow import TimeWindow, format_utc, parse_utc
from deconfliction.units import FOOT_M, length_to_m


class Wire(BaseModel):
    """Base of every wire model: unknown fields are errors, never silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Length(Wire):
    """A length with its units: m, km, ft or nm."""

    value: float = Field(allow_inf_nan=False)
    units: str

    def metres(self, field: str) -> float:
        return length_to_m(self.value, self.units, field)

    @staticmethod
    def of_m(metres: float, units: str = "m") -> Length:
        return Length(value=metres / length_to_m(1.0, units), units=units)


class AltitudeWire(Wire):
    """An altitude band: ``lower`` and ``upper`` in ``units`` (m, ft or FL) above ``datum``."""

    lower: float = Field(allow_inf_nan=False)
    upper: float = Field(allow_inf_nan=False)
    units: str
    datum: str | None = None
    ground_m: tuple[float, float] | None = None

    def to_domain(self) -> AltitudeBand:
        return AltitudeBand.parse(self.lower, self.upper, self.units, self.datum, self.ground_m)


class TimeWire(Wire):
    """A UTC window as RFC 3339 strings with an explicit offset (``Z``)."""

    start: str
    end: str

    @field_validator("start", "end", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return format_utc(value) if isinstance(value, datetime) else value

    def to_domain(self) -> TimeWindow:
        return TimeWindow(parse_utc(self.start, "start"), parse_utc(self.end, "end"))


class MinimaWire(Wire):
    """Separation minima with units; omitted parts take the en-route defaults."""

    horizontal: Length = Length(value=5, units="nm")
    vertical: Length = Length(value=1000, units="ft")
    time_s: float = Field(default=EN_ROUTE.time_s, allow_inf_nan=False)

    def to_domain(self) -> Minima:
        return Minima(
            self.horizontal.metres("horizontal"), self.vertical.metres("vertical"), float(self.time_s)
        )

    @staticmethod
    def from_domain(minima: Minima) -> MinimaWire:
        return MinimaWire(
            horizontal=Length.of_m(minima.horizontal_m, "nm"),
            vertical=Length.of_m(minima.vertical_m, "ft"),
            time_s=minima.time_s,
        )


def band_text(lower_m: float, upper_m: float, datum: Datum) -> str:
    """An altitude band in the units pilots use for its datum, written with "to" so that a
    negative lower altitude reads plainly: ``FL095 to FL205``, ``-500 to 15,500 ft MSL``."""
    if datum is Datum.STD:
        return f"FL{max(0, round(lower_m / FOOT_M / 100)):03d} to FL{round(upper_m / FOOT_M / 100):03d}"
    return f"{round(lower_m / FOOT_M):,} to {round(upper_m / FOOT_M):,} ft {datum.value}"
