"""Reading an F3548 intent body: the edge's walk against ``ImplicitDict.parse``, side by side.

``deconfliction.interop.f3548.wire`` checks a body against its ``uas-standards`` model by
walking the JSON along the model's type hints. The baseline is the models' own
``ImplicitDict.parse`` (which coerces, so it cannot stand alone, and re-evaluates type
hints for every object it builds). Both read the same ``PutOperationalIntentReferenceParameters``
body of one polygon with N vertices (10,000 is the standard's limit); the
conversion to our volumes (``parse_volume4d``), which both paths need, is timed too.

    .venv/bin/python benchmarks/f3548_wire.py --vertices 10000 --runs 7
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from uas_standards.astm.f3548.v21 import api

from deconfliction.interop.f3548 import wire
from deconfliction.interop.f3548.volumes import parse_volume4d


def body(vertices: int) -> dict[str, Any]:
    start = datetime(2027, 1, 1, tzinfo=UTC)

    def t(value: datetime) -> dict[str, str]:
        return {"value": value.isoformat().replace("+00:00", "Z"), "format": "RFC3339"}

    ring = [
        {
            "lat": 46.5 + 0.01 * math.sin(2 * math.pi * i / vertices),
            "lng": 6.6 + 0.01 * math.cos(2 * math.pi * i / vertices),
        }
        for i in range(vertices)
    ]
    altitude = {"reference": "W84", "units": "M"}
    return {
        "extents": [
            {
                "volume": {
                    "outline_polygon": {"vertices": ring},
                    "altitude_lower": {"value": 0, **altitude},
                    "altitude_upper": {"value": 100, **altitude},
                },
                "time_start": t(start),
                "time_end": t(start + timedelta(hours=1)),
            }
        ],
        "state": "Accepted",
        "uss_base_url": "https://uss.example",
    }


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.process_time()
        fn()
        out.append(time.process_time() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vertices", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    raw = body(args.vertices)
    model = api.PutOperationalIntentReferenceParameters
    rows = [
        ("wire.parse (the edge's walk)", lambda: wire.parse(raw, model)),
        ("ImplicitDict.parse (baseline)", lambda: model.parse(raw, model)),
        ("parse_volume4d (conversion, both)", lambda: parse_volume4d(raw["extents"][0], "extents[0]")),
        ("wire.intent_request (walk + conversion)", lambda: wire.intent_request(raw)),
    ]
    print(f"{args.vertices} vertices, {args.runs} runs, CPU time per body (ms): median [min, max]")
    for name, fn in rows:
        ms = [1000 * s for s in timed(fn, args.runs)]
        print(f"  {name:42s} {statistics.median(ms):8.1f} [{min(ms):.1f}, {max(ms):.1f}]")


if __name__ == "__main__":
    main()
