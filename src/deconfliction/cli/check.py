"""``deconfliction check FILE.geojson``: conflicts among a file's operations, or against a store."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from deconfliction.cli.errors import reports_errors
from deconfliction.cli.report import report_conflicts
from deconfliction.engine.plan import plan_conflicts
from deconfliction.engine.strategic import StrategicConflict
from deconfliction.interop.geojson import conflict_feature, read_document
from deconfliction.service.operations import OperationService
from deconfliction.store import open_store


def check_progress() -> Progress:
    """Progress bars on stderr while a large file is checked; nothing when stderr is not a
    terminal (pipes and logs get the result only) and nothing left behind when done."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    )


@click.command("check")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--db",
    "db",
    default=None,
    help="Also check against the live operations in this store (SQLite path or postgresql:// URL); "
    "nothing is written to it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the conflicts as JSON on stdout.")
@click.option(
    "--regions",
    is_flag=True,
    help="Also compute each overlap's region (the costliest part of a check); --json then includes them.",
)
@click.option(
    "--geojson",
    "geojson_out",
    type=click.Path(path_type=Path, dir_okay=False, writable=True),
    default=None,
    help="Write the conflicts with their regions as a GeoJSON FeatureCollection to this file "
    "(implies --regions).",
)
@click.option("--top", default=10, show_default=True, help="How many urgent conflicts to list.")
@reports_errors
def check(
    file: Path, db: str | None, as_json: bool, regions: bool, geojson_out: Path | None, top: int
) -> None:
    """Check the operations in FILE.geojson for conflicts.

    The operations are checked against each other with the minima the file states
    (docs/geojson-format.md), and with --db also against the store's live operations
    under the store's minima. Overlap regions are computed only with --regions or
    --geojson. Exit status: 0 no conflicts, 1 conflicts found, 3 invalid input (the
    message names the field), 6 store error.
    """
    doc = read_document(file)
    regions = regions or geojson_out is not None
    with check_progress() as progress:
        task = progress.add_task("checking pairs of the file's operations", total=None)
        conflicts: list[StrategicConflict] = plan_conflicts(doc.operations, doc.policy, regions=regions)
        if db is not None:
            # The file's version of an operation stands in for the stored one: a pair of the
            # file's own operations is decided once, above, under the file's minima.
            keys = {operation.key for operation in doc.operations}
            task = progress.add_task("checking against the store", total=len(doc.operations))
            store = open_store(db)
            try:
                service = OperationService(store)
                for operation in doc.operations:
                    conflicts.extend(c for c in service.check(operation) if (c.b.party, c.b.id) not in keys)
                    progress.advance(task)
            finally:
                store.close()
    if geojson_out is not None:
        layer = {"type": "FeatureCollection", "features": [conflict_feature(c) for c in conflicts]}
        geojson_out.write_bytes(orjson.dumps(layer))
    heading = f"{len(doc.operations)} operations in {file}"
    raise SystemExit(report_conflicts(conflicts, len(doc.operations), heading, as_json, top))
