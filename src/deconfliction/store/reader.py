"""A second, read-only connection to a store, for reads that must not queue behind writes.

A store serialises its transactions on one connection (SQLite has one writer; each
commit waits for its fsync). The push stream's outbox reads are tiny but latency-bound:
behind a queue of writers each holding the connection for a durable commit they would
wait tens to hundreds of milliseconds. This connection reads committed data beside
them: on SQLite a deferred read transaction on the WAL snapshot (readers never block
the writer nor wait for it), on PostgreSQL a connection of its own.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deconfliction.errors import StoreError, StoreUnavailable
from deconfliction.store.sql import Dialect, SqlTransaction, translate


class ReadConnection:
    """Read-only transactions on the store named by ``url`` (as ``Store.url`` spells it)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._conn: Any
        self._dialect: Dialect
        if url.startswith(("postgresql://", "postgres://")):
            from deconfliction.store.postgres import _dialect

            self._pg = True
            self._dialect = _dialect()
            self._conn = self._connect_pg()
        else:
            from deconfliction.store.sqlite import BUSY_TIMEOUT_MS, SQLITE

            self._pg = False
            path = Path(url.removeprefix("sqlite:///"))
            try:
                self._conn = sqlite3.connect(
                    f"{path.resolve().as_uri()}?mode=ro",
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                )
                self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open SQLite store {str(path)!r} for reading: {exc}") from exc
            self._dialect = SQLITE

    def _connect_pg(self) -> Any:
        import psycopg

        from deconfliction.store.postgres import CONNECT_TIMEOUT_S, session

        try:
            return session(psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S))
        except psycopg.Error as exc:
            raise StoreUnavailable(f"cannot reach PostgreSQL for reading: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        """A read transaction (writes through it fail)."""
        with self._lock:
            if self._pg:
                yield from self._pg_transaction()
            else:
                yield from self._sqlite_transaction()

    def _sqlite_transaction(self) -> Iterator[SqlTransaction]:
        conn: sqlite3.Connection = self._conn
        try:
            conn.execute("BEGIN")  # deferred: a snapshot of the last commit, no lock taken
            try:
                yield SqlTransaction(conn, self._dialect)
            finally:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise translate(exc, "SQLite") from exc

    def _pg_transaction(self) -> Iterator[SqlTransaction]:
        import psycopg

        if self._conn.closed or self._conn.broken:
            self._conn = self._connect_pg()
        try:
            with self._conn.transaction():
                yield SqlTransaction(self._conn, self._dialect)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"PostgreSQL connection failed: {exc}") from exc
        except psycopg.Error as exc:
            raise translate(exc, "PostgreSQL") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()
