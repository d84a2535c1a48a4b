"""Back-off for failed sign-ins, per client id and per client address.

Every wrong secret costs the server an scrypt hash (16 MiB, tens of milliseconds), so a
guesser is stopped *before* the hash runs: each key (``id:<client_id>``,
``addr:<address>``) may fail ``free_failures`` times; after that every further failure
makes it wait twice as long as the last (``base_s``, doubling, at most ``max_s``) before
the next attempt is even looked at. A success clears the client id's record, never the
address's (so a guesser holding one good credential cannot wash its address clean). A
key with no failure for ``forget_s`` starts afresh, and the table keeps at most
``max_keys`` keys (oldest dropped), so a spray of invented client ids cannot grow it
without bound.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from deconfliction.errors import InvalidInput, RateLimited
from deconfliction.service.clock import Clock

DEFAULT_FREE_FAILURES: Final = 5
DEFAULT_BASE_S: Final = 1.0
DEFAULT_MAX_S: Final = 300.0
DEFAULT_FORGET_S: Final = 900.0
DEFAULT_MAX_KEYS: Final = 100_000


@dataclass(slots=True)
class _Record:
    failures: int
    last_at: float
    #: no attempt is looked at before this time (epoch seconds)
    blocked_until: float


class SignInThrottle:
    """Failure counts and back-off per key, in this process."""

    def __init__(
        self,
        clock: Clock,
        free_failures: int = DEFAULT_FREE_FAILURES,
        base_s: float = DEFAULT_BASE_S,
        max_s: float = DEFAULT_MAX_S,
        forget_s: float = DEFAULT_FORGET_S,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        if free_failures < 0 or not base_s > 0 or max_s < base_s or max_keys < 1:
            raise InvalidInput("throttle", "needs free_failures >= 0, 0 < base_s <= max_s and max_keys >= 1")
        self._clock = clock
        self.free_failures = free_failures
        self.base_s = base_s
        self.max_s = max_s
        self.forget_s = forget_s
        self.max_keys = max_keys
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, keys: Iterable[str]) -> None:
        """RateLimited if any of ``keys`` must still wait; call before checking a secret."""
        now = self._clock.now().timestamp()
        with self._lock:
            wait = max((self._wait(key, now) for key in keys), default=0.0)
        if wait > 0:
            raise RateLimited(f"too many failed sign-ins; try again in {wait:.0f} s", wait)

    def failed(self, keys: Iterable[str]) -> None:
        """Count a failed attempt against every one of ``keys``."""
        now = self._clock.now().timestamp()
        with self._lock:
            for key in keys:
                record = self._live(key, now)
                if record is None:
                    record = _Record(0, now, now)
                    self._records[key] = record
                    while len(self._records) > self.max_keys:
                        self._records.popitem(last=False)
                record.failures += 1
                record.last_at = now
                over = record.failures - self.free_failures
                if over > 0:
                    record.blocked_until = now + min(self.max_s, self.base_s * 2 ** min(over - 1, 30))
                self._records.move_to_end(key)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)

    def _live(self, key: str, now: float) -> _Record | None:
        record = self._records.get(key)
        if record is not None and now - record.last_at > self.forget_s and now >= record.blocked_until:
            del self._records[key]
            return None
        return record

    def _wait(self, key: str, now: float) -> float:
        record = self._live(key, now)
        return 0.0 if record is None else max(0.0, record.blocked_until - now)
