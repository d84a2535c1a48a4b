"""Admission: a fixed number of places, handed out in turn between lanes.

A request waits for a place before the app works on it. Waiting requests queue in a
lane (a party, or a client address for unauthenticated work), and a place that frees
up goes to the next lane in rotation, not to the longest queue: a party that sends a
thousand requests at once waits behind its own requests while another party's single
request is served at the next free place.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque

from deconfliction.errors import InvalidInput


class FairGate:
    """``places`` requests at once; waiting requests served round-robin by lane."""

    def __init__(self, places: int) -> None:
        if places < 1:
            raise InvalidInput("places", f"must be at least 1, got {places}")
        self.places = places
        self._free = places
        #: lane -> its waiting requests, lanes in the order they are next served
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    @property
    def busy(self) -> int:
        return self.places - self._free

    async def enter(self, lane: str) -> None:
        """Wait for a place for ``lane``; the caller must :meth:`leave` once done."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._waiting.get(lane)
        if queue is None:
            queue = self._waiting[lane] = deque()
        queue.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.leave()  # the place was handed over just as the caller gave up
            else:
                self._forget(lane, future)
            raise

    def leave(self) -> None:
        """Give a place back: to the next lane in turn, or to the free pool."""
        while self._waiting:
            lane, queue = next(iter(self._waiting.items()))
            future = queue.popleft()
            if queue:
                self._waiting.move_to_end(lane)  # its next request waits for the other lanes
            else:
                del self._waiting[lane]
            if not future.done():
                future.set_result(None)
                return
        self._free += 1

    def _forget(self, lane: str, future: asyncio.Future[None]) -> None:
        queue = self._waiting.get(lane)
        if queue is None:
            return
        try:
            queue.remove(future)
        except ValueError:
            return
        if not queue:
            del self._waiting[lane]
