"""What publishing a native operation to USSs (the bridge) adds to accepting it, side by side.

Accepting an operation (``AccessService.transition``) now also publishes it as an F3548
constraint at the disclosure grid in the same transaction (``Bridge.sync``: the grid's
cells, their outlines, the cell index, the audit entry, and a notification per
intersecting subscription). The baseline is the same transition with ``Bridge.sync``
replaced by a no-op, as before the bridge. Each run files N operations (circles of the
given radius, spread so that they do not conflict) on a fresh SQLite store, and times
each accept; with ``--subscriptions K``, K USS subscriptions for constraints cover the
area, so every publication also queues notifications. ``gridded`` alone is timed too.

    .venv/bin/python benchmarks/f3548_bridge.py --operations 200 --radius-km 10 --subscriptions 3 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deconfliction.engine.operation import Operation, OperationState
from deconfliction.geo import AltitudeBand, Circle, Position, TimeWindow, Volume4D
from deconfliction.geo.altitude import Datum
from deconfliction.geo.grid import DEFAULT_GRID
from deconfliction.service.access import AccessService
from deconfliction.service.clock import ManualClock
from deconfliction.service.f3548 import F3548Service
from deconfliction.service.f3548.access import CONSTRAINT_PROCESSING, F3548Principal
from deconfliction.service.f3548.bridge import Bridge, gridded
from deconfliction.service.f3548.model import Extent, SubscriptionRequest
from deconfliction.store import Party, open_store
from deconfliction.store.base import PartyKind

T0 = datetime(2027, 1, 1, 6, 0, tzinfo=UTC)


def operation(n: int, radius_m: float) -> Operation:
    # 0.5 degree apart in longitude, rows of 20: no two operations conflict.
    centre = Position(40.0 + 0.5 * (n // 20), 10.0 + 0.5 * (n % 20))
    volume = Volume4D(
        Circle(centre, radius_m),
        AltitudeBand(0.0, 3000.0, Datum.MSL),
        TimeWindow(T0 + timedelta(hours=1), T0 + timedelta(hours=3)),
    )
    return Operation("RED", f"op{n}", (volume,))


@contextmanager
def without_bridge() -> Iterator[None]:
    original = Bridge.sync
    Bridge.sync = lambda self, tx, operation: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        Bridge.sync = original  # type: ignore[method-assign]


def accept_times(operations: int, radius_m: float, subscriptions: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(str(Path(tmp) / "bench.sqlite"))
        clock = ManualClock(T0)
        try:
            with store.transaction() as tx:
                tx.add_party(Party("RED", "Red", PartyKind.MILITARY))
            dss = F3548Service(store, clock)
            who = F3548Principal("uss1", frozenset({CONSTRAINT_PROCESSING}))
            for n in range(operations if subscriptions else 0):  # K subscriptions over each operation
                centre = operation(n, radius_m).volumes[0].footprint
                assert isinstance(centre, Circle)
                area = Circle(
                    centre.center_position, min(radius_m + 5_000.0, 25_000.0)
                )  # the DSS's area limit
                extent = Extent(area, 0.0, 5000.0, T0, T0 + timedelta(hours=4))
                for k in range(subscriptions):
                    request = SubscriptionRequest(extent, f"https://uss{k}.example", False, True)
                    dss.put_subscription(who, f"00000000-0000-4000-8000-{k:04d}{n:08d}", None, request)
            access = AccessService(store, clock)
            times = []
            for n in range(operations):
                op = access.file(operation(n, radius_m)).own.operation
                started = time.perf_counter()
                access.transition("RED", op.id, OperationState.ACCEPTED, op.version)
                times.append((time.perf_counter() - started) * 1000.0)
            queued = len(Bridge(store, clock).pending())
            assert queued == operations * subscriptions, queued  # one per USS base URL and operation
            return times
        finally:
            store.close()


def summary(times: list[float]) -> str:
    q = statistics.quantiles(times, n=20)
    return f"{statistics.median(times):.2f} (p95 {q[18]:.2f})"


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000.0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=200)
    parser.add_argument("--radius-km", type=float, default=10.0)
    parser.add_argument("--subscriptions", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    radius_m = args.radius_km * 1000.0
    baseline: list[float] = []
    bridged: list[float] = []
    notified: list[float] = []
    for _ in range(args.rounds):  # interleaved, so that the machine's load falls on all three alike
        with without_bridge():
            baseline += accept_times(args.operations, radius_m, 0)
        bridged += accept_times(args.operations, radius_m, 0)
        notified += accept_times(args.operations, radius_m, args.subscriptions)
    op = operation(0, radius_m)
    grid_only = timed(lambda: gridded(op, DEFAULT_GRID), 50)
    what = f"{args.rounds} x {args.operations} accepts, radius {args.radius_km:g} km"
    print(f"{what}, wall ms per accept, median (p95)")
    print(f"| accept without the bridge (baseline) | {summary(baseline)} |")
    print(f"| accept, published (no subscription) | {summary(bridged)} |")
    print(f"| accept, published, {args.subscriptions} subscriptions notified | {summary(notified)} |")
    print(f"| `gridded` alone (default grid) | {summary(grid_only)} |")
    print(f"volumes published for one operation: {len(gridded(op, DEFAULT_GRID))}")


if __name__ == "__main__":
    main()
