"""Service load benchmark (issue 3): 50 parties' clients against `deconfliction serve`.

Starts the real server in a subprocess on a fresh store (SQLite file or a fresh
PostgreSQL schema), registers N parties with a duty desk and a credential each, then runs,
over real sockets on this machine, one closed-loop client per party (asyncio + httpx, one
request in flight per party) with a mixed load:

    file      POST /v1/operations            a circle somewhere in a 1 x 1 degree box, 2 h
                                              window within two days (some conflict)
    query     GET  /v1/conflicts | /v1/operations/{id} | /v1/messages
    message   POST /v1/messages              NOTIFY to a random other party's duty desk
    ack       POST /v1/messages/{id}/ack     a message received on the stream, or
              POST /v1/conflicts/{ref}/acknowledge   a conflict from a filing response

and, per party, one subscriber on GET /v1/events/stream, all read by a separate process
(so that the load generator's busy event loop does not delay them). Three delays to the
subscriber are reported:

    probe_from_commit        this process commits ``bench.probe`` events straight into the
                             outbox (another writer than the server, like a second API
                             node) and notes when each commit returned: the exact
                             commit-to-client delay, through the hub's polling path
    message_from_sender_2xx  from the sender's 201 for a message (after its commit) to the
                             recipient's stream: the path of the server's own writes, which
                             wake the hub at once (slightly under the true delay)
    from_change_at           from the event's ``at`` (the server's clock when the use-case
                             began, before its work and its commit): an upper bound

with the subscriber process's own event-loop lag beside them. Also reports throughput and
p50/p99 latency per kind of request. Target: p99 commit-to-client delay under 50 ms.

    .venv/bin/python benchmarks/service_load.py --db sqlite
    .venv/bin/python benchmarks/service_load.py --db postgresql:///test
    .venv/bin/python benchmarks/service_load.py --db sqlite --json out.json

With ``--workers 1,2,3 --hostile`` it runs, in one invocation, each process count
(``serve --workers N``) quiet and then with a hostile client beside the honest ones, each
on a fresh store, and prints them side by side. The hostile client has no credential: it
keeps ``--hostile-slow`` connections sending their headers one byte every 0.5 s
(slow-loris; each is closed by the header deadline and opened again), and sends 4 MiB
chunked bodies to ``POST /v1/auth/token`` back to back (each refused with 413 while read).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from deconfliction.engine.limits import OUT_OF_REACH
from deconfliction.service.clock import SystemClock
from deconfliction.service.credentials import create_credential
from deconfliction.store import Party, open_store
from deconfliction.store.auth import Desk, DesksRepo, parse_scopes
from deconfliction.store.events import EventsRepo
from deconfliction.store.limits import LimitsRepo

MIX = {"file": 0.30, "query": 0.30, "message": 0.20, "ack": 0.20}
T0 = datetime(2030, 1, 1, tzinfo=UTC)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


# -- setup ------------------------------------------------------------------------------


def fresh_store_url(db: str, workdir: Path) -> tuple[str, str | None]:
    """(store URL, PostgreSQL schema to drop afterwards)."""
    if db == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite'}", None
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in db else "?"
    return f"{db}{sep}options={quote(f'-csearch_path={schema}', safe='')}", schema


def drop_schema(db: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def make_parties(url: str, n: int) -> dict[str, tuple[str, str]]:
    store = open_store(url)
    creds = {}
    try:
        with store.transaction() as tx:
            for i in range(n):
                party = f"P{i:02d}"
                tx.add_party(Party(party, f"Party {i}"))
                tx.repo(LimitsRepo).set(party, OUT_OF_REACH)  # a load test, not a plausibility one
                tx.repo(DesksRepo).add(Desk(party, "duty", "en"))
                issued = create_credential(tx, party, parse_scopes("read,file,message"), SystemClock())
                creds[party] = (issued.credential.client_id, issued.secret)
    finally:
        store.close()
    return creds


class ServerProcess:
    def __init__(self, url: str, workdir: Path, serve_args: list[str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DECONFLICTION_AUDIT_KEY": str(workdir / "audit.key")}
        exe = Path(sys.executable).parent / "deconfliction"
        self.log = (workdir / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [
                str(exe),
                "serve",
                "--db",
                url,
                "--port",
                str(self.port),
                "--key-file",
                str(workdir / "token.key"),
                "--log-level",
                "warning",
                *serve_args,
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited; see {workdir / 'server.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise SystemExit("server did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)  # with --workers, SIGKILL would orphan the workers
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# -- load -------------------------------------------------------------------------------


@dataclass
class Stats:
    measuring: bool = False
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    #: message id -> when the sender got its 201
    sent_at: dict[str, float] = field(default_factory=dict)
    #: probe n -> when this process's commit of it returned
    probe_committed: dict[int, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class PartyState:
    party: str
    others: list[str]
    own_ops: list[str] = field(default_factory=list)
    pending_conflicts: list[str] = field(default_factory=list)
    pending_messages: list[str] = field(default_factory=list)
    n: int = 0


def utc(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def filing(state: PartyState, rng: random.Random) -> dict[str, Any]:
    state.n += 1
    start = T0 + timedelta(minutes=rng.randrange(0, 2 * 24 * 60))
    return {
        "id": f"{state.party}-{state.n}",
        "volumes": [
            {
                "geometry": {"type": "Point", "coordinates": [40 + rng.random(), 35 + rng.random()]},
                "footprint": {"kind": "circle", "radius": {"value": rng.uniform(1, 5), "units": "km"}},
                "altitude": {"lower": 100, "upper": 250, "units": "FL"},
                "time": {"start": utc(start), "end": utc(start + timedelta(hours=2))},
            }
        ],
    }


async def request(
    client: httpx.AsyncClient, state: PartyState, stats: Stats, rng: random.Random
) -> tuple[str, httpx.Response]:
    """One request of the mix; returns (kind, response)."""
    kind = rng.choices(list(MIX), list(MIX.values()))[0]
    if kind == "file":
        r = await client.post("/v1/operations", json=filing(state, rng))
        if r.status_code == 201:
            body = r.json()
            state.own_ops.append(body["operation"]["id"])
            state.pending_conflicts.extend(c["reference"] for c in body["conflicts"][:2])
        return kind, r
    if kind == "message":
        start = T0 + timedelta(hours=rng.randrange(48))
        fields = {
            "operation": {"party": state.party, "operation_id": f"{state.party}-X"},
            "start": utc(start),
            "end": utc(start + timedelta(hours=1)),
        }
        r = await client.post(
            "/v1/messages",
            json={"to": rng.choice(state.others), "class": "ROUTINE", "template": "NOTIFY", "fields": fields},
        )
        if r.status_code == 201 and stats.measuring:
            stats.sent_at[r.json()["id"]] = time.time()
        return kind, r
    if kind == "ack" and state.pending_messages:
        return kind, await client.post(f"/v1/messages/{state.pending_messages.pop(0)}/ack", json={})
    if kind == "ack" and state.pending_conflicts:
        return kind, await client.post(f"/v1/conflicts/{state.pending_conflicts.pop(0)}/acknowledge")
    which = rng.random()
    if which < 0.3 and state.own_ops:
        return "query", await client.get(f"/v1/operations/{rng.choice(state.own_ops)}")
    if which < 0.6:
        return "query", await client.get("/v1/conflicts")
    r = await client.get("/v1/messages", params={"limit": 20, "unacknowledged": "true"})
    if r.status_code == 200:
        state.pending_messages = [
            m["id"] for m in r.json()["messages"] if m["from"] != state.party and m["template"] != "ACK"
        ]
    return "query", r


async def worker(
    base: str, token: str, state: PartyState, stats: Stats, stop: asyncio.Event, seed: int, rate_hz: float
) -> None:
    """One party's client: back to back (``rate_hz`` 0), or requests at Poisson arrivals of
    ``rate_hz`` (one in flight at a time: a late one starts as soon as the last returns)."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        due = time.perf_counter()
        while not stop.is_set():
            if rate_hz > 0:
                due += rng.expovariate(rate_hz)
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            started = time.perf_counter()
            kind, r = await request(client, state, stats, rng)
            elapsed = time.perf_counter() - started
            if stats.measuring:
                stats.latency[kind].append(elapsed)
                stats.statuses[kind][r.status_code] += 1
                if r.status_code >= 400:
                    stats.errors.append(f"{kind} {r.status_code} {r.text[:200]}")


