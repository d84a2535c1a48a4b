"""``deconfliction file FILE.geojson``: file a file's operations into a store, all or none."""

from __future__ import annotations

import re
from pathlib import Path

import click

from deconfliction.cli.errors import reports_errors
from deconfliction.cli.report import report_conflicts
from deconfliction.cli.stores import store_url
from deconfliction.errors import (
    AlreadyExists,
    DeconflictionError,
    InvalidFeatures,
    InvalidInput,
    NotFound,
    StaleVersion,
)
from deconfliction.interop.geojson import OperationsDocument, read_document
from deconfliction.service.access import AccessService
from deconfliction.service.clock import SystemClock
from deconfliction.service.operations import MAX_BATCH
from deconfliction.store import open_store

_DB_HELP = "Store to file into: SQLite path or postgresql:// URL (default $DECONFLICTION_DB)."


_BATCH_PATH = re.compile(r"^operations\[(\d+)\](\.)?")


def in_file(exc: DeconflictionError, doc: OperationsDocument) -> DeconflictionError:
    """``exc`` with the batch's ``operations[n].x`` path told as the file's own,
    ``features[k].properties.x`` (k the operation's first feature): one convention."""

    def path(text: str) -> str:
        def feature(match: re.Match[str]) -> str:
            return doc.feature_path(int(match.group(1))) + (".properties." if match.group(2) else "")

        return _BATCH_PATH.sub(feature, text, count=1)

    if isinstance(exc, InvalidInput) and not isinstance(exc, InvalidFeatures):
        return type(exc)(path(exc.field), exc.rule)
    if type(exc) in (NotFound, AlreadyExists, StaleVersion) and _BATCH_PATH.match(str(exc)):
        return type(exc)(path(str(exc)))
    return exc


@click.command("file")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--db", default=None, help=_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the conflicts found as JSON on stdout.")
@click.option("--top", default=10, show_default=True, help="How many urgent conflicts to list.")
@reports_errors
def file_operations(file: Path, db: str | None, as_json: bool, top: int) -> None:
    """File the operations in FILE.geojson into a store, all or none.

    One transaction, as POST /v1/operations/batch files them: each operation is checked
    against every operation filed before it, under the store's minima (not the file's),
    and gets its notice, audit entry and events. Exit status: 0 no conflicts, 1 conflicts
    found, 3 invalid input, 4 a party not registered, 5 an id already filed, 6 store error.
    """
    doc = read_document(file, max_operations=MAX_BATCH)
    store = open_store(store_url(db))
    try:
        outcomes = AccessService(store, SystemClock()).file_many([(op, None) for op in doc.operations])
    except DeconflictionError as exc:
        raise in_file(exc, doc) from None
    finally:
        store.close()
    # Each conflict is found once, by the later of its two operations; one with an earlier
    # operation of the file is shown from that earlier one's side, as it lists it.
    keys = {operation.key for operation in doc.operations}
    found = [
        conflict.swapped() if (conflict.b.party, conflict.b.id) in keys else conflict
        for outcome in outcomes
        for conflict in outcome.detected
    ]
    heading = f"{len(doc.operations)} operations from {file} filed"
    raise SystemExit(report_conflicts(found, len(doc.operations), heading, as_json, top))
