"""``deconfliction disclosures``: what each other party has learned of a party's plans,
and the budgets it allows them (docs/disclosure.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import click

from deconfliction.cli.connection import acting_party, connection_options, remote
from deconfliction.cli.errors import reports_errors
from deconfliction.client import Client
from deconfliction.service.clock import SystemClock
from deconfliction.service.disclosure import DisclosureService
from deconfliction.settings import database_url
from deconfliction.store import open_store


class _Ledger(Protocol):
    def ledger(self) -> dict[str, Any]: ...
    def set_budget(self, viewer: str, units: int) -> dict[str, Any]: ...


class _Remote:
    def __init__(self, client: Client) -> None:
        self.client = client

    def ledger(self) -> dict[str, Any]:
        return self.client.disclosures()

    def set_budget(self, viewer: str, units: int) -> dict[str, Any]:
        return self.client.set_disclosure_budget(viewer, units)


class _Local:
    def __init__(self, service: DisclosureService, party: str) -> None:
        self.service, self.party = service, party

    def ledger(self) -> dict[str, Any]:
        return self.service.ledger(self.party)

    def set_budget(self, viewer: str, units: int) -> dict[str, Any]:
        return self.service.set_budget(self.party, viewer, units)


@contextmanager
def _ledger(
    url: str | None, client_id: str | None, secret: str | None, db: str | None, party: str | None
) -> Iterator[_Ledger]:
    if url:
        with remote(url, client_id, secret) as client:
            yield _Remote(client)
        return
    me = acting_party(party)
    store = open_store(database_url(db))
    try:
        yield _Local(DisclosureService(store, SystemClock()), me)
    finally:
        store.close()


def ledger_table(ledger: dict[str, Any]) -> str:
    """The ledger as a table, one row per party that learned something or may."""
    head = ("learned by", "cells", "area km²", "band-hours", "units", "charged", "budget", "left", "alarms")
    rows = [
        (
            r["viewer"],
            f"{r['cells']:,}",
            f"{r['area_km2']:,.1f}",
            f"{r['band_hours']:,.2f}",
            f"{r['units']:,}",
            f"{r['charged']:,}",
            f"{r['budget']:,}",
            f"{r['left']:,}",
            f"{len(r.get('alarms', [])):,}",
        )
        for r in ledger["learned_by"]
    ]
    widths = [max(len(x) for x in column) for column in zip(head, *rows, strict=True)]

    def line(cells: tuple[str, ...]) -> str:
        # the party left-aligned, the figures right-aligned
        return "  ".join(
            c.rjust(w) if n else c.ljust(w) for n, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    hours, party = ledger["window_h"], ledger["party"]
    title = f"What other parties learned of {party}'s plans in the {hours:g} h to {ledger['at']}"
    return "\n".join([title, line(head), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


@click.group("disclosures", invoke_without_command=True)
@connection_options
@click.option("--json", "as_json", is_flag=True, help="Print the ledger as JSON.")
@click.pass_context
@reports_errors
def disclosures(
    ctx: click.Context,
    url: str | None,
    client_id: str | None,
    client_secret: str | None,
    db: str | None,
    party: str | None,
    as_json: bool,
) -> None:
    """What each other party has learned of your plans over the last 24 hours: cells,
    area, band-hours, the budget used and left, and the probing alarms raised."""
    ctx.obj = (url, client_id, client_secret, db, party)
    if ctx.invoked_subcommand is not None:
        return
    with _ledger(*ctx.obj) as source:
        ledger = source.ledger()
    click.echo(json.dumps(ledger, indent=2, ensure_ascii=False) if as_json else ledger_table(ledger))


@disclosures.command("budget")
@click.argument("viewer")
@click.argument("units", type=click.IntRange(0))
@click.pass_obj
@reports_errors
def budget(
    obj: tuple[str | None, str | None, str | None, str | None, str | None], viewer: str, units: int
) -> None:
    """Allow VIEWER to learn UNITS cells × bands × slots of your plans in any 24 hours."""
    with _ledger(*obj) as source:
        click.echo(json.dumps(source.set_budget(viewer, units), indent=2, ensure_ascii=False))
