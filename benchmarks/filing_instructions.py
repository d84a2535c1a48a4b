"""Instructions per filing (issue 2): a cost that does not move with the machine's load.

Wall-clock and CPU-time figures on this shared machine vary by 20-30 % between runs of the
same code. valgrind's callgrind counts the instructions a process executes, which is the
same on every run for the same code and inputs. This script files K1 and then K2 operations
(the strategic benchmark's scenario) into fresh copies of one pre-loaded SQLite store under
callgrind and reports ``(count(K2) - count(K1)) / (K2 - K1)``: the instructions of one filing
in steady state, with start-up and imports cancelled out, split by the library they ran in.
PROJ pipelines for every frame of the region are built before the first filing, so their
one-off construction is not counted either, nor are the store's WAL checkpoints, which run
on a timer on their own thread. With ``--baseline-src`` it measures a second
source tree (a git worktree of the baseline commit, say) the same way, against the same
store file, and prints the two side by side.

    git worktree add /tmp/baseline <commit>
    .venv/bin/python benchmarks/filing_instructions.py --stored 100000 --filings 200 600 \
        --baseline-src /tmp/baseline/src

valgrind runs the filings about fifty times slower than normal: 600 filings take two
minutes. The pre-loaded store is kept (``--store``) and reused by later runs.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strategic_filing import Spec

    from deconfliction.service import OperationService

ROOT = Path(__file__).resolve().parent.parent
#: What each shared object counts as in the breakdown (first match wins).
LIBRARIES = (
    ("Python interpreter", ("libpython",)),
    ("GEOS", ("libgeos",)),
    ("PROJ", ("libproj", "pyproj.libs")),  # pyproj.libs also holds the SQLite PROJ reads proj.db with
    ("SQLite", ("libsqlite3", "_sqlite3")),
    ("libm (PROJ's and our trigonometry)", ("libm.so",)),
    ("shapely and pyproj bindings", ("shapely/", "pyproj/_", "pyproj/lib")),
    ("H3", ("h3/",)),
    ("numpy", ("numpy", "_multiarray")),
    ("json", ("_json",)),
    ("libc (malloc, memcpy, ...)", ("libc.so",)),
)


@contextlib.contextmanager
def scenario_service(store_path: Path, checkpoints: bool = True) -> Iterator[OperationService]:
    """A filing service over a fresh copy of the pre-loaded store, with every PROJ frame of the
    scenario's region built beforehand: building a pipeline costs more than a filing, and a
    long-running service has built its frames. With ``checkpoints`` off, the store's WAL
    checkpoints, which run on a timer on their own thread, are left out: how much of their
    work falls inside a count would depend on how fast the process runs."""
    import numpy as np
    import strategic_filing as sf

    from deconfliction.geo.frame import FRAME_GRID_DEG, frame_at
    from deconfliction.service import OperationService
    from deconfliction.store import open_store
    from deconfliction.store import sqlite as sqlite_store

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "filing.sqlite"
        shutil.copy(store_path, path)
        for lat in np.arange(sf.LAT0 - 1.0, sf.LAT0 + sf.SPAN + 1.0, FRAME_GRID_DEG):
            for lon in np.arange(sf.LON0 - 1.0, sf.LON0 + sf.SPAN + 1.0, FRAME_GRID_DEG):
                frame_at(float(lat), float(lon)).forward(np.array([sf.LON0]), np.array([sf.LAT0]))
        if not checkpoints:
            sqlite_store.CHECKPOINT_INTERVAL_S = 86_400.0
        store = open_store(f"sqlite:///{path}")
        try:
            yield OperationService(store)
        finally:
            store.close()


def file_specs(service: OperationService, specs: Sequence[Spec], batch: int) -> None:
    """File ``specs`` one at a time or, with ``batch`` > 1, in ``file_many`` batches of that many."""
    import strategic_filing as sf

    if batch > 1:
        for start in range(0, len(specs), batch):
            service.file_many([sf.build(spec) for spec in specs[start : start + batch]])
    else:
        for spec in specs:
            service.file(sf.build(spec))


def child(store_path: Path, filings: int, batch: int) -> None:
    """File ``filings`` operations into a copy of the store (run under callgrind)."""
    import strategic_filing as sf

    with scenario_service(store_path, checkpoints=False) as service:
        gc.collect()
        gc.freeze()
        file_specs(service, list(sf.specs(2016, filings, prefix="new-", days=7)), batch)


def run_child(tool: Sequence[str], script: str, src: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``script --child ARGS`` under ``tool`` (a profiler's command line), importing the
    package from ``src``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT / "benchmarks")])}
    found = subprocess.run(
        [sys.executable, "-c", "import deconfliction; print(deconfliction.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(src.resolve()):
        raise SystemExit(f"{src} does not hold the package that gets imported ({found})")
    return subprocess.run(
        [*tool, sys.executable, script, "--child", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def counted(src: Path, store_path: Path, filings: int, batch: int) -> collections.Counter[str]:
    """Instructions of one child run by library (and ``total``), from callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        tool = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        run = run_child(tool, __file__, src, str(store_path), str(filings), str(batch))
        total = re.search(r"Collected : (\d+)", run.stderr)
        if run.returncode != 0 or total is None:
            raise SystemExit(f"the callgrind run failed:\n{run.stderr[-2000:]}")
        by_object = _self_cost_by_object(out)
        if sum(by_object.values()) != int(total.group(1)):
            raise SystemExit(f"the costs read from {out} do not add up to callgrind's total")
    by_library: collections.Counter[str] = collections.Counter(total=int(total.group(1)))
    for name, cost in by_object.items():
        library = next((label for label, keys in LIBRARIES if any(k in name for k in keys)), "other")
        by_library[library] += cost
    return by_library


