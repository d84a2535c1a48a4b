"""Strategic filing benchmark (issue 2): file one operation into a store that already holds N.

Pre-loads N realistic operations (circles, polygons, corridors, racetracks and arc sectors
over a 10 x 10 degree region around the Euphrates, windows inside one day, flight-level
bands FL100-FL400 plus some low-level MSL/AGL traffic) with bulk inserts, then files M
more one at a time through the full path a service filing takes:

    validate (build the domain values from raw numbers) -> candidate cells + find_candidates
    -> exact check (engine.strategic.conflicts_with) -> insert_operation + replace_conflicts,
    all in one store transaction that commits durably.

It reports p50/p99 latency, filings/s and CPU per filing on one core, and checks for a
sample of filings that the conflicts found through the index equal a brute-force check
against every stored live operation. Anchor: the InterUSS DSS reports ~120 inserts/s on
a local setup and plans for 0.1 s per query.

    .venv/bin/python benchmarks/strategic_filing.py --backend sqlite --stored 100000
    .venv/bin/python benchmarks/strategic_filing.py --backend postgres --stored 100000 \
        --pg-url postgresql:///test
    .venv/bin/python benchmarks/strategic_filing.py --backend sqlite --stored 100000 --write-docs

``file_one`` below times the service layer's own filing use-case (``OperationService.file``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import json
import math
import multiprocessing
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from deconfliction.engine.limits import OUT_OF_REACH
from deconfliction.engine.minima import EN_ROUTE, Minima, MinimaPolicy
from deconfliction.engine.operation import Operation, OperationState
from deconfliction.engine.strategic import Candidate, StrategicConflict, conflicts_with
from deconfliction.geo import (
    AltitudeBand,
    ArcSector,
    Circle,
    Corridor,
    Datum,
    Footprint,
    Polygon,
    Position,
    Racetrack,
    TimeWindow,
    Volume4D,
)
from deconfliction.geo.cells import search_and_index_cells
from deconfliction.service import OperationService
from deconfliction.service.access import AccessService
from deconfliction.service.clock import SystemClock
from deconfliction.service.operations import FilingResult
from deconfliction.store import Party, PartyKind, Store, open_store
from deconfliction.store.limits import LimitsRepo
from deconfliction.store.postgres import PostgresStore
from deconfliction.store.sql import SqlTransaction, volume_cells
from deconfliction.store.sqlite import SqliteStore
from deconfliction.units import FLIGHT_LEVEL_M

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Strategic filing (issue 2)"

#: Region: 31-41 N, 35-45 E (Syria, the Euphrates line, and around).
LAT0, LON0, SPAN = 31.0, 35.0, 10.0
DAY = datetime(2025, 10, 1, tzinfo=UTC)
PARTIES = (
    Party("red", "Red Air Operations Centre"),
    Party("blue", "Blue Combined Air Operations Centre"),
    Party("civil", "Civil ANSP", PartyKind.CIVIL),
    Party("uas", "UAS Service Supplier", PartyKind.UAS),
)
#: 3 NM between the two forces (as practised in 2015), en-route defaults otherwise.
POLICY = MinimaPolicy(EN_ROUTE, {("blue", "red"): Minima(3 * 1852.0, 1000 * 0.3048, 300.0)})

# --- scenario -------------------------------------------------------------------------

Spec = tuple[str, str, list[tuple[Any, ...]], int]  # party, id, raw volumes, priority


def raw_operation(rng: random.Random, party: str, n: int, days: int = 1) -> Spec:
    """An operation as raw numbers, as it would arrive from outside (validated in filing)."""
    volumes = []
    lat = LAT0 + rng.uniform(0.5, SPAN - 0.5)
    lon = LON0 + rng.uniform(0.5, SPAN - 0.5)
    start = rng.uniform(0.0, days * 86_400.0 - 2.0 * 3600.0)
    for _ in range(rng.choice((1, 1, 1, 1, 2, 3))):
        r = rng.random()
        if r < 0.45:
            fp: tuple[Any, ...] = ("circle", lat, lon, rng.uniform(1000.0, 10_000.0))
        elif r < 0.65:
            k = rng.randint(4, 8)
            size = rng.uniform(0.03, 0.12)
            fp = (
                "polygon",
                [
                    (lat + size * math.sin(2 * math.pi * i / k), lon + size * math.cos(2 * math.pi * i / k))
                    for i in range(k)
                ],
            )
        elif r < 0.85:
            heading = rng.uniform(0, 2 * math.pi)
            length = rng.uniform(0.1, 0.5)
            fp = (
                "corridor",
                [(lat, lon), (lat + length * math.sin(heading), lon + length * math.cos(heading))],
                rng.uniform(2000.0, 8000.0),
            )
        elif r < 0.95:
            fp = (
                "racetrack",
                (lat, lon),
                (lat + rng.uniform(-0.2, 0.2), lon + rng.uniform(0.05, 0.2)),
                6000.0,
            )
        else:
            b0 = rng.uniform(0.0, 360.0)
            fp = (
                "arc",
                lat,
                lon,
                rng.uniform(0.0, 3000.0),
                rng.uniform(5000.0, 15_000.0),
                b0,
                (b0 + 90.0) % 360.0,
            )
        if party == "uas":
            band: tuple[Any, ...] = (0.0, rng.choice((60.0, 120.0, 150.0)), "AGL")
        elif party == "civil" and rng.random() < 0.3:
            band = (0.0, rng.uniform(600.0, 3000.0), "MSL")
        else:
            lo_fl = rng.randrange(100, 360, 10)
            band = (lo_fl * FLIGHT_LEVEL_M, (lo_fl + rng.randrange(10, 50, 10)) * FLIGHT_LEVEL_M, "STD")
        duration = rng.uniform(1800.0, 3 * 3600.0)
        volumes.append((fp, band, start, start + duration))
        start += duration
        lat += rng.uniform(-0.1, 0.1)
        lon += rng.uniform(-0.1, 0.1)
    return (party, f"{party}-{n:07d}", volumes, rng.randrange(0, 101))


def _position(p: Sequence[float]) -> Position:
    return Position(p[0], p[1])


def build(spec: Spec) -> Operation:
    """Validate: turn raw numbers into domain values (each checks its own rules)."""
    party, op_id, raw, priority = spec
    volumes = []
    for fp, (lo, hi, datum), t0, t1 in raw:
        kind = fp[0]
        footprint: Footprint
        if kind == "circle":
            footprint = Circle(Position(fp[1], fp[2]), fp[3])
        elif kind == "polygon":
            footprint = Polygon(tuple(_position(p) for p in fp[1]))
        elif kind == "corridor":
            footprint = Corridor(tuple(_position(p) for p in fp[1]), fp[2])
        elif kind == "racetrack":
            footprint = Racetrack(_position(fp[1]), _position(fp[2]), fp[3])
        else:
            footprint = ArcSector(Position(fp[1], fp[2]), fp[3], fp[4], fp[5], fp[6])
        volumes.append(
            Volume4D(
                footprint,
                AltitudeBand(lo, hi, Datum(datum)),
                TimeWindow(DAY + timedelta(seconds=t0), DAY + timedelta(seconds=t1)),
            )
        )
    return Operation(party, op_id, tuple(volumes), state=OperationState.ACCEPTED, priority=priority)


def specs(seed: int, count: int, prefix: str = "", days: int = 1) -> Iterator[Spec]:
    rng = random.Random(seed)
    weights = (0.3, 0.3, 0.25, 0.15)
    for n in range(count):
        party = rng.choices([p.id for p in PARTIES], weights)[0]
        party_, op_id, raw, priority = raw_operation(rng, party, n, days)
        yield (party_, prefix + op_id, raw, priority)


def _indexed(spec: Spec) -> tuple[Operation, list[frozenset[int]]]:
    op = build(spec)
    return op, volume_cells(op)


# --- the filing use-case ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filed:
    operation: Operation
    conflicts: list[StrategicConflict]
    seconds: float


def file_one(service: OperationService, spec: Spec) -> Filed:
    """The service's filing use-case, timed from raw numbers: validate, find candidates,
    check exactly, store operation and conflicts in one durable transaction."""
    started = time.perf_counter()
    result = service.file(build(spec))
    return Filed(result.operation, list(result.conflicts), time.perf_counter() - started)


#: Filings timed step by step after the measured ones (not part of the p50/p99).
PHASE_FILINGS = 500


def phase_split(
    store: Store, service: OperationService, batch: Sequence[Spec]
) -> tuple[dict[str, float], dict[str, float]]:
    """Mean milliseconds per filing in each step of ``OperationService.file``, timed by
    taking the same steps one by one (``file_one`` times the use-case itself), and the
    mean volume pairs per filing that the exact check tests (``matched`` by the index)
    out of ``all`` the pairs of the candidate operations."""
    if not isinstance(store, SqliteStore | PostgresStore):
        raise TypeError("the phase split needs one of the SQL stores")
    spent: dict[str, float] = {}
    counts = {"matched": 0.0, "all": 0.0}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        spent[name] = spent.get(name, 0.0) + now - since
        return now

    for spec in batch:
        t = time.perf_counter()
        operation = build(spec)
        t = lap("validate (build the domain values)", t)
        with store.transaction() as tx:
            assert isinstance(tx, SqlTransaction)
            t = lap("begin", t)
            tx.get_party(operation.party)
            policy = service.policy_in(tx)
            reach = policy.widest_for(operation.party)
            t = lap("party and policy", t)
            pairs: dict[int, set[tuple[int, int]]] = {}
            for i, volume in enumerate(operation.volumes):
                cells, own = search_and_index_cells(volume.footprint, reach.horizontal_m)
                tx.remember_search(volume.footprint, own)
                t = lap("search and index cells (H3)", t)
                for op_key, idx in tx.candidate_keys(volume, cells, reach, operation.party):
                    pairs.setdefault(op_key, set()).add((i, idx))
                t = lap("candidate query (SQL)", t)
            needed = {k: {j for _, j in p} for k, p in pairs.items()}
            candidates = [
                Candidate(ref, v, frozenset(pairs[k])) for k, ref, v in tx.candidate_volumes(needed)
            ]
            t = lap("read and decode candidates", t)
            counts["matched"] += sum(len(c.pairs) for c in candidates)
            counts["all"] += len(operation.volumes) * _volume_count(tx, pairs)
            t = time.perf_counter()  # the count is not part of the filing
            conflicts = conflicts_with(operation, candidates, policy)
            t = lap("exact check and overlap regions (engine)", t)
            tx.insert_operation(operation)
            t = lap("insert", t)
            tx.replace_conflicts(operation.party, operation.id, conflicts)
            t = lap("store conflicts", t)
        lap("commit", t)
    return (
        {name: 1e3 * total / len(batch) for name, total in spent.items()},
        {name: total / len(batch) for name, total in counts.items()},
    )


def _volume_count(tx: SqlTransaction, keys: Iterable[int]) -> int:
    """How many volumes the operations with these keys hold in all."""
    wanted = sorted(keys)
    if not wanted:
        return 0
    sql = "SELECT volumes FROM operations WHERE op_key {in_ints}"
    rows = tx._x(sql, (tx.dialect.int_list_param(wanted),)).fetchall()
    return sum(len(orjson.loads(text)) for (text,) in rows)


# --- runs ---------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    stored: int
    days: int
    filings: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    per_s: float
    #: CPU time of this process per timed filing (PostgreSQL's own work is not in it): what
    #: one core spends, whatever the disk or the machine's other tenants do to the wall clock
    cpu_ms: float
    mean_conflicts: float
    checked: int
    preload_s: float
    preload_per_s: float
    #: mean ms per filing in each step, from further filings taken step by step
    phases: dict[str, float]
    #: mean volume pairs per filing the exact check tests, of all the candidates' pairs
    pairs: dict[str, float]
    #: the slowest 1 % of the timed filings: mean ms, conflicts and overlapping volume pairs
    slowest: dict[str, float]
    #: mean overlapping volume pairs per filing, over all timed filings
    mean_overlaps: float
    #: filings in batches (``OperationService.file_many``): size, filings/s, CPU ms per
    #: filing, batch p50/p99/max ms, conflicts per filing, filings checked by brute force
    batch: dict[str, float]
    #: filings from many threads at once on one CPU (``file_concurrently``): threads,
    #: filings/s, CPU ms per filing, latency p50/p99/max ms, mean group, filings checked
    concurrent: dict[str, float]
    #: through ``AccessService`` (what the HTTP API runs: notices, audit, events, views):
    #: filings/s and CPU ms per filing one at a time and in batches
    access: dict[str, float]
    #: the garbage collector's full passes during the timed filings: how many, the longest ms
    full_gc: dict[str, float]


class FullCollections:
    """Times the garbage collector's full (generation 2) passes while it is entered: each
    stops the filing it lands in for as long as the collector walks every tracked object."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._started = 0.0

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds.append(time.perf_counter() - self._started)

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._on_gc)

    def summary(self) -> dict[str, float]:
        return {"passes": len(self.seconds), "longest_ms": 1e3 * max(self.seconds, default=0.0)}


