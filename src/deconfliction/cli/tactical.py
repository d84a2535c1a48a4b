"""``deconfliction tactical``: one detection cycle on a file, and replays of live feeds.

Every replay prints one line per alert change, as it happens, in :func:`alert_line`'s
format; a summary goes to standard error.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click

from deconfliction.cli.errors import EXIT_UNREACHABLE, fail, reports_errors
from deconfliction.cli.wording import plural
from deconfliction.engine.tactical.alerts import Change
from deconfliction.engine.tactical.detect import (
    DEFAULT_HSEP_M,
    DEFAULT_LOOKAHEAD_S,
    DEFAULT_VSEP_M,
    detect_conflicts,
)
from deconfliction.interop import feeds
from deconfliction.units import NAUTICAL_MILE_M

if TYPE_CHECKING:  # the replays' engine, feeds and publisher load only when a replay runs
    from deconfliction.engine.minima import MinimaPolicy
    from deconfliction.engine.tactical.intrusion import ActiveVolume
    from deconfliction.engine.tactical.replay import Alert, CycleResult, TacticalConfig, TacticalEngine
    from deconfliction.interop.feeds.sbs import SbsAssembler
    from deconfliction.service.tactical import AlertPublisher

#: Default parties for feeds that carry none (SBS-1, recorded samples): by aircraft address.
DEFAULT_PARTIES: Final = "blue,red,civil"


def alert_line(alert: Alert) -> str:
    """One alert change as a line: UTC time, change, tier, kind, both sides, timing.

    ``12:00:05Z RAISED     CAUTION  conflict  4ca2d6 (blue) / 3c6444 (red): loss in 48 s, cpa 1.2 NM in 95 s``
    ``12:00:05Z RAISED     WARNING  intrusion 39c902 (civil) into red OP-7 v3: inside``
    ``12:01:20Z CLEARED    CAUTION  conflict  4ca2d6 (blue) / 3c6444 (red)`` (the tier it had)
    """
    stamp = time.strftime("%H:%M:%SZ", time.gmtime(alert.time_s))
    cleared = alert.change is Change.CLEARED
    tier = (alert.previous if cleared else alert.tier).name
    head = f"{stamp} {alert.change.value.upper():10s} {tier:8s}"
    if alert.kind == "conflict":
        what = f"conflict  {alert.subject_a} ({alert.party_a}) / {alert.subject_b} ({alert.party_b})"
        if cleared:
            return f"{head} {what}"
        loss = "separation lost" if alert.t_in_s <= 0.0 else f"loss in {alert.t_in_s:.0f} s"
        cpa = f"cpa {alert.dcpa_m / NAUTICAL_MILE_M:.1f} NM"
        cpa += f" in {alert.tcpa_s:.0f} s" if alert.tcpa_s > 0.0 else " now"
        return f"{head} {what}: {loss}, {cpa}"
    what = f"intrusion {alert.subject_a} ({alert.party_a}) into {alert.party_b} {alert.subject_b}"
    if cleared:
        return f"{head} {what}"
    entry = "inside" if alert.t_in_s <= 0.0 else f"entry in {alert.t_in_s:.0f} s"
    return f"{head} {what}: {entry}"


def party_by_address(parties: str) -> Callable[[str], str]:
    """A comma-separated list of parties; each aircraft gets one by its 24-bit address."""
    names = [p.strip() for p in parties.split(",") if p.strip()]
    if not names:
        raise click.BadParameter("give at least one party", param_hint="--parties")
    return feeds.party_by_address(names)


@dataclass(slots=True)
class AlertPrinter:
    """Prints alert lines as cycles come and counts what it printed."""

    echo: Callable[[str], None] = click.echo
    publisher: AlertPublisher | None = None
    cycles: int = 0
    published: int = 0
    changes: dict[tuple[str, Change], int] = field(default_factory=dict)

    def __call__(self, result: CycleResult) -> None:
        self.cycles += 1
        for alert in result.alerts:
            self.changes[(alert.kind, alert.change)] = self.changes.get((alert.kind, alert.change), 0) + 1
            self.echo(alert_line(alert))
        if self.publisher is not None:
            self.published += self.publisher.publish(result.alerts)

    def count(self, change: Change, kind: str | None = None) -> int:
        return sum(n for (k, c), n in self.changes.items() if c is change and kind in (None, k))

    def summary(self) -> str:
        parts = [f"{self.cycles} cycles"]
        for change in Change:
            n = self.count(change)
            if n:
                detail = ", ".join(
                    f"{self.count(change, k)} {k}" for k in ("conflict", "intrusion") if self.count(change, k)
                )
                parts.append(f"{n} {change.value} ({detail})")
        if len(parts) == 1:
            parts.append("no alerts")
        if self.publisher is not None:
            from deconfliction.service.tactical import EVENT_KIND

            parts.append(f"{self.published} {EVENT_KIND} events published")
        return ", ".join(parts)


#: The feeds that carry no party (SBS-1, recorded samples) assign one by aircraft address.
parties_option = click.option(
    "--parties",
    default=DEFAULT_PARTIES,
    show_default=True,
    help="Comma-separated parties; each aircraft is assigned to one by its address.",
)


def engine_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The detection and persistence options every replay shares."""
    positive = click.FloatRange(min=0.0, min_open=True)
    options = [
        click.option(
            "--step-s",
            type=positive,
            default=5.0,
            show_default=True,
            help="Seconds between detection cycles.",
        ),
        click.option(
            "--lookahead-s",
            type=positive,
            default=DEFAULT_LOOKAHEAD_S,
            show_default=True,
            help="Look-ahead in seconds.",
        ),
        click.option(
            "--hsep-m",
            type=positive,
            default=DEFAULT_HSEP_M,
            show_default=True,
            help="Horizontal separation minimum in metres (9260 m = 5 NM).",
        ),
        click.option(
            "--vsep-m",
            type=positive,
            default=DEFAULT_VSEP_M,
            show_default=True,
            help="Vertical separation minimum in metres (304.8 m = 1000 ft).",
        ),
        click.option(
            "--all-pairs",
            is_flag=True,
            help="Test every pair, not only pairs of tracks of different parties.",
        ),
        click.option(
            "--db",
            "db",
            default=None,
            help="Take the pair minima and the activated operations (for intrusion alerts) "
            "from this store (SQLite path or postgresql:// URL); read only without --publish.",
        ),
        click.option(
            "--publish",
            is_flag=True,
            help="With --db: write each alert change to the store as an event and audit entry "
            "of both parties it names.",
        ),
        click.option(
            "--stale-after-s",
            type=positive,
            default=20.0,
            show_default=True,
            help="Drop a track (clearing its alerts) unheard this long.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def make_config(
    lookahead_s: float,
    hsep_m: float,
    vsep_m: float,
    all_pairs: bool,
    stale_after_s: float,
    db: str | None = None,
) -> tuple[TacticalConfig, list[ActiveVolume]]:
    """A TacticalConfig and the active volumes from the shared options.

    With ``db``, pairs of parties the store has minima for use them (horizontal and
    vertical), every other pair ``hsep_m``/``vsep_m``; the store's activated operations are
    the volumes intrusion is tested against. Bad values exit with the rule broken.
    """
    from deconfliction.engine.minima import Minima, MinimaPolicy
    from deconfliction.engine.tactical.replay import TacticalConfig

    volumes: list[ActiveVolume] = []
    pair_minima: MinimaPolicy | None = None
    if db is not None:
        from deconfliction.scenarios.live import active_volumes
        from deconfliction.service.operations import OperationService
        from deconfliction.store import open_store

        store = open_store(db)
        try:
            service = OperationService(store)
            stored = service.policy()
            volumes = active_volumes(service.operations())
        finally:
            store.close()
        default = Minima(hsep_m, vsep_m, stored.default.time_s)
        pair_minima = MinimaPolicy(default, stored.pairs)
    config = TacticalConfig(
        lookahead_s=lookahead_s,
        hsep_m=hsep_m,
        vsep_m=vsep_m,
        all_pairs=all_pairs,
        stale_after_s=stale_after_s,
        pair_minima=pair_minima,
    )
    return config, volumes


@contextmanager
def publisher_for(db: str | None, publish: bool) -> Iterator[AlertPublisher | None]:
    """An AlertPublisher on the store ``db`` when ``publish``, closed afterwards."""
    if not publish:
        yield None
        return
    if db is None:
        raise click.UsageError("--publish needs --db: the store whose parties receive the alerts")
    from deconfliction.service.tactical import AlertPublisher
    from deconfliction.store import open_store

    store = open_store(db)
    try:
        yield AlertPublisher(store)
    finally:
        store.close()


@click.group("tactical")
def tactical() -> None:
    """Live tracks: conflict detection between tracks, replay of recorded feeds."""


@tactical.command("detect")
@click.argument("states", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--lookahead-s", type=float, default=DEFAULT_LOOKAHEAD_S, show_default=True, help="Look-ahead in seconds."
)
@click.option(
    "--hsep-m",
    type=float,
    default=DEFAULT_HSEP_M,
    show_default=True,
    help="Horizontal separation minimum in metres (9260 m = 5 NM).",
)
@click.option(
    "--vsep-m",
    type=float,
    default=DEFAULT_VSEP_M,
    show_default=True,
    help="Vertical separation minimum in metres (304.8 m = 1000 ft).",
)
@click.option(
    "--all-pairs", is_flag=True, help="Test every pair, not only pairs of tracks of different parties."
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write PAIRS.csv here instead of to standard output.",
)
@reports_errors
def detect(
    states: Path,
    lookahead_s: float,
    hsep_m: float,
    vsep_m: float,
    all_pairs: bool,
    out: Path | None,
) -> None:
    """Run one detection cycle on STATES.csv and write the conflicting pairs as CSV.

    STATES.csv has the header id,party,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps
    (all tracks at one instant). Bad records are refused with a reason on standard
    error; the rest are processed. The output has the header
    id_a,id_b,tcpa_s,dcpa_m,t_in_s,t_out_s,los with id_a < id_b.
    """
    from deconfliction.interop.feeds.states_csv import read_states_csv, write_pairs_csv

    with states.open(newline="", encoding="utf-8") as stream:
        snapshot, rejections = read_states_csv(stream)
    for rejection in rejections:
        click.echo(f"refused line {rejection.index + 2}: {rejection}", err=True)
    started = time.perf_counter()
    pairs = detect_conflicts(
        snapshot.lat_deg,
        snapshot.lon_deg,
        snapshot.alt_m,
        snapshot.gs_mps,
        snapshot.trk_deg,
        snapshot.vs_mps,
        None if all_pairs else list(snapshot.parties),
        lookahead_s=lookahead_s,
        hsep_m=hsep_m,
        vsep_m=vsep_m,
    )
    elapsed = time.perf_counter() - started
    if out is None:
        count = write_pairs_csv(sys.stdout, snapshot, pairs)
    else:
        with out.open("w", newline="", encoding="utf-8") as stream:
            count = write_pairs_csv(stream, snapshot, pairs)
    click.echo(
        f"{plural(len(snapshot), 'track')}, {len(rejections)} refused, {plural(count, 'pair')} in conflict "
        f"({elapsed * 1000:.1f} ms)",
        err=True,
    )


@tactical.command("replay-sample")
@click.argument("name")
@engine_options
@parties_option
@click.option(
    "--minutes",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="Replay only the first N minutes.",
)
@reports_errors
def replay_sample(
    name: str,
    step_s: float,
    lookahead_s: float,
    hsep_m: float,
    vsep_m: float,
    all_pairs: bool,
    db: str | None,
    publish: bool,
    stale_after_s: float,
    parties: str,
    minutes: float | None,
) -> None:
    """Replay a recorded ADS-B sample of `traffic` (e.g. quickstart) and print alerts.

    Needs the optional extra: pip install 'deconfliction[traffic]'.
    """
    from deconfliction.engine.tactical.replay import replay
    from deconfliction.interop.feeds.recorded import load_sample, recorded_batches

    party_of = party_by_address(parties)
    config, volumes = make_config(lookahead_s, hsep_m, vsep_m, all_pairs, stale_after_s, db)
    recording = load_sample(name)
    end = None if minutes is None else recording.start_s + 60.0 * minutes
    batches = recorded_batches(recording, party_of, step_s=step_s, end_s=end)
    with publisher_for(db, publish) as publisher:
        printer = AlertPrinter(publisher=publisher)
        for result in replay(batches, volumes=volumes, config=config):
            printer(result)
    click.echo(printer.summary(), err=True)


@tactical.command("replay-csv")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@engine_options
@reports_errors
def replay_csv(
    file: Path,
    step_s: float,
    lookahead_s: float,
    hsep_m: float,
    vsep_m: float,
    all_pairs: bool,
    db: str | None,
    publish: bool,
    stale_after_s: float,
) -> None:
    """Replay timestamped track reports from FILE.csv and print alerts as they change.

    The header is time_utc,id,party,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps (an
    optional datum column; default STD). time_utc is RFC 3339 UTC, e.g.
    2026-03-01T12:00:05Z. A cycle runs every --step-s seconds of report time from the
    first report; refused rows are listed on standard error with their line number.
    """
    from deconfliction.engine.tactical.replay import TacticalEngine
    from deconfliction.interop.feeds.replay_csv import read_replay_csv, replay_batches

    config, volumes = make_config(lookahead_s, hsep_m, vsep_m, all_pairs, stale_after_s, db)
    with file.open(newline="", encoding="utf-8") as stream:
        reports, refused = read_replay_csv(stream)
    for rejection in refused:
        click.echo(f"refused line {rejection.index}: {_reason(rejection)}", err=True)
    engine = TacticalEngine(config, volumes)
    refused_count = len(refused)
    with publisher_for(db, publish) as publisher:
        printer = AlertPrinter(publisher=publisher)
        for time_s, batch, lines in replay_batches(reports, step_s):
            result = engine.cycle(time_s, batch)
            for rejection in result.rejections:
                refused_count += 1
                click.echo(f"refused line {int(lines[rejection.index])}: {_reason(rejection)}", err=True)
            printer(result)
    click.echo(f"{len(reports)} reports, {refused_count} refused; {printer.summary()}", err=True)


def _reason(rejection: Any) -> str:
    name = f"id={rejection.track_id!r}: " if rejection.track_id else ""
    return f"{name}{rejection.field}: {rejection.reason}"


@tactical.command("sbs")
@click.option("--host", default="127.0.0.1", show_default=True, help="Host serving the SBS-1 feed.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=30003,
    show_default=True,
    help="Port of the SBS-1 (BaseStation) feed; dump1090 serves it on 30003.",
)
@engine_options
@parties_option
@click.option(
    "--seconds",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="Stop after this many seconds (default: when the feed closes).",
)
@click.option(
    "--connect-timeout-s",
    type=click.FloatRange(min=0.0, min_open=True),
    default=10.0,
    show_default=True,
    help="Give up connecting after this long.",
)
@reports_errors
def sbs(
    host: str,
    port: int,
    step_s: float,
    lookahead_s: float,
    hsep_m: float,
    vsep_m: float,
    all_pairs: bool,
    db: str | None,
    publish: bool,
    stale_after_s: float,
    parties: str,
    seconds: float | None,
    connect_timeout_s: float,
) -> None:
    """Read a live SBS-1 (BaseStation) feed over TCP and print alerts as they change.

    Connects to HOST:PORT (e.g. dump1090's port 30003), merges the MSG lines per aircraft,
    and runs a detection cycle every --step-s seconds of this machine's UTC clock, on the
    aircraft heard since the previous cycle. Message times are read as UTC. Runs until
    the feed closes or --seconds have passed; malformed lines are listed on standard error.
    """
    from deconfliction.engine.tactical.replay import TacticalEngine
    from deconfliction.interop.feeds.sbs import SbsAssembler

    config, volumes = make_config(lookahead_s, hsep_m, vsep_m, all_pairs, stale_after_s, db)
    feed = SbsAssembler(party_of=party_by_address(parties))
    with publisher_for(db, publish) as publisher:
        printer = AlertPrinter(publisher=publisher)
        engine = TacticalEngine(config, volumes)
        lines = _read_sbs(host, port, connect_timeout_s, step_s, seconds, feed, engine, printer)
    click.echo(
        f"{lines.count} lines, {len(feed.rejections)} refused, {len(feed.aircraft)} aircraft; "
        f"{printer.summary()}",
        err=True,
    )


def _read_sbs(
    host: str,
    port: int,
    connect_timeout_s: float,
    step_s: float,
    seconds: float | None,
    feed: SbsAssembler,
    engine: TacticalEngine,
    printer: AlertPrinter,
) -> _SbsLines:
    """Read the feed, one cycle every ``step_s`` of wall-clock time, until it closes or time is up."""
    try:
        connection = socket.create_connection((host, port), timeout=connect_timeout_s)
    except OSError as exc:
        raise fail(f"cannot connect to {host}:{port}: {exc}", EXIT_UNREACHABLE) from exc
    lines = _SbsLines(connection)
    started = time.time()
    stop_at = None if seconds is None else started + seconds
    next_cycle = started + step_s
    last_cycle = -float("inf")
    reported = 0
    with connection:
        while True:
            now = time.time()
            wait = min(next_cycle, stop_at if stop_at is not None else next_cycle) - now
            chunk = lines.read(max(wait, 0.0))
            feed.feed(chunk)
            for rejection in feed.rejections[reported:]:
                click.echo(f"refused line {rejection.index + 1}: {_reason(rejection)}", err=True)
            reported = len(feed.rejections)
            now = time.time()
            if now >= next_cycle or lines.closed:
                printer(engine.cycle(now, feed.batch(since_s=last_cycle)))
                last_cycle = now
                next_cycle += step_s
                if next_cycle <= now:  # fell behind (a slow cycle): skip, do not bunch up
                    next_cycle = now + step_s
            if lines.closed or (stop_at is not None and now >= stop_at):
                break
    return lines


class _SbsLines:
    """Complete text lines from a socket, waiting at most a given time for more."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.pending = b""
        self.closed = False
        self.count = 0

    def read(self, wait_s: float) -> Iterable[str]:
        if self.closed:
            return []
        self.connection.settimeout(max(wait_s, 0.001))
        try:
            data = self.connection.recv(65536)
        except TimeoutError:
            return []
        except OSError:
            data = b""
        if not data:
            self.closed = True
            data, self.pending = self.pending + b"\n", b""
        else:
            data, self.pending = self.pending + data, b""
        *complete, self.pending = data.split(b"\n")
        found = [line.decode("ascii", errors="replace") for line in complete if line.strip()]
        self.count += len(found)
        return found
