"""A relay (`deconfliction serve`) in its own process, and two parties' agent stores."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deconfliction.engine.minima import Minima
from deconfliction.engine.operation import Operation
from deconfliction.geo import AltitudeBand, Circle, Datum, Position, TimeWindow, Volume4D
from deconfliction.geo.grid import DisclosureGrid
from deconfliction.service.admin import AdminService
from deconfliction.service.clock import SystemClock
from deconfliction.store import Party, open_store
from deconfliction.store.agent import AgentRepo, PrivateNotice
from served import Server, setup_parties

#: A coarse grid keeps the plans to a few thousand cells, so rounds take a second or two.
GRID = DisclosureGrid(5, 1000.0, 3600.0)
MINIMA = Minima(9260.0, 304.8, 300.0)
#: Distinctive coordinates, so that a test can look for them in the relay's store and logs.
LAT, LON = 34.56789, 40.98765
BIN = str(Path(sys.executable).parent / "deconfliction")


def today(hours: float) -> datetime:
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=hours)


def circle_op(
    party: str, op_id: str, dlat: float, dlon: float, start_h: float, hours: float = 2.0
) -> Operation:
    volume = Volume4D(
        Circle(Position(LAT + dlat, LON + dlon), 8000.0),
        AltitudeBand(3000.0, 4500.0, Datum.MSL),
        TimeWindow(today(start_h), today(start_h + hours)),
    )
    return Operation(party, op_id, (volume,))


def agent_store(path: Path, party: str, operations: list[Operation]) -> str:
    url = str(path)
    store = open_store(url)
    try:
        with store.transaction() as tx:
            tx.add_party(Party(party, f"Party {party}"))
            for op in operations:
                tx.insert_operation(op)
    finally:
        store.close()
    return url


def plan_of(url: str, party: str) -> list[Operation]:
    """The party's operations in an agent's store."""
    store = open_store(url)
    try:
        with store.transaction() as tx:
            return tx.list_operations(party=party)
    finally:
        store.close()


def notices_of(url: str) -> list[PrivateNotice]:
    """The notices in an agent's store."""
    store = open_store(url)
    try:
        with store.transaction() as tx:
            return tx.repo(AgentRepo).notices()
    finally:
        store.close()


def run(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout, check=False)


@dataclass
class Pair:
    relay: Server
    creds: dict[str, tuple[str, str]]
    keys: dict[str, Path]
    public: dict[str, str]
    stores: dict[str, str]
    workdir: Path

    def agent_args(self, party: str, peer: str, *extra: str) -> list[str]:
        cid, secret = self.creds[party]
        return [
            "private",
            "agent",
            "--store",
            self.stores[party],
            "--as",
            party,
            "--relay",
            self.relay.url,
            "--client-id",
            cid,
            "--client-secret",
            secret,
            "--peer",
            peer,
            "--key-file",
            str(self.keys[party]),
            "--peer-key",
            self.public[peer],
            "--timeout-s",
            "60",
            *extra,
        ]

    def both_rounds(self, *extra: str) -> dict[str, subprocess.CompletedProcess[str]]:
        """Each agent's round, as two processes at once."""
        procs = {
            p: subprocess.Popen(
                [BIN, *self.agent_args(p, q, *extra)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for p, q in (("red", "blue"), ("blue", "red"))
        }
        out = {}
        for p, proc in procs.items():
            stdout, stderr = proc.communicate(timeout=180)
            out[p] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        return out


@pytest.fixture
def private_pair(store_url: str, tmp_path: Path) -> Iterator[Pair]:
    creds = setup_parties(store_url, ["red", "blue"])
    relay_store = open_store(store_url)
    try:
        AdminService(relay_store, SystemClock()).set_policy(
            "red", "blue", MINIMA, grid=GRID, mode="private", private_budget=65_536
        )
    finally:
        relay_store.close()
    keys, public = {}, {}
    for p in ("red", "blue"):
        keys[p] = tmp_path / f"{p}.keys"
        made = run("private", "keys", str(keys[p]))
        assert made.returncode == 0, made.stderr
        public[p] = made.stdout.strip()
        assert oct(os.stat(keys[p]).st_mode & 0o777) == "0o600"
    stores = {
        "red": agent_store(
            tmp_path / "red-agent.sqlite",
            "red",
            [
                circle_op("red", "red-strike-1", 0.0, 0.0, 2.0),
                circle_op("red", "red-patrol-2", 1.5, 1.5, 10.0),
            ],
        ),
        "blue": agent_store(
            tmp_path / "blue-agent.sqlite",
            "blue",
            [
                circle_op("blue", "blue-recce-1", 0.05, 0.05, 3.0),
                circle_op("blue", "blue-tanker-2", -1.5, -1.5, 10.0),
            ],
        ),
    }
    relay = Server(store_url, tmp_path, extra_args=["--log-level", "info"]).start()
    try:
        yield Pair(relay, creds, keys, public, stores, tmp_path)
    finally:
        relay.stop()
