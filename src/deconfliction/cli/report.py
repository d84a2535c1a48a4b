"""Tables a duty officer reads: conflicts per pair of parties and the most urgent ones."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from rich import box
from rich.console import Console
from rich.table import Table

from deconfliction.cli.errors import EXIT_CONFLICTS_FOUND, EXIT_OK
from deconfliction.cli.wording import plural
from deconfliction.engine.minima import pair_key
from deconfliction.engine.strategic import StrategicConflict
from deconfliction.geo.timewindow import format_utc
from deconfliction.interop.geojson import conflict_reference, conflict_to_dict
from deconfliction.interop.quantities import band_text
from deconfliction.units import FOOT_M, NAUTICAL_MILE_M


def conflict_band_text(conflict: StrategicConflict) -> str:
    """The band spanned by a conflict's overlaps (see :func:`band_text`)."""
    lower = min(o.lower_m for o in conflict.overlaps)
    upper = max(o.upper_m for o in conflict.overlaps)
    return band_text(lower, upper, conflict.overlaps[0].datum)


def _hhmm(value: datetime) -> str:
    return format_utc(value)[:16].replace("T", " ") + "Z"


def lead_text(now: datetime, start: datetime) -> str:
    """How long until an overlap starts: ``now``, ``25 min``, ``3 h 05``, ``33 d 13 h``."""
    minutes = int((start - now).total_seconds() // 60)
    if minutes <= 0:
        return "now"
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60:02d}"
    return f"{hours // 24} d {hours % 24} h"


def pair_table(conflicts: Sequence[StrategicConflict]) -> Table:
    """Conflicts counted per pair of parties, with the earliest and the closest."""
    by_pair: dict[tuple[str, str], list[StrategicConflict]] = defaultdict(list)
    for c in conflicts:
        by_pair[pair_key(c.a.party, c.b.party)].append(c)
    table = Table(title="Conflicts per pair of parties", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("parties", "conflicts", "minima (NM / ft / min)", "earliest overlap (UTC)", "closest"):
        table.add_column(column, justify="right" if column in ("conflicts", "closest") else "left")
    for (a, b), items in sorted(by_pair.items()):
        m = items[0].minima
        earliest = min(items, key=lambda c: c.start)
        closest = min(c.horizontal_distance_m for c in items)
        table.add_row(
            f"{a} x {b}",
            str(len(items)),
            f"{m.horizontal_m / NAUTICAL_MILE_M:g} / {m.vertical_m / FOOT_M:,.0f} / {m.time_s / 60:g}",
            _hhmm(earliest.start),
            "overlap" if closest == 0 else f"{closest / NAUTICAL_MILE_M:.1f} NM",
        )
    return table


def urgent_table(conflicts: Sequence[StrategicConflict], now: datetime, top: int) -> Table:
    """The ``top`` conflicts whose overlap begins soonest."""
    soonest = sorted(conflicts, key=lambda c: (c.start, c.horizontal_distance_m))[:top]
    table = Table(
        title=f"The most urgent {plural(len(soonest), 'conflict')} (overlap windows in UTC)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in (
        "starts in",
        "overlap window (UTC)",
        "operation",
        "other operation",
        "altitude",
        "closest",
        "ref",
    ):
        table.add_column(column)
    for c in soonest:
        table.add_row(
            lead_text(now, c.start),
            f"{_hhmm(c.start)} - {_hhmm(c.end)[11:]}",
            f"{c.a.party} {c.a.id}",
            f"{c.b.party} {c.b.id}",
            conflict_band_text(c),
            "overlap"
            if c.horizontal_distance_m == 0
            else f"{c.horizontal_distance_m / NAUTICAL_MILE_M:.1f} NM",
            conflict_reference(c),
        )
    return table


def wide_console() -> Console:
    """A console for reports: the terminal's width, or 150 columns when output is piped."""
    console = Console()
    return console if console.is_terminal else Console(width=150)


def print_summary(console: Console, conflicts: Sequence[StrategicConflict], now: datetime, top: int) -> None:
    """Both tables, or a line saying there is nothing to deconflict."""
    if not conflicts:
        console.print("[green]No conflicts.[/green]")
        return
    console.print(pair_table(conflicts))
    console.print(urgent_table(conflicts, now, top))


def write_json(operations: int, conflicts: Sequence[StrategicConflict]) -> None:
    """``{"operations": N, "count": M, "conflicts": [...]}`` on stdout, one conflict a line.

    Written a conflict at a time (with orjson, several times faster than json): a plan of
    thousands of operations has hundreds of thousands of conflicts, whose objects would
    otherwise all be held at once, and a line each keeps the output easy to grep."""
    out = sys.stdout
    out.write(f'{{\n  "operations": {operations},\n  "count": {len(conflicts)},\n  "conflicts": [')
    for n, conflict in enumerate(conflicts):
        out.write(",\n    " if n else "\n    ")
        out.write(orjson.dumps(conflict_to_dict(conflict)).decode())
    out.write("\n  ]\n}\n" if conflicts else "]\n}\n")


def report_conflicts(
    conflicts: list[StrategicConflict], operations: int, heading: str, as_json: bool, top: int
) -> int:
    """Print ``conflicts`` (sorted here by start) as ``check`` and ``file`` do — JSON, or a
    heading line and both tables — and return the exit code: 1 if there are any, else 0."""
    conflicts = sorted(conflicts, key=lambda c: (c.start, c.a.party, c.a.id, c.b.party, c.b.id))
    if as_json:
        write_json(operations, conflicts)
    else:
        console = wide_console()
        console.print(f"{heading}; {plural(len(conflicts), 'conflict')}")
        print_summary(console, conflicts, datetime.now(UTC), top)
    return EXIT_CONFLICTS_FOUND if conflicts else EXIT_OK


def disclosure_table(ledgers: Sequence[dict[str, Any]]) -> Table:
    """What each party learned of each other's plans (``DisclosureService.ledger`` of each)."""
    table = Table(
        title="What each party learned of the other's plans (disclosure grid, last 24 h)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("plans of", "learned by", "cells", "area km²", "units", "budget used", "alarms"):
        table.add_column(column, justify="left" if column in ("plans of", "learned by") else "right")
    for ledger in ledgers:
        for row in ledger["learned_by"]:
            used = 100.0 * row["charged"] / row["budget"] if row["budget"] else 100.0
            table.add_row(
                ledger["party"],
                row["viewer"],
                f"{row['cells']:,}",
                f"{row['area_km2']:,.0f}",
                f"{row['units']:,}",
                f"{used:.1f} %",
                f"{len(row.get('alarms', [])):,}",
            )
    return table


def print_disclosures(console: Console, ledgers: Sequence[dict[str, Any]]) -> None:
    console.print(disclosure_table(ledgers))
