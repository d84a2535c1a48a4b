"""Per-party token buckets on an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deconfliction.errors import InvalidInput, RateLimited
from deconfliction.service.clock import ManualClock
from deconfliction.service.ratelimit import RateLimiter


def test_burst_then_refill_at_the_rate_per_party() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    limiter = RateLimiter(clock, rate_per_s=2.0, burst=3)
    for _ in range(3):
        limiter.take("RED")
    with pytest.raises(RateLimited) as limited:
        limiter.take("RED")
    assert limited.value.retry_after_s == pytest.approx(0.5)
    limiter.take("BLUE")  # buckets are per party
    clock.advance(timedelta(seconds=0.5))
    limiter.take("RED")
    with pytest.raises(RateLimited):
        limiter.take("RED")
    clock.advance(timedelta(hours=1))  # refills up to the burst, no further
    for _ in range(3):
        limiter.take("RED")
    with pytest.raises(RateLimited):
        limiter.take("RED")


def test_a_clock_set_back_does_not_drain_or_refill() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    limiter = RateLimiter(clock, rate_per_s=1.0, burst=1)
    limiter.take("RED")
    clock.set(datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(RateLimited):
        limiter.take("RED")


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_bad_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(InvalidInput):
        RateLimiter(ManualClock(datetime(2026, 1, 1, tzinfo=UTC)), rate, burst)


def test_a_charge_is_never_refused_and_later_requests_wait_for_it() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    limiter = RateLimiter(clock, rate_per_s=2.0, burst=3)
    limiter.take("RED")
    limiter.charge("RED", 9.0)  # a batch of ten: 3 - 1 - 9 = -7 tokens
    with pytest.raises(RateLimited) as limited:
        limiter.take("RED")
    assert limited.value.retry_after_s == pytest.approx(4.0)  # (1 - -7) / 2
    limiter.take("BLUE")
    clock.advance(timedelta(seconds=3.9))
    with pytest.raises(RateLimited):
        limiter.take("RED")
    clock.advance(timedelta(seconds=0.1))
    limiter.take("RED")
