"""The hotline's edge: footprints in the GeoJSON operations format, and deadlines from the environment.

A hotline ``area`` field is the two parts of one feature of the operations format
(``docs/geojson-format.md``): ``{"geometry": {...}, "footprint": {"kind": ...}}``. It is
parsed by the same code that reads operations files, so the format cannot drift.
"""

from __future__ import annotations

import os
from typing import Any, Final

from pydantic import ValidationError

from deconfliction.errors import InvalidDocument
from deconfliction.geo.footprint import Footprint
from deconfliction.interop.geojson import FootprintWire, GeometryWire, _footprint, _pydantic_error
from deconfliction.service.hotline import Deadlines

#: Environment variable overriding the deadlines: ``STOP=10/60,PRIORITY=30/300,ROUTINE=300/1800``.
DEADLINES_ENV: Final = "DECONFLICTION_HOTLINE_DEADLINES"


def read_area(value: Any) -> Footprint:
    """A footprint from ``{"geometry", "footprint"}``; InvalidInput names the part."""
    if not isinstance(value, dict):
        raise InvalidDocument("", "expected {geometry, footprint}")
    try:
        geometry = GeometryWire.model_validate(value.get("geometry"))
    except ValidationError as exc:
        raise _pydantic_error(exc, "geometry") from None
    try:
        spec = FootprintWire.model_validate(value.get("footprint"))
    except ValidationError as exc:
        raise _pydantic_error(exc, "footprint") from None
    return _footprint(geometry, spec)


def deadlines_from_env() -> Deadlines:
    text = os.environ.get(DEADLINES_ENV)
    return Deadlines.parse(text) if text else Deadlines()
