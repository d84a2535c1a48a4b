"""Plan check benchmark: all pairs of a day's plan, our engine against a PostGIS self-join.

Generates plans of N operations over eastern Syria (the Euphrates scenario day of
``deconfliction.scenarios.euphrates`` drawn again with further seeds until N operations:
ISR and tanker orbits, strike and close-air-support boxes, helicopter and transport
corridors, artillery arcs, airways and terminal areas of three parties), and times, side
by side in one run:

- the engine in-process: ``engine.plan.plan_pairs`` (the pairs, as arrays) and
  ``plan_conflicts`` (the conflicts as objects, without regions), on fresh copies of the
  operations each run, as ``check`` has them after reading its file;
- ``deconfliction check FILE`` end to end in a fresh process, with table output and with
  ``--json`` (wall time and peak resident memory of the process);
- PostGIS (Debian's ``postgresql-15-postgis-3``, installed with apt-get when missing) in
  its own database ``plancheck_bench``: the same footprints loaded as geography (cores:
  points, lines and polygons of the same outlines, with each footprint's radius), a GiST
  index, and one self-join with ``ST_DWithin`` on the spheroid at each pair's minimum plus
  both radii, and the altitude and time gaps under the minima; its plan is reported.

The pair sets are compared: every operation pair found by one and not the other must lie
within the tolerance band at the horizontal minimum (the two measure on different
surfaces: PostGIS on the spheroid, the engine in a local azimuthal frame, docs/geometry.md).

Everything runs on one core: this process and the PostgreSQL backend are pinned to CPU 0,
and PostgreSQL's parallel workers are turned off.

    PYTHONPATH=src .venv/bin/python benchmarks/plan_check.py --sizes 1000 3000 10000 --write-docs
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
import psycopg
import shapely

from deconfliction.engine.minima import EN_ROUTE, MinimaPolicy
from deconfliction.engine.operation import Operation
from deconfliction.engine.plan import plan_conflicts, plan_pairs
from deconfliction.geo.footprint import horizontal_distance_m
from deconfliction.geo.frame import frame_at, midpoint
from deconfliction.interop.geojson import document
from deconfliction.scenarios import euphrates

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Plan check: all pairs against PostGIS"
DAY = datetime(2025, 10, 1, tzinfo=UTC)
DATABASE = "plancheck_bench"
#: Pairs found by one side only must be this close to the horizontal minimum (fraction of
#: it): the engine's frames are within 0.06 % of the geodesic, PostGIS's spheroid
#: distance within a few millimetres, and edges are geodesics on one side and chords of
#: densified outlines on the other.
TOLERANCE = 0.002

T = TypeVar("T")


# -- the plan ---------------------------------------------------------------------------


def generate(count: int) -> tuple[list[Operation], MinimaPolicy]:
    """``count`` operations: scenario days with seeds 2015, 2016, ... (ids suffixed by seed)."""
    operations: list[Operation] = []
    seed = 0
    pairs = dict(euphrates.PAIR_MINIMA)
    while len(operations) < count:
        day = euphrates.build(DAY, seed=2015 + seed)
        operations += [replace(op, id=f"{op.id}.{seed}") for op in day.operations]
        seed += 1
    return operations[:count], MinimaPolicy(EN_ROUTE, pairs)


def fresh(operations: list[Operation]) -> list[Operation]:
    """Copies as ``check`` has them after reading its file: each footprint validated, so its
    bounding cap known, and nothing else remembered (no cores or shapes in any frame, which
    footprints pickle without)."""
    copies: list[Operation] = pickle.loads(pickle.dumps(operations))
    for operation in copies:
        for volume in operation.volumes:
            _ = volume.footprint.cap
    return copies


# -- the engine in-process --------------------------------------------------------------


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def engine(operations: list[Operation], policy: MinimaPolicy, runs: int) -> dict[str, Any]:
    pair_times, conflict_times = [], []
    pairs = None
    for _ in range(runs):
        ops = fresh(operations)
        seconds, pairs = timed(lambda ops=ops: plan_pairs(ops, policy))  # type: ignore[misc]
        pair_times.append(seconds)
        ops = fresh(operations)
        seconds, conflicts = timed(lambda ops=ops: plan_conflicts(ops, policy))  # type: ignore[misc]
        conflict_times.append(seconds)
    assert pairs is not None
    table = pairs.table
    found = {
        (int(table.owner[a]), int(table.owner[b]))
        for a, b in zip(pairs.a.tolist(), pairs.b.tolist(), strict=True)
    }
    return {
        "pairs_s": statistics.median(pair_times),
        "conflicts_s": statistics.median(conflict_times),
        "volume_pairs": len(pairs),
        "conflicts": len(conflicts),
        "found": found,
    }


def engine_memory(operations: list[Operation], policy: MinimaPolicy) -> tuple[float, float]:
    """Resident memory (MiB) of a fresh process that loads the plan and runs
    ``plan_conflicts`` on it: its peak during the call less what it held before, and what
    it still holds after (the conflicts). The peak is reset before the call (Linux
    ``clear_refs``)."""
    with tempfile.NamedTemporaryFile(suffix=".pickle", delete=False) as f:
        pickle.dump((operations, policy), f)
    script = (
        "import gc, pickle\n"
        "from deconfliction.engine.plan import plan_conflicts\n"
        "def status(key):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith(key):\n"
        "            return int(line.split()[1])\n"
        f"ops, policy = pickle.load(open({f.name!r}, 'rb'))\n"
        "for op in ops:\n"
        "    for v in op.volumes:\n"
        "        v.footprint.cap\n"
        "gc.collect()\n"
        "open('/proc/self/clear_refs', 'w').write('5')\n"
        "before = status('VmRSS:')\n"
        "found = plan_conflicts(ops, policy)\n"
        "print(before, status('VmHWM:'), status('VmRSS:'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=_env()
    )
    os.unlink(f.name)
    before, peak, after = (int(v) for v in out.stdout.split())
    return (peak - before) / 1024.0, (after - before) / 1024.0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


# -- candidate searches, compared ------------------------------------------------------


def searches(operations: list[Operation], policy: MinimaPolicy) -> dict[str, dict[str, float]]:
    """Each way of finding candidate pairs tried for ``engine.plan``: its time, the pairs it
    yields, and what is left after the array tests (party, time, altitude, caps) that follow
    it (a superset of the pairs the exact check keeps: the H3 and plan-frame searches test
    the footprints themselves, so they leave fewer)."""
    from deconfliction.engine import plan
    from deconfliction.geo.cells import search_and_index_cells
    from deconfliction.geo.footprint import cores_in

    ops = fresh(operations)
    table = plan.VolumeTable.of(ops)
    minima = plan._Minima(table.parties, policy)
    reach = float(minima.horizontal.max())
    rows = range(len(table))

    def sweep() -> tuple[np.ndarray, np.ndarray]:
        chunks = list(plan._time_sweep(table, float(minima.time.max())))
        return np.concatenate([a for a, _ in chunks]), np.concatenate([b for _, b in chunks])

    def cap_boxes() -> tuple[np.ndarray, np.ndarray]:
        from deconfliction.geo.frame import cap_bbox

        boxes = np.empty(len(table), dtype=object)
        bounds = [cap_bbox(float(table.lat[k]), float(table.lon[k]), table.cap[k] + reach / 2) for k in rows]
        boxes[:] = [shapely.box(x0, y0, x1, y1) for y0, y1, x0, x1 in bounds]
        q, t = shapely.STRtree(boxes).query(boxes)
        return q[q < t], t[q < t]

    def plan_frame() -> tuple[np.ndarray, np.ndarray]:
        from deconfliction.geo.frame import LocalFrame, mean_position

        frame = LocalFrame(*mean_position(table.lat, table.lon))
        cores = cores_in([(table.footprint(k), frame) for k in rows])
        geoms = np.empty(len(cores), dtype=object)
        geoms[:] = [core for core, _ in cores]
        radii = np.array([r for _, r in cores])
        # 1 % and 100 m for the plan frame's error against the pairs' frames
        wide = (reach + radii + radii.max()) * 1.01 + 100.0
        q, t = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=wide)
        q, t = q[q < t], t[q < t]
        near = shapely.distance(geoms[q], geoms[t]) - radii[q] - radii[t] < reach * 1.01 + 100.0
        return q[near], t[near]

    def h3_buckets() -> tuple[np.ndarray, np.ndarray]:
        index: dict[int, list[int]] = {}
        searched = []
        for k in rows:
            search, cells = search_and_index_cells(table.footprint(k), reach)
            searched.append(search)
            for cell in cells:
                index.setdefault(cell, []).append(k)
        pairs = {(k, m) for k in rows for cell in searched[k] for m in index.get(cell, ()) if m > k}
        found = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
        return found[:, 0], found[:, 1]

    out: dict[str, dict[str, float]] = {}
    for name, search in (
        ("time sweep", sweep),
        ("STRtree on cap boxes", cap_boxes),
        ("H3 buckets (resolution 5)", h3_buckets),
        ("STRtree dwithin in one plan frame", plan_frame),
    ):
        seconds, (a, b) = timed(search)
        more, (na, _) = timed(lambda a=a, b=b: plan._near(table, minima, a, b, False))  # type: ignore[misc]
        out[name] = {"search_s": seconds, "candidates": len(a), "filters_s": more, "left": len(na)}
    return out


# -- check end to end -------------------------------------------------------------------


def check_cli(path: Path, extra: Sequence[str], runs: int) -> dict[str, float]:
    """Wall time (median) and peak RSS (max) of ``deconfliction check PATH`` in a fresh process."""
    walls, peaks, sizes = [], [], []
    command = [sys.executable, "-c", "from deconfliction.cli import main; main()", "check", str(path), *extra]
    for _ in range(runs):
        with tempfile.TemporaryFile() as out:
            start = time.perf_counter()
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, env=_env())
            _, status, usage = os.wait4(proc.pid, 0)
            walls.append(time.perf_counter() - start)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode not in (0, 1):
                raise RuntimeError(
                    f"check exited {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}"
                )
            peaks.append(usage.ru_maxrss / 1024.0)
            sizes.append(out.tell())
    return {"wall_s": statistics.median(walls), "peak_mib": max(peaks), "output_mb": sizes[-1] / 1e6}


def startup(runs: int) -> float:
    """Wall time of ``deconfliction --help``: the part of ``check`` that is not checking."""
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "from deconfliction.cli import main; main()", "--help"],
            capture_output=True,
            check=True,
            env=_env(),
        )
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


# -- PostGIS ----------------------------------------------------------------------------


def ensure_postgis() -> None:
    """Debian's PostGIS for the running PostgreSQL 15, installed if missing."""
    if Path("/usr/share/postgresql/15/extension/postgis.control").exists():
        return
    subprocess.run(
        ["apt-get", "install", "-y", "postgresql-15-postgis-3"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def connect(base_url: str) -> psycopg.Connection[Any]:
    with psycopg.connect(base_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not exists:
            admin.execute(f"CREATE DATABASE {DATABASE}")
    conn = psycopg.connect(_with_database(base_url, DATABASE), autocommit=True)
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.execute("SET max_parallel_workers_per_gather = 0")
    conn.execute("SET jit = off")
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert pid is not None
    with contextlib.suppress(OSError):  # one core for the backend too (we run as root)
        os.sched_setaffinity(int(pid[0]), {0})
    return conn


def _with_database(url: str, name: str) -> str:
    head, _, tail = url.partition("?")
    scheme, _, rest = head.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{name}" + (f"?{tail}" if tail else "")


SCHEMA = """
DROP TABLE IF EXISTS vol, minima;
CREATE TABLE vol (op int, party int, r float8, t0 float8, t1 float8, lo float8, hi float8,
                  datum int, ground int, mlo float8, mhi float8, g geography);
CREATE TABLE minima (pa int, pb int, h float8, v float8, t float8, PRIMARY KEY (pa, pb));
"""

QUERY = """
SELECT DISTINCT a.op, b.op
FROM vol a
JOIN vol b ON a.op < b.op AND a.party <> b.party
JOIN minima m ON m.pa = a.party AND m.pb = b.party
WHERE greatest(0, b.t0 - a.t1, a.t0 - b.t1) < m.t
  AND CASE WHEN a.datum = b.datum AND (a.datum <> 2 OR a.ground = b.ground)
           THEN greatest(0, b.lo - a.hi, a.lo - b.hi)
           ELSE greatest(0, b.mlo - a.mhi, a.mlo - b.mhi) END < m.v
  AND ST_DWithin(a.g, b.g, m.h + a.r + b.r, true)
"""
#: The same query with a cheaper test first: on the sphere, 1 % wider (the sphere is within
#: 0.6 % of the spheroid), so the spheroid decides as before and runs on fewer pairs. A CASE,
#: since the planner orders plain ANDed conditions of equal cost as it likes.
QUERY_SPHERE_FIRST = QUERY.replace(
    "AND ST_DWithin(a.g, b.g, m.h + a.r + b.r, true)",
    "AND CASE WHEN ST_DWithin(a.g, b.g, (m.h + a.r + b.r) * 1.01, false)\n"
    "           THEN ST_DWithin(a.g, b.g, m.h + a.r + b.r, true) ELSE false END",
)


def rows(operations: list[Operation]) -> Iterator[tuple[Any, ...]]:
    from deconfliction.engine.plan import VolumeTable

    table = VolumeTable.of(operations)
    for k in range(len(table)):
        outline = table.footprint(k).outline
        lonlat = np.column_stack([outline.lons, outline.lats])
        if outline.shape == "point":
            geom = shapely.Point(lonlat[0])
        elif outline.shape == "line":
            geom = shapely.LineString(lonlat)
        else:
            geom = shapely.Polygon(lonlat)
        yield (
            int(table.owner[k]),
            int(table.party[k]),
            outline.radius_m,
            float(table.t0[k]),
            float(table.t1[k]),
            float(table.lower[k]),
            float(table.upper[k]),
            int(table.datum[k]),
            int(table.ground[k]),
            float(table.msl_lower[k]),
            float(table.msl_upper[k]),
            shapely.to_wkb(geom, hex=True),
        )


def postgis(
    conn: psycopg.Connection[Any], operations: list[Operation], policy: MinimaPolicy, runs: int
) -> dict[str, Any]:
    from deconfliction.engine.plan import VolumeTable

    data = list(rows(operations))
    parties = VolumeTable.of(operations).parties
    conn.execute(SCHEMA)
    start = time.perf_counter()
    with conn.cursor() as cur, cur.copy("COPY vol FROM STDIN") as copy:
        for row in data:  # geography reads hex WKB as text
            copy.write_row(row)
    conn.execute("CREATE INDEX vol_g ON vol USING gist (g)")
    for i, a in enumerate(parties):
        for j, b in enumerate(parties):
            m = policy.for_pair(a, b)
            conn.execute(
                "INSERT INTO minima VALUES (%s, %s, %s, %s, %s)",
                (i, j, m.horizontal_m, m.vertical_m, m.time_s),
            )
    conn.execute("ANALYZE vol")
    conn.execute("ANALYZE minima")
    load_s = time.perf_counter() - start
    out: dict[str, Any] = {"load_s": load_s}
    for name, query in (("query_s", QUERY), ("sphere_first_s", QUERY_SPHERE_FIRST)):
        times = []
        for _ in range(runs):
            seconds, result = timed(lambda query=query: conn.execute(query).fetchall())  # type: ignore[misc]
            times.append(seconds)
            found = {(int(a), int(b)) for a, b in result}
            if out.setdefault("found", found) != found:
                raise RuntimeError("the two PostGIS queries disagree")
        out[name] = statistics.median(times)
    out["best_s"] = min(out["query_s"], out["sphere_first_s"])
    out["plan"] = "\n".join(r[0] for r in conn.execute("EXPLAIN " + QUERY_SPHERE_FIRST).fetchall())
    return out


# -- agreement --------------------------------------------------------------------------


def closest_margin(operations: list[Operation], policy: MinimaPolicy, n: int, m: int) -> float:
    """For a pair found by one side only: the smallest |d - H| / H over its volume pairs
    that pass the time and altitude tests (d measured as the engine does)."""
    from deconfliction.geo.altitude import comparable_intervals

    a, b = operations[n], operations[m]
    minima = policy.for_pair(a.party, b.party)
    best = float("inf")
    for va in a.volumes:
        for vb in b.volumes:
            gap_t = max(0.0, vb.window.start_s - va.window.end_s, va.window.start_s - vb.window.end_s)
            (alo, ahi), (blo, bhi), _ = comparable_intervals(va.band, vb.band)
            if gap_t >= minima.time_s or max(0.0, blo - ahi, alo - bhi) >= minima.vertical_m:
                continue
            (la, oa, _), (lb, ob, _) = va.footprint.cap, vb.footprint.cap
            d = horizontal_distance_m(va.footprint, vb.footprint, frame_at(*midpoint(la, oa, lb, ob)))
            best = min(best, abs(d - minima.horizontal_m) / minima.horizontal_m)
    return best


@dataclass
class Row:
    size: int
    volumes: int
    result: dict[str, Any] = field(default_factory=dict)


def run(sizes: Sequence[int], runs: int, pg_url: str) -> tuple[list[Row], str]:
    ensure_postgis()
    conn = connect(pg_url)
    out: list[Row] = []
    plans = ""
    help_s = startup(runs)
    for size in sizes:
        operations, policy = generate(size)
        row = Row(size, sum(len(op.volumes) for op in operations))
        print(f"N = {size}: {row.volumes} volumes", flush=True)
        slow = 1 if size >= 10_000 else runs  # PostGIS and the command line: once at 10,000
        e = engine(operations, policy, runs)
        print(
            f"  engine: pairs {e['pairs_s']:.3f} s, conflicts {e['conflicts_s']:.3f} s, {e['conflicts']:,}",
            flush=True,
        )
        p = postgis(conn, operations, policy, slow)
        print(
            f"  postgis: load {p['load_s']:.3f} s, queries {p['query_s']:.3f} / {p['sphere_first_s']:.3f} s"
        )
        search = searches(operations, policy) if size <= 3000 else None
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "plan.geojson"
            path.write_bytes(orjson.dumps(document(operations, policy=policy)))
            table = check_cli(path, [], slow)
            as_json = check_cli(path, ["--json"], slow)
            print(f"  check: {table['wall_s']:.2f} s, --json {as_json['wall_s']:.2f} s", flush=True)
        only_engine = e["found"] - p["found"]
        only_postgis = p["found"] - e["found"]
        margins = [closest_margin(operations, policy, n, m) for n, m in only_engine | only_postgis]
        memory = engine_memory(operations, policy) if size == max(sizes) else None
        row.result = {
            "engine": {k: v for k, v in e.items() if k != "found"},
            "postgis": {k: v for k, v in p.items() if k not in ("found", "plan")},
            "check": table,
            "check_json": as_json,
            "only_engine": len(only_engine),
            "only_postgis": len(only_postgis),
            "worst_margin": max(margins) if margins else None,
            "memory_mib": memory,
            "searches": search,
        }
        plans = p["plan"]
        out.append(row)
    conn.close()
    for row in out:
        row.result["help_s"] = help_s
    return out, plans


# -- report -----------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "postgresql-15-postgis-3"], capture_output=True, text=True
    ).stdout
    return (
        f"{os.cpu_count()} CPUs (nproc), {model}; Python {platform.python_version()}, "
        f"numpy {np.__version__}, shapely {shapely.__version__} (GEOS {shapely.geos_version_string}); "
        f"PostgreSQL 15 with PostGIS {version}; {platform.system()} {platform.release()}"
    )


def markdown(results: list[Row], plan: str, command: str, load: str) -> str:
    lines = [
        SECTION,
        "",
        "A day's plan checked all pairs at once (`engine.plan`, `deconfliction check`), against one",
        "PostGIS self-join over the same footprints in the same run. Plans of N operations over",
        "eastern Syria (the Euphrates scenario day redrawn with further seeds: orbits, boxes,",
        "corridors, arcs, airways and terminal areas of three parties, all in one day, so conflicts",
        "grow with the square of N). PostGIS holds each footprint's core as geography (point, line",
        "or polygon of the same outline) with its radius, under a GiST index. Its query is one",
        "self-join: the time and altitude gaps under the pair's minima (as the engine tests them),",
        "and `ST_DWithin` on the spheroid at the pair's horizontal minimum plus both radii; the",
        "second form tests `ST_DWithin` on the sphere 1 % wider first (the same pairs; faster or",
        "slower by turns). The planner uses neither the GiST index nor a time index for this join (a form",
        "that makes it use the index, a `ST_DWithin` at the widest minimum in the join condition,",
        "is several times slower: the region is dense, and time separates far more pairs than",
        "space). Medians of the runs (PostGIS and `check` run once at 10,000); everything on one",
        "core (the benchmark process and the PostgreSQL backend pinned to CPU 0, no parallel",
        "workers, no JIT).",
        "",
        f"Machine: {machine()}. Load average at the start: {load} (the machine is shared).",
        "",
        f"Command: `{command}`",
        "",
        "| N | volumes | conflicts | engine: pairs (s) | engine: conflicts (s) "
        "| PostGIS: spheroid (s) | PostGIS: sphere first (s) | PostGIS: load + index (s) "
        "| engine vs best query |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        e, p = r.result["engine"], r.result["postgis"]
        lines.append(
            f"| {r.size:,} | {r.volumes:,} | {e['conflicts']:,} | {e['pairs_s']:.3f} | "
            f"{e['conflicts_s']:.3f} | {p['query_s']:.2f} | {p['sphere_first_s']:.2f} | {p['load_s']:.3f} | "
            f"**{p['best_s'] / e['conflicts_s']:.1f}×** |"
        )
    lines += [
        "",
        '"engine: pairs" is `plan_pairs` (the conflicting volume pairs as arrays, with distances',
        'and gaps); "engine: conflicts" is `plan_conflicts` (the same, made into the conflict',
        "objects `check` prints), on fresh copies of the operations each run, as `check` has",
        "them after reading its file (bounding caps known, nothing measured in any frame).",
        '"engine vs best query" divides the faster PostGIS query by the latter.',
        "",
        "`deconfliction check FILE` end to end, in a fresh process (start-up, reading and",
        "validating the file, the check, the output; `deconfliction --help` alone takes"
        f" {results[0].result['help_s']:.2f} s):",
        "",
        "| N | `check` (s) | `check --json` (s) | JSON (MB) | peak RSS (MiB) | PostGIS load + best query (s) "
        "| `check` vs PostGIS |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        p, c, j = r.result["postgis"], r.result["check"], r.result["check_json"]
        total = p["load_s"] + p["best_s"]
        lines.append(
            f"| {r.size:,} | {c['wall_s']:.2f} | {j['wall_s']:.2f} | {j['output_mb']:.1f} | "
            f"{c['peak_mib']:.0f} / {j['peak_mib']:.0f} | {total:.2f} | **{total / c['wall_s']:.1f}×** |"
        )
    lines += [
        "",
        "Agreement, by operation pair (PostGIS measures on the spheroid, the engine in local",
        "frames within 0.06 % of it; a pair found by one side only must have a volume pair within"
        f" {TOLERANCE:.1%} of the horizontal minimum):",
        "",
        "| N | found by both | engine only | PostGIS only | worst \\|d - H\\| / H of those |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        res = r.result
        worst = "-" if res["worst_margin"] is None else f"{res['worst_margin']:.2e}"
        both = res["engine"]["conflicts"] - res["only_engine"]
        lines.append(f"| {r.size:,} | {both:,} | {res['only_engine']} | {res['only_postgis']} | {worst} |")
    for r in results:
        if r.result["memory_mib"] is not None:
            lines += [
                "",
                f"Memory at N = {r.size:,}, one core: `plan_conflicts` raised a fresh process's resident"
                f" memory by {r.result['memory_mib'][0]:.0f} MiB at its peak, and its"
                f" {r.result['engine']['conflicts']:,} conflicts hold {r.result['memory_mib'][1]:.0f} MiB"
                " after it returns (the process held the plan before).",
            ]
    lines += [
        "",
        "How the engine finds its candidate pairs, each way tried (the time for the search, the",
        "pairs it yields, then the array tests of party, time, altitude and bounding caps that",
        "follow and the pairs left for the exact measurement):",
        "",
        "| N | search | search (s) | candidates | array tests (s) | left |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        for name, v in (r.result["searches"] or {}).items():
            lines.append(
                f"| {r.size:,} | {name} | {v['search_s']:.3f} | {int(v['candidates']):,} | "
                f"{v['filters_s']:.3f} | {int(v['left']):,} |"
            )
    lines += ["", f"PostGIS's plan (N = {results[-1].size:,}, sphere first):", "", "```", plan, "```", ""]
    return "\n".join(lines)


def write_docs(section: str) -> None:
    """Replace (or append) only this benchmark's section of the shared file."""
    text = DOCS.read_text(encoding="utf-8")
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    DOCS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get("DECONFLICTION_TEST_PG", "postgresql:///test"))
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {0})
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    results, plan = run(args.sizes, args.runs, args.pg_url)
    command = "PYTHONPATH=src .venv/bin/python benchmarks/plan_check.py " + " ".join(
        ["--sizes", *map(str, args.sizes), "--runs", str(args.runs)]
    )
    section = markdown(results, plan, command, load)
    print(section)
    if args.write_docs:
        write_docs(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
