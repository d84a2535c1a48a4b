"""``deconfliction demo``: one day over the Euphrates line, filed into a fresh SQLite store,
then a live phase: real recorded ADS-B flights replayed against the day's active operations."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from deconfliction.cli import demo_private
from deconfliction.cli.errors import reports_errors
from deconfliction.cli.report import print_disclosures, print_summary, wide_console
from deconfliction.cli.tactical import AlertPrinter
from deconfliction.engine.minima import MinimaPolicy, pair_key
from deconfliction.engine.strategic import StrategicConflict
from deconfliction.geo.timewindow import format_utc, parse_utc
from deconfliction.interop import geojson, html_map
from deconfliction.interop.feeds import recorded
from deconfliction.scenarios import euphrates
from deconfliction.service.access import AccessService
from deconfliction.service.clock import SystemClock
from deconfliction.service.credentials import create_credential
from deconfliction.service.disclosure import DisclosureService
from deconfliction.service.operations import OperationService
from deconfliction.service.tactical import EVENT_KIND, AlertPublisher
from deconfliction.store import Store, open_store
from deconfliction.store.auth import parse_scopes
from deconfliction.units import FOOT_M, NAUTICAL_MILE_M


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
@click.option(
    "--live-minutes",
    type=click.FloatRange(min=0.0, min_open=True, max=120.0),
    default=10.0,
    show_default=True,
    help="Minutes of recorded ADS-B traffic the live phase replays (5 s cycles).",
)
@click.option(
    "--live-sample",
    type=click.Choice(recorded.SAMPLES),
    default="quickstart",
    show_default=True,
    help="Which recording of the traffic package the live phase replays.",
)
@click.option("--no-live", is_flag=True, help="Skip the live phase.")
@click.option(
    "--serve", "serve_after", is_flag=True, help="Serve the demo store (API and console) when done."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface the console is served on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Its TCP port.")
@click.option("--private", is_flag=True, help="Run the rival pair in private mode (private-mode.md).")
@reports_errors
def demo(
    out_dir: Path,
    start: str | None,
    seed: int,
    top: int,
    live_minutes: float,
    live_sample: str,
    no_live: bool,
    serve_after: bool,
    host: str,
    port: int,
    private: bool,
) -> None:
    """File a day of operations by two rival forces and a civil ANSP over eastern Syria,
    then replay real recorded flights against the operations under way.

    Builds the scenario, files every operation through the service into a fresh SQLite
    store, prints conflicts per pair of parties and the most urgent ones, and writes
    scenario.geojson (operations and conflict regions; `deconfliction check` reads it)
    and map.html (opens offline). The live phase then activates the operations under way
    at a busy moment of the day, flies real ADS-B recordings (the `traffic` package's
    samples, moved rigidly from Paris to Deir ez-Zor) through them, and prints tactical
    alerts as they rise, escalate and clear. It needs the optional `traffic` extra.

    Each party gets a fresh credential, printed once as a sign-in link to the console;
    `--serve` then serves the store (API and console) until interrupted.
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
        if private:  # the service decides none of the rivals' conflicts; their agents do
            demo_private.make_private(str(db_path), demo_private.RIVALS)
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
            # as each party files its own: each side told of its conflicts as it may see them
            access = AccessService(store, SystemClock(), service)
            for operation in scenario.operations:
                found += len(access.file(operation).detected)
                progress.update(task, advance=1, conflicts=found)
        conflicts = unique_conflicts(service, [p.id for p in scenario.parties])
        policy = service.policy()
        ledgers = [DisclosureService(store, SystemClock()).ledger(p.id) for p in scenario.parties]
        sign_ins = demo_credentials(store, [p.id for p in scenario.parties])
    finally:
        store.close()

    print_summary(console, conflicts, now, top)
    print_disclosures(console, ledgers)
    doc = geojson.document(scenario.operations, conflicts, policy)
    (out_dir / "scenario.geojson").write_text(json.dumps(doc), encoding="utf-8")
    landmarks = html_map.Landmarks(euphrates.PLACES, {"Euphrates": euphrates.RIVER})
    page = html_map.render(
        scenario.operations, conflicts, "Euphrates deconfliction line — one day", landmarks
    )
    (out_dir / "map.html").write_text(page, encoding="utf-8")
    console.print(f"\nStore: {db_path}\nGeoJSON: {out_dir / 'scenario.geojson'}")
    console.print(f"Map: {out_dir / 'map.html'} (opens offline)")
    if private:
        demo_private.run_private_pair(console, scenario, out_dir, demo_private.RIVALS)
    print_sign_ins(console, sign_ins, host, port, db_path, serve_after)
    if not no_live:
        _live(console, scenario, db_path, live_sample, live_minutes)
    if serve_after:
        from deconfliction.api.app import ApiSettings
        from deconfliction.cli.serve import run_server

        console.print(f"\nServing {db_path} at http://{host}:{port}/console/ (Ctrl-C stops)")
        run_server(ApiSettings(db=str(db_path)), host, port, "warning")


