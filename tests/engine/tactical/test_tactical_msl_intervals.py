"""The vectorised altitude conversion intrusion tests use equals the scalar one, datum by datum."""

from __future__ import annotations

import numpy as np
import pytest

from deconfliction.geo.altitude import Datum, to_msl_interval


@pytest.mark.parametrize("datum", list(Datum))
def test_msl_intervals_equal_the_scalar_conversion(datum: Datum) -> None:
    values = np.concatenate([np.linspace(-1000.0, 30_000.0, 4001), [0.0, -0.0, -1e-9, 1e-9]])
    lo, hi = to_msl_interval(values, datum)
    expected = np.array([to_msl_interval(float(v), datum) for v in values])
    np.testing.assert_array_equal(lo, expected[:, 0])
    np.testing.assert_array_equal(hi, expected[:, 1])
    assert np.all(lo <= hi)