async def prober(url: str, parties: list[str], stats: Stats, stop: asyncio.Event, rate_hz: float) -> None:
    """Commit ``bench.probe`` events from this process (another writer than the server, as
    another API node would be) and note when each commit returned: the exact
    commit-to-client delay of the outbox path when the hub learns of commits by polling."""
    store = open_store(url)
    rng = random.Random(7)

    def commit(n: int) -> None:
        with store.transaction() as tx:
            tx.repo(EventsRepo).append(rng.choice(parties), "bench.probe", {"probe": n}, datetime.now(UTC))
        stats.probe_committed[n] = time.time()

    try:
        n = 0
        while not stop.is_set():
            if stats.measuring:
                n += 1
                await asyncio.to_thread(commit, n)
            await asyncio.sleep(1 / rate_hz)
    finally:
        store.close()


# -- the subscribers, in a process of their own -------------------------------------------
#
# So that the load generator's own event loop (busy with 50 closed-loop clients) does not
# delay the reading of the streams and inflate the delays measured.


async def _stream(base: str, token: str, arrivals: list[tuple[float, str, str, str]]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10, read=None)) as client,
        client.stream("GET", "/v1/events/stream", headers=headers) as r,
    ):
        data = None
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                data = line[6:]
            elif line == "" and data is not None:
                arrived = time.time()
                event = json.loads(data)
                data = None
                payload = event["payload"]
                key = ""
                if event["kind"] == "bench.probe":
                    key = str(payload["probe"])
                elif event["kind"] == "hotline.message":
                    key = payload["message"]["id"]
                arrivals.append((arrived, event["kind"], event["at"], key))


