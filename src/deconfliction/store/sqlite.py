"""The embedded store: one SQLite file, WAL, durable commits, one writer.

``synchronous=FULL`` makes every commit durable (WAL is synced at each commit), and
``BEGIN IMMEDIATE`` takes the write lock when a transaction starts, so two writers
(threads here, or other processes on the same file) queue instead of failing half-way
with a lock upgrade error. A thread lock serialises this process's use of its one
connection; ``busy_timeout`` makes other processes wait for the file lock.

Checkpoints (copying the WAL back into the database file, and syncing it) run on a
thread of their own rather than inside whichever commit crosses SQLite's automatic
threshold: that commit used to take 8-10 ms instead of under one, which was most of
the filing latency's 99th percentile. A passive checkpoint never blocks the writer.

A passive checkpoint alone never lets the WAL start over while commits keep coming: the
log restarts only once every frame in it has been copied back, and a pass that copies a
quarter second of commits ends after the next commit has appended more. Under a steady
stream of filings the WAL grew by about 80 kB a filing for as long as the stream lasted
(500 MB after 6,000; docs/decisions/0014). So when the WAL has grown past
:data:`WAL_LIMIT_BYTES`, the checkpointer copies the last few frames with this process's
writer held back, and the next commit starts the log again from its first frame.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import orjson

from deconfliction.errors import StoreError
from deconfliction.store.sql import Dialect, SqlTransaction, migrate, translate


def _json_ints(values: Sequence[int]) -> str:
    return orjson.dumps(list(values)).decode()


SQLITE: Final = Dialect(
    name="sqlite",
    param="?",
    pk="INTEGER PRIMARY KEY",  # the rowid itself: 64-bit, no extra index
    without_rowid="WITHOUT ROWID",
    # json_each yields the array's integers as INTEGER values, which the planner uses
    # as an IN-list of index lookups.
    int_list="(SELECT value FROM json_each(?))",
    in_int_list="IN (SELECT value FROM json_each(?))",
    int_list_param=_json_ints,
    migration_lock=None,  # BEGIN IMMEDIATE already holds the only write lock
    integrity_error=sqlite3.IntegrityError,
)

#: How long a transaction waits for another process's write lock before failing.
BUSY_TIMEOUT_MS: Final = 10_000
#: Read the database file through a memory map of up to this many bytes (SQLite caps it at
#: its build's limit, 2 GB in Python's), not a read() and a copy per page: a filing's search
#: and reads touch a few hundred pages, and the candidate query took 0.19 ms a filing
#: mapped against 0.23 (docs/decisions/0012). Writes still go through the WAL.
MMAP_SIZE: Final = 1 << 40
#: How often the checkpointer copies committed WAL frames back into the database file.
CHECKPOINT_INTERVAL_S: Final = 0.25
#: Past this size the checkpointer makes the WAL start over (and the file is cut back to it).
WAL_LIMIT_BYTES: Final = 64 << 20


#: Bytes a WAL frame adds to its page.
_WAL_FRAME_HEADER: Final = 24


class SqliteStore:
    """:class:`~deconfliction.store.base.Store` on a SQLite file."""

    def __init__(
        self,
        path: str | Path,
        *,
        wal_limit_bytes: int | None = None,
        checkpoint_interval_s: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._lock = threading.Lock()
        # the module's values read now, not as defaults, so a benchmark may change them first
        self._wal_limit_bytes = WAL_LIMIT_BYTES if wal_limit_bytes is None else wal_limit_bytes
        self._interval_s = CHECKPOINT_INTERVAL_S if checkpoint_interval_s is None else checkpoint_interval_s
        #: checkpoint rounds made so far (for tests and benchmarks)
        self.checkpoints = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nothing starts
            # or ends a transaction behind our back.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(f"PRAGMA mmap_size = {MMAP_SIZE}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer thread does it
            # when the WAL starts over, its first commit cuts the file back to this size
            conn.execute(f"PRAGMA journal_size_limit = {self._wal_limit_bytes}")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open SQLite store {str(self.path)!r}: {exc}") from exc
        if str(mode).lower() != "wal":
            conn.close()
            raise StoreError(f"SQLite store {str(self.path)!r} refused WAL mode (journal_mode={mode})")
        self._conn = conn
        with self._transaction() as conn_:
            migrate(conn_, SQLITE)
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name=f"checkpoint {self.path.name}", daemon=True
        )
        self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return  # the writer's own connection still checkpoints when it closes
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
            while not self._stop.wait(self._interval_s):
                # busy or locked by another process: try again next round
                with contextlib.suppress(sqlite3.Error):
                    self._checkpoint(conn, page_size)
                self.checkpoints += 1
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection, page_size: int) -> None:
        _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames * (page_size + _WAL_FRAME_HEADER) <= self._wal_limit_bytes:
            return
        # The pass above copied all but what was committed while it ran; with the writer
        # held back, this one copies the rest, so the next commit restarts the log. Only a
        # pass that reaches the last frame syncs the database file, so this one waits for
        # everything copied since the last restart to reach the disk: 60-85 ms once per
        # 64 MB of WAL on the benchmark machine. Syncing the file beforehand, unlocked,
        # was measured too and delayed many more commits by a few ms each (decision 0014).
        with self._lock:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def pragma(self, name: str) -> object:
        """The value of a PRAGMA on this store's connection (for checks and tests)."""
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        with self._lock:
            return self._conn.execute(f"PRAGMA {name}").fetchone()[0]

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise translate(exc, "SQLite") from exc
            try:
                yield conn
            except BaseException as failure:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error as exc:
                    raise translate(exc, "SQLite") from failure
                if isinstance(failure, sqlite3.Error):
                    raise translate(failure, "SQLite") from failure
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise translate(exc, "SQLite") from exc

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        with self._transaction() as conn:
            tx = SqlTransaction(conn, SQLITE)
            yield tx
            tx.before_commit()

    def close(self) -> None:
        self._stop.set()
        self._checkpointer.join()
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"


__all__ = ["SQLITE", "SqliteStore"]
