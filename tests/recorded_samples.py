"""The real ADS-B recordings of ``traffic``, loaded once per test session.

``traffic`` is in the test extra, so CI has it. Where it is missing, tests that need it
are skipped — except under ``CI=true``, where that is a failure: CI must prove the live
phase on real recorded flights.
"""

from __future__ import annotations

import os
from functools import cache

import pytest

from deconfliction.interop.feeds.recorded import Recording, load_sample, traffic_available


def require_traffic() -> None:
    """Skip (or, under CI, fail) when the optional ``traffic`` package is not installed."""
    if traffic_available():
        return
    message = "the 'traffic' package is not installed (pip install -e '.[test]' brings it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: the recorded-flight tests must run)")
    pytest.skip(message)


@cache
def _load(name: str) -> Recording:
    return load_sample(name)


def sample(name: str) -> Recording:
    """A recording of ``traffic.data.samples``, loaded once."""
    require_traffic()
    return _load(name)
