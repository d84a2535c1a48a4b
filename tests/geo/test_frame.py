"""Local frames and the geodesic helpers around them."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from deconfliction.geo.frame import frame_at, mean_position, midpoint

lats = st.floats(-89.0, 89.0)
lons = st.floats(-180.0, 180.0)


@given(lats, lons, lats, lons)
def test_property_midpoint_is_symmetric_and_the_mean_of_the_two(lat_a, lon_a, lat_b, lon_b):
    mid = midpoint(lat_a, lon_a, lat_b, lon_b)
    # exactly symmetric: a pair's frame must not depend on which side is filing
    assert mid == midpoint(lat_b, lon_b, lat_a, lon_a)
    assert np.allclose(mid, mean_position(np.array([lat_a, lat_b]), np.array([lon_a, lon_b])), atol=1e-9)


@given(st.floats(30.0, 40.0), st.floats(35.0, 45.0))
def test_property_one_point_projects_as_an_array_of_one_does(lat, lon):
    frame = frame_at(35.0, 40.0)
    x, y = frame.forward(np.array([lon]), np.array([lat]))
    assert frame.forward_point(lon, lat) == (float(x[0]), float(y[0]))
