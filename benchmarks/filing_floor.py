"""The floor under a filing (issue 2): the CPU time its libraries and the kernel take.

Issue 2 asks for 1,000 filings a second on one core, so 1 ms of CPU a filing. Part of a
filing's time is work the design prescribes whatever language drives it: GEOS's exact
shapes, PROJ's frames, H3's cells, SQLite's rows and the kernel's writes and syncs for a
durable commit. This script measures that part directly. It files operations of the
strategic benchmark's scenario into a fresh copy of a pre-loaded SQLite store, under
``perf record -e cpu-clock``, a software clock that samples every thread of the process
(the store's checkpointer included) and works in a VM without hardware counters. Only the
samples inside the timed filings count: the child prints that window's ``CLOCK_MONOTONIC``
bounds, and perf stamps its samples with the same clock.

Each sample goes to the shared object it was taken in. The floor is the share of GEOS, PROJ,
H3, SQLite, libm and the kernel, times the CPU time a filing took (``os.times``, user plus
system). libm is in it because nine tenths of its work is PROJ's and GEOS's trigonometry
(callgrind, session 13; the rest is numpy's and ours). The floor leaves out libc's
allocator and copies and libstdc++, which compiled code doing this work would call too, so
it is a lower bound. Instruction rates differ between libraries, so this is more direct than
scaling callgrind's counts (``filing_instructions.py``) by the process's average rate.

    .venv/bin/python benchmarks/filing_floor.py --store STORE --runs 2

perf comes from Debian's ``linux-perf``; sampling the kernel needs root or
``kernel.perf_event_paranoid`` at 1 or below.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The libraries doing the work the design prescribes, by a fragment of their path.
FLOOR = (
    ("GEOS", ("libgeos",)),
    ("SQLite", ("libsqlite3",)),
    ("PROJ", ("libproj", "pyproj.libs")),
    ("H3", ("/h3/",)),
    ("libm", ("libm.so",)),
    ("kernel", ("[kernel",)),
)
#: The rest, shown beside the floor.
REST = (
    ("interpreter", ("libpython",)),
    ("numpy", ("numpy",)),
    ("libc", ("libc.so",)),
)
WARMUP = 200


def child(store_path: Path, filings: int, batch: int) -> None:
    """File ``WARMUP`` operations one at a time, then ``filings`` more (in batches of
    ``batch``), printing the timed part's clock window and its CPU time."""
    import strategic_filing as sf
    from filing_instructions import file_specs, scenario_service

    specs = list(sf.specs(2016, WARMUP + filings, prefix="new-", days=7))
    with scenario_service(store_path) as service:
        file_specs(service, specs[:WARMUP], 1)
        gc.collect()
        gc.freeze()
        start, before = time.clock_gettime(time.CLOCK_MONOTONIC), os.times()
        file_specs(service, specs[WARMUP:], batch)
        after, end = os.times(), time.clock_gettime(time.CLOCK_MONOTONIC)
    print(
        f"window {start:.6f},{end:.6f} filings {filings} user {after.user - before.user:.6f} "
        f"system {after.system - before.system:.6f} wall {end - start:.6f}"
    )


def sampled(store_path: Path, filings: int, batch: int) -> dict[str, float]:
    """One child run under perf: each group's share of the samples in the timed window,
    with the CPU and wall milliseconds per filing."""
    from filing_instructions import run_child

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "perf.data"
        record = ["perf", "record", "-k", "CLOCK_MONOTONIC", "-e", "cpu-clock", "-F", "2000", "-o", str(data)]
        run = run_child(record, __file__, ROOT / "src", str(store_path), str(filings), str(batch))
        found = re.search(r"window (\S+) filings \d+ user (\S+) system (\S+) wall (\S+)", run.stdout)
        if run.returncode != 0 or found is None:
            raise SystemExit(f"the perf run failed:\n{run.stderr[-2000:]}")
        window, user, system, wall = found.group(1), *map(float, found.groups()[1:])
        script = subprocess.run(
            ["perf", "script", "-i", str(data), "--time", window, "-F", "ip,dso"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    # each line is "ADDRESS (PATH OF THE SHARED OBJECT)"
    samples = collections.Counter(line.split(maxsplit=1)[1] for line in script.splitlines() if " (" in line)
    total = sum(samples.values())
    if total == 0:
        raise SystemExit("perf took no samples inside the timed window")
    shares: collections.Counter[str] = collections.Counter()
    for dso, count in samples.items():
        group = next((name for name, keys in FLOOR + REST if any(k in dso for k in keys)), "other")
        shares[group] += count / total
    return {**shares, "cpu_ms": 1e3 * (user + system) / filings, "wall_ms": 1e3 * wall / filings}


def markdown(rows: list[tuple[str, dict[str, float]]], command: str) -> str:
    groups = [name for name, _ in FLOOR + REST] + ["other"]
    lines = [
        f"Command: `{command}`",
        "",
        "| filing | per second | CPU ms a filing | " + " | ".join(f"{g} %" for g in groups) + " | floor ms |",
        "|---|---:|---:|" + "---:|" * (len(groups) + 1),
    ]
    for label, row in rows:
        floor = sum(row.get(name, 0.0) for name, _ in FLOOR) * row["cpu_ms"]
        cells = [f"{100 * row.get(g, 0.0):.1f}" for g in groups]
        lines.append(
            f"| {label} | {1e3 / row['wall_ms']:.0f} | {row['cpu_ms']:.2f} | "
            + " | ".join(cells)
            + f" | **{floor:.2f}** |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--store", type=Path, help="pre-loaded store (filing_instructions.py makes one)")
    parser.add_argument("--filings", type=int, default=2000)
    parser.add_argument(
        "--batch", type=int, nargs="+", default=[1, 50], help="batch sizes to measure, 1 = one at a time"
    )
    parser.add_argument("--runs", type=int, default=1, help="runs of each batch size, in turn")
    parser.add_argument("--child", nargs=3, metavar=("STORE", "FILINGS", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), int(args.child[1]), int(args.child[2]))
        return 0
    if shutil.which("perf") is None:
        raise SystemExit("perf is needed: apt-get install linux-perf")
    if args.store is None or not args.store.exists():
        where = f"no store at {args.store}" if args.store else "--store is needed"
        raise SystemExit(f"{where}: filing_instructions.py --store PATH pre-loads one")
    if args.filings < 1 or any(b < 1 or args.filings % b for b in args.batch):
        raise SystemExit(f"each --batch must be at least 1 and divide --filings ({args.filings})")
    rows = []
    for run in range(1, args.runs + 1):
        for batch in args.batch:
            label = "one at a time" if batch == 1 else f"batches of {batch}"
            rows.append((f"{label}, run {run}", sampled(args.store, args.filings, batch)))
            print(f"{rows[-1][0]}: done", file=sys.stderr, flush=True)
    command = "python " + " ".join(["benchmarks/filing_floor.py", *(argv or sys.argv[1:])])
    print(markdown(rows, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
