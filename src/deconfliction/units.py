"""SI constants and converters for the edges.

Inside the package every length is metres, every time seconds, every speed m/s.
Feet, nautical miles, knots and flight levels exist only where data enters or
leaves, and they pass through the functions here.
"""

from __future__ import annotations

import math
import re
from typing import Final

from deconfliction.errors import InvalidInput

FOOT_M: Final = 0.3048  # exact, international foot
NAUTICAL_MILE_M: Final = 1852.0  # exact
KNOT_MPS: Final = NAUTICAL_MILE_M / 3600.0
FLIGHT_LEVEL_M: Final = 100 * FOOT_M  # one flight level is 100 ft of pressure altitude
FEET_PER_MINUTE_MPS: Final = FOOT_M / 60.0

#: Length units accepted at the edges, as metres per unit.
LENGTH_UNITS: Final[dict[str, float]] = {
    "m": 1.0,
    "km": 1000.0,
    "ft": FOOT_M,
    "nm": NAUTICAL_MILE_M,
    "NM": NAUTICAL_MILE_M,
}

#: Speed units accepted at the edges, as m/s per unit.
SPEED_UNITS: Final[dict[str, float]] = {
    "m/s": 1.0,
    "mps": 1.0,
    "kt": KNOT_MPS,
    "km/h": 1000.0 / 3600.0,
    "ft/min": FEET_PER_MINUTE_MPS,
}


def _finite(value: float, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(field, f"expected a number, got {value!r}") from exc
    if not math.isfinite(number):
        raise InvalidInput(field, f"must be a finite number, got {value!r}")
    return number


def length_to_m(value: float, unit: str, field: str = "length") -> float:
    """``value`` in ``unit`` as metres; unknown units raise :class:`InvalidInput`."""
    try:
        scale = LENGTH_UNITS[unit]
    except KeyError:
        known = ", ".join(sorted(LENGTH_UNITS))
        raise InvalidInput(f"{field}.units", f"unknown length unit {unit!r}; use one of {known}") from None
    return _finite(value, field) * scale


def m_to_length(metres: float, unit: str) -> float:
    """``metres`` expressed in ``unit``."""
    return metres / LENGTH_UNITS[unit]


def speed_to_mps(value: float, unit: str, field: str = "speed") -> float:
    """``value`` in ``unit`` as m/s; unknown units raise :class:`InvalidInput`."""
    try:
        scale = SPEED_UNITS[unit]
    except KeyError:
        known = ", ".join(sorted(SPEED_UNITS))
        raise InvalidInput(f"{field}.units", f"unknown speed unit {unit!r}; use one of {known}") from None
    return _finite(value, field) * scale


def require_finite(value: float, field: str) -> float:
    """``value`` as a float, refusing NaN, infinities and non-numbers."""
    return _finite(value, field)


#: Area units accepted at the edges, as square metres per unit.
AREA_UNITS: Final[dict[str, float]] = {"m2": 1.0, "km2": 1e6, "nm2": NAUTICAL_MILE_M**2}

#: Duration units accepted at the edges, as seconds per unit.
DURATION_UNITS: Final[dict[str, float]] = {"s": 1.0, "min": 60.0, "h": 3600.0}

#: Space-time (area times duration) units accepted at the edges, as m²·s per unit.
SPACE_TIME_UNITS: Final[dict[str, float]] = {"m2s": 1.0, "km2h": 1e6 * 3600.0}

_QUANTITY = re.compile(r"\s*([-+]?(?:\d[\d_,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z][A-Za-z0-9/]*)\s*")


def parse_quantity(text: str, units: dict[str, float], field: str) -> float:
    """``"5000km2"``, ``"60000 ft"``, ``"24h"``: a number and one of ``units`` (required),
    in the SI unit ``units`` maps to; InvalidInput names ``field`` otherwise."""
    known = ", ".join(units)
    found = _QUANTITY.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise InvalidInput(field, f"expected a number and a unit ({known}), e.g. 24h, got {text!r}")
    number, unit = str(found[1]), str(found[2])
    if unit not in units:
        raise InvalidInput(field, f"unknown unit {unit!r}; use one of {known}")
    return _finite(float(number.replace("_", "").replace(",", "")), field) * units[unit]
