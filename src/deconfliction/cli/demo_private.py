"""``deconfliction demo --private``: the day's rival pair in private mode.

A relay (the API, served on a free local port) and the two rivals' agents, each with its
own SQLite store of its own operations, run one round; then what each side and the relay
learned is printed beside what the native grid rule would have disclosed on the same plans.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from deconfliction.cli.private import ClientLink
from deconfliction.client import Client
from deconfliction.engine.minima import MinimaPolicy
from deconfliction.engine.policy import PairMode
from deconfliction.engine.strategic import operation_conflict
from deconfliction.geo.grid import DisclosureGrid
from deconfliction.private.channel import new_private_key, public_key
from deconfliction.scenarios.euphrates import COALITION, PAIR_MINIMA, RUSAF, Scenario
from deconfliction.service.admin import AdminService
from deconfliction.service.agent import Agent, AgentKeys, RoundOutcome
from deconfliction.service.clock import SystemClock
from deconfliction.service.credentials import create_credential
from deconfliction.store import open_store
from deconfliction.store.auth import parse_scopes
from deconfliction.units import FOOT_M

#: The rival pair, which runs in private mode under ``--private``.
RIVALS = (COALITION.id, RUSAF.id)
#: Their grid: cells of about 250 km², 2,000 ft bands, 30 minute slots, so that a day of
#: 140 operations a side is tens of thousands of cells, not half a million.
GRID = DisclosureGrid(5, 2000 * FOOT_M, 1800.0)


def make_private(db: str, pair: tuple[str, str]) -> None:
    """Put ``pair`` in private mode in the store at ``db`` (its parties exist)."""
    store = open_store(db)
    try:
        AdminService(store, SystemClock()).set_policy(
            *pair, PAIR_MINIMA.get(pair), grid=GRID, mode=PairMode.PRIVATE, private_budget=1 << 20
        )
    finally:
        store.close()


def _fresh(path: Path) -> str:
    for suffix in ("", "-wal", "-shm", ".key"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return str(path)


def _serve(db: str, key_file: Path) -> tuple[Any, threading.Thread, str]:
    import uvicorn

    from deconfliction.api.app import ApiSettings, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(ApiSettings(db=db, key_file=str(key_file), rate_per_s=1000, rate_burst=1000))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def run_private_pair(console: Console, scenario: Scenario, out_dir: Path, pair: tuple[str, str]) -> None:
    """One round between the pair's agents through a local relay, and what each learned."""
    relay_db = _fresh(out_dir / "relay.sqlite")
    store = open_store(relay_db)
    creds: dict[str, tuple[str, str]] = {}
    try:
        with store.transaction() as tx:
            for party in scenario.parties:
                if party.id in pair:
                    tx.add_party(party)
            for p in pair:
                issued = create_credential(tx, p, parse_scopes("read,file"), SystemClock())
                creds[p] = (issued.credential.client_id, issued.secret)
    finally:
        store.close()
    make_private(relay_db, pair)
    keys = {p: new_private_key() for p in pair}
    plans = {p: [op for op in scenario.operations if op.party == p] for p in pair}
    agent_dbs = {}
    for p in pair:
        agent_dbs[p] = _fresh(out_dir / f"{p.lower()}-agent.sqlite")
        agent_store = open_store(agent_dbs[p])
        try:
            with agent_store.transaction() as tx:
                tx.add_party(next(party for party in scenario.parties if party.id == p))
                for op in plans[p]:
                    tx.insert_operation(op)
        finally:
            agent_store.close()
    server, thread, url = _serve(relay_db, out_dir / "relay.key")
    outcomes: dict[str, RoundOutcome] = {}
    errors: list[BaseException] = []

    def run(me: str, peer: str) -> None:
        agent_store = open_store(agent_dbs[me])
        try:
            with Client(url, *creds[me], timeout_s=120) as client:
                agent_keys = AgentKeys(keys[me], public_key(keys[peer]), os.urandom(32))
                agent = Agent(agent_store, ClientLink(client), me, peer, agent_keys, SystemClock())
                outcomes[me] = agent.run_round()
        except BaseException as exc:  # reported below, on the main thread
            errors.append(exc)
        finally:
            agent_store.close()

    began = time.perf_counter()
    with console.status(f"private round between {pair[0]} and {pair[1]} through the relay"):
        workers = [
            threading.Thread(target=run, args=(pair[0], pair[1])),
            threading.Thread(target=run, args=(pair[1], pair[0])),
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        with Client(url, *creds[pair[0]]) as client:
            relay_view = client.private_report(pair[1])
    server.should_exit = True
    thread.join(timeout=10)
    if errors:
        raise errors[0]
    elapsed = time.perf_counter() - began
    _print(console, pair, plans, outcomes, relay_view, elapsed)


def _print(
    console: Console,
    pair: tuple[str, str],
    plans: dict[str, list[Any]],
    outcomes: dict[str, RoundOutcome],
    relay_view: dict[str, Any],
    elapsed: float,
) -> None:
    a, b = pair
    minima = PAIR_MINIMA.get(pair)
    policy = MinimaPolicy(minima, default_grid=GRID) if minima else MinimaPolicy(default_grid=GRID)
    native_flagged: dict[str, set[str]] = {a: set(), b: set()}
    for op_a in plans[a]:
        for op_b in plans[b]:
            if operation_conflict(op_a, op_b, policy) is not None:
                native_flagged[a].add(op_a.id)
                native_flagged[b].add(op_b.id)
    console.print(
        f"\n[bold]Private mode[/bold] — {a} and {b} through a relay ({elapsed:.1f} s for one round)"
    )
    for me, peer in ((a, b), (b, a)):
        o = outcomes[me]
        r = o.record
        flagged = {n.operation_id for n in o.notices}
        refs = {n.reference for n in o.notices}
        console.print(
            f"  {me} sent {r.cells_sent} cells (padded to {r.bucket}) and learned {r.shared} shared cells"
            f" ({len(refs)} references) touching {len(flagged)} of its {len(plans[me])} operations;"
            f" the native grid would have flagged {len(native_flagged[me])}"
            + (", all of them among these" if native_flagged[me] <= flagged else "")
        )
        console.print(f"  {peer} learned of {me}: those same cells, and {me}'s bucket ({r.bucket})")
    sides = [
        f"{party}: bucket {side['bucket']}, {side['messages']} messages, {side['bytes']:,} bytes"
        for rnd in relay_view["rounds"]
        for party, side in sorted(rnd["sides"].items())
    ]
    console.print("  the relay learned: who talked to whom and when; " + "; ".join(sides))
    console.print("  (and two commitments, in both audit chains; no cell, coordinate or plan field)")
