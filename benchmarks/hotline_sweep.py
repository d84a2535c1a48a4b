"""Hotline at the service layer: send and acknowledge rates, and what one deadline sweep
costs when many old messages stay unacknowledged (a server sweeps every second).

    .venv/bin/python benchmarks/hotline_sweep.py --db /tmp/h.sqlite --messages 2000
    .venv/bin/python benchmarks/hotline_sweep.py --db postgresql:///bench --messages 2000

The store must be empty (a fresh SQLite path, or a fresh PostgreSQL database/schema).
Time is a manual clock, so deadlines pass without waiting; the numbers are wall time.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from deconfliction.interop.hotline import hotline_service
from deconfliction.service.clock import ManualClock
from deconfliction.store import Party, open_store
from deconfliction.store.auth import Desk, DesksRepo

T0 = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
STOP = {
    "area": {
        "geometry": {"type": "Point", "coordinates": [40.1, 35.2]},
        "footprint": {"kind": "circle", "radius": {"value": 5, "units": "nm"}},
    },
    "reason": "COLLISION-RISK",
    "altitude": {"lower": 180, "upper": 220, "units": "FL"},
}
NOTIFY = {
    "operation": {"party": "RED", "operation_id": "ISR-1"},
    "start": "2026-11-26T07:00:00Z",
    "end": "2026-11-26T09:00:00Z",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    store = open_store(args.db)
    clock = ManualClock(T0)
    with store.transaction() as tx:
        for party in ("RED", "BLUE"):
            tx.add_party(Party(party, party))
        desks = tx.repo(DesksRepo)
        desks.add(Desk("BLUE", "director", "ru"))
        desks.add(Desk("BLUE", "duty", "ru", ("director",)))
        desks.add(Desk("RED", "duty", "en"))
    hotline = hotline_service(store, clock)
    n = args.messages

    started = time.perf_counter()
    ids = [hotline.send("RED", "BLUE", "PRIORITY", "NOTIFY", NOTIFY).id for _ in range(n)]
    send_s = time.perf_counter() - started

    started = time.perf_counter()
    for message_id in ids[: n // 2]:
        hotline.receipt("BLUE", message_id)
    receipt_s = time.perf_counter() - started

    stops = [hotline.send("RED", "BLUE", "STOP", "STOP", STOP) for _ in range(n // 4)]
    started = time.perf_counter()
    for stop in stops:
        hotline.acknowledge("BLUE", stop.id, stop.geometry_sha256)
    ack_s = time.perf_counter() - started

    clock.advance(timedelta(hours=1))  # every NOTIFY misses both deadlines, up the whole chain
    started = time.perf_counter()
    escalated = hotline.sweep()
    first_sweep_s = time.perf_counter() - started

    clock.advance(timedelta(hours=1))
    started = time.perf_counter()
    again = hotline.sweep()
    idle_sweep_s = time.perf_counter() - started
    store.close()

    backend = "PostgreSQL" if args.db.startswith("postgres") else "SQLite"
    print(f"{backend}, {n} messages")
    print(f"  send:        {n / send_s:8.0f} messages/s ({1000 * send_s / n:.2f} ms each)")
    print(f"  receipt:     {n // 2 / receipt_s:8.0f} /s")
    print(f"  acknowledge: {len(stops) / ack_s:8.0f} /s (STOP with geometry echo)")
    print(f"  sweep that escalates {len(escalated)}: {first_sweep_s * 1000:.0f} ms")
    print(f"  sweep with {n} old unacknowledged messages and nothing due: {idle_sweep_s * 1000:.1f} ms "
          f"({len(again)} escalations)")  # fmt: skip


if __name__ == "__main__":
    main()
