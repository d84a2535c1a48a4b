"""Sign-in back-off: free failures, doubling waits, what a success clears, bounded memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deconfliction.errors import RateLimited
from deconfliction.service.clock import ManualClock
from deconfliction.service.throttle import SignInThrottle

KEYS = ("id:red.1", "addr:10.0.0.1")


def _wait(throttle: SignInThrottle, keys: tuple[str, ...] = KEYS) -> float:
    try:
        throttle.check(keys)
    except RateLimited as exc:
        return exc.retry_after_s
    return 0.0


def test_waits_double_after_the_free_failures_and_are_capped() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    throttle = SignInThrottle(clock, free_failures=3, base_s=1.0, max_s=8.0)
    waits = []
    for _ in range(9):
        assert _wait(throttle) == 0.0  # whatever it had to wait has passed
        throttle.failed(KEYS)
        waits.append(_wait(throttle))
        clock.advance(timedelta(seconds=waits[-1]))
    assert waits == [0, 0, 0, 1, 2, 4, 8, 8, 8]


def test_a_success_clears_the_client_id_never_the_address() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    throttle = SignInThrottle(clock, free_failures=0, base_s=60.0, max_s=60.0)
    throttle.failed(KEYS)
    throttle.succeeded("id:red.1")
    assert _wait(throttle, ("id:red.1",)) == 0.0
    assert _wait(throttle, ("addr:10.0.0.1",)) == pytest.approx(60.0)
    assert _wait(throttle, ("id:red.1", "addr:10.0.0.2")) == 0.0


def test_old_failures_are_forgotten_and_the_table_is_bounded() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    throttle = SignInThrottle(clock, free_failures=1, base_s=1.0, max_s=1.0, forget_s=60.0, max_keys=10)
    throttle.failed(KEYS)
    clock.advance(timedelta(seconds=61))
    throttle.failed(KEYS)  # counts as the first failure again: still free
    assert _wait(throttle) == 0.0
    for i in range(100):
        throttle.failed((f"id:invented.{i}",))
    assert len(throttle._records) == 10