def demo_credentials(store: Store, parties: list[str]) -> list[tuple[str, str, str]]:
    """A new credential (read, file, message) for each party: (party, client id, secret)."""
    out = []
    with store.transaction() as tx:
        for party in parties:
            issued = create_credential(tx, party, parse_scopes("read,file,message"), SystemClock())
            out.append((party, issued.credential.client_id, issued.secret))
    return out


def print_sign_ins(
    console: Console, sign_ins: list[tuple[str, str, str]], host: str, port: int, db: Path, serving: bool
) -> None:
    """The console's address and a sign-in link per party. The credential rides in the
    fragment, which the browser never sends; the console signs in with it once and wipes
    it from the address bar. The secrets are shown here only (the store keeps hashes)."""
    base = f"http://{host}:{port}/console/"
    how = "served below" if serving else f"after `deconfliction serve --db {db}` (or `demo --serve`)"
    console.print(f"\n[bold]Console[/bold]: {base} ({how}); sign in as a party's duty desk:")
    for party, client_id, secret in sign_ins:
        link = f"{base}#client_id={quote(client_id)}&secret={quote(secret)}"
        console.print(f"  {party}: {escape(link)}", highlight=False, soft_wrap=True)


def _live(
    console: Console, scenario: euphrates.Scenario, db_path: Path, live_sample: str, live_minutes: float
) -> None:
    console.print()
    if not recorded.traffic_available():
        console.print(
            "[bold yellow]Live phase not run:[/bold yellow] it replays real recorded ADS-B flights "
            "that ship with the optional [bold]traffic[/bold] package, which is not installed here.\n"
            f"Install it with {escape(recorded.TRAFFIC_HINT)} and run `deconfliction demo` again "
            "(`--no-live` skips the live phase)."
        )
        return
    store = open_store(str(db_path))
    try:
        live_phase(console, OperationService(store), scenario, live_sample, live_minutes)
    finally:
        store.close()


def _minima_lines(policy: MinimaPolicy, parties: list[str]) -> list[str]:
    pairs = [(a, b) for i, a in enumerate(parties) for b in parties[i + 1 :]]
    lines = []
    for a, b in sorted({pair_key(a, b) for a, b in pairs}):
        m = policy.for_pair(a, b)
        lines.append(
            f"  {a} x {b}: {m.horizontal_m / NAUTICAL_MILE_M:g} NM / {m.vertical_m / FOOT_M:,.0f} ft"
        )
    return lines


def live_phase(
    console: Console, service: OperationService, scenario: euphrates.Scenario, sample: str, minutes: float
) -> None:
    """Activate what is under way, replay the relocated recording, print alerts as they change."""
    from deconfliction.scenarios import live  # keeps --help fast: live imports the tactical engine

    began = time.perf_counter()
    with console.status(f"loading the '{sample}' ADS-B recording from the traffic package"):
        recording = recorded.load_sample(sample)
    phase = live.prepare(service, scenario, recording, minutes)
    end = phase.start + timedelta(minutes=phase.minutes)
    recorded_at = datetime.fromtimestamp(phase.segment_start_s, UTC)
    window = f"{format_utc(phase.start)[:16]}Z - {format_utc(end)[11:16]}Z"
    by_party = ", ".join(
        f"{n} {party}" for party, n in sorted(Counter(o.party for o in phase.activated).items())
    )
    # Short lines, printed as they are: a 150-column pipe must not break a sentence in two.
    lines = [
        f"[bold]Live phase[/bold] — {phase.minutes:g} min of real ADS-B traffic flown over {window}",
        f"(traffic sample '{sample}', recorded {format_utc(recorded_at)[:16]}Z, "
        "moved rigidly onto Deir ez-Zor airport)",
        f"Activated {len(phase.activated)} operations under way then ({by_party}), "
        f"{len(phase.volumes)} active volumes",
        "Aircraft belong to parties by their 24-bit address; pair minima from the store:",
        *_minima_lines(service.policy(), [p.id for p in scenario.parties]),
    ]
    for line in lines:
        console.print(line, soft_wrap=True)
    printer = AlertPrinter(echo=lambda line: console.print(escape(line), highlight=False))
    publisher = AlertPublisher(service.store)
    most = events = 0
    for result in phase.run():
        most = max(most, result.tracks)
        printer(result)
        events += publisher.publish(result.alerts)
    elapsed = time.perf_counter() - began
    console.print(f"Live phase: up to {most} aircraft at once, {printer.summary()}", soft_wrap=True)
    console.print(f"Live phase took {elapsed:.1f} s")
    console.print(f"{events} alert events written to both parties' outboxes and audit logs ({EVENT_KIND})")
