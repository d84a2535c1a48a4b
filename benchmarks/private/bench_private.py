"""Private mode against native mode on the same plans, side by side in one run.

    PYTHONPATH=src .venv/bin/python benchmarks/private/bench_private.py [--cells 5000] [--seed 1]

1. The scenario: red's 50 × 50 km, 4-hour operation (FL100-FL200) against blue's day of
   300 operations (small areas, 30-90 minutes, 500-2,500 ft thick) spread over 200 km,
   on the default grid (H3 resolution 6, 1,000 ft, 15 min) at en-route minima.
2. Native mode: the engine's conflicts of red's operation with blue's 300, exact and on
   the grid (what the service computes in native mode, minus its store).
3. Private mode end to end: a relay (`deconfliction serve`, SQLite) and the two agents
   (`deconfliction private agent`) as three processes over HTTP on localhost; each
   agent's CPU time (user + system: one core's work) and wall time for one full round,
   its cells, buckets and bytes on the wire.
4. The core exchange per core, one process, one thread, N cells a side: the naive
   one-at-a-time ECDH baseline (each cell its own exchange: RFC 9380 hash from scratch,
   blind, its own sealed message, opened, its point validated, re-blinded, its tag sent
   back sealed) against the batched exchange (the DST's hashing prefix kept, a set in one
   sealed message of up to 8,192 points, validation folded into libsodium's
   multiplication, 16-byte tags), cold (blinding in the round) and with the blinding done
   ahead when the plan was filed (what every later round of an epoch does).
5. False positives against the exact engine: pairs of operations that share a private
   cell but are not in conflict exactly.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from deconfliction.engine.minima import EN_ROUTE, MinimaPolicy
from deconfliction.engine.operation import Operation
from deconfliction.engine.policy import PairMode, PairPolicy
from deconfliction.engine.strategic import conflicts_with
from deconfliction.geo import AltitudeBand, Circle, Datum, Polygon, Position, TimeWindow, Volume4D
from deconfliction.geo.grid import DEFAULT_GRID
from deconfliction.private import psi
from deconfliction.private.cells import plan_cells
from deconfliction.private.channel import Channel, new_private_key, public_key
from deconfliction.private.protocol import PART, EpochState, Round, blind_cells
from deconfliction.service.clock import SystemClock
from deconfliction.service.credentials import create_credential
from deconfliction.store import Party, open_store
from deconfliction.store.auth import parse_scopes
from deconfliction.store.policy import PoliciesRepo
from deconfliction.units import FOOT_M

LAT, LON = 35.0, 40.0
KM_LAT = 1 / 111.0
BIN = str(Path(sys.executable).parent / "deconfliction")


def day(hours: float) -> datetime:
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return now + timedelta(hours=hours)


def km_lon(lat: float) -> float:
    import math

    return 1 / (111.0 * math.cos(math.radians(lat)))


def red_plan() -> list[Operation]:
    half_lat, half_lon = 25 * KM_LAT, 25 * km_lon(LAT)
    square = Polygon(
        (
            Position(LAT - half_lat, LON - half_lon),
            Position(LAT - half_lat, LON + half_lon),
            Position(LAT + half_lat, LON + half_lon),
            Position(LAT + half_lat, LON - half_lon),
        )
    )
    band = AltitudeBand(10_000 * FOOT_M, 20_000 * FOOT_M, Datum.MSL)
    return [Operation("red", "red-box", (Volume4D(square, band, TimeWindow(day(9), day(13))),))]


def blue_plan(rng: random.Random) -> list[Operation]:
    ops = []
    for n in range(300):
        lat = LAT + rng.uniform(-100, 100) * KM_LAT
        lon = LON + rng.uniform(-100, 100) * km_lon(LAT)
        lower = rng.uniform(500, 25_000) * FOOT_M
        band = AltitudeBand(lower, lower + rng.uniform(500, 2_500) * FOOT_M, Datum.MSL)
        start = rng.uniform(0, 23)
        window = TimeWindow(day(start), day(start + rng.uniform(0.5, 1.5)))
        footprint = Circle(Position(lat, lon), rng.uniform(1_000, 4_000))
        ops.append(Operation("blue", f"blue-{n:03d}", (Volume4D(footprint, band, window),)))
    return ops


# -- 2. native ------------------------------------------------------------------------------


def native(red: list[Operation], blue: list[Operation]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, policy in (
        ("exact", MinimaPolicy(EN_ROUTE)),
        ("grid", MinimaPolicy(EN_ROUTE, default_grid=DEFAULT_GRID)),
    ):
        started = time.process_time()
        found = conflicts_with(red[0], blue, policy)
        out[name] = {"cpu_s": time.process_time() - started, "conflicts": sorted(c.b.id for c in found)}
    return out


# -- 3. private, end to end ---------------------------------------------------------------


def _setup(workdir: Path, red: list[Operation], blue: list[Operation]) -> dict[str, Any]:
    relay_db = str(workdir / "relay.sqlite")
    store = open_store(relay_db)
    creds = {}
    try:
        with store.transaction() as tx:
            for p in ("red", "blue"):
                tx.add_party(Party(p, p))
            for p in ("red", "blue"):
                issued = create_credential(tx, p, parse_scopes("read,file"), SystemClock())
                creds[p] = (issued.credential.client_id, issued.secret)
            tx.set_pair_minima("blue", "red", EN_ROUTE)
            tx.repo(PoliciesRepo).set(
                PairPolicy("blue", "red", grid=DEFAULT_GRID, mode=PairMode.PRIVATE, private_budget=1 << 20)
            )
    finally:
        store.close()
    setup: dict[str, Any] = {"relay_db": relay_db, "creds": creds, "keys": {}, "public": {}, "stores": {}}
    for p, plan in (("red", red), ("blue", blue)):
        key_file = workdir / f"{p}.keys"
        made = subprocess.run(
            [BIN, "private", "keys", str(key_file)], capture_output=True, text=True, check=True
        )
        setup["keys"][p], setup["public"][p] = key_file, made.stdout.strip()
        path = str(workdir / f"{p}-agent.sqlite")
        agent_store = open_store(path)
        try:
            with agent_store.transaction() as tx:
                tx.add_party(Party(p, p))
                for op in plan:
                    tx.insert_operation(op)
        finally:
            agent_store.close()
        setup["stores"][p] = path
    return setup


def private_end_to_end(red: list[Operation], blue: list[Operation], ahead: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        s = _setup(workdir, red, blue)
        port = 18_000 + os.getpid() % 1000
        url = f"http://127.0.0.1:{port}"
        relay = subprocess.Popen(
            [
                BIN,
                "serve",
                "--db",
                s["relay_db"],
                "--port",
                str(port),
                "--key-file",
                str(workdir / "t.key"),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=workdir,
        )
        try:
            import httpx

            for _ in range(300):
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)

            def args(command: str, p: str, q: str) -> list[str]:
                cid, secret = s["creds"][p]
                return [
                    *(BIN, "private", command, "--store", s["stores"][p], "--as", p, "--relay", url),
                    *("--client-id", cid, "--client-secret", secret, "--peer", q, "--key-file"),
                    *(str(s["keys"][p]), "--peer-key", s["public"][q], "--timeout-s", "120"),
                ]

            out: dict[str, Any] = {}
            if ahead:
                for p, q in (("red", "blue"), ("blue", "red")):
                    proc = subprocess.Popen(args("ahead", p, q), stdout=subprocess.DEVNULL)
                    _, status, usage = os.wait4(proc.pid, 0)
                    if status:
                        raise RuntimeError(f"{p}'s ahead failed")
                    out[f"{p}_ahead_cpu_s"] = usage.ru_utime + usage.ru_stime
            agents = {}
            started = time.perf_counter()
            for p, q in (("red", "blue"), ("blue", "red")):
                agents[p] = subprocess.Popen(
                    [*args("agent", p, q), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
            for p, proc in agents.items():
                _, status, usage = os.wait4(proc.pid, 0)
                stdout = proc.stdout.read() if proc.stdout else b""
                stderr = proc.stderr.read() if proc.stderr else b""
                if status:
                    raise RuntimeError(f"{p}'s agent failed: {stderr.decode()[-2000:]}")
                line = orjson.loads(stdout.splitlines()[0])
                out[p] = {
                    "cpu_s": usage.ru_utime + usage.ru_stime,
                    "wall_s": time.perf_counter() - started,
                    **line["round"],
                    "references": len(line["references"]),
                }
            relay_usage = None
        finally:
            relay.terminate()
            _, _, relay_usage = os.wait4(relay.pid, 0)
        out["relay_cpu_s"] = relay_usage.ru_utime + relay_usage.ru_stime
        return out


# -- 4. the core exchange -----------------------------------------------------------------


def _cells(n: int, offset: int) -> list[bytes]:
    return [(offset + k).to_bytes(20, "big") for k in range(n)]


def naive(n: int, shared: int) -> dict[str, Any]:
    """Each cell its own exchange between A and B; both sides' work, timed together."""
    dst = b"naive-baseline-dst"
    a_key, b_key = new_private_key(), new_private_key()
    a_cells, b_cells = _cells(n, 0), _cells(n, n - shared)
    sa = psi.EpochSecret.derive(b"a" * 32, dst)
    sb = psi.EpochSecret.derive(b"b" * 32, dst)
    ab = Channel("a", "b", 1, a_key, public_key(b_key))
    ba = Channel("b", "a", 1, b_key, public_key(a_key))
    import rbcl

    def one(
        cell: bytes, mine: psi.EpochSecret, theirs: psi.EpochSecret, out: Channel, back: Channel
    ) -> bytes:
        point = rbcl.crypto_core_ristretto255_from_hash(psi.expand_message_xmd(cell, dst, 64))
        blinded = rbcl.crypto_scalarmult_ristretto255(mine.scalar, point)
        received = back.open(out.seal(1, "blinded", 1, blinded))
        psi.check_point(received, "p")
        tag = psi.tag(rbcl.crypto_scalarmult_ristretto255(theirs.scalar, received))
        return out.open(back.seal(1, "tags", 1, tag))

    started = time.process_time()
    a_tags = {one(c, sa, sb, ab, ba) for c in a_cells}
    b_tags = {one(c, sb, sa, ba, ab) for c in b_cells}
    elapsed = time.process_time() - started
    assert len(a_tags & b_tags) == shared
    return {"cpu_s_per_party": elapsed / 2, "cells_per_s": n / (elapsed / 2)}


