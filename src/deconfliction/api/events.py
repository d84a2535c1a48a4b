"""Each party's event stream: Server-Sent Events over the outbox, and a polling read.

Delivery reads the outbox (design decision 3): an event exists once the transaction
that wrote it committed, its ``id`` is the party's gapless sequence number, and a client
that reconnects with ``Last-Event-ID`` (or ``?after=``) gets exactly the events after it,
from the table, across server restarts.

Streams learn that something new committed from one :class:`Hub` per app: a single
cheap read of every party's outbox head (``party_counters``), made when a write request
of this process has just completed (the middleware installed by :func:`install` pokes
the hub) and at least every ``poll_s`` otherwise (writes by other processes or nodes).
Only the streams of parties whose head moved then read their outbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deconfliction.api.auth import Reader
from deconfliction.errors import DeconflictionError, InvalidInput
from deconfliction.geo.timewindow import format_utc
from deconfliction.store.base import Store
from deconfliction.store.events import Event, EventsRepo
from deconfliction.store.heads import HeadsRepo

log = logging.getLogger("deconfliction.api.events")

#: Longest wait between two reads of the outbox heads while a stream is open.
DEFAULT_POLL_S: Final = 0.025
#: A comment line this often keeps proxies from closing an idle stream and finds dead clients.
HEARTBEAT_S: Final = 15.0
#: Events read from the outbox per query while a stream catches up.
BATCH: Final = 500
#: Write requests between two checks for audit chains due a signed checkpoint.
CHECKPOINT_CHECK_WRITES: Final = 32
#: Methods that may have committed a change (and so an event).
_WRITES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Hub:
    """Where streams wait for their party's outbox head to pass the last id they sent."""

    def __init__(self, store: Store, poll_s: float = DEFAULT_POLL_S) -> None:
        self.store = store
        self.poll_s = poll_s
        self.heads: dict[str, int] = {}
        self._read_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed = asyncio.Event()
        self._poked = asyncio.Event()
        self._lock = asyncio.Lock()

    def _bind(self) -> None:
        # Primitives belong to one event loop; a test client may run several in turn.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._changed, self._poked, self._lock = asyncio.Event(), asyncio.Event(), asyncio.Lock()

    def poke(self) -> None:
        """Something may have committed: re-read the heads now rather than at the next poll."""
        if self._loop is not None and self._loop is asyncio.get_running_loop():
            self._poked.set()

    def _read_heads(self) -> dict[str, int]:
        with self.store.transaction() as tx:
            return tx.repo(HeadsRepo).heads("events")

    async def _refresh(self, requested_at: float) -> None:
        async with self._lock:
            if self._read_at > requested_at:
                return  # another stream read the heads after we asked: share its read
            self._poked.clear()
            self._read_at = time.monotonic()
            heads = await to_thread.run_sync(self._read_heads)
            moved = (
                any(heads.get(p, 0) != n for p, n in self.heads.items()) or heads.keys() != self.heads.keys()
            )
            self.heads = heads
            if moved:
                changed, self._changed = self._changed, asyncio.Event()
                changed.set()

    async def wait(self, party: str, after: int, timeout_s: float) -> bool:
        """Wait until ``party``'s head is beyond ``after`` (True) or ``timeout_s`` passes (False)."""
        self._bind()
        deadline = time.monotonic() + timeout_s
        while True:
            if self.heads.get(party, 0) > after:
                return True
            now = time.monotonic()
            if now >= deadline:
                return False
            due = self._read_at + self.poll_s
            if now >= due or self._poked.is_set():
                await self._refresh(now)
                continue
            changed, poked = self._changed, self._poked
            waiters = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(poked.wait())]
            try:
                await asyncio.wait(
                    waiters, timeout=min(due, deadline) - now, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for w in waiters:
                    w.cancel()


def hub(app: FastAPI) -> Hub:
    found: Hub | None = getattr(app.state, "events_hub", None)
    if found is None:
        poll = float(app.state.settings.extra.get("events_poll_s", DEFAULT_POLL_S))
        found = app.state.events_hub = Hub(app.state.store, poll)
    return found


class _AfterWrite:
    """ASGI middleware for write requests: once the response has started (so the request's
    transaction has committed) wake the streams' hub; every :data:`CHECKPOINT_CHECK_WRITES`
    writes, after the response is out, sign the audit chains that grew enough."""

    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner
        self.writes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _WRITES:
            await self.app(scope, receive, send)
            return
        succeeded = False

        async def sending(message: Message) -> None:
            nonlocal succeeded
            await send(message)
            if message["type"] == "http.response.start" and message.get("status", 500) < 400:
                succeeded = True
                hub(self.owner).poke()

        await self.app(scope, receive, sending)
        if succeeded:
            self.writes += 1
            if self.writes % CHECKPOINT_CHECK_WRITES == 0:
                await self._checkpoint()

    async def _checkpoint(self) -> None:
        from deconfliction.api.audit import audit_service

        try:
            await to_thread.run_sync(audit_service(self.owner).checkpoint_due)
        except DeconflictionError:
            # The export signs its head anyway; a failed periodic checkpoint is retried
            # at the next check and must not fail a request that already succeeded.
            log.exception("periodic audit checkpoint failed")


# -- wire --------------------------------------------------------------------------------


class EventOut(BaseModel):
    """One event of the caller's outbox; ``seq`` is its id in the stream."""

    seq: int
    kind: str
    at: str
    payload: dict[str, Any]


class EventPage(BaseModel):
    events: list[EventOut]
    #: the caller's newest event id now (resume a stream or the next poll from ``events[-1].seq``)
    last_seq: int


def _out(e: Event) -> EventOut:
    return EventOut(seq=e.seq, kind=e.kind, at=format_utc(e.created_at), payload=e.payload)


def _after(store: Store, party: str, after: int, limit: int) -> tuple[list[Event], int]:
    with store.transaction() as tx:
        events = tx.repo(EventsRepo)
        return events.after(party, after, limit), events.last_seq(party)


def _resume_point(last_event_id: str | None, after: int | None) -> int:
    """Where a stream resumes: ``Last-Event-ID`` (what a reconnecting EventSource sends)
    wins over ``?after=`` (what the first connection asked for)."""
    if last_event_id is not None and last_event_id.strip() != "":
        text = last_event_id.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            raise InvalidInput("Last-Event-ID", "must be an event id: a non-negative integer")
        return int(text)
    return after or 0


def sse(event: Event) -> bytes:
    """One event in the text/event-stream format (``data`` is one JSON line)."""
    data = json.dumps(_out(event).model_dump(), separators=(",", ":"), ensure_ascii=False)
    return f"id: {event.seq}\nevent: {event.kind}\ndata: {data}\n\n".encode()


router = APIRouter(prefix="/v1/events", tags=["events"])

After = Annotated[int | None, Query(ge=0, le=10**17, description="Return events with seq greater than this.")]


@router.get("", summary="The caller's events after an id (polling)")
async def list_events(
    request: Request,
    principal: Reader,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPage:
    store: Store = request.app.state.store
    events, last = await to_thread.run_sync(_after, store, principal.party, after or 0, limit)
    return EventPage(events=[_out(e) for e in events], last_seq=last)


@router.get(
    "/stream",
    summary="The caller's event stream (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "id = seq, event = kind"}},
)
async def stream(
    request: Request,
    principal: Reader,
    after: After = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=32)] = None,
) -> StreamingResponse:
    start = _resume_point(last_event_id, after)
    store: Store = request.app.state.store
    the_hub = hub(request.app)
    party = principal.party

    async def body() -> AsyncIterator[bytes]:
        last = start
        yield f": events of {party} after {start}\nretry: 1000\n\n".encode()
        while True:
            events, _ = await to_thread.run_sync(_after, store, party, last, BATCH)
            if events:
                last = events[-1].seq
                the_hub.heads[party] = max(the_hub.heads.get(party, 0), last)
                yield b"".join(sse(e) for e in events)
                if len(events) == BATCH:
                    continue
            if not await the_hub.wait(party, last, HEARTBEAT_S):
                yield b": keep-alive\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)


def install(app: FastAPI) -> None:
    """Add the events routes and the write-completion hook to ``app``."""
    app.include_router(router)
    app.add_middleware(_AfterWrite, owner=app)