async def _subscribe(base: str, tokens: list[str], stop_file: Path, out: Path) -> None:
    arrivals: list[tuple[float, str, str, str]] = []
    lags: list[tuple[float, float]] = []
    tasks = [asyncio.create_task(_stream(base, t, arrivals)) for t in tokens]
    out.with_suffix(".ready").write_text("ready")
    while not stop_file.exists():
        before = time.perf_counter()
        await asyncio.sleep(0.005)
        lags.append((time.time(), time.perf_counter() - before - 0.005))
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out.write_text(json.dumps({"arrivals": arrivals, "lags": lags}))


def subscribe_process(base: str, tokens: list[str], stop_file: str, out: str) -> None:
    asyncio.run(_subscribe(base, tokens, Path(stop_file), Path(out)))


def _summary(delays: list[float], expected: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"n": len(delays)}
    if expected is not None:
        found["missing"] = expected - len(delays)
    found |= {
        "p50_ms": round(percentile(delays, 50) * 1000, 1),
        "p99_ms": round(percentile(delays, 99) * 1000, 1),
        "max_ms": round(max(delays, default=float("nan")) * 1000, 1),
    }
    return found


async def slow_loris(base: str, stop: asyncio.Event, counts: dict[str, int]) -> None:
    """One connection that sends its request headers one byte every 0.5 s, reopened when
    the server closes it."""
    host, port = base.removeprefix("http://").split(":")
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            await asyncio.sleep(0.5)
            continue
        counts["slow_opened"] += 1
        try:
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            while not stop.is_set() and not reader.at_eof():
                writer.write(b"X")
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    if await asyncio.wait_for(reader.read(1024), 0.5):
                        counts["slow_answered"] += 1  # the server's 408 (or 429): it closes
                        break
        except OSError:
            pass
        finally:
            writer.close()


async def chunked_bodies(base: str, stop: asyncio.Event, counts: dict[str, int]) -> None:
    """4 MiB chunked bodies to the sign-in route, one after the other."""
    chunk = b" " * 65536

    async def body() -> Any:
        for _ in range(64):
            yield chunk

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while not stop.is_set():
            try:
                r = await client.post(
                    "/v1/auth/token", content=body(), headers={"Content-Type": "application/json"}
                )
                counts[f"chunked_{r.status_code}"] += 1
            except httpx.HTTPError:
                counts["chunked_cut"] += 1  # refused while sending: the server closed it