def batched(n: int, shared: int) -> dict[str, Any]:
    """The protocol's rounds, both sides in one thread; blinding in the round (cold) and
    the online part alone (blinding done ahead)."""
    dst = psi.domain_tag("a", "b", 1, DEFAULT_GRID)
    keys = {"a": new_private_key(), "b": new_private_key()}
    from deconfliction.private.cells import SpaceTimeCell

    cells = {
        "a": [SpaceTimeCell(k, 0, 0) for k in range(n)],
        "b": [SpaceTimeCell(k, 0, 0) for k in range(n - shared, 2 * n - shared)],
    }

    def side(me: str, peer: str) -> Round:
        state = EpochState(1)
        channel = Channel(me, peer, 1, keys[me], public_key(keys[peer]), state.sent, state.received)
        return Round(state, channel, dst, psi.EpochSecret.derive(me.encode() * 32, dst), 1)

    a, b = side("a", "b"), side("b", "a")
    t1 = time.process_time()
    ahead = {p: blind_cells(dst, side_.secret, cells[p]) for p, side_ in (("a", a), ("b", b))}
    t_blind = time.process_time() - t1
    t2 = time.process_time()
    ca, cb = a.prepare(cells["a"], ahead["a"]), b.prepare(cells["b"], ahead["b"])
    a.take_commit(cb)
    b.take_commit(ca)
    ta: list[Any] = []
    tb: list[Any] = []
    for env in b.blinded_messages():
        ta += a.take_blinded(env)
    for env in a.blinded_messages():
        tb += b.take_blinded(env)
    for env in tb:
        a.take_tags(env)
    for env in ta:
        b.take_tags(env)
    t_online = time.process_time() - t2
    assert len(a.state.shared(cells["a"])) == shared
    cold = (t_blind + t_online) / 2
    padded = psi.bucket(n)
    wire = (32 + 16) + (padded * 32 + 16 * -(-padded // PART)) + (padded * 16 + 16 * -(-padded // PART))
    return {
        "cold_cpu_s_per_party": cold,
        "cold_cells_per_s": n / cold,
        "online_cpu_s_per_party": t_online / 2,
        "online_cells_per_s": n / (t_online / 2),
        "sealed_bytes_per_cell": wire / n,
        "bucket": padded,
    }


# -- 5. false positives -------------------------------------------------------------------


def false_positives(red: list[Operation], blue: list[Operation]) -> dict[str, Any]:
    red_cells = plan_cells(red, EN_ROUTE, DEFAULT_GRID).cells
    flagged = [op.id for op in blue if plan_cells([op], EN_ROUTE, DEFAULT_GRID).cells & red_cells]
    exact = {c.b.id for c in conflicts_with(red[0], blue, MinimaPolicy(EN_ROUTE))}
    assert exact <= set(flagged), "private mode missed an exact conflict"
    return {
        "flagged": len(flagged),
        "exact": len(exact),
        "false_positive_rate": (len(flagged) - len(exact)) / len(flagged) if flagged else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=5000, help="cells a side for the core exchange")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-end-to-end", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    red, blue = red_plan(), blue_plan(rng)
    red_n = len(plan_cells(red, EN_ROUTE, DEFAULT_GRID))
    blue_n = len(plan_cells(blue, EN_ROUTE, DEFAULT_GRID))
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load {os.getloadavg()[0]:.2f}"
    )
    print(f"scenario: red 1 operation = {red_n} cells; blue 300 operations = {blue_n} cells")
    nat = native(red, blue)
    print(f"native, exact: {nat['exact']['cpu_s']:.3f} s CPU, {len(nat['exact']['conflicts'])} conflicts")
    print(f"native, grid:  {nat['grid']['cpu_s']:.3f} s CPU, {len(nat['grid']['conflicts'])} conflicts")
    fp = false_positives(red, blue)
    print(
        f"private flags {fp['flagged']} of blue's operations, {fp['exact']} in exact conflict: "
        f"false-positive rate {fp['false_positive_rate']:.1%} (the grid's)"
    )
    if not args.skip_end_to_end:
        for ahead in (False, True):
            e2e = private_end_to_end(red, blue, ahead)
            label = "blinded ahead" if ahead else "cold"
            for p in ("red", "blue"):
                r = e2e[p]
                per_cell = r["bytes_sent"] / max(1, r["cells_sent"])
                before = f" (after {e2e[p + '_ahead_cpu_s']:.2f} s blinding ahead)" if ahead else ""
                print(
                    f"private, end to end, {label}, {p}: {r['cpu_s']:.2f} s CPU{before},"
                    f" {r['wall_s']:.2f} s wall;"
                    f" sent {r['cells_sent']} cells in a bucket of {r['bucket']} ({per_cell:.1f} sealed bytes"
                    f" a cell), received a bucket of {r['peer_bucket']}; {r['shared']} cells shared"
                )
            print(f"relay: {e2e['relay_cpu_s']:.2f} s CPU")
    n = args.cells
    base = naive(n, n // 10)
    fast = batched(n, n // 10)
    print(f"core exchange, {n} cells a side, per party on one core:")
    print(f"  naive one-at-a-time ECDH: {base['cpu_s_per_party']:.2f} s, {base['cells_per_s']:,.0f} cells/s")
    for label, key in (("cold:          ", "cold"), ("blinding ahead:", "online")):
        rate = fast[f"{key}_cells_per_s"]
        print(
            f"  batched, {label} {fast[f'{key}_cpu_s_per_party']:.2f} s, {rate:,.0f} cells/s"
            f" ({rate / base['cells_per_s']:.2f}x)"
        )
    print(f"  sealed bytes a cell (bucket {fast['bucket']}): {fast['sealed_bytes_per_cell']:.1f}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
