"""What the probe detectors cost a filing: the demo's day (``scenarios.euphrates``) filed
through ``AccessService`` into fresh SQLite stores, with the detectors and without them
(``service.access.watch`` replaced by a no-op), alternately, in one run.

    PYTHONPATH=src .venv/bin/python benchmarks/probe_cost.py --runs 3

Prints CPU and wall milliseconds per filing for each side, as measured.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deconfliction.scenarios import euphrates
from deconfliction.service import access as access_module
from deconfliction.service.access import AccessService
from deconfliction.service.clock import ManualClock
from deconfliction.service.operations import OperationService
from deconfliction.store import open_store

DAY = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)


def _no_watch(*args: Any, **kwargs: Any) -> list[Any]:
    return []


def file_day(path: Path, detectors: bool) -> tuple[float, float, int]:
    """CPU and wall ms per filing of the demo's day, and the filings."""
    scenario = euphrates.build(DAY)
    store = open_store(f"sqlite:///{path}")
    real = access_module.watch
    access_module.watch = real if detectors else _no_watch  # type: ignore[assignment]
    try:
        operations = OperationService(store)
        for party in scenario.parties:
            operations.add_party(party)
        for (a, b), minima in scenario.pair_minima.items():
            operations.set_pair_minima(a, b, minima)
        service = AccessService(store, ManualClock(DAY), operations)
        cpu, wall = time.process_time(), time.perf_counter()
        for operation in scenario.operations:
            service.file(operation)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        access_module.watch = real
        store.close()
    n = len(scenario.operations)
    return cpu * 1000 / n, wall * 1000 / n, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    found: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for detectors in (False, True):
                cpu, wall, n = file_day(Path(tmp) / f"{run}-{detectors}.sqlite", detectors)
                found[detectors].append((cpu, wall))
    print(f"{n} filings of the demo's day through AccessService on SQLite, {args.runs} runs each (median)")
    for detectors, label in ((False, "without detectors"), (True, "with detectors")):
        cpu = statistics.median(c for c, _ in found[detectors])
        wall = statistics.median(w for _, w in found[detectors])
        print(f"{label}: {cpu:.2f} ms CPU, {wall:.2f} ms wall a filing")


if __name__ == "__main__":
    main()
