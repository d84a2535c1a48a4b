"""Notifications that parties' outboxes grew, pushed by PostgreSQL (``LISTEN``).

Every transaction that writes events NOTIFYs the parties concerned on
:data:`~deconfliction.store.postgres.EVENTS_CHANNEL`; PostgreSQL delivers them at commit
to every connection listening, on every node. :class:`OutboxListener` keeps one such
connection in a thread of its own and calls ``on_change(party)`` for each. When the
connection breaks it reconnects (backing off up to a few seconds). Each time it starts
listening, first or again, it calls ``on_change(None)``, meaning "anything may have
changed": what committed before the ``LISTEN`` took effect was notified to nobody, but
it is in the outbox, so the reader reads every party once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Final

from deconfliction.store.postgres import CONNECT_TIMEOUT_S, EVENTS_CHANNEL

log = logging.getLogger("deconfliction.store.listener")

#: How long one wait for notifications lasts, so that ``close`` is noticed promptly.
WAIT_S: Final = 1.0
#: Longest pause between two attempts to reconnect.
MAX_BACKOFF_S: Final = 5.0


class OutboxListener:
    """``LISTEN`` on the events channel of the PostgreSQL store at ``url``, in a thread."""

    def __init__(self, url: str, on_change: Callable[[str | None], None]) -> None:
        self.url = url
        self.on_change = on_change
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-listener", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=WAIT_S + CONNECT_TIMEOUT_S + 1)

    def _run(self) -> None:
        import psycopg

        backoff = 0.1
        while not self._closed.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                    conn.execute(f"LISTEN {EVENTS_CHANNEL}")
                    self.on_change(None)  # whatever committed before the LISTEN
                    backoff = 0.1
                    self._listen(conn)
            except psycopg.Error:
                log.warning("outbox listener: connection lost; retrying in %.1f s", backoff, exc_info=True)
                self._closed.wait(backoff)
                backoff = min(MAX_BACKOFF_S, backoff * 2)

    def _listen(self, conn: Any) -> None:
        while not self._closed.is_set():
            for notify in conn.notifies(timeout=WAIT_S):
                self.on_change(notify.payload or None)
