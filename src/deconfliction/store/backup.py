"""Backups of a store, taken while it serves, and their restore.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database page
by page into a new file, a consistent snapshot even while a server writes (it restarts
over pages written meanwhile); the copy is a SQLite file that opens as a store as it is.
PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot, under a repeatable-read
transaction) of the store's schema (the ``search_path`` its URL names, else ``public``),
restored with ``pg_restore --single-transaction`` so that a failed restore leaves nothing
half-written. Neither copies the key files (token and audit signing keys), which are
kept apart from the data on purpose (docs/deployment.md).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from deconfliction.errors import InvalidInput, StoreError

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES = ("postgresql://", "postgres://")


def _sqlite_path(url: str) -> Path:
    return Path(url[len(_SQLITE_PREFIX) :] if url.startswith(_SQLITE_PREFIX) else url)


def _schema(url: str) -> str | None:
    """The schema a PostgreSQL URL's ``options=-csearch_path=...`` names, if any."""
    for option in parse_qs(urlsplit(url).query).get("options", []):
        for part in option.split():
            if part.startswith("-csearch_path="):
                return part.split("=", 1)[1].split(",")[0].strip() or None
    return None


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise StoreError(f"{name} is not installed (PostgreSQL's client tools: postgresql-client)")
    return found


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StoreError(f"{what} failed: {done.stderr.strip()[-2000:]}")


def backup(url: str, out: Path) -> None:
    """Write a backup of the store at ``url`` to ``out`` (which must not exist)."""
    if out.exists():
        raise InvalidInput("out", f"{str(out)!r} exists; a backup never overwrites a file")
    if url.startswith(_POSTGRES):
        schema = _schema(url)
        command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(out), "--dbname", url]
        _run([*command, *(["--schema", schema] if schema else [])], "pg_dump")
        return
    path = _sqlite_path(url)
    if not path.is_file():
        raise InvalidInput("db", f"no SQLite store at {str(path)!r}")
    _copy(sqlite3.connect(f"file:{path}?mode=ro", uri=True), out)


def restore(url: str, backup_file: Path) -> None:
    """Restore ``backup_file`` into the store at ``url``, which must be empty (a SQLite
    file that does not exist yet; a PostgreSQL schema without our tables)."""
    if not backup_file.is_file():
        raise InvalidInput("backup", f"no backup file at {str(backup_file)!r}")
    if url.startswith(_POSTGRES):
        _run(
            [
                _tool("pg_restore"),
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--dbname",
                url,
                str(backup_file),
            ],
            "pg_restore",
        )
        return
    path = _sqlite_path(url)
    if path.exists():
        raise InvalidInput("db", f"{str(path)!r} exists; restore into a new file, then move it in place")
    try:
        source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise InvalidInput("backup", f"{str(backup_file)!r} is not a SQLite backup: {exc}") from exc
    _copy(source, path)


def _copy(source: sqlite3.Connection, out: Path) -> None:
    """Copy ``source`` into a new SQLite file ``out`` with the online backup API."""
    target = sqlite3.connect(out)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
