"""Local frames and the geodesic helpers around them."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given
from hypothesis import strategies as st

from deconfliction.geo.frame import frame_at, mean_position, midpoint, to_lonlat_all

lats = st.floats(-89.0, 89.0)
lons = st.floats(-180.0, 180.0)


@given(lats, lons, lats, lons)
def test_property_midpoint_is_symmetric_and_the_mean_of_the_two(lat_a, lon_a, lat_b, lon_b):
    mid = midpoint(lat_a, lon_a, lat_b, lon_b)
    # exactly symmetric: a pair's frame must not depend on which side is filing
    assert mid == midpoint(lat_b, lon_b, lat_a, lon_a)
    assert np.allclose(mid, mean_position(np.array([lat_a, lat_b]), np.array([lon_a, lon_b])), atol=1e-9)


def test_to_lonlat_all_converts_each_shape_in_its_own_frame():
    syria, dateline = frame_at(35.0, 40.0), frame_at(-10.0, 179.9)
    shapes = [
        shapely.Point(1000.0, 2000.0),
        shapely.LineString([(-5000.0, 0.0), (5000.0, 100.0)]),
        shapely.Polygon([(0.0, 0.0), (9000.0, 0.0), (0.0, 7000.0)]),
    ]
    frames = [syria, dateline, syria]
    for shape, frame, got in zip(shapes, frames, to_lonlat_all(shapes, frames), strict=True):
        xy = shapely.get_coordinates(shape)
        lon, lat = frame.inverse(xy[:, 0], xy[:, 1])
        assert got.geom_type == shape.geom_type
        lons = shapely.get_coordinates(got)[:, 0]
        assert np.array_equal(shapely.get_coordinates(got)[:, 1], lat)
        assert np.allclose((lons - lon + 180.0) % 360.0 - 180.0, 0.0, atol=1e-9)  # the same longitudes ...
        assert np.all(np.abs(lons - frame.lon0) <= 180.0)  # ... kept continuous around the centre
    # west of the dateline frame's centre (-180) stays west of it, rather than jumping to +179
    assert shapely.get_coordinates(to_lonlat_all(shapes[1:2], [dateline])[0])[0, 0] < -180.0


@given(st.floats(30.0, 40.0), st.floats(35.0, 45.0))
def test_property_one_point_projects_as_an_array_of_one_does(lat, lon):
    frame = frame_at(35.0, 40.0)
    x, y = frame.forward(np.array([lon]), np.array([lat]))
    assert frame.forward_point(lon, lat) == (float(x[0]), float(y[0]))
