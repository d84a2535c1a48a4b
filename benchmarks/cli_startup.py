"""Command-line start-up: wall time of ``deconfliction --help`` and of ``tactical detect``
on two tracks, each a fresh process, for this tree and a baseline tree side by side.

    .venv/bin/python benchmarks/cli_startup.py --baseline /tmp/base/src --runs 15

``--baseline`` is the ``src`` directory of another checkout (e.g. ``git archive REV src |
tar -x -C /tmp/base``). Runs alternate between the trees so that load on the machine
falls on both alike; the table gives the median and the fastest run. The cumulative
import time of ``deconfliction.cli`` is read from ``python -X importtime``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "src"
TWO_TRACKS = (
    "id,party,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n"
    "A,blue,10.0,20.0,3000,200,90,0\nB,red,10.0,20.2,3000,200,270,0\n"
)
RUN = "import sys\nfrom deconfliction.cli import main\nsys.argv = ['deconfliction', *sys.argv[1:]]\nmain()\n"


def _env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src)}


def wall_s(src: Path, args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", RUN, *args], env=_env(src), capture_output=True, check=True)
    return time.perf_counter() - started


def import_ms(src: Path) -> float:
    """Cumulative import time of ``deconfliction.cli``, from ``-X importtime`` (ms)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import deconfliction.cli"],
        env=_env(src),
        capture_output=True,
        text=True,
        check=True,
    )
    for line in done.stderr.splitlines():
        if line.rstrip().endswith("| deconfliction.cli"):
            return int(line.split("|")[1]) / 1000
    raise RuntimeError("deconfliction.cli not in the import-time report")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", type=Path, required=True, help="src directory of the baseline tree")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    trees = {"baseline": args.baseline.resolve(), "this tree": HERE}
    with tempfile.TemporaryDirectory() as tmp:
        states = Path(tmp) / "two.csv"
        states.write_text(TWO_TRACKS, encoding="utf-8")
        commands = {"--help": ["--help"], "tactical detect (2 tracks)": ["tactical", "detect", str(states)]}
        times: dict[tuple[str, str], list[float]] = {}
        imports: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.runs):
            for tree, src in trees.items():
                imports[tree].append(import_ms(src))
                for label, argv in commands.items():
                    times.setdefault((tree, label), []).append(wall_s(src, argv))
    machine = f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"{machine}, {args.runs} runs each")
    print(f"{'command':30} {'tree':10} {'median':>8} {'fastest':>8}")
    for (tree, label), values in times.items():
        print(f"{label:30} {tree:10} {statistics.median(values):7.3f}s {min(values):7.3f}s")
    for tree, values in imports.items():
        median = statistics.median(values)
        print(f"{'import deconfliction.cli':30} {tree:10} {median:6.0f} ms (median, -X importtime)")


if __name__ == "__main__":
    main()
