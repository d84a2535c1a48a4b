"""Altitudes with their datum, and how bands in different datums are compared.

An :class:`AltitudeBand` holds metres above one :class:`Datum`. Two bands in the
same datum are compared exactly. Bands in different datums are never compared
raw: each is converted to mean sea level as an *interval* that includes the
worst-case uncertainty of the conversion (see ``docs/geometry.md``), which widens
the vertical extent and so the vertical buffer. The conversion is exact only for
MSL itself; every other datum needs data we do not hold (a geoid model, terrain
heights, the local pressure) and takes its documented worst case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar, overload

import numpy as np
from numpy.typing import NDArray

from deconfliction.errors import InvalidAltitude
from deconfliction.units import FLIGHT_LEVEL_M, LENGTH_UNITS


class Datum(StrEnum):
    """Vertical reference of an altitude."""

    W84 = "W84"  #: height above the WGS84 ellipsoid (GNSS height)
    MSL = "MSL"  #: height above mean sea level (orthometric)
    AGL = "AGL"  #: height above the ground below
    STD = "STD"  #: pressure altitude on the standard setting 1013.25 hPa (flight levels)

    @classmethod
    def parse(cls, text: str) -> Datum:
        """The datum a user means by ``text``: its code or a common spelling, in any case
        (``WGS84``, ``WGS-84``, ``EGM96``, ``AMSL``...); InvalidAltitude lists the codes."""
        key = text.strip().upper().replace(" ", "").replace("-", "").replace("_", "")
        try:
            return DATUM_SPELLINGS[key]
        except KeyError:
            known = ", ".join(d.value for d in Datum)
            raise InvalidAltitude(
                "datum", f"unknown datum {text!r}; use one of {known} (WGS84 is W84)"
            ) from None


#: Spellings users write for each datum, upper-cased without spaces, hyphens or
#: underscores. EGM96 and EGM2008 heights are geoid heights, which is what MSL means here.
DATUM_SPELLINGS: Final[dict[str, Datum]] = {
    "W84": Datum.W84,
    "WGS84": Datum.W84,
    "HAE": Datum.W84,
    "ELLIPSOID": Datum.W84,
    "MSL": Datum.MSL,
    "AMSL": Datum.MSL,
    "EGM96": Datum.MSL,
    "EGM2008": Datum.MSL,
    "AGL": Datum.AGL,
    "STD": Datum.STD,
}


#: Geoid undulation N = h(W84) - H(MSL) is between these bounds everywhere on Earth
#: (EGM2008: -106.2 m in the Indian Ocean, +85.8 m near New Guinea), rounded outwards.
GEOID_UNDULATION_RANGE_M: Final = (-107.0, 86.0)
#: Terrain elevation above MSL is between these bounds everywhere on Earth (Dead Sea
#: shore, Everest), used for AGL when the filer states no ground elevation.
TERRAIN_RANGE_M: Final = (-430.0, 8849.0)
#: Pressure altitude differs from MSL altitude by the QNH correction (about 8.3 m per
#: hPa; QNH between 940 and 1060 hPa gives -400 m .. +650 m) plus the temperature
#: error, bounded by 10 % of the altitude (ISA +-30 degC).
STD_QNH_RANGE_M: Final = (-400.0, 650.0)
STD_TEMPERATURE_FRACTION: Final = 0.10

#: Altitudes outside this range (metres, any datum) are refused as nonsense.
ALTITUDE_LIMITS_M: Final = (-1000.0, 100_000.0)

ALTITUDE_UNITS: Final = ("m", "ft", "FL")

#: Vertical separation is lost only when the gap is below the minimum by more than this
#: (one micrometre). Bands or aircraft exactly one minimum apart (FL300 and FL310 under
#: 1,000 ft) differ from it by floating-point rounding alone (310 x 30.48 - 300 x 30.48
#: is 304.7999999999993, not 304.8), which must not decide a conflict either way.
VERTICAL_TOLERANCE_M: Final = 1e-6

Metres = TypeVar("Metres", float, NDArray[np.float64])


@dataclass(frozen=True, slots=True)
class AltitudeBand:
    """A closed vertical interval ``[lower_m, upper_m]`` above ``datum``.

    ``ground_m`` is the range of ground elevation (metres above MSL) under the
    footprint, optionally stated for AGL bands so that they convert to MSL with a
    known rather than a global worst-case uncertainty.
    """

    lower_m: float
    upper_m: float
    datum: Datum
    ground_m: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        for name in ("lower_m", "upper_m"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise InvalidAltitude(name, f"must be a finite number of metres, got {value!r}")
            lo, hi = ALTITUDE_LIMITS_M
            if not lo <= value <= hi:
                raise InvalidAltitude(name, f"{value} m is outside {lo:g} .. {hi:g} m")
        if not isinstance(self.datum, Datum):
            raise InvalidAltitude("datum", f"unknown datum {self.datum!r}")
        if self.lower_m > self.upper_m:
            raise InvalidAltitude(
                "lower", f"lower altitude {self.lower_m:g} m is above upper {self.upper_m:g} m"
            )
        if self.ground_m is not None:
            if self.datum is not Datum.AGL:
                raise InvalidAltitude("ground_m", "ground elevation applies only to AGL bands")
            g_lo, g_hi = self.ground_m
            if not (math.isfinite(g_lo) and math.isfinite(g_hi)) or g_lo > g_hi:
                raise InvalidAltitude("ground_m", f"must be a finite range low..high, got {self.ground_m}")

    @classmethod
    def parse(
        cls,
        lower: float,
        upper: float,
        units: str,
        datum: str | None,
        ground_m: tuple[float, float] | None = None,
    ) -> AltitudeBand:
        """A band from edge values: ``units`` is m, ft or FL; ``datum`` W84, MSL, AGL or STD
        (or a spelling :meth:`Datum.parse` knows).

        Flight levels imply the STD datum; giving FL with another datum is an error.
        """
        if units == "FL":
            if datum is not None and Datum.parse(datum) is not Datum.STD:
                raise InvalidAltitude("datum", f"flight levels are on the STD datum, not {datum!r}")
            scale = FLIGHT_LEVEL_M
            parsed = Datum.STD
        else:
            if units not in ("m", "ft"):
                raise InvalidAltitude(
                    "units", f"unknown altitude unit {units!r}; use one of {', '.join(ALTITUDE_UNITS)}"
                )
            scale = LENGTH_UNITS[units]
            if datum is None:
                raise InvalidAltitude("datum", "an altitude in m or ft needs a datum: W84, MSL, AGL or STD")
            parsed = Datum.parse(datum)
        values = []
        for name, value in (("lower", lower), ("upper", upper)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise InvalidAltitude(name, f"must be a finite number, got {value!r}")
            values.append(float(value) * scale)
        if values[0] > values[1]:
            raise InvalidAltitude("lower", f"lower altitude {lower} {units} is above upper {upper} {units}")
        try:
            return cls(values[0], values[1], parsed, ground_m)
        except InvalidAltitude as exc:
            raise InvalidAltitude(exc.field.removesuffix("_m"), exc.rule) from None

    def msl_envelope(self) -> tuple[float, float]:
        """The interval of MSL altitudes this band may occupy, conversion uncertainty included."""
        return to_msl_interval(self.lower_m, self.datum, self.ground_m)[0], to_msl_interval(
            self.upper_m, self.datum, self.ground_m
        )[1]

    def w84_envelope(self) -> tuple[float, float]:
        """The interval of heights above the WGS84 ellipsoid this band may occupy, conversion
        uncertainty included (the geoid's undulation range for any other datum)."""
        if self.datum is Datum.W84:
            return self.lower_m, self.upper_m
        lo, hi = self.msl_envelope()
        return lo + GEOID_UNDULATION_RANGE_M[0], hi + GEOID_UNDULATION_RANGE_M[1]


def to_msl_interval(
    value_m: Metres, datum: Datum, ground_m: tuple[float, float] | None = None
) -> tuple[Metres, Metres]:
    """The MSL altitudes that ``value_m`` above ``datum`` may correspond to; ``value_m`` is
    one altitude or an array of them (the tactical engine converts whole track arrays)."""
    if datum is Datum.MSL:
        return value_m, value_m
    if datum is Datum.W84:
        n_lo, n_hi = GEOID_UNDULATION_RANGE_M
        return value_m - n_hi, value_m - n_lo
    if datum is Datum.AGL:
        g_lo, g_hi = ground_m if ground_m is not None else TERRAIN_RANGE_M
        return value_m + g_lo, value_m + g_hi
    temperature = STD_TEMPERATURE_FRACTION * abs(value_m)
    q_lo, q_hi = STD_QNH_RANGE_M
    return value_m + q_lo - temperature, value_m + q_hi + temperature


def comparable_intervals(
    a: AltitudeBand, b: AltitudeBand
) -> tuple[tuple[float, float], tuple[float, float], Datum]:
    """Both bands as intervals in one datum: their own if they share it, else MSL envelopes.

    Raw comparison is allowed only when it can never be looser than the envelopes the
    stores index by, so the coarse search never drops a pair the exact test would keep.
    """
    if a.datum is b.datum and (a.datum is not Datum.AGL or a.ground_m == b.ground_m):
        # Two AGL bands are compared AGL, as drone operators do: the vertical test only
        # matters for footprints within the horizontal minimum, over nearly the same ground.
        return (a.lower_m, a.upper_m), (b.lower_m, b.upper_m), a.datum
    return a.msl_envelope(), b.msl_envelope(), Datum.MSL


@overload
def vertical_limit_m(minimum_m: float) -> float: ...
@overload
def vertical_limit_m(minimum_m: NDArray[np.float64]) -> NDArray[np.float64]: ...
@overload
def vertical_limit_m(minimum_m: float | NDArray[np.float64]) -> float | NDArray[np.float64]: ...
def vertical_limit_m(minimum_m: float | NDArray[np.float64]) -> float | NDArray[np.float64]:
    """The gap below which vertical separation is lost: ``gap < vertical_limit_m(minimum)``.

    The one rule the strategic and tactical engines share, so that separation at exactly
    the minimum is kept for every level and every unit (see :data:`VERTICAL_TOLERANCE_M`)."""
    return minimum_m - VERTICAL_TOLERANCE_M


def vertical_gap_m(a: AltitudeBand, b: AltitudeBand) -> float:
    """Smallest vertical distance between the bands (0 when they overlap), conservatively."""
    (a_lo, a_hi), (b_lo, b_hi), _ = comparable_intervals(a, b)
    return max(0.0, b_lo - a_hi, a_lo - b_hi)
