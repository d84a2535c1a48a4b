"""``deconfliction admin``: parties, duty desks, credentials and pair policies.

These commands work on the store directly (``--db``), as the operator of the mechanism;
the same changes are available over HTTP to tokens with the ``admin`` scope.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

import click

from deconfliction.cli.errors import reports_errors
from deconfliction.cli.stores import store_url
from deconfliction.engine.minima import Minima
from deconfliction.engine.policy import Visibility
from deconfliction.service.admin import AdminService
from deconfliction.service.clock import SystemClock
from deconfliction.store import open_store
from deconfliction.store.auth import LANGUAGES, parse_scopes, scopes_text
from deconfliction.store.base import PartyKind
from deconfliction.units import FOOT_M, LENGTH_UNITS, NAUTICAL_MILE_M

_DB_HELP = "Store: SQLite path or postgresql:// URL (default $DECONFLICTION_DB)."


def _db_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--db", default=None, help=_DB_HELP)(command)


@contextmanager
def _admin(db: str | None) -> Iterator[AdminService]:
    store = open_store(store_url(db))
    try:
        yield AdminService(store, SystemClock())
    finally:
        store.close()


def _print(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group("admin")
def admin() -> None:
    """Set up parties, duty desks, credentials and pair policies."""


# -- parties ---------------------------------------------------------------------------


@admin.group("party")
def party() -> None:
    """Parties: organisations with their own credentials and duty desks."""


@party.command("add")
@click.argument("party_id", metavar="ID")
@click.option("--name", required=True, help="Full name of the organisation.")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in PartyKind]),
    default=PartyKind.MILITARY.value,
    show_default=True,
    help="What sort of organisation it is.",
)
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    default="en",
    show_default=True,
    help="Language of its first duty desk, 'duty'.",
)
@_db_option
@reports_errors
def party_add(party_id: str, name: str, kind: str, language: str, db: str | None) -> None:
    """Add party ID, with a duty desk named 'duty'."""
    with _admin(db) as service:
        added, desk = service.add_party(party_id, name, kind, language)
    click.echo(f"party {added.id} ({added.kind.value}) added with desk {desk.id} ({desk.language})")


@party.command("list")
@_db_option
@reports_errors
def party_list(db: str | None) -> None:
    """List the parties."""
    with _admin(db) as service:
        _print([{"id": p.id, "name": p.name, "kind": p.kind.value} for p in service.parties()])


# -- desks -----------------------------------------------------------------------------


@admin.group("desk")
def desk() -> None:
    """Duty desks: where a party's messages go (never to a named person)."""


@desk.command("add")
@click.argument("party_id", metavar="PARTY")
@click.argument("desk_id", metavar="DESK")
@click.option("--language", type=click.Choice(LANGUAGES), required=True, help="Language the desk reads.")
@click.option(
    "--escalate-to",
    "escalation",
    multiple=True,
    help="A desk of the same party that a missed deadline escalates to; repeat for a chain, in order.",
)
@_db_option
@reports_errors
def desk_add(party_id: str, desk_id: str, language: str, escalation: tuple[str, ...], db: str | None) -> None:
    """Add desk DESK to PARTY."""
    with _admin(db) as service:
        added = service.add_desk(party_id, desk_id, language, escalation)
    chain = " -> ".join(added.escalation) or "none"
    click.echo(f"desk {added.party}/{added.id} ({added.language}) added; escalation: {chain}")


@desk.command("list")
@click.argument("party_id", metavar="PARTY")
@_db_option
@reports_errors
def desk_list(party_id: str, db: str | None) -> None:
    """List PARTY's desks."""
    with _admin(db) as service:
        desks = service.desks(party_id)
    _print([{"desk": d.id, "language": d.language, "escalation": list(d.escalation)} for d in desks])


# -- credentials -----------------------------------------------------------------------


@admin.group("credential")
def credential() -> None:
    """Client credentials: a client id and a secret, exchanged for expiring tokens."""


@credential.command("create")
@click.argument("party_id", metavar="PARTY")
@click.option(
    "--scopes",
    required=True,
    help="Comma-separated: read, file, message, admin (e.g. read,file,message).",
)
@_db_option
@reports_errors
def credential_create(party_id: str, scopes: str, db: str | None) -> None:
    """Create a credential for PARTY and print its secret (shown this once only)."""
    wanted = parse_scopes(scopes, "--scopes")
    with _admin(db) as service:
        issued = service.create_credential(party_id, wanted)
    click.echo(f"client_id:     {issued.credential.client_id}")
    click.echo(f"client_secret: {issued.secret}")
    click.echo(f"scopes:        {scopes_text(issued.credential.scopes)}")
    click.echo("The secret is shown only now; the store keeps just a hash of it.", err=True)


