"""Each party's event stream: Server-Sent Events over the outbox, and a polling read.

Delivery reads the outbox (design decision 3): an event exists once the transaction
that wrote it committed, its ``id`` is the party's gapless sequence number, and a client
that reconnects with ``Last-Event-ID`` (or ``?after=``) gets exactly the events after it,
from the table, across server restarts.

Open streams are fed by one :class:`~deconfliction.api.event_hub.Hub` per app, which
reads the outbox once per tick for all of them: right after a write request of this
process completes (the middleware installed by :func:`install` pokes it) and at least
every ``poll_s`` otherwise (writes by other processes or nodes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Final

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deconfliction.api.auth import Reader
from deconfliction.api.event_hub import BATCH, Hub
from deconfliction.errors import DeconflictionError, InvalidInput
from deconfliction.geo.timewindow import format_utc
from deconfliction.store.base import Store
from deconfliction.store.events import Event, EventsRepo
from deconfliction.store.reader import ReadConnection

log = logging.getLogger("deconfliction.api.events")

#: A comment line this often keeps proxies from closing an idle stream and finds dead clients.
HEARTBEAT_S: Final = 15.0
#: Write requests between two checks for audit chains due a signed checkpoint.
CHECKPOINT_CHECK_WRITES: Final = 32
#: Methods that may have committed a change (and so an event).
_WRITES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def hub(app: FastAPI) -> Hub:
    found: Hub | None = getattr(app.state, "events_hub", None)
    if found is None:
        poll = app.state.settings.extra.get("events_poll_s")  # default: the store's (event_hub)
        found = app.state.events_hub = Hub(app.state.store, None if poll is None else float(poll))
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


def _after(source: Store | ReadConnection, party: str, after: int, limit: int) -> tuple[list[Event], int]:
    with source.transaction() as tx:
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


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # An ASGI server waits for open responses to finish before it shuts down, and a
    # stream never finishes: on SIGTERM/SIGINT end the streams first (clients resume
    # elsewhere with Last-Event-ID), then let the server's own handler run.
    the_hub = hub(app)
    loop = asyncio.get_running_loop()
    chained: dict[int, Any] = {}

    def on_exit(signum: int, frame: Any) -> None:
        loop.call_soon_threadsafe(the_hub.shut)
        previous = chained.get(signum)
        if callable(previous):
            previous(signum, frame)

    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            chained[signum] = signal.signal(signum, on_exit)
        except ValueError:
            break  # not the main thread (an in-process test client): nothing to chain
    try:
        yield
    finally:
        for chained_signal, previous in chained.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(chained_signal, previous)
        the_hub.close()


router = APIRouter(prefix="/v1/events", tags=["events"], lifespan=_lifespan)

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
    the_hub = hub(request.app)
    party = principal.party

    async def body() -> AsyncIterator[bytes]:
        # Subscribe first, then read the table: whatever commits after the read reaches
        # the subscription, so nothing falls between the two.
        sub = the_hub.subscribe(party, start)
        sub.behind = True
        last = start
        try:
            yield f": events of {party} after {start}\nretry: 1000\n\n".encode()
            while not the_hub.closing:
                if sub.behind:
                    sub.behind = False
                    # The hub's read connection: a catch-up never queues behind writers.
                    events, _ = await to_thread.run_sync(_after, the_hub.reader(), party, last, BATCH)
                    if events:
                        last = events[-1].seq
                        yield b"".join(sse(e) for e in events)
                    sub.behind = len(events) == BATCH
                    continue
                try:
                    batch = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                events = [e for e in batch if e.seq > last]
                if not events:
                    continue
                if events[0].seq != last + 1:
                    sub.behind = True  # a gap: the table has it
                    continue
                last = events[-1].seq
                yield b"".join(sse(e) for e in events)
        finally:
            the_hub.unsubscribe(sub)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)


def install(app: FastAPI) -> None:
    """Add the events routes and the write-completion hook to ``app``."""
    app.include_router(router)
    app.add_middleware(_AfterWrite, owner=app)
