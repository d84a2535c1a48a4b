"""The relay and two agents as separate processes over real HTTP on localhost, with the
relay on SQLite and on PostgreSQL: the agents find exactly the shared cells (the native
grid's), later rounds send only new cells, and the relay's store and log hold no cell,
coordinate or plan field."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import h3.api.basic_int as h3int
import orjson
import psycopg

from conftest import GRID, LAT, LON, MINIMA, circle_op, notices_of, plan_of, run
from deconfliction.engine.minima import MinimaPolicy
from deconfliction.engine.operation import OperationState
from deconfliction.engine.strategic import operation_conflict
from deconfliction.private.cells import plan_cells
from deconfliction.store import open_store
from deconfliction.store.agent import AgentRepo
from served import Server


def test_two_agents_find_exactly_the_shared_cells_through_the_relay(private_pair):
    done = private_pair.both_rounds()
    for party, result in done.items():
        assert result.returncode == 0, f"{party}: {result.stderr}"
    red_ops, blue_ops = (
        plan_of(private_pair.stores["red"], "red"),
        plan_of(private_pair.stores["blue"], "blue"),
    )
    expected = plan_cells(red_ops, MINIMA, GRID).cells & plan_cells(blue_ops, MINIMA, GRID).cells
    assert expected, "the scenario must share cells"
    red, blue = notices_of(private_pair.stores["red"]), notices_of(private_pair.stores["blue"])
    found = {(n.cell, n.band, n.slot) for n in red}
    assert found == {(c.cell, c.band, c.slot) for c in expected}
    assert found == {(n.cell, n.band, n.slot) for n in blue}
    # both sides cite the same reference for the same cell
    assert {(n.reference, n.cell, n.band, n.slot) for n in red} == {
        (n.reference, n.cell, n.band, n.slot) for n in blue
    }
    # only the operations that meet got notices, and the native grid rule agrees
    assert {n.operation_id for n in red} == {"red-strike-1"}
    assert {n.operation_id for n in blue} == {"blue-recce-1"}
    native = operation_conflict(red_ops[1], blue_ops[0], MinimaPolicy(MINIMA, default_grid=GRID))
    assert native is not None
    assert set().union(*(o.cells for o in native.overlaps)) == {n.cell for n in red}


def test_a_later_round_sends_only_the_cells_that_changed(private_pair):
    first = private_pair.both_rounds("--json")
    assert all(r.returncode == 0 for r in first.values()), first
    store = open_store(private_pair.stores["blue"])
    try:
        with store.transaction() as tx:
            tx.insert_operation(circle_op("blue", "blue-late-3", 1.52, 1.52, 10.5))
    finally:
        store.close()
    second = private_pair.both_rounds("--json")
    assert all(r.returncode == 0 for r in second.values()), second
    red_round = orjson.loads(second["red"].stdout.splitlines()[0])["round"]
    blue_round = orjson.loads(second["blue"].stdout.splitlines()[0])["round"]
    new_blue = plan_cells([circle_op("blue", "blue-late-3", 1.52, 1.52, 10.5)], MINIMA, GRID).cells
    earlier = [op for op in plan_of(private_pair.stores["blue"], "blue") if op.id != "blue-late-3"]
    old_blue = plan_cells(earlier, MINIMA, GRID).cells
    assert (red_round["round"], red_round["cells_sent"]) == (2, 0)
    assert blue_round["cells_sent"] == len(new_blue - old_blue)
    ops = {n.operation_id for n in notices_of(private_pair.stores["red"])}
    assert ops == {"red-strike-1", "red-patrol-2"}  # the patrol meets the late operation


def _relay_text(url, workdir):
    """Every value in every table of the relay's store, and its log."""
    parts = []
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        with closing(sqlite3.connect(path)) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                parts += [repr(row) for row in conn.execute(f"SELECT * FROM {table}")]
            # the schema's own text names columns of every feature (an altitude limit, say)
            schema = [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")]
        for suffix in ("", "-wal"):
            file = Path(path + suffix)
            if file.exists():
                raw = file.read_bytes().decode("latin-1")
                for sql in schema:
                    raw = raw.replace(sql, "")
                parts.append(raw)
    else:
        with psycopg.connect(url) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                )
            ]
            for table in tables:
                parts += [repr(row) for row in conn.execute(f"SELECT * FROM {table}")]
    parts.append((workdir / "server.log").read_text())
    return "\n".join(parts)