async def _hostile(base: str, slow: int, stop_file: Path, out: Path) -> None:
    stop = asyncio.Event()
    counts: dict[str, int] = defaultdict(int)
    tasks = [asyncio.create_task(slow_loris(base, stop, counts)) for _ in range(slow)]
    tasks += [asyncio.create_task(chunked_bodies(base, stop, counts)) for _ in range(2)]
    while not stop_file.exists():
        await asyncio.sleep(0.2)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    out.write_text(json.dumps(counts))


def hostile_process(base: str, slow: int, stop_file: str, out: str) -> None:
    """The hostile client in a process of its own, so that it competes with the honest
    clients for the server, not for the load generator's event loop."""
    asyncio.run(_hostile(base, slow, Path(stop_file), Path(out)))


async def run(
    base: str,
    url: str,
    creds: dict[str, tuple[str, str]],
    warmup_s: float,
    duration_s: float,
    probe_hz: float,
    workdir: Path,
    rate: float,
    hostile_slow: int = 0,
) -> dict[str, Any]:
    stats = Stats()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def token(party: str) -> tuple[str, str]:
            client_id, secret = creds[party]
            r = await client.post("/v1/auth/token", json={"client_id": client_id, "client_secret": secret})
            r.raise_for_status()
            return party, r.json()["access_token"]

        tokens = dict(await asyncio.gather(*(token(p) for p in creds)))
    parties = sorted(creds)
    stop_file, out = workdir / "subscribers.stop", workdir / "subscribers.json"
    sub = multiprocessing.get_context("spawn").Process(
        target=subscribe_process, args=(base, [tokens[p] for p in parties], str(stop_file), str(out))
    )
    sub.start()
    while not out.with_suffix(".ready").exists():
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    states = {p: PartyState(p, [o for o in parties if o != p]) for p in parties}
    stop = asyncio.Event()
    workers = [
        asyncio.create_task(worker(base, tokens[p], states[p], stats, stop, i, rate / len(parties)))
        for i, p in enumerate(parties)
    ]
    probe = asyncio.create_task(prober(url, parties, stats, stop, probe_hz))
    hostile_stop, hostile_out = workdir / "hostile.stop", workdir / "hostile.json"
    hostile = None
    if hostile_slow:
        hostile = multiprocessing.get_context("spawn").Process(
            target=hostile_process, args=(base, hostile_slow, str(hostile_stop), str(hostile_out))
        )
        hostile.start()
    await asyncio.sleep(warmup_s)
    stats.measuring = True
    window_start = time.time()
    started = time.perf_counter()
    await asyncio.sleep(duration_s)
    stats.measuring = False
    window_end = time.time()
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*workers, probe, return_exceptions=True)
    hostile_counts: dict[str, int] = {}
    if hostile is not None:
        hostile_stop.write_text("stop")
        await asyncio.to_thread(hostile.join, 60)
        hostile_counts = json.loads(hostile_out.read_text())
    await asyncio.sleep(1.0)
    stop_file.write_text("stop")
    await asyncio.to_thread(sub.join, 30)
    streamed = json.loads(out.read_text())

    from_at, by_kind = [], defaultdict(int)
    message_arrived, probe_arrived = {}, {}
    for arrived, kind, at, key in streamed["arrivals"]:
        if kind == "bench.probe":
            probe_arrived[int(key)] = arrived
            continue
        if kind == "hotline.message":
            message_arrived[key] = arrived
        changed = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
        if window_start <= changed <= window_end:
            from_at.append(arrived - changed)
            by_kind[kind] += 1
    lags = [lag for t, lag in streamed["lags"] if window_start <= t <= window_end]
    requests = sum(len(v) for v in stats.latency.values())
    every = [x for v in stats.latency.values() for x in v]

    def pair(sent: dict[Any, float], got: dict[Any, float]) -> list[float]:
        return [got[k] - t for k, t in sent.items() if k in got]

    return {
        "parties": len(parties),
        "offered_rps": rate or "closed loop",
        "seconds": round(elapsed, 1),
        "requests": requests,
        "throughput_rps": round(requests / elapsed, 1),
        "latency_ms": {
            kind: {
                "n": len(v),
                "p50": round(percentile(v, 50) * 1000, 1),
                "p99": round(percentile(v, 99) * 1000, 1),
                "statuses": dict(stats.statuses[kind]),
            }
            for kind, v in sorted(stats.latency.items())
        }
        | {
            "all": {
                "n": len(every),
                "p50": round(percentile(every, 50) * 1000, 1),
                "p99": round(percentile(every, 99) * 1000, 1),
            }
        },
        "events": {
            "by_kind": dict(by_kind),
            "probe_from_commit": _summary(
                pair(stats.probe_committed, probe_arrived), len(stats.probe_committed)
            ),
            "message_from_sender_2xx": _summary(pair(stats.sent_at, message_arrived), len(stats.sent_at)),
            "from_change_at": _summary(from_at),
            "subscriber_loop_lag": _summary(lags),
        },
        "errors": stats.errors[:10],
        "error_count": len(stats.errors),
        "hostile": dict(hostile_counts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="sqlite", help="'sqlite' (a fresh file) or a postgresql:// URL")
    parser.add_argument("--parties", type=int, default=50)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="total requests/s offered (default 0: each client back to back)",
    )
    parser.add_argument("--probe-hz", type=float, default=20.0, help="probe events committed per second")
    parser.add_argument("--json", dest="json_out", default=None, help="also write the results here")
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=None,
        help="passed to `serve` (default: serve's own); 1000 admits every request at once",
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="comma-separated process counts to run one after the other (`serve --workers N`), e.g. 1,2,3",
    )
    parser.add_argument(
        "--hostile", action="store_true", help="run each process count quiet, then with the hostile client"
    )
    parser.add_argument(
        "--hostile-slow", type=int, default=40, help="slow-loris connections of the hostile client"
    )
    args = parser.parse_args()
    base_args = [] if args.max_in_flight is None else ["--max-in-flight", str(args.max_in_flight)]
    # Every client of this benchmark connects from 127.0.0.1: the per-address cap is
    # raised so that the honest parties' 100 connections are not what it limits.
    base_args += ["--max-connections-per-address", "1000", "--rate-per-s", "1000", "--rate-burst", "1000"]
    runs = []
    for workers in [int(w) for w in args.workers.split(",")]:
        for hostile in (False, True) if args.hostile else (False,):
            serve_args = [*base_args, "--workers", str(workers)]
            result = one_run(args, serve_args, args.hostile_slow if hostile else 0)
            result["workers"], result["hostile_client"] = workers, hostile
            result["serve_args"] = serve_args
            runs.append(result)
            all_ = result["latency_ms"]["all"]
            probe = result["events"]["probe_from_commit"]
            print(
                f"workers={workers} hostile={hostile}: {result['throughput_rps']} req/s, "
                f"p50 {all_['p50']} ms, p99 {all_['p99']} ms; commit-to-client {probe}",
                file=sys.stderr,
            )
    out: dict[str, Any] = {
        "backend": "sqlite" if args.db == "sqlite" else "postgresql",
        "machine": {"nproc": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version()},
        "runs": runs,
    }
    if len(runs) == 1:
        out = {**runs[0], "backend": out["backend"], "machine": out["machine"]}
    print(json.dumps(out, indent=1))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(out, indent=1) + "\n")


def one_run(args: argparse.Namespace, serve_args: list[str], hostile_slow: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="service-load-") as tmp:
        workdir = Path(tmp)
        url, schema = fresh_store_url(args.db, workdir)
        server = None
        try:
            creds = make_parties(url, args.parties)
            server = ServerProcess(url, workdir, serve_args)
            return asyncio.run(
                run(
                    server.base,
                    url,
                    creds,
                    args.warmup,
                    args.duration,
                    args.probe_hz,
                    workdir,
                    args.rate,
                    hostile_slow,
                )
            )
        finally:
            if server is not None:
                server.stop()
            if schema is not None:
                drop_schema(args.db, schema)


if __name__ == "__main__":
    main()