def _self_cost_by_object(path: Path) -> collections.Counter[str]:
    """Instructions executed in each shared object, read from a callgrind output file.

    Cost lines belong to the current ``ob=``; the line after a ``calls=`` line is the
    inclusive cost of that call and is skipped. Names may be compressed: ``(id) name``
    defines an id, ``(id)`` alone refers to it (``ob`` and ``cob`` share the ids)."""
    names: dict[str, str] = {}
    costs: collections.Counter[str] = collections.Counter()
    current, skip = "", False
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith(("ob=", "cob=")):
                ref, _, name = line.split("=", 1)[1].strip().partition(" ")
                if name or not ref.startswith("("):
                    names[ref] = name or ref
                if line.startswith("ob="):
                    current = names.get(ref, ref)
            elif line.startswith("calls="):
                skip = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if skip:
                    skip = False
                    continue
                fields = line.split()
                if len(fields) > 1:
                    costs[current] += int(fields[1])
    return costs


def per_filing(src: Path, store_path: Path, k1: int, k2: int, batch: int) -> dict[str, float]:
    low, high = counted(src, store_path, k1, batch), counted(src, store_path, k2, batch)
    return {name: (high[name] - low[name]) / (k2 - k1) for name in high.keys() | low.keys()}


def markdown(rows: list[tuple[str, dict[str, float]]], command: str) -> str:
    labels = [label for label, _ in LIBRARIES] + ["other"]
    lines = [
        f"Command: `{command}`",
        "",
        "| code | instructions per filing | " + " | ".join(labels) + " |",
        "|---|---:|" + "---:|" * len(labels),
    ]
    for name, cost in rows:
        cells = [f"{cost.get(label, 0.0) / 1e6:.2f} M" for label in labels]
        lines.append(f"| {name} | **{cost['total'] / 1e6:.2f} M** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--filings", type=int, nargs=2, default=[200, 600], metavar=("K1", "K2"))
    parser.add_argument("--store", type=Path, help="pre-loaded store to use (made if missing)")
    parser.add_argument("--baseline-src", type=Path, help="a second source tree to measure beside this one")
    parser.add_argument(
        "--batch", type=int, default=1, help="file in OperationService.file_many batches of this size"
    )
    parser.add_argument("--child", nargs=3, metavar=("STORE", "FILINGS", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), int(args.child[1]), int(args.child[2]))
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install valgrind")
    k1, k2 = args.filings
    if not 0 < k1 < k2:
        raise SystemExit(f"--filings needs 0 < K1 < K2, got {k1} {k2}")
    if args.batch < 1 or k1 % args.batch or k2 % args.batch:
        raise SystemExit(f"--batch must be at least 1 and divide K1 and K2, got {args.batch}")
    store = args.store or Path(tempfile.gettempdir()) / f"filing-instructions-{args.stored}.sqlite"
    if not store.exists():
        print(f"pre-loading {args.stored:,} operations into {store} ...", file=sys.stderr, flush=True)
        import strategic_filing as sf

        from deconfliction.store import open_store

        target = open_store(f"sqlite:///{store}")
        sf.preload(target, args.stored, 2015, 7, os.cpu_count() or 1)
        target.close()
    rows = [("this tree", per_filing(ROOT / "src", store, k1, k2, args.batch))]
    if args.baseline_src:
        baseline = per_filing(args.baseline_src, store, k1, k2, args.batch)
        rows.append((f"baseline ({args.baseline_src})", baseline))
    command = "python " + " ".join(["benchmarks/filing_instructions.py", *(argv or sys.argv[1:])])
    print(markdown(rows, command))
    return 0


if __name__ == "__main__":
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    raise SystemExit(main())