def _open(backend: str, where: str) -> tuple[Store, str]:
    if backend == "sqlite":
        path = Path(where) / f"bench-{uuid.uuid4().hex[:8]}.sqlite"
        return open_store(f"sqlite:///{path}"), str(path)
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(where, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in where else "?"
    return open_store(f"{where}{sep}options=-csearch_path%3D{schema}"), schema


def _drop(backend: str, where: str, handle: str) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(handle + suffix).unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(where, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {handle} CASCADE")


def _at_rest(backend: str, store: Store, where: str, handle: str) -> Store:
    """The pre-loaded store as a running service finds it, rather than seconds after a bulk
    load whose write-back is still under way, work that would land in the timed filings.

    SQLite: the bulk load's last pages are still in the WAL (67 MB at 100,000; before the
    store bounded its WAL, 801 MB at 100,000 and 23 GB at 1,000,000), which the checkpointer
    would copy back into the file during the first timed filings; closing the last connection
    checkpoints all of it, and the store is opened again (decision 0014). PostgreSQL: the
    schema is vacuumed and analysed, as autovacuum would have done, and checkpointed. (Until
    session 11 it was timed as loaded: a filing's conflicts DELETE, most likely through a
    plan made while ANALYZE had seen ``conflicts`` empty, then cost three to four times as
    much; filings no longer run that DELETE, decision 0014's addendum.)"""
    if backend != "sqlite":
        import psycopg

        with psycopg.connect(where, autocommit=True) as conn:
            tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (handle,))
            conn.execute("VACUUM ANALYZE " + ", ".join(f"{handle}.{t}" for (t,) in tables.fetchall()))
            conn.execute("CHECKPOINT")
        print(f"[postgres] vacuumed, analysed and checkpointed {handle} before timing", file=sys.stderr)
        return store
    wal = Path(handle + "-wal")
    size = wal.stat().st_size if wal.exists() else 0
    store.close()
    print(f"[sqlite] checkpointed a WAL of {size / 2**20:,.0f} MB before timing", file=sys.stderr)
    return open_store(f"sqlite:///{handle}")


def preload(
    store: Store, stored: int, seed: int, days: int, workers: int, keep: list[Operation] | None = None
) -> None:
    """The parties, their minima and ``stored`` operations of the scenario, with bulk
    inserts (coverings computed by ``workers`` processes); ``keep`` gets the operations."""
    with store.transaction() as tx:
        for party in PARTIES:
            tx.add_party(party)
            # this measures filing, not plausibility: no limit is reached (the check runs)
            tx.repo(LimitsRepo).set(party.id, OUT_OF_REACH)
        for (a, b), minima in POLICY.pairs.items():
            tx.set_pair_minima(a, b, minima)
    t0 = time.perf_counter()
    batch: list[tuple[Operation, list[frozenset[int]]]] = []
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for n, item in enumerate(pool.imap(_indexed, specs(seed, stored, days=days), chunksize=256), 1):
            batch.append(item)
            if keep is not None:
                keep.append(item[0])
            if len(batch) == 5000 or n == stored:
                with store.transaction() as tx:
                    assert isinstance(tx, SqlTransaction)
                    for op, cells in batch:
                        tx.insert_indexed(op, cells)
                batch.clear()
                if n % 100_000 == 0:
                    print(f"  {n:,} in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)


def run(
    backend: str,
    stored: int,
    filings: int,
    check: int,
    seed: int,
    where: str,
    workers: int,
    keep_ops: bool,
    days: int = 1,
    batch: int = 0,
    threads: int = 0,
) -> Result:
    store, handle = _open(backend, where)
    live: list[Operation] = []
    try:
        print(f"[{backend}] pre-loading {stored:,} operations ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        preload(store, stored, seed, days, workers, live if keep_ops else None)
        preload_s = time.perf_counter() - t0
        store = _at_rest(backend, store, where, handle)
        # The brute-force reference keeps every stored operation alive in this process: out
        # of the cyclic collector, or its full passes over them (up to seconds at 1,000,000)
        # would land inside the timed filings. A service process holds no such list.
        gc.collect()
        gc.freeze()
        print(f"[{backend}] pre-loaded in {preload_s:.1f} s; filing {filings:,} ...", file=sys.stderr)

        service = OperationService(store)
        new = list(specs(seed + 1, filings + 50, prefix="new-", days=days))
        for spec in new[:50]:  # warm-up: prepared statements, the first frames
            file_one(service, spec)
            if keep_ops:
                live.append(build(spec))
        timed = new[50:]
        drawn = random.Random(seed).sample(range(len(timed)), min(check, len(timed))) if keep_ops else []
        sample = set(drawn)
        # Only what the report needs is kept while timing (and the sampled filings, for the
        # brute-force check): holding every result, operations with their derived shapes
        # and conflicts with their regions, would grow what the collector walks, and its
        # full passes would land inside the timed filings, which a service holds no list of.
        kept: dict[int, Filed] = {}
        times: list[float] = []
        counts: list[tuple[int, int]] = []  # conflicts, overlapping volume pairs
        with FullCollections() as full_gc:
            started, cpu_started = time.perf_counter(), time.process_time()
            for n, spec in enumerate(timed):
                filed = file_one(service, spec)
                times.append(filed.seconds)
                counts.append((len(filed.conflicts), _overlaps(filed)))
                if n in sample:
                    kept[n] = filed
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        phases, pairs = phase_split(
            store, service, list(specs(seed + 2, PHASE_FILINGS, prefix="phase-", days=days))
        )

        checked = 0
        if keep_ops:
            # Brute force: each sampled filing against every operation stored before it.
            by_key = {op.key: n for n, op in enumerate(live)}
            before = len(live)
            live.extend(build(spec) for spec in timed)
            for i in sorted(sample):
                filed = kept[i]
                assert filed.operation.key not in by_key
                expected = conflicts_with(filed.operation, live[: before + i], POLICY)
                got = sorted(filed.conflicts, key=lambda c: (c.b.party, c.b.id))
                expected = sorted(expected, key=lambda c: (c.b.party, c.b.id))
                if got != expected:
                    raise SystemExit(f"indexed conflicts differ from brute force for {filed.operation.key}")
                checked += 1
            # the step-by-step filings are stored too, after the timed ones
            live.extend(build(spec) for spec in specs(seed + 2, PHASE_FILINGS, prefix="phase-", days=days))
        batched: dict[str, float] = {}
        if batch:
            batched = file_batches(service, seed, filings, batch, days, live if keep_ops else None, check)
        concurrent: dict[str, float] = {}
        if threads:
            concurrent = file_concurrently(
                service, seed, filings, threads, days, live if keep_ops else None, check
            )
        access = through_access(store, seed, filings, batch, days)
        by_time = sorted(range(len(times)), key=times.__getitem__)
        tail = by_time[len(by_time) - max(1, len(by_time) // 100) :]
        latency = _latencies(times)
        return Result(
            backend=backend,
            stored=stored,
            days=days,
            filings=filings,
            p50_ms=latency["p50_ms"],
            p99_ms=latency["p99_ms"],
            max_ms=latency["max_ms"],
            per_s=filings / wall,
            cpu_ms=1e3 * cpu / filings,
            mean_conflicts=statistics.fmean(c for c, _ in counts),
            checked=checked,
            preload_s=preload_s,
            preload_per_s=stored / preload_s,
            phases=phases,
            pairs=pairs,
            slowest={
                "ms": 1e3 * statistics.fmean(times[n] for n in tail),
                "conflicts": statistics.fmean(counts[n][0] for n in tail),
                "overlaps": statistics.fmean(counts[n][1] for n in tail),
            },
            mean_overlaps=statistics.fmean(o for _, o in counts),
            batch=batched,
            concurrent=concurrent,
            access=access,
            full_gc=full_gc.summary(),
        )
    finally:
        store.close()
        _drop(backend, where, handle)


def file_batches(
    service: OperationService,
    seed: int,
    filings: int,
    size: int,
    days: int,
    live: list[Operation] | None,
    check: int,
) -> dict[str, float]:
    """File ``filings`` more operations in batches of ``size`` of one party each (a plan),
    the parties' batches taking turns, through ``OperationService.file_many``; with
    ``live`` (every operation stored so far, in order), check ``check`` of them against
    brute force: each must get its conflicts with every operation stored before its batch."""
    by_party: dict[str, list[Spec]] = {}
    for spec in specs(seed + 3, filings, prefix="plan-", days=days):
        by_party.setdefault(spec[0], []).append(spec)
    chunks = [[lst[i : i + size] for i in range(0, len(lst), size)] for lst in by_party.values()]
    order = [chunk for turn in itertools.zip_longest(*chunks) for chunk in turn if chunk]
    total = sum(len(chunk) for chunk in order)
    sample = set(random.Random(seed).sample(range(total), min(check, total))) if live is not None else set()
    # as in run(): only the sampled results are kept while timing
    kept: dict[int, tuple[int, FilingResult]] = {}  # with how many operations were stored before
    times: list[float] = []
    conflicts = 0
    filed = 0
    before = len(live) if live is not None else 0  # stored before the first batch
    started, cpu_started = time.perf_counter(), time.process_time()
    for chunk in order:
        t = time.perf_counter()
        done = service.file_many([build(spec) for spec in chunk])
        times.append(time.perf_counter() - t)
        kept.update((filed + n, (before + filed, r)) for n, r in enumerate(done) if filed + n in sample)
        conflicts += sum(len(result.conflicts) for result in done)
        filed += len(done)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    checked = 0
    if live is not None:
        live.extend(build(spec) for chunk in order for spec in chunk)
        for i in sorted(sample):
            stored, result = kept[i]
            expected = conflicts_with(result.operation, live[:stored], POLICY)
            if sorted(result.conflicts, key=_other) != sorted(expected, key=_other):
                raise SystemExit(f"batch conflicts differ from brute force for {result.operation.key}")
            checked += 1
    return {
        "size": size,
        "filings": filed,
        "per_s": filed / wall,
        "cpu_ms": 1e3 * cpu / filed,
        **_latencies(times),
        "conflicts": conflicts / filed,
        "checked": checked,
    }


def _latencies(seconds: Sequence[float]) -> dict[str, float]:
    """Median, 99th percentile (nearest rank) and longest of ``seconds``, in ms."""
    ordered = sorted(seconds)
    return {
        "p50_ms": 1e3 * statistics.median(ordered),
        "p99_ms": 1e3 * ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)],
        "max_ms": 1e3 * ordered[-1],
    }


def _pin(cpus: set[int]) -> None:
    """Run every thread of this process (the store's checkpointer too) on ``cpus``."""
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(ProcessLookupError):  # a thread that has just ended
            os.sched_setaffinity(int(tid), cpus)


def file_concurrently(
    service: OperationService,
    seed: int,
    filings: int,
    threads: int,
    days: int,
    live: list[Operation] | None,
    check: int,
) -> dict[str, float]:
    """File ``filings`` more operations from ``threads`` threads at once, each filing one
    at a time through ``OperationService.file`` (filings that wait while another is filed
    go in together: decision 0013), with the whole process on one CPU. With ``live``
    (every operation stored before), check ``check`` of them against brute force: each
    must get its conflicts with every operation stored before the phase, and each conflict
    between two operations of the phase must be reported by exactly one of them."""
    phase = list(specs(seed + 6, filings, prefix="conc-", days=days))
    sample = (
        set(random.Random(seed).sample(range(filings), min(check, filings))) if live is not None else set()
    )
    times = [0.0] * filings
    kept: dict[int, FilingResult] = {}
    within: list[tuple[tuple[str, str], tuple[str, str]]] = []  # conflicts between phase filings
    failures: list[BaseException] = []

    def work(first: int) -> None:
        try:
            for n in range(first, filings, threads):
                t = time.perf_counter()
                result = service.file(build(phase[n]))
                times[n] = time.perf_counter() - t
                if n in sample:
                    kept[n] = result
                within.extend(
                    ((c.a.party, c.a.id), (c.b.party, c.b.id))
                    for c in result.conflicts
                    if c.b.id.startswith("conc-")
                )
        except BaseException as exc:  # raised below: a thread's exception would be lost
            failures.append(exc)

    # imported here: the other phases still run on an older tree (``--baseline-src``)
    from deconfliction.service.filing_groups import groups_for

    groups = groups_for(service.store, service.default_minima)
    before = groups.groups, groups.filings
    cpus = os.sched_getaffinity(0)
    _pin({min(cpus)})
    try:
        workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
        started, cpu_started = time.perf_counter(), time.process_time()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    finally:
        _pin(cpus)
    if failures:
        raise SystemExit(f"a concurrent filing failed: {failures[0]!r}")
    checked = 0
    if live is not None:
        ops = [build(spec) for spec in phase]
        reported = {frozenset(pair) for pair in within}
        if len(reported) != len(within):
            raise SystemExit("a conflict between two concurrent filings was reported by both")
        for n in sorted(sample):
            result = kept[n]
            expected = conflicts_with(result.operation, live, POLICY)
            stored_before = [c for c in result.conflicts if not c.b.id.startswith("conc-")]
            if sorted(stored_before, key=_other) != sorted(expected, key=_other):
                raise SystemExit(f"concurrent conflicts differ from brute force for {result.operation.key}")
            truth = {_other(c): c for c in conflicts_with(result.operation, ops, POLICY)}
            for conflict in result.conflicts:
                if conflict.b.id.startswith("conc-") and truth.get(_other(conflict)) != conflict:
                    raise SystemExit(
                        f"concurrent conflicts differ from brute force for {result.operation.key}"
                    )
            for other in truth:
                if frozenset({result.operation.key, other}) not in reported:
                    raise SystemExit(f"a conflict of {result.operation.key} was reported by neither filing")
            checked += 1
        live.extend(ops)
    groups_run, filed = groups.groups - before[0], groups.filings - before[1]
    return {
        "threads": threads,
        "filings": filings,
        "per_s": filings / wall,
        "cpu_ms": 1e3 * cpu / filings,
        **_latencies(times),
        "group": filed / max(1, groups_run),
        "checked": checked,
    }


def through_access(store: Store, seed: int, filings: int, size: int, days: int) -> dict[str, float]:
    """Filings/s and CPU ms per filing of ``filings`` more operations through the API's
    use-cases (``AccessService.file``, then as many in batches of ``size`` through
    ``file_many``): the same detection, plus each filing's notice, audit entry, events
    to both sides of each conflict and the conflicts as the filer sees them."""
    access = AccessService(store, SystemClock())
    out: dict[str, float] = {}
    one = _proposed(specs(seed + 4, filings, "api-", days))
    started, cpu_started = time.perf_counter(), time.process_time()
    for operation in one:
        access.file(operation)
    out["one_per_s"] = filings / (time.perf_counter() - started)
    out["one_cpu_ms"] = 1e3 * (time.process_time() - cpu_started) / filings
    if size:
        runs: dict[str, list[Operation]] = {}
        for operation in _proposed(specs(seed + 5, filings, "apib-", days)):
            runs.setdefault(operation.party, []).append(operation)
        started, cpu_started = time.perf_counter(), time.process_time()
        for run_ in runs.values():
            for i in range(0, len(run_), size):
                access.file_many([(operation, None) for operation in run_[i : i + size]])
        out["batch_per_s"] = filings / (time.perf_counter() - started)
        out["batch_cpu_ms"] = 1e3 * (time.process_time() - cpu_started) / filings
    return out


def _proposed(batch: Iterable[Spec]) -> list[Operation]:
    """As the API files them: new operations are proposed."""
    return [replace(build(spec), state=OperationState.PROPOSED) for spec in batch]


def _other(conflict: StrategicConflict) -> tuple[str, str]:
    return conflict.b.party, conflict.b.id


def _overlaps(filed: Filed) -> int:
    return sum(len(c.overlaps) for c in filed.conflicts)


def filesystem(path: str) -> str:
    """The file system type holding ``path`` (from /proc/mounts), e.g. ext4 or tmpfs."""
    best, kind = "", "unknown fs"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, fstype, *_ = line.split()
            if str(Path(path).resolve()).startswith(mount) and len(mount) > len(best):
                best, kind = mount, fstype
    except OSError:
        pass
    return kind


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs (nproc), {model}; Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def markdown(results: list[Result], command: str) -> str:
    lines = [
        SECTION,
        "",
        "Filing one operation into a store that already holds N active operations, through the full",
        "path: validate -> H3 covering + `find_candidates` -> exact check (`engine.strategic`) ->",
        "`insert_operation` + `replace_conflicts` in one durable transaction (SQLite: WAL,",
        "`synchronous=FULL`). One process, one filing at a time. Scenario: 4 parties, circles,",
        "polygons, corridors, racetracks and arc sectors over 31-41 N / 35-45 E, windows of 0.5-3 h",
        "starting inside a horizon of D days (D = 1: all in one day),",
        "FL100-FL400 bands plus low-level MSL/AGL traffic; 3 NM between the two",
        "forces, 5 NM / 1000 ft / 5 min otherwise.",
        "",
        f"Machine: {machine()}.",
        "",
        f"Command: `{command}`",
        "",
        "| backend | stored N | days | filings | p50 ms | p99 ms | max ms | filings/s"
        " | CPU ms/filing | conflicts/filing | checked vs brute force | bulk pre-load ops/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.stored:,} | {r.days} | {r.filings:,} | {r.p50_ms:.2f} | {r.p99_ms:.2f}"
            f" | {r.max_ms:.1f}"
            f" | {r.per_s:,.0f} | {r.cpu_ms:.2f} | {r.mean_conflicts:.2f}"
            f" | {r.checked} equal | {r.preload_per_s:,.0f} |"
        )
    batched = [r for r in results if r.batch]
    if batched:
        lines += [
            "",
            "Filings in batches (`OperationService.file_many`, one party's plan per batch, the"
            " parties taking turns), after the above in the same store:",
            "",
            "| backend | stored N | batch size | filings | filings/s | CPU ms/filing | batch p50 ms"
            " | batch p99 ms | batch max ms | conflicts/filing | checked vs brute force |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in batched:
            b = r.batch
            lines.append(
                f"| {r.backend} | {r.stored:,} | {b['size']:.0f} | {b['filings']:,.0f} | {b['per_s']:,.0f}"
                f" | {b['cpu_ms']:.2f} | {b['p50_ms']:.1f} | {b['p99_ms']:.1f} | {b['max_ms']:.1f}"
                f" | {b['conflicts']:.2f} | {b['checked']:.0f} equal |"
            )
        lines.append("")
    together = [r for r in results if r.concurrent]
    if together:
        lines += [
            "",
            "Filings from many threads at once, each filing one at a time through"
            " `OperationService.file` (filings that wait go in together: decision 0013), the"
            " whole process on one CPU, after the above in the same store; latency is each"
            " filing's, queueing included:",
            "",
            "| backend | stored N | threads | filings | filings/s | CPU ms/filing | p50 ms | p99 ms"
            " | max ms | filings per group | checked vs brute force |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in together:
            c = r.concurrent
            lines.append(
                f"| {r.backend} | {r.stored:,} | {c['threads']:.0f} | {c['filings']:,.0f} | {c['per_s']:,.0f}"
                f" | {c['cpu_ms']:.2f} | {c['p50_ms']:.1f} | {c['p99_ms']:.1f} | {c['max_ms']:.1f}"
                f" | {c['group']:.1f} | {c['checked']:.0f} equal |"
            )
        lines.append("")
    if any(r.access for r in results):
        lines += [
            "",
            "Through the API's use-cases (`AccessService`: the same detection plus notices, audit"
            " entries, events and views), after the above in the same store:",
            "",
            "| backend | stored N | one at a time: filings/s | CPU ms/filing | in batches: filings/s"
            " | CPU ms/filing |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for r in results:
            a = r.access
            lines.append(
                f"| {r.backend} | {r.stored:,} | {a['one_per_s']:,.0f} | {a['one_cpu_ms']:.2f}"
                f" | {a.get('batch_per_s', 0):,.0f} | {a.get('batch_cpu_ms', 0):.2f} |"
            )
        lines.append("")
    lines += [
        "| InterUSS DSS (anchor) | - | - | - | - | 100 (planned per query) | - | ~120 inserts/s (local)"
        " | - | - | - | - |",
        "",
        "Target (issue 2): with 100,000 stored, p99 < 5 ms and >= 1,000 filings/s on one core with SQLite.",
        "",
        f"Where a filing's time goes: mean ms per filing over {PHASE_FILINGS} more filings taken step by",
        "step (`phase_split`), after the measured ones:",
        "",
        "| step | " + " | ".join(f"{r.backend}, {r.stored:,}" for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for step in results[0].phases if results else ():
        lines.append(f"| {step} | " + " | ".join(f"{r.phases.get(step, 0.0):.3f}" for r in results) + " |")
    lines.append("| **total** | " + " | ".join(f"**{sum(r.phases.values()):.2f}**" for r in results) + " |")
    lines += [
        "",
        "| per filing | " + " | ".join(f"{r.backend}, {r.stored:,}" for r in results) + " |",
        "|---|" + "---:|" * len(results),
        "| volume pairs the exact check tests (matched by the index) | "
        + " | ".join(f"{r.pairs['matched']:.1f}" for r in results)
        + " |",
        "| volume pairs of the candidate operations | "
        + " | ".join(f"{r.pairs['all']:.1f}" for r in results)
        + " |",
        "| overlapping volume pairs (all timed filings) | "
        + " | ".join(f"{r.mean_overlaps:.1f}" for r in results)
        + " |",
        "| slowest 1 %: mean ms | " + " | ".join(f"{r.slowest['ms']:.1f}" for r in results) + " |",
        "| slowest 1 %: conflicts | " + " | ".join(f"{r.slowest['conflicts']:.1f}" for r in results) + " |",
        "| slowest 1 %: overlapping volume pairs | "
        + " | ".join(f"{r.slowest['overlaps']:.1f}" for r in results)
        + " |",
        "| full passes of the garbage collector during the timed filings (longest ms) | "
        + " | ".join(f"{r.full_gc['passes']:.0f} ({r.full_gc['longest_ms']:.1f})" for r in results)
        + " |",
        "",
    ]
    return "\n".join(lines)


def write_docs(section: str) -> None:
    """Replace (or append) only this benchmark's section of the shared file."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--stored", type=int, nargs="+", default=[100_000])
    parser.add_argument("--filings", type=int, default=2000)
    parser.add_argument("--check", type=int, default=20, help="filings checked against brute force")
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--days", type=int, default=1, help="horizon the operations' start times spread over")
    parser.add_argument(
        "--dir", nargs="+", default=[tempfile.gettempdir()], help="where SQLite files go (one run each)"
    )
    parser.add_argument("--pg-url", default=os.environ.get("DECONFLICTION_TEST_PG", "postgresql:///test"))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="pre-load processes")
    parser.add_argument("--write-docs", action="store_true", help=f"write '{SECTION}' in docs/benchmarks.md")
    parser.add_argument("--json", dest="json_out", help="also append results as JSON lines here")
    parser.add_argument(
        "--batch", type=int, default=50, help="then file as many again in batches of this size (0: not)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=16,
        help="then file as many again from this many threads at once, on one CPU (0: not)",
    )
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    results = []
    for stored in args.stored:
        runs = [("sqlite", d) for d in args.dir if "sqlite" in backends]
        runs += [("postgres", args.pg_url)] if "postgres" in backends else []
        for backend, where in runs:
            result = run(
                backend,
                stored,
                args.filings,
                args.check,
                args.seed,
                where,
                args.workers,
                args.check > 0,
                args.days,
                args.batch,
                args.threads,
            )
            if backend == "sqlite":
                result.backend = f"sqlite on {where} ({filesystem(where)})"
            print(json.dumps(result.__dict__), flush=True)
            if args.json_out:
                with open(args.json_out, "a", encoding="utf-8") as out:
                    out.write(json.dumps(result.__dict__) + "\n")
            results.append(result)
    command = "python " + " ".join(["benchmarks/strategic_filing.py", *(argv or sys.argv[1:])])
    section = markdown(results, command)
    print(section)
    if args.write_docs:
        write_docs(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
