"""``deconfliction demo``: one day over the Euphrates line, filed into a fresh SQLite store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from deconfliction.cli.errors import reports_errors
from deconfliction.cli.report import print_summary, wide_console
from deconfliction.engine.strategic import StrategicConflict
from deconfliction.geo.timewindow import format_utc, parse_utc
from deconfliction.interop import geojson, html_map
from deconfliction.scenarios import euphrates
from deconfliction.service.operations import OperationService
from deconfliction.store import open_store


def _next_hour(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def unique_conflicts(service: OperationService, parties: list[str]) -> list[StrategicConflict]:
    """Every stored conflict once, read back from the store party by party."""
    seen: dict[frozenset[tuple[str, str]], StrategicConflict] = {}
    for party in parties:
        for c in service.conflicts(party):
            seen.setdefault(frozenset({(c.a.party, c.a.id), (c.b.party, c.b.id)}), c)
    return list(seen.values())


@click.command("demo")
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("deconfliction-demo"),
    show_default=True,
    help="Where the SQLite store, GeoJSON and HTML map are written (the store is recreated).",
)
@click.option("--start", default=None, help="UTC start of the scenario day (default: the next full hour).")
@click.option("--seed", default=2015, show_default=True, help="Scenario seed.")
@click.option("--top", default=12, show_default=True, help="How many urgent conflicts to list.")
@reports_errors
def demo(out_dir: Path, start: str | None, seed: int, top: int) -> None:
    """File a day of operations by two rival forces and a civil ANSP over eastern Syria.

    Builds the scenario, files every operation through the service into a fresh SQLite
    store, prints conflicts per pair of parties and the most urgent ones, and writes
    scenario.geojson (operations and conflict regions; `deconfliction check` reads it)
    and map.html (opens offline).
    """
    console = wide_console()
    now = datetime.now(UTC)
    day_start = parse_utc(start, "--start") if start else _next_hour(now)
    scenario = euphrates.build(day_start, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    db_path = out_dir / "demo.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)

    store = open_store(str(db_path))
    try:
        service = OperationService(store)
        for party in scenario.parties:
            service.add_party(party)
        for (a, b), minima in scenario.pair_minima.items():
            service.set_pair_minima(a, b, minima)
        console.print(
            f"[bold]Euphrates deconfliction line[/bold] — {len(scenario.operations)} operations by "
            f"{', '.join(p.id for p in scenario.parties)}, {format_utc(day_start)} + 24 h"
        )
        columns = (
            TextColumn("filing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[conflicts]} conflicts"),
            TimeElapsedColumn(),
        )
        found = 0
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("filing", total=len(scenario.operations), conflicts=0)
            for operation in scenario.operations:
                found += len(service.file(operation).conflicts)
                progress.update(task, advance=1, conflicts=found)
        conflicts = unique_conflicts(service, [p.id for p in scenario.parties])
        policy = service.policy()
    finally:
        store.close()

    print_summary(console, conflicts, now, top)
    doc = geojson.document(scenario.operations, conflicts, policy)
    (out_dir / "scenario.geojson").write_text(json.dumps(doc), encoding="utf-8")
    landmarks = html_map.Landmarks(euphrates.PLACES, {"Euphrates": euphrates.RIVER})
    page = html_map.render(
        scenario.operations, conflicts, "Euphrates deconfliction line — one day", landmarks
    )
    (out_dir / "map.html").write_text(page, encoding="utf-8")
    console.print(f"\nStore: {db_path}\nGeoJSON: {out_dir / 'scenario.geojson'}")
    console.print(f"Map: {out_dir / 'map.html'} (opens offline)")