@credential.command("revoke")
@click.argument("client_id")
@_db_option
@reports_errors
def credential_revoke(client_id: str, db: str | None) -> None:
    """Revoke CLIENT_ID: its tokens stop working at once."""
    with _admin(db) as service:
        revoked = service.revoke_credential(client_id)
    click.echo(f"credential {revoked.client_id} of {revoked.party} revoked")


@credential.command("list")
@click.option("--party", "party_id", default=None, help="Only this party's credentials.")
@_db_option
@reports_errors
def credential_list(party_id: str | None, db: str | None) -> None:
    """List credentials (never their secrets)."""
    with _admin(db) as service:
        found = service.credentials(party_id)
    _print(
        [
            {
                "client_id": c.client_id,
                "party": c.party,
                "scopes": scopes_text(c.scopes).split(),
                "active": c.active,
            }
            for c in found
        ]
    )


# -- pair policies ---------------------------------------------------------------------


@admin.group("policy")
def policy() -> None:
    """What two parties agreed: separation minima, notice lead time, visibility."""


_LEVELS = click.Choice([v.value for v in Visibility])
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]+)\s*$")
TIME_UNITS: Final = {"s": 1.0, "min": 60.0, "h": 3600.0}


class Quantity(click.ParamType[float]):
    """A number with its unit, as a user writes it: ``9260m``, ``5nm``, ``1000ft``, ``5min``;
    the value is in SI (metres or seconds)."""

    def __init__(self, units: dict[str, float], kind: str) -> None:
        self.units, self.name = units, kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        match = _QUANTITY.match(str(value))
        known = ", ".join(self.units)
        if match is None or match.group(2) not in self.units:
            example = f"5{next(iter(self.units))}"
            self.fail(f"{value!r} is not a {self.name} with its unit, e.g. {example}; units: {known}")
        return float(match.group(1)) * self.units[match.group(2)]


LENGTH = Quantity(dict(LENGTH_UNITS), "length")
DURATION = Quantity(TIME_UNITS, "duration")


@policy.command("set")
@click.argument("party_a", metavar="A")
@click.argument("party_b", metavar="B")
@click.option(
    "--horizontal", type=LENGTH, default=None, help="Horizontal minimum with its unit: 5nm, 9260m, 9.26km."
)
@click.option("--vertical", type=LENGTH, default=None, help="Vertical minimum with its unit: 1000ft, 300m.")
@click.option(
    "--time", "time_buffer", type=DURATION, default=None, help="Time buffer between windows: 300s, 5min."
)
@click.option("--horizontal-nm", type=float, default=None, help="Older spelling of --horizontal N nm.")
@click.option("--vertical-ft", type=float, default=None, help="Older spelling of --vertical N ft.")
@click.option("--time-s", type=float, default=None, help="Older spelling of --time N s.")
@click.option(
    "--min-lead-min",
    type=float,
    default=None,
    help="Minimum notice, minutes before an operation starts; later filings are accepted but flagged.",
)
@click.option(
    "--visibility",
    type=_LEVELS,
    default=None,
    help="What each side may see of the other's conflicting operations: overlap, window or reference.",
)
@click.option("--a-sees", type=_LEVELS, default=None, help="What A may see of B (overrides --visibility).")
@click.option("--b-sees", type=_LEVELS, default=None, help="What B may see of A (overrides --visibility).")
@_db_option
@reports_errors
def policy_set(
    party_a: str,
    party_b: str,
    horizontal: float | None,
    vertical: float | None,
    time_buffer: float | None,
    horizontal_nm: float | None,
    vertical_ft: float | None,
    time_s: float | None,
    min_lead_min: float | None,
    visibility: str | None,
    a_sees: str | None,
    b_sees: str | None,
    db: str | None,
) -> None:
    """Set the policy between parties A and B; what is not given stays as it was."""
    if horizontal is None and horizontal_nm is not None:
        horizontal = horizontal_nm * NAUTICAL_MILE_M
    if vertical is None and vertical_ft is not None:
        vertical = vertical_ft * FOOT_M
    if time_buffer is None and time_s is not None:
        time_buffer = time_s
    with _admin(db) as service:
        minima = None
        if (horizontal, vertical, time_buffer) != (None, None, None):
            current = service.terms(party_a, party_b).minima
            minima = Minima(
                current.horizontal_m if horizontal is None else horizontal,
                current.vertical_m if vertical is None else vertical,
                current.time_s if time_buffer is None else time_buffer,
            )
        terms = service.set_policy(
            party_a,
            party_b,
            minima,
            None if min_lead_min is None else min_lead_min * 60.0,
            a_sees or visibility,
            b_sees or visibility,
        )
    _print(terms.to_dict())


@policy.command("show")
@click.argument("party_a", metavar="A")
@click.argument("party_b", metavar="B")
@_db_option
@reports_errors
def policy_show(party_a: str, party_b: str, db: str | None) -> None:
    """Show the policy between parties A and B (defaults where none was set)."""
    with _admin(db) as service:
        _print(service.terms(party_a, party_b).to_dict())
