"""Connection limits below the app: what uvicorn's HTTP/1.1 protocol does not bound.

uvicorn closes an idle keep-alive connection after a few seconds, but restarts that
timer on every byte received, and waits for a request's headers without any limit; a
client that sends one header byte at a time holds its connection forever (slow-loris).
:class:`GuardedProtocol`, per process:

- gives every request ``header_timeout_s`` from the moment the connection is ready for
  it (opened, or the previous response sent) until its headers are complete, however
  the bytes trickle in; past that the connection gets 408 and is closed;
- lets one client address hold at most ``max_per_address`` connections; one more is
  answered 429 with ``Retry-After`` and closed before anything is read from it.

Behind a reverse proxy every connection comes from the proxy's address, so there the
proxy does the per-address limiting (see docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def _response(status: int, reason: str, kind: str, message: str, extra: str = "") -> bytes:
    body = json.dumps({"error": {"type": kind, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\nconnection: close\r\n"
        f"{extra}content-length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedProtocol(H11Protocol):
    """uvicorn's h11 protocol with the limits above; ``uvicorn.Config(http=...)`` takes the
    class or its import string ``deconfliction.api.connections:GuardedProtocol`` (for
    worker processes). :meth:`configure` sets the limits of this process."""

    max_per_address: int = 64
    header_timeout_s: float = 10.0
    _open_by_address: dict[str, int] = {}  # noqa: RUF012 (per process, shared by its connections)
    _too_many = b""
    _too_slow = b""

    @classmethod
    def configure(cls, max_per_address: int, header_timeout_s: float) -> type[GuardedProtocol]:
        cls.max_per_address = max_per_address
        cls.header_timeout_s = header_timeout_s
        cls._too_many = _response(
            429,
            "Too Many Requests",
            "TooManyConnections",
            f"more than {max_per_address} open connections from one address",
            "retry-after: 1\r\n",
        )
        cls._too_slow = _response(
            408,
            "Request Timeout",
            "RequestTimeout",
            f"the request headers did not arrive within {header_timeout_s:g} s",
        )
        return cls

    _address: str | None = None
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else "?"
        counts = self._open_by_address
        if counts.get(address, 0) >= self.max_per_address:
            transport.write(self._too_many)
            transport.close()
            return
        counts[address] = counts.get(address, 0) + 1
        self._address = address
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._address is not None:
            counts = self._open_by_address
            left = counts[self._address] - 1
            if left:
                counts[self._address] = left
            else:
                del counts[self._address]
            self._address = None
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # the request's headers are complete

    def on_response_complete(self) -> None:
        self._arm()  # before: a pipelined request handled in there disarms it again
        super().on_response_complete()

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.write(self._too_slow)
            self.transport.close()


GuardedProtocol.configure(GuardedProtocol.max_per_address, GuardedProtocol.header_timeout_s)
