"""``deconfliction tactical``: one detection cycle on a file, and replays of live feeds."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from deconfliction.engine.tactical.detect import (
    DEFAULT_HSEP_M,
    DEFAULT_LOOKAHEAD_S,
    DEFAULT_VSEP_M,
    detect_conflicts,
)
from deconfliction.errors import DeconflictionError
from deconfliction.interop.feeds.states_csv import read_states_csv, write_pairs_csv


@click.group("tactical")
def tactical() -> None:
    """Live tracks: conflict detection between tracks, replay of recorded feeds."""


@tactical.command("detect")
@click.argument("states", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lookahead-s", type=float, default=DEFAULT_LOOKAHEAD_S, show_default=True,
              help="Look-ahead in seconds.")
@click.option("--hsep-m", type=float, default=DEFAULT_HSEP_M, show_default=True,
              help="Horizontal separation minimum in metres (9260 m = 5 NM).")
@click.option("--vsep-m", type=float, default=DEFAULT_VSEP_M, show_default=True,
              help="Vertical separation minimum in metres (304.8 m = 1000 ft).")
@click.option("--all-pairs", is_flag=True,
              help="Test every pair, not only pairs of tracks of different parties.")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write PAIRS.csv here instead of to standard output.")
def detect(
    states: Path, lookahead_s: float, hsep_m: float, vsep_m: float, all_pairs: bool,
    out: Path | None,
) -> None:
    """Run one detection cycle on STATES.csv and write the conflicting pairs as CSV.

    STATES.csv has the header id,party,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps
    (all tracks at one instant). Bad records are refused with a reason on standard
    error; the rest are processed. The output has the header
    id_a,id_b,tcpa_s,dcpa_m,t_in_s,t_out_s,los with id_a < id_b.
    """
    try:
        with states.open(newline="", encoding="utf-8") as stream:
            snapshot, rejections = read_states_csv(stream)
        for rejection in rejections:
            click.echo(f"refused line {rejection.index + 2}: {rejection}", err=True)
        started = time.perf_counter()
        pairs = detect_conflicts(
            snapshot.lat_deg, snapshot.lon_deg, snapshot.alt_m, snapshot.gs_mps,
            snapshot.trk_deg, snapshot.vs_mps,
            None if all_pairs else list(snapshot.parties),
            lookahead_s=lookahead_s, hsep_m=hsep_m, vsep_m=vsep_m,
        )
        elapsed = time.perf_counter() - started
    except DeconflictionError as exc:
        raise click.ClickException(str(exc)) from exc
    if out is None:
        count = write_pairs_csv(sys.stdout, snapshot, pairs)
    else:
        with out.open("w", newline="", encoding="utf-8") as stream:
            count = write_pairs_csv(stream, snapshot, pairs)
    click.echo(
        f"{len(snapshot)} tracks, {len(rejections)} refused, {count} pairs in conflict "
        f"({elapsed * 1000:.1f} ms)",
        err=True,
    )


@tactical.command("replay-sample")
@click.argument("name")
@click.option("--step-s", type=float, default=5.0, show_default=True, help="Seconds between cycles.")
@click.option("--parties", default="blue,red,civil", show_default=True,
              help="Comma-separated parties; each aircraft is assigned to one by its address.")
@click.option("--minutes", type=float, default=None, help="Replay only the first N minutes.")
def replay_sample(name: str, step_s: float, parties: str, minutes: float | None) -> None:
    """Replay a recorded ADS-B sample of `traffic` (e.g. quickstart) and print alerts.

    Needs the optional extra: pip install 'deconfliction[traffic]'.
    """
    from deconfliction.engine.tactical.replay import replay  # keeps --help fast
    from deconfliction.interop.feeds.recorded import load_sample, recorded_batches

    names = [p.strip() for p in parties.split(",") if p.strip()]
    if not names:
        raise click.BadParameter("give at least one party", param_hint="--parties")
    try:
        recording = load_sample(name)
    except DeconflictionError as exc:
        raise click.ClickException(str(exc)) from exc

    def party_of(address: str) -> str:
        return names[int(address, 16) % len(names)] if address.isalnum() else names[0]

    end = None if minutes is None else recording.start_s + 60.0 * minutes
    count = 0
    for result in replay(recorded_batches(recording, party_of, step_s=step_s, end_s=end)):
        stamp = time.strftime("%H:%M:%SZ", time.gmtime(result.time_s))
        for alert in result.alerts:
            count += 1
            click.echo(f"{stamp} {alert.describe()}")
    click.echo(f"{count} alert changes", err=True)
