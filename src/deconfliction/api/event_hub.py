"""One reader of the outbox per API process, fanning new events out to open streams.

While any stream is open, the hub reads, in one transaction, every party's outbox head
(``party_counters``, one row per party) and the new events of the parties that have
streams open. It does so as soon as a write request of this process has completed (the
middleware in :mod:`deconfliction.api.events` pokes it), and for writes made by other
processes or API nodes: on PostgreSQL when the commit's ``NOTIFY`` arrives
(:class:`~deconfliction.store.listener.OutboxListener`, one ``LISTEN`` connection per
process), with a read every :data:`NOTIFIED_POLL_S` as a safety net; on SQLite (one
node) every ``poll_s``. So the database sees one small read per wake-up however many
streams are open, and a commit reaches a stream of this process within one read.

A stream never depends on the hub for correctness: it resumes from the outbox table, and
when what the hub hands it does not follow on from the last id it sent (it subscribed
after the hub had moved on, or fell behind) it reads the gap from the table itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict
from typing import Final

from anyio import CapacityLimiter, to_thread

from deconfliction.errors import DeconflictionError
from deconfliction.store.base import Store
from deconfliction.store.events import Event, EventsRepo
from deconfliction.store.heads import HeadsRepo
from deconfliction.store.listener import OutboxListener
from deconfliction.store.reader import ReadConnection

log = logging.getLogger("deconfliction.api.events")

#: Longest wait between two reads of the outbox while a stream is open (SQLite).
DEFAULT_POLL_S: Final = 0.010
#: ... on PostgreSQL, where every commit with events wakes the hub by NOTIFY.
NOTIFIED_POLL_S: Final = 5.0
#: Events read per party per read; a longer backlog is read at the next tick.
BATCH: Final = 500
#: Batches a slow stream may have queued before it is told to catch up from the table.
MAX_QUEUED: Final = 64


class Subscription:
    """One open stream's inbox of event batches."""

    def __init__(self, party: str, after: int) -> None:
        self.party = party
        self.after = after
        self.queue: asyncio.Queue[list[Event]] = asyncio.Queue()
        #: set when the stream must read from the table before using its queue
        self.behind = False

    def deliver(self, events: list[Event]) -> None:
        if self.queue.qsize() >= MAX_QUEUED:
            self.behind = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait([])  # wake the stream so that it catches up now
            return
        self.queue.put_nowait(events)


class Hub:
    """Reads the outbox for every open stream of one process."""

    def __init__(self, store: Store, poll_s: float | None = None) -> None:
        self.store = store
        self.notified = store.url.startswith(("postgresql://", "postgres://"))
        default = NOTIFIED_POLL_S if self.notified else DEFAULT_POLL_S
        self.poll_s = default if poll_s is None else poll_s
        self._listener: OutboxListener | None = None
        self._reader: ReadConnection | None = None
        self._reader_lock = threading.Lock()
        # Its own thread token: a thread pool full of request handlers must not delay it.
        self._limiter = CapacityLimiter(1)
        self._subs: dict[str, set[Subscription]] = defaultdict(set)
        #: per party with streams: the seq up to which events have been handed out
        self._cursor: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._poked = asyncio.Event()
        #: set when the process shuts down: streams end so that the server can stop
        self.closing = False

    def shut(self) -> None:
        """End every open stream (called on the event loop at shutdown)."""
        self.closing = True
        for subs in self._subs.values():
            for sub in subs:
                sub.queue.put_nowait([])

    def poke(self) -> None:
        """A change may have committed: read now rather than at the next poll."""
        if self._task is not None and self._loop is asyncio.get_running_loop():
            self._poked.set()

    def subscribe(self, party: str, after: int) -> Subscription:
        """Register a stream that has sent everything up to ``after``."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # primitives belong to one loop; tests may run several
            self._loop, self._task, self._poked = loop, None, asyncio.Event()
        sub = Subscription(party, after)
        cursor = self._cursor.get(party)
        if cursor is None:
            self._cursor[party] = after
        elif cursor > after:
            sub.behind = True  # the hub has handed out events this stream has not seen
        self._subs[party].add(sub)
        if self.notified and self._listener is None:
            self._listener = OutboxListener(self.store.url, lambda _party: self._wake(loop))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        return sub

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        """From the listener's thread: another process committed events."""
        if not loop.is_closed():
            loop.call_soon_threadsafe(self.poke_soon)

    def poke_soon(self) -> None:
        if self._task is not None:
            self._poked.set()

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.party)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self._subs[sub.party]
            self._cursor.pop(sub.party, None)

    def reader(self) -> ReadConnection:
        """A read connection beside the store's (made on first use, in a worker thread)."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = ReadConnection(self.store.url)
            return self._reader

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def _read(self, cursors: dict[str, int]) -> dict[str, list[Event]]:
        with self.reader().transaction() as tx:
            heads = tx.repo(HeadsRepo).heads("events")
            events = tx.repo(EventsRepo)
            return {
                party: events.after(party, after, BATCH)
                for party, after in cursors.items()
                if heads.get(party, 0) > after
            }

    async def _run(self) -> None:
        while self._subs:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), self.poll_s)
            self._poked.clear()
            try:
                fresh = await to_thread.run_sync(self._read, dict(self._cursor), limiter=self._limiter)
            except DeconflictionError:
                # The store is unreachable for now; streams stay open and the next tick retries.
                log.warning("event hub: outbox read failed", exc_info=True)
                await asyncio.sleep(min(1.0, 10 * self.poll_s))
                continue
            for party, events in fresh.items():
                if not events or party not in self._cursor:
                    continue
                self._cursor[party] = events[-1].seq
                for sub in self._subs.get(party, ()):
                    sub.deliver(events)
                if len(events) == BATCH:
                    self._poked.set()  # more to read: do not wait for the next tick
        self._task = None
