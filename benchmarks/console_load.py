"""Console load benchmark: a day's plan in the browser (Chromium driven by Playwright).

Starts `deconfliction serve` on a fresh SQLite store with three parties: P00 files 400
operations; P01 files operations over the same area and day until P00 has at least 700
conflicts; P02 files nothing (the baseline: the console with its base map only). Then, in
Debian's headless Chromium (software rendering, no GPU), for P00 and for P02 in turn:

    ready_ms    from navigation start (the sign-in link opened) to the first usable view:
                signed in, operations, conflicts, messages and lines loaded, lists and map
                drawn (the console's `console-ready` performance mark)
    pan         the map dragged back and forth with the mouse for --pan-s seconds with the
                whole day shown (every operation and overlap drawn), frames counted with
                requestAnimationFrame in the page: frames per second, and the p95 and
                worst frame interval

    .venv/bin/python benchmarks/console_load.py
    .venv/bin/python benchmarks/console_load.py --operations 400 --conflicts 700 --json out.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from service_load import ServerProcess, cpu_model, make_parties, percentile

from deconfliction.api.console import CHROMIUM_ARGS
from deconfliction.client import Client


def utc(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def filing(op_id: str, rng: random.Random, day: datetime) -> dict[str, Any]:
    start = day + timedelta(minutes=rng.randrange(0, 22 * 60, 5))
    end = start + timedelta(minutes=rng.randrange(60, 180, 5))
    lower = rng.randrange(50, 300, 10)
    centre = [rng.uniform(39.0, 41.0), rng.uniform(34.0, 36.0)]
    radius = {"value": rng.uniform(5, 15), "units": "km"}
    upper = lower + rng.randrange(20, 100, 10)
    return {
        "id": op_id,
        "volumes": [
            {
                "geometry": {"type": "Point", "coordinates": centre},
                "footprint": {"kind": "circle", "radius": radius},
                "altitude": {"lower": lower, "upper": upper, "units": "FL"},
                "time": {"start": utc(start), "end": utc(end)},
            }
        ],
    }


def load_day(base: str, creds: dict[str, tuple[str, str]], operations: int, conflicts: int) -> dict[str, int]:
    rng = random.Random(2015)
    day = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    with Client(base, *creds["P00"]) as p0, Client(base, *creds["P01"]) as p1:
        p0.file_operations([filing(f"A-{i:04d}", rng, day) for i in range(operations)])
        filed = 0
        while len(p0.conflicts()) < conflicts:
            p1.file_operations([filing(f"B-{filed + i:04d}", rng, day) for i in range(25)])
            filed += 25
        return {"operations": operations, "other_operations": filed, "conflicts": len(p0.conflicts())}


def measure(browser: Any, base: str, client_id: str, secret: str, pan_s: float) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{base}/console/#client_id={quote(client_id)}&secret={quote(secret)}")
        page.wait_for_selector("body[data-ready=true]", timeout=120_000)
        ready_ms = page.evaluate("() => performance.getEntriesByName('console-ready')[0].startTime")
        page.check("#all-times")  # every operation and overlap of the day drawn
        page.wait_for_timeout(500)
        box = page.locator("#map").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.evaluate(
            "() => { window.__frames = []; window.__stop = false;"
            " const f = t => { window.__frames.push(t); if (!window.__stop) requestAnimationFrame(f); };"
            " requestAnimationFrame(f); }"
        )
        began = time.monotonic()
        sign = 1
        while time.monotonic() - began < pan_s:
            page.mouse.move(cx, cy)
            page.mouse.down()
            page.mouse.move(cx + sign * 300, cy + sign * 120, steps=30)
            page.mouse.up()
            sign = -sign
        frames = page.evaluate("() => { window.__stop = true; return window.__frames; }")
    finally:
        context.close()
    intervals = [b - a for a, b in itertools.pairwise(frames)]
    duration_s = (frames[-1] - frames[0]) / 1000
    return {
        "ready_ms": round(ready_ms, 1),
        "pan_fps": round((len(frames) - 1) / duration_s, 1),
        "frame_p95_ms": round(percentile(intervals, 95), 1),
        "frame_max_ms": round(max(intervals), 1),
        "frames": len(frames),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--operations", type=int, default=400)
    parser.add_argument("--conflicts", type=int, default=700)
    parser.add_argument("--pan-s", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3, help="measurements per party, alternating")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'bench.sqlite'}"
        creds = make_parties(url, 3)
        # the batches of a day's plan would trip the per-party rate limit, which is not measured here
        server = ServerProcess(url, work, ["--rate-per-s", "100000", "--rate-burst", "100000"])
        try:
            setup = load_day(server.base, creds, args.operations, args.conflicts)
            print(f"loaded: {setup}", flush=True)
            results: dict[str, list[dict[str, float]]] = {"day": [], "baseline": []}
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=list(CHROMIUM_ARGS))
                try:
                    for _ in range(args.runs):
                        for name, party in (("baseline", "P02"), ("day", "P00")):
                            r = measure(browser, server.base, *creds[party], args.pan_s)
                            results[name].append(r)
                            print(name, r, flush=True)
                    version = browser.version
                finally:
                    browser.close()
        finally:
            server.stop()
    report = {
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
        "chromium": version,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "setup": setup,
        "results": results,
    }
    for name, runs in results.items():
        print(
            f"{name:8s} ready_ms median {sorted(r['ready_ms'] for r in runs)[len(runs) // 2]}"
            f"  pan_fps median {sorted(r['pan_fps'] for r in runs)[len(runs) // 2]}"
            f"  frame p95 (worst run) {max(r['frame_p95_ms'] for r in runs)} ms"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
