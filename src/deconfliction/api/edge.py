"""The outermost ASGI layer: what a request must pass before the app works on it.

In order, each step costing less than the next:

1. the body is read in full, whatever its transfer encoding (``Content-Length`` or
   chunked), counting bytes as they arrive: over ``max_body_bytes`` (64 KiB without a
   genuine token, see 3.) it is refused with
   413 at once and the connection closed, so a huge chunked body is never buffered; a
   body still incomplete after ``body_timeout_s`` gets 408 (a slow client holds no
   place meanwhile, as no place is taken yet);
2. a body nested deeper than ``max_json_depth`` is refused with 400 before any JSON
   parser recurses into it (Python's parsers raise ``RecursionError`` near 1,000 levels);
3. the request waits for a place (:class:`~deconfliction.api.admission.FairGate`):
   requests with a genuine token queue in their party's lane among the authenticated
   places; anything else (no token, a wrong one, sign-in itself) queues by client
   address among places of its own, so it never takes an authenticated request's place.

A place is given back as soon as the response starts, so an open event stream holds
none. Every request is counted in the metrics and logged as one JSON line.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deconfliction.api.admission import FairGate
from deconfliction.api.errors import error_response
from deconfliction.errors import DeconflictionError

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("deconfliction.api")

#: Paths whose errors take the F3548 shape ``{"message": ...}`` (see api/f3548.py).
F3548_PREFIXES: Final = ("/dss/", "/aux/")
#: A JSON string, escapes included: its brackets do not nest anything.
_STRING: Final = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN: Final = (ord("["), ord("{"))
_CLOSE: Final = (ord("]"), ord("}"))


def nested_deeper_than(body: bytes, depth: int) -> bool:
    """Whether ``body``'s arrays and objects nest more than ``depth`` levels. Works on the
    bytes, without parsing (strings removed first, so brackets inside them do not count),
    and returns at once when there are not even ``depth`` opening brackets."""
    if body.count(b"[") + body.count(b"{") <= depth:
        return False
    text = np.frombuffer(_STRING.sub(b"", body), dtype=np.uint8)
    opens = (text == _OPEN[0]) | (text == _OPEN[1])
    closes = (text == _CLOSE[0]) | (text == _CLOSE[1])
    return int(np.cumsum(opens.astype(np.int32) - closes.astype(np.int32)).max(initial=0)) > depth


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    max_body_bytes: int
    body_timeout_s: float
    max_json_depth: int
    #: the body limit of a request without a genuine token (sign-in needs well under 1 KiB)
    anonymous_max_body_bytes: int = 64 * 1024


class Refused(Exception):
    """A request refused at the edge, before the app saw it."""

    def __init__(self, status: int, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.field = status, kind, message, field


class ClientGone(Exception):
    """The client disconnected while sending its body."""


class Edge:
    """See the module docstring; ``owner`` is the FastAPI app (for its state)."""

    def __init__(
        self,
        app: ASGIApp,
        owner: FastAPI,
        limits: EdgeLimits,
        members: FairGate,
        anonymous: FairGate,
    ) -> None:
        self.app = app
        self.owner = owner
        self.limits = limits
        self.members = members
        self.anonymous = anonymous

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        lane, gate = self._lane(scope)
        try:
            body = await self._read_body(scope, receive, gate is self.members)
        except ClientGone:
            return
        except Refused as refused:
            await self._refuse(scope, send, refused)
            self._record(scope, refused.status, started)
            return
        metrics = self.owner.state.metrics
        with metrics.waiting.track_inprogress():
            await gate.enter(lane)
        metrics.in_flight.inc()
        held = True
        status = 500

        def release() -> None:
            nonlocal held
            if held:
                held = False
                metrics.in_flight.dec()
                gate.leave()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                release()  # an event stream gives its place back once its headers are out
            await send(message)

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await self.app(scope, replay, sending)
        finally:
            release()
            self._record(scope, status, started)

    async def _read_body(self, scope: Scope, receive: Receive, authenticated: bool) -> bytes:
        # Without a genuine token a body is bounded far lower: parsing a megabyte costs the
        # event loop milliseconds, which an outsider should not be able to make it spend.
        limit = self.limits.max_body_bytes if authenticated else self.limits.anonymous_max_body_bytes
        too_large = Refused(413, "PayloadTooLarge", f"request body is over the limit of {limit} bytes")
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                raise too_large
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.limits.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise ClientGone
                    chunk: bytes = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise too_large  # before buffering the rest: the connection is closed
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            seconds = self.limits.body_timeout_s
            raise Refused(408, "RequestTimeout", f"the body did not arrive within {seconds:g} s") from None
        body = b"".join(chunks)
        depth = self.limits.max_json_depth
        if nested_deeper_than(body, depth):
            raise Refused(400, "InvalidRequest", f"JSON nested deeper than {depth} levels", "body")
        return body

    def _lane(self, scope: Scope) -> tuple[str, FairGate]:
        """The lane of a request with a genuine token (its party's), or its address's."""
        authorization = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if authorization is not None:
            party = self._party(scope["path"], authorization.decode("latin-1"))
            if party is not None:
                return party, self.members
        client = scope.get("client")
        return (client[0] if client else "?"), self.anonymous

    def _party(self, path: str, authorization: str) -> str | None:
        # Imported here: auth and dss import this package's routers, which import nothing
        # of the edge, but keeping the edge importable alone keeps it testable alone.
        from deconfliction.api.auth import auth_state
        from deconfliction.api.f3548 import uss_of

        try:
            if path.startswith(F3548_PREFIXES):
                return f"uss:{uss_of(self.owner, authorization)}"
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer":
                return None
            return f"party:{auth_state(self.owner).signer.verify(token.strip()).party}"
        except DeconflictionError:
            return None  # the route refuses it with 401; it waits among the anonymous meanwhile

    async def _refuse(self, scope: Scope, send: Send, refused: Refused) -> None:
        # The body may be unread: the connection cannot carry another request after this.
        headers = {"Connection": "close"}
        response: JSONResponse
        if scope["path"].startswith(F3548_PREFIXES):
            status = 400 if refused.status == 422 else refused.status
            response = JSONResponse({"message": refused.message}, status_code=status, headers=headers)
        else:
            response = error_response(
                refused.status, refused.kind, refused.message, refused.field, headers=headers
            )
        await response(scope, _nothing, send)

    def _record(self, scope: Scope, status: int, started: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", "unmatched")
        elapsed = time.perf_counter() - started
        metrics = self.owner.state.metrics
        metrics.requests.labels(scope["method"], path, str(status)).inc()
        metrics.latency.labels(scope["method"], path).observe(elapsed)
        client = scope.get("client")
        log.info(
            "request",
            extra={
                "method": scope["method"],
                "route": path,
                "status": status,
                "ms": round(elapsed * 1000, 2),
                "client": client[0] if client else None,
            },
        )


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
