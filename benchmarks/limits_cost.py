"""What plausibility limits add to a filing (docs/benchmarks.md, "Plausibility limits").

Two costs, each timed alone: the engine's check of a new operation (footprint area, which
for a circle buffers a 64-gon once, then the sums), and the store's locking read of the
party's limits and space-time held (one upsert; the total is added back at commit by a
second statement of the same kind). Run against the strategic filing benchmark, side by
side with the commit before the limits, for the whole path.

    .venv/bin/python benchmarks/limits_cost.py [--pg-url postgresql:///test]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import psycopg

from deconfliction.engine.limits import DEFAULT_LIMITS, check_operation, operation_claim_m2s
from deconfliction.engine.operation import Operation
from deconfliction.geo import AltitudeBand, Circle, Polygon, Position, TimeWindow, Volume4D
from deconfliction.store import Party, open_store
from deconfliction.store.limits import LimitsRepo

T0 = datetime(2026, 1, 1, 6, tzinfo=UTC)
BAND = AltitudeBand.parse(100, 200, "FL", "STD")
WINDOW = TimeWindow(T0, T0 + timedelta(hours=2))


def _cpu_ms(calls: list[Operation], what: Callable[[Operation], object]) -> float:
    start = time.process_time()
    for op in calls:
        what(op)
    return (time.process_time() - start) / len(calls) * 1e3


def engine(n: int) -> None:
    circles = [
        Operation("RED", f"C{k}", (Volume4D(Circle(Position(35, 38 + k * 1e-3), 5000), BAND, WINDOW),))
        for k in range(n)
    ]
    square = ((0, 0), (0.2, 0), (0.2, 0.2), (0, 0.2))
    polygons = [
        replace(
            c,
            volumes=(
                Volume4D(
                    Polygon(tuple(Position(35 + a, 38 + b + k * 1e-3) for a, b in square)), BAND, WINDOW
                ),
            ),
        )
        for k, c in enumerate(circles)
    ]

    def check(op: Operation) -> float:
        return check_operation(DEFAULT_LIMITS, op, 0.0)

    print(f"check_operation, new circle: {_cpu_ms(circles, check):.4f} ms CPU")
    print(
        f"operation_claim_m2s again (as the insert does): {_cpu_ms(circles, operation_claim_m2s):.4f} ms CPU"
    )
    print(f"check_operation, new polygon: {_cpu_ms(polygons, check):.4f} ms CPU")


def store(url: str, n: int) -> None:
    opened = open_store(url)
    try:
        with opened.transaction() as tx:
            tx.add_party(Party("RED", "Red"))
        with opened.transaction() as tx:
            repo = tx.repo(LimitsRepo)
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(n):
                repo.standing("RED")
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        name = url.split(":", 1)[0]
        per = f"{wall / n * 1e3:.3f} ms wall, {cpu / n * 1e3:.3f} ms CPU"
        print(f"{name}: locking read of limits and held: {per}")
    finally:
        opened.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--pg-url", default=os.environ.get("DECONFLICTION_TEST_PG", "postgresql:///test"))
    args = parser.parse_args()
    engine(args.n)
    store(f"sqlite:///{tempfile.mkdtemp()}/limits.sqlite", args.n)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in args.pg_url else "?"
        store(f"{args.pg_url}{sep}options={quote(f'-csearch_path={schema}', safe='')}", args.n)
    finally:
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
