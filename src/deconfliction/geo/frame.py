"""Local metric frames and geodesic helpers.

Exact 2D work happens in an azimuthal equidistant projection (pyproj, WGS84
ellipsoid) centred near the geometry at hand: distances from the centre are exact
and the scale error elsewhere grows as (d/R)^2/6, about 0.03 % at 250 km, inside
the 0.1 % we promise for footprints up to 500 km across. Frames are cached by
centre rounded to :data:`FRAME_GRID_DEG`, so a filing reuses one transformer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Geod, Transformer
from shapely.geometry.base import BaseGeometry

#: Frame centres are snapped to this grid so transformers can be shared; 0.25 deg moves
#: the centre by at most ~20 km, which leaves the scale error far below 0.1 %.
FRAME_GRID_DEG: Final = 0.25

GEOD: Final = Geod(ellps="WGS84")

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LocalFrame:
    """An azimuthal equidistant projection centred at (``lat0``, ``lon0``), in metres."""

    lat0: float
    lon0: float

    def forward(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Project degrees to frame metres (x east, y north)."""
        fwd, _ = _transformers(self.lat0, self.lon0)
        x, y = fwd.transform(lon, lat)
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def inverse(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Frame metres back to degrees (lon, lat), longitudes in [-180, 180]."""
        _, inv = _transformers(self.lat0, self.lon0)
        lon, lat = inv.transform(x, y)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def to_lonlat(self, shape: BaseGeometry) -> BaseGeometry:
        """A geometry in frame metres as lon/lat degrees, longitudes kept continuous around
        the frame's centre (so a shape across the antimeridian may pass +-180)."""

        def convert(coords: FloatArray) -> FloatArray:
            lon, lat = self.inverse(coords[:, 0], coords[:, 1])
            lon = self.lon0 + ((lon - self.lon0 + 180.0) % 360.0) - 180.0
            return np.column_stack([lon, lat])

        return shapely.transform(shape, convert)


@lru_cache(maxsize=4096)
def _transformers(lat0: float, lon0: float) -> tuple[Transformer, Transformer]:
    # PROJ pipelines rather than Transformer.from_crs: the same operation, built in about
    # 0.1 ms instead of 20-40 ms, which matters for the first filing in a new area.
    aeqd = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +ellps=WGS84"
    degrees = "+proj=unitconvert +xy_in=deg +xy_out=rad"
    return (
        Transformer.from_pipeline(f"+proj=pipeline +step {degrees} +step {aeqd}"),
        Transformer.from_pipeline(f"+proj=pipeline +step +inv {aeqd} +step +inv {degrees}"),
    )


def frame_at(lat: float, lon: float) -> LocalFrame:
    """The shared frame whose centre is nearest (``lat``, ``lon``)."""
    step = FRAME_GRID_DEG
    lat0 = max(-90.0, min(90.0, round(lat / step) * step))
    lon0 = round(lon / step) * step
    lon0 = ((lon0 + 180.0) % 360.0) - 180.0
    return LocalFrame(lat0 + 0.0, lon0 + 0.0)


def mean_position(lats: FloatArray, lons: FloatArray) -> tuple[float, float]:
    """Centre of a set of points as the normalised mean of unit vectors (antimeridian-safe)."""
    phi = np.radians(lats)
    lam = np.radians(lons)
    x = float(np.mean(np.cos(phi) * np.cos(lam)))
    y = float(np.mean(np.cos(phi) * np.sin(lam)))
    z = float(np.mean(np.sin(phi)))
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


def midpoint(lat_a: float, lon_a: float, lat_b: float, lon_b: float) -> tuple[float, float]:
    """Centre of two points, symmetric in its arguments."""
    return mean_position(np.array([lat_a, lat_b]), np.array([lon_a, lon_b]))


def geodesic_distance_m(lat_a: float, lon_a: float, lat_b: float, lon_b: float) -> float:
    """Geodesic distance on the WGS84 ellipsoid."""
    _, _, dist = GEOD.inv(lon_a, lat_a, lon_b, lat_b)
    return float(dist)


EARTH_MEAN_RADIUS_M: Final = 6_371_008.8


def great_circle_m(lat_a: float, lon_a: float, lat_b: float, lon_b: float) -> float:
    """Haversine distance on the mean sphere: cheap, within 0.6 % of the geodesic."""
    p1, p2 = math.radians(lat_a), math.radians(lat_b)
    dp = p2 - p1
    dl = math.radians(lon_b - lon_a)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_MEAN_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
