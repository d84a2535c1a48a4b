"""Per-party request rate limits: one token bucket per party, in this process.

Each party's bucket holds up to ``burst`` requests and refills at ``rate_per_s``; a
request that finds it empty is refused with the time until the next token. The buckets
live in memory, so with several API nodes each node limits on its own (a party gets up
to N times the rate); a deployment that needs one limit across nodes keeps the buckets
in Redis (one ``INCR``/``EXPIRE`` or a Lua token bucket per party) behind this same
``take`` interface.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from deconfliction.errors import InvalidInput, RateLimited
from deconfliction.service.clock import Clock


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token buckets keyed by party."""

    def __init__(self, clock: Clock, rate_per_s: float, burst: int) -> None:
        if not rate_per_s > 0:
            raise InvalidInput("rate_per_s", f"must be positive, got {rate_per_s}")
        if burst < 1:
            raise InvalidInput("rate_burst", f"must be at least 1, got {burst}")
        self._clock = clock
        self.rate_per_s = float(rate_per_s)
        self.burst = int(burst)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, party: str) -> None:
        """Spend one request of ``party``'s allowance, or raise RateLimited."""
        with self._lock:
            bucket = self._refilled(party)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / self.rate_per_s
        raise RateLimited(
            f"party {party!r} is over its rate of {self.rate_per_s:g} requests/s (burst {self.burst})", wait
        )

    def charge(self, party: str, cost: float) -> None:
        """Spend ``cost`` more of ``party``'s allowance, never refusing: for a request
        already admitted whose size shows only once it is read (a batch of filings costs
        one per operation). The bucket may go below zero, and the party's next request
        then waits until it has refilled to one."""
        with self._lock:
            self._refilled(party).tokens -= cost

    def _refilled(self, party: str) -> _Bucket:
        now = self._clock.now().timestamp()
        bucket = self._buckets.get(party)
        if bucket is None:
            bucket = self._buckets[party] = _Bucket(float(self.burst), now)
        # A clock that moved back (set by hand) refills nothing rather than draining.
        elapsed = max(0.0, now - bucket.at)
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate_per_s)
        bucket.at = max(bucket.at, now)
        return bucket