def test_the_relay_store_and_log_hold_no_cell_coordinate_or_plan_field(private_pair, store_url):
    done = private_pair.both_rounds()
    assert all(r.returncode == 0 for r in done.values()), done
    text = _relay_text(store_url, private_pair.workdir)
    assert "private.commit" in text  # the relay did log the round's commitments (audit)
    assert '"route": "/v1/private/pairs/{peer}/messages"' in text  # and its log is at info level
    red_ops, blue_ops = (
        plan_of(private_pair.stores["red"], "red"),
        plan_of(private_pair.stores["blue"], "blue"),
    )
    cells = plan_cells(red_ops, MINIMA, GRID).cells | plan_cells(blue_ops, MINIMA, GRID).cells
    h3_ids = {c.cell for c in cells}
    for cell in h3_ids:
        assert str(cell) not in text
        assert h3int.int_to_str(cell) not in text.lower()
    for coordinate in (f"{LAT:.4f}", f"{LON:.4f}"):
        assert coordinate not in text
    for field in (
        "red-strike-1",
        "red-patrol-2",
        "blue-recce-1",
        "blue-tanker-2",
        "footprint",
        "Circle",
        "radius_m",
        "altitude",
    ):
        assert field not in text


def test_cells_blinded_ahead_are_used_by_the_round(private_pair):
    for party, peer in (("red", "blue"), ("blue", "red")):
        args = private_pair.agent_args(party, peer)
        args[1] = "ahead"
        made = run(*args)
        assert made.returncode == 0, made.stderr
        assert int(made.stdout.split()[0]) > 0
        again = run(*args)  # nothing left to blind
        assert again.stdout.startswith("0 cells"), again.stdout
    done = private_pair.both_rounds()
    assert all(r.returncode == 0 for r in done.values()), done
    red_ops, blue_ops = (
        plan_of(private_pair.stores["red"], "red"),
        plan_of(private_pair.stores["blue"], "blue"),
    )
    expected = plan_cells(red_ops, MINIMA, GRID).cells & plan_cells(blue_ops, MINIMA, GRID).cells
    assert {(n.cell, n.band, n.slot) for n in notices_of(private_pair.stores["red"])} == {
        (c.cell, c.band, c.slot) for c in expected
    }
    store = open_store(private_pair.stores["red"])
    try:
        with store.transaction() as tx:
            epoch = tx.repo(AgentRepo).rounds("blue")[0].epoch
            assert tx.repo(AgentRepo).ahead("blue", epoch) == {}  # spent by the round
            assert tx.repo(AgentRepo).ahead("blue", epoch + 1)  # tomorrow's, ready
    finally:
        store.close()


def test_agents_wait_out_the_relays_rate_limit(private_pair, store_url):
    private_pair.relay.stop()
    slow = Server(
        store_url,
        private_pair.workdir,
        extra_args=["--rate-per-s", "4", "--rate-burst", "4", "--log-level", "info"],
    ).start()
    private_pair.relay = slow
    try:
        done = private_pair.both_rounds()
    finally:
        slow.stop()
    assert all(r.returncode == 0 for r in done.values()), done
    assert notices_of(private_pair.stores["red"])
    assert '"status": 429' in (private_pair.workdir / "server.log").read_text()  # the limit did bite


def test_notices_acknowledgements_activation_and_the_leak_report(private_pair):
    done = private_pair.both_rounds()
    assert all(r.returncode == 0 for r in done.values()), done
    store = private_pair.stores["red"]
    listed = run("private", "notices", "--store", store)
    assert listed.returncode == 0
    assert "to acknowledge" in listed.stdout
    refs = sorted({n.reference for n in notices_of(store)})
    s = open_store(store)
    try:
        with s.transaction() as tx:
            op = tx.get_operation("red", "red-strike-1")
            tx.update_operation(
                replace(op, state=OperationState.ACCEPTED, version=op.version + 1), op.version
            )
    finally:
        s.close()
    refused = run("private", "activate", "red-strike-1", "--store", store, "--as", "red")
    assert refused.returncode == 5, refused.stderr
    assert refs[0] in refused.stderr
    assert run("private", "ack", "PX-0000000000", "--store", store).returncode == 4
    for ref in refs:
        acked = run("private", "ack", ref, "--store", store)
        assert acked.returncode == 0, acked.stderr
    activated = run("private", "activate", "red-strike-1", "--store", store, "--as", "red")
    assert activated.returncode == 0, activated.stderr
    cid, secret = private_pair.creds["red"]
    report = run(
        "private",
        "report",
        "--store",
        store,
        "--relay",
        private_pair.relay.url,
        "--peer",
        "blue",
        "--client-id",
        cid,
        "--client-secret",
        secret,
    )
    assert report.returncode == 0, report.stderr
    data = orjson.loads(report.stdout)
    [round_] = data["rounds"]
    red_ops, blue_ops = plan_of(store, "red"), plan_of(private_pair.stores["blue"], "blue")
    shared = plan_cells(red_ops, MINIMA, GRID).cells & plan_cells(blue_ops, MINIMA, GRID).cells
    assert round_["shared_cells"] == len(shared) == len(data["we_learned"])
    assert round_["we_sent"]["cells"] == len(plan_cells(red_ops, MINIMA, GRID))
    [relay_round] = data["relay"]["rounds"]
    assert set(relay_round["sides"]) == {"red", "blue"}
    assert relay_round["sides"]["red"]["bucket"] == round_["we_sent"]["bucket"]
    relay_text = orjson.dumps(data["relay"]).decode()
    assert not any(str(c.cell) in relay_text for c in shared)
