"""A party filing at once through two API nodes over one store, over real sockets:
the space-time limit holds across processes (the store's lock, not a thread lock)."""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apihelpers import filing

from at_once import run_at_once
from builders import circle_op
from deconfliction.client import ApiError, Client
from deconfliction.engine.limits import KM2H_M2S, operation_claim_m2s
from deconfliction.service.clock import SystemClock
from deconfliction.service.credentials import create_credential
from deconfliction.store import open_store
from deconfliction.store.auth import parse_scopes
from served import Server

BIN = str(Path(sys.executable).parent / "deconfliction")
ONE_KM2H = operation_claim_m2s(circle_op("RED", "R0")) / KM2H_M2S


def _admin(db: str, *args: str) -> str:
    done = subprocess.run([BIN, "admin", *args, "--db", db], capture_output=True, text=True, check=True)
    return done.stdout


def _credentials(db: str, n: int) -> list[tuple[str, str]]:
    store = open_store(db)
    try:
        with store.transaction() as tx:
            issued = [
                create_credential(tx, "RED", parse_scopes("read,file"), SystemClock()) for _ in range(n)
            ]
    finally:
        store.close()
    return [(i.credential.client_id, i.secret) for i in issued]


@pytest.fixture
def nodes(store_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    """Two `serve` processes over one store (SQLite file or PostgreSQL schema)."""
    _admin(store_url, "party", "add", "RED", "--name", "Red", "--kind", "military")
    _admin(store_url, "party", "limits", "RED", "--max-claim", f"{6.5 * ONE_KM2H:.3f}km2h")
    servers = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            servers.append(Server(store_url, tmp_path / name).start())
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_filings_at_once_through_two_nodes_cannot_squeeze_past_the_space_time_limit(
    nodes: list[Server], store_url: str
) -> None:
    statuses: list[int] = []
    start = datetime.now(UTC) + timedelta(hours=3)

    credentials = _credentials(store_url, 5)

    def file_all(server: Server, worker: int) -> None:
        with Client(server.url, *credentials[worker + 2 * nodes.index(server)]) as client:
            for k in range(5):
                op = circle_op("RED", f"{server.workdir.name}-{worker}-{k}", lon=38 + 0.1 * k, start=start)
                try:
                    client.file_operation(filing(op))
                    statuses.append(201)
                except ApiError as exc:
                    statuses.append(exc.status)

    calls = [functools.partial(file_all, server, worker) for server in nodes for worker in range(2)]
    assert run_at_once(calls, timeout_s=120) == []
    assert sorted(statuses) == [201] * 6 + [422] * 14
    with Client(nodes[0].url, *credentials[4]) as client:
        assert len(client.operations()) == 6
    shown = _admin(store_url, "party", "show", "RED")
    assert f'"held_km2h": {round(6 * ONE_KM2H, 3)}' in shown
