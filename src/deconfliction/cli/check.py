"""``deconfliction check FILE.geojson``: conflicts among a file's operations, or against a store."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from deconfliction.cli.errors import EXIT_CONFLICTS_FOUND, EXIT_OK, reports_errors
from deconfliction.cli.report import print_summary, wide_console
from deconfliction.engine.strategic import StrategicConflict, all_conflicts
from deconfliction.interop.geojson import conflict_to_dict, read_document
from deconfliction.service.operations import OperationService
from deconfliction.store import open_store


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
@click.option("--top", default=10, show_default=True, help="How many urgent conflicts to list.")
@reports_errors
def check(file: Path, db: str | None, as_json: bool, top: int) -> None:
    """Check the operations in FILE.geojson for conflicts.

    The operations are checked against each other with the minima the file states
    (docs/geojson-format.md), and with --db also against the store's live operations
    under the store's minima. Exit status: 0 no conflicts, 1 conflicts found,
    3 invalid input (the message names the field), 6 store error.
    """
    doc = read_document(file)
    conflicts: list[StrategicConflict] = list(all_conflicts(doc.operations, doc.policy))
    if db is not None:
        store = open_store(db)
        try:
            service = OperationService(store)
            for operation in doc.operations:
                conflicts.extend(service.check(operation))
        finally:
            store.close()
    conflicts.sort(key=lambda c: (c.start, c.a.party, c.a.id, c.b.party, c.b.id))
    if as_json:
        payload = {
            "operations": len(doc.operations),
            "count": len(conflicts),
            "conflicts": [conflict_to_dict(c) for c in conflicts],
        }
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        console = wide_console()
        console.print(f"{len(doc.operations)} operations in {file}; {len(conflicts)} conflicts")
        print_summary(console, conflicts, datetime.now(UTC), top)
    raise SystemExit(EXIT_CONFLICTS_FOUND if conflicts else EXIT_OK)
