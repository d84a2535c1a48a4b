"""Shared test configuration and fixtures.

Test directories are not packages (pytest's default "prepend" import mode); this
conftest puts ``tests/`` on ``sys.path`` so helpers such as :mod:`geodesy_ref` and
:mod:`builders` can be imported from any test directory.

Store fixtures: every store-backed test runs on SQLite (a tmp file) and on PostgreSQL.
PostgreSQL is the server named by ``DECONFLICTION_TEST_PG`` (default
``postgresql:///test``). Each test gets a fresh schema (dropped afterwards), so tests
never see each other's rows. If the server cannot be reached the PostgreSQL tests are
skipped, except under ``CI=true`` where that is a failure: CI must prove both backends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from deconfliction.store import Store, open_store

PG_URL = os.environ.get("DECONFLICTION_TEST_PG", "postgresql:///test")


def _with_search_path(url: str, schema: str) -> str:
    """``url`` with the session's search_path set to ``schema`` (libpq ``options``)."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}', safe='')}"


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL URL, once it is known to answer."""
    import psycopg  # a test dependency: missing it is an error, not a skip

    try:
        with psycopg.connect(PG_URL, connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {PG_URL} is unreachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    return PG_URL


@pytest.fixture
def pg_schema_url(pg_server: str) -> Iterator[str]:
    """A URL whose connections live in a fresh, empty schema that is dropped afterwards."""
    import psycopg

    schema = f"dtest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield _with_search_path(pg_server, schema)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty store of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    url: str = request.getfixturevalue("pg_schema_url")
    return url


@pytest.fixture
def open_url() -> Iterator[Callable[[str], Store]]:
    """``open_store`` that closes whatever it opened at teardown."""
    opened: list[Store] = []

    def _open(url: str) -> Store:
        store = open_store(url)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


@pytest.fixture
def store(store_url: str, open_url: Callable[[str], Store]) -> Store:
    """An empty, migrated store of each backend."""
    return open_url(store_url)
