"""Persistence behind one interface: SQLite (embedded default) and PostgreSQL (server).

:func:`open_store` picks the backend from a URL::

    sqlite:///relative/or/absolute/path.sqlite   (sqlite:////abs/path also works)
    path/to/file.sqlite                           (a bare path is a SQLite file)
    postgresql://user@host:5432/dbname            (also postgres://)
"""

from __future__ import annotations

import re
from pathlib import Path

from deconfliction.errors import InvalidInput
from deconfliction.store.base import Party, PartyKind, Store, Transaction

_SQLITE_PREFIX = "sqlite:///"
#: Anything that starts like a URL scheme ("postgresql:/db", "mysql:...") is a mistyped or
#: unsupported URL, never a file name: treating it as one would quietly create a SQLite
#: file called "postgresql:".
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(url: str) -> Store:
    """Open (creating and migrating as needed) the store named by ``url``."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("store", "a store URL or SQLite file path is required")
    url = url.strip()
    if url.startswith(_POSTGRES_SCHEMES):
        from deconfliction.store.postgres import PostgresStore

        return PostgresStore(url)
    if url.startswith(_SQLITE_PREFIX):
        path = url[len(_SQLITE_PREFIX) :]
        if not path:
            raise InvalidInput("store", f"{url!r} names no file; use sqlite:///path/to/file.sqlite")
        from deconfliction.store.sqlite import SqliteStore

        return SqliteStore(Path(path))
    if "://" in url or _SCHEME.match(url):
        scheme = url.split(":", 1)[0]
        raise InvalidInput(
            "store",
            f"unknown store scheme {scheme!r}; use sqlite:///path/to/file.sqlite, a file path, "
            "or postgresql://user@host/dbname",
        )
    from deconfliction.store.sqlite import SqliteStore

    return SqliteStore(Path(url))


__all__ = ["Party", "PartyKind", "Store", "Transaction", "open_store"]
