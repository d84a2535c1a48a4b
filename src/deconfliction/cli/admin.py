"""``deconfliction admin``: parties, duty desks, credentials and pair policies.

These commands work on the store directly (``--db``), as the operator of the mechanism;
the same changes are available over HTTP to tokens with the ``admin`` scope.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, Literal

import click

from deconfliction.cli.errors import EXIT_CONFLICTS_FOUND, reports_errors
from deconfliction.cli.stores import store_url
from deconfliction.engine.minima import Minima
from deconfliction.engine.policy import Visibility
from deconfliction.errors import InvalidInput
from deconfliction.geo.grid import DEFAULT_GRID, DisclosureGrid
from deconfliction.service.admin import AdminService
from deconfliction.service.clock import SystemClock
from deconfliction.service.credentials import IssuedCredential
from deconfliction.service.f3548.bridge import Bridge
from deconfliction.service.limits import standing_to_edge
from deconfliction.service.probing import ProbeAlarms
from deconfliction.store import open_store
from deconfliction.store.auth import LANGUAGES, OPERATOR, parse_scopes, scopes_text
from deconfliction.store.base import PartyKind
from deconfliction.units import (
    AREA_UNITS,
    DURATION_UNITS,
    FOOT_M,
    LENGTH_UNITS,
    NAUTICAL_MILE_M,
    SPACE_TIME_UNITS,
    parse_quantity,
)

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
    """Set up parties, duty desks, credentials and pair policies; list probe alarms."""


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


@party.command("show")
@click.argument("party_id", metavar="ID")
@_db_option
@reports_errors
def party_show(party_id: str, db: str | None) -> None:
    """Show party ID: who it is, its desks and its plausibility limits."""
    with _admin(db) as service:
        found = next((p for p in service.parties() if p.id == party_id), None)
        standing = service.limits(party_id)  # NotFound for no such party
        desks = service.desks(party_id)
    assert found is not None
    profile = {"id": found.id, "name": found.name, "kind": found.kind.value, "desks": [d.id for d in desks]}
    _print({**profile, **standing_to_edge(standing)})


def _quantity(
    units: dict[str, float], name: str
) -> Callable[[click.Context, click.Parameter, str | None], Any]:
    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> float | str | None:
        if value is None or value == "default":
            return value
        try:
            return parse_quantity(value, units, f"--{name}")
        except InvalidInput as exc:
            raise click.BadParameter(exc.rule) from None

    return parse


_LIMIT_OPTIONS = (
    ("max-volume-area", "max_volume_area_m2", AREA_UNITS, "Largest footprint area of one volume: 20000km2."),
    (
        "max-altitude-span",
        "max_altitude_span_m",
        LENGTH_UNITS,
        "Largest altitude span of one volume: 60000ft.",
    ),
    ("max-duration", "max_duration_s", DURATION_UNITS, "Longest time window of one volume: 24h."),
    ("max-claim", "max_claim_m2s", SPACE_TIME_UNITS, "Most space-time held in live operations: 1500000km2h."),
)


def _limit_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for name, dest, units, text in reversed(_LIMIT_OPTIONS):
        help_text = f"{text} Units: {', '.join(units)}; 'default' for the default."
        command = click.option(f"--{name}", dest, callback=_quantity(units, name), help=help_text)(command)
    return command


@party.command("limits")
@click.argument("party_id", metavar="ID")
@_limit_options
@click.option("--max-volumes", default=None, help="Most volumes of one operation (1 .. 64), or 'default'.")
@_db_option
@reports_errors
def party_limits(party_id: str, max_volumes: str | None, db: str | None, **given: float | str | None) -> None:
    """Set party ID's plausibility limits (what is not given stays) and show them.

    A filing beyond any of them is refused whole (HTTP 422, exit status 3); operations
    already filed stay. With no option, only shows them.
    """
    values: dict[str, float | int | None] = {
        name: None if value == "default" else float(value)
        for name, value in given.items()
        if value is not None
    }
    if max_volumes is not None:
        values["max_volumes"] = None if max_volumes == "default" else _whole(max_volumes)
    with _admin(db) as service:
        standing = service.set_limits(party_id, values) if values else service.limits(party_id)
    _print(standing_to_edge(standing))


def _whole(text: str) -> int:
    if not text.strip().isdigit():
        raise click.BadParameter(
            f"expected a whole number or 'default', got {text!r}", param_hint="--max-volumes"
        )
    return int(text)


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
    _show(issued)


@credential.command("operator")
@_db_option
@reports_errors
def credential_operator(db: str | None) -> None:
    """Create an operator's credential: it belongs to no party and has the admin scope only
    (parties, desks, credentials, policies, metrics; no party's data). Prints its secret once."""
    with _admin(db) as service:
        _show(service.create_operator_credential())


def _show(issued: IssuedCredential) -> None:
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
    owner = revoked.party if revoked.party != OPERATOR else "the operator"
    click.echo(f"credential {revoked.client_id} of {owner} revoked")


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
@click.option(
    "--rule",
    type=click.Choice(["grid", "exact"]),
    default=None,
    help="Decide and show conflicts on the disclosure grid (default) or exactly (for pairs that trust).",
)
@click.option("--grid-resolution", type=int, default=None, help="Disclosure grid: H3 resolution, 4 to 8.")
@click.option("--grid-band-ft", type=float, default=None, help="Disclosure grid: altitude band height, feet.")
@click.option("--grid-slot-min", type=float, default=None, help="Disclosure grid: time slot length, minutes.")
@click.option(
    "--mode",
    type=click.Choice(["native", "private"]),
    default=None,
    help="native: the service finds the pair's conflicts; private: the parties' agents do (private-mode.md).",
)
@click.option(
    "--private-budget", type=int, default=None, help="Private mode: cells each side may submit per epoch."
)
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
    rule: str | None,
    grid_resolution: int | None,
    grid_band_ft: float | None,
    grid_slot_min: float | None,
    mode: str | None,
    private_budget: int | None,
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
        grid: DisclosureGrid | Literal["keep"] | None = "keep"
        if rule == "exact":
            grid = None
        elif rule == "grid" or (grid_resolution, grid_band_ft, grid_slot_min) != (None, None, None):
            now = service.terms(party_a, party_b).policy.grid or DEFAULT_GRID
            grid = DisclosureGrid(
                now.resolution if grid_resolution is None else grid_resolution,
                now.band_m if grid_band_ft is None else grid_band_ft * FOOT_M,
                now.slot_s if grid_slot_min is None else grid_slot_min * 60.0,
            )
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
            grid=grid,
            mode=mode,
            private_budget=private_budget,
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


# -- probe alarms ----------------------------------------------------------------------


@admin.command("alarms")
@click.option("--hours", type=float, default=24.0, show_default=True, help="How far back to list.")
@_db_option
@reports_errors
def alarms(hours: float, db: str | None) -> None:
    """List the probe alarms raised against every party's plans (JSON)."""
    store = open_store(store_url(db))
    try:
        _print(ProbeAlarms(store, SystemClock()).recent(hours))
    finally:
        store.close()


# -- USSs ------------------------------------------------------------------------------


@contextmanager
def _bridge(db: str | None) -> Iterator[Bridge]:
    store = open_store(store_url(db))
    try:
        yield Bridge(store, SystemClock())
    finally:
        store.close()


@admin.group("uss")
def uss() -> None:
    """USSs (F3548 clients) and the parties they belong to."""


@uss.command("link")
@click.argument("client_id")
@click.argument("party_id", metavar="PARTY")
@_db_option
@reports_errors
def uss_link(client_id: str, party_id: str, db: str | None) -> None:
    """Make the USS whose F3548 tokens name CLIENT_ID (their ``sub``) act as PARTY."""
    with _bridge(db) as bridge:
        bridge.link(client_id, party_id)
    click.echo(f"USS {client_id} linked to party {party_id}")


@uss.command("unlink")
@click.argument("client_id")
@_db_option
@reports_errors
def uss_unlink(client_id: str, db: str | None) -> None:
    """Let the USS CLIENT_ID act as itself again."""
    with _bridge(db) as bridge:
        bridge.unlink(client_id)
    click.echo(f"USS {client_id} unlinked")


@uss.command("list")
@_db_option
@reports_errors
def uss_list(db: str | None) -> None:
    """The USS links, as JSON."""
    with _bridge(db) as bridge:
        _print([{"client_id": c, "party": p} for c, p in bridge.links()])


# -- backups ---------------------------------------------------------------------------


@admin.command("backup")
@click.argument("out", type=click.Path(dir_okay=False))
@_db_option
@reports_errors
def backup_cmd(out: str, db: str | None) -> None:
    """Write a consistent backup of the store to OUT while it serves (SQLite: the online
    backup API; PostgreSQL: pg_dump, custom format). Key files are not included."""
    from pathlib import Path

    from deconfliction.store.backup import backup

    url = store_url(db)
    backup(url, Path(out))
    _print({"backup": out, "store": url.split("?")[0].split("@")[-1]})


@admin.command("restore")
@click.argument("backup_file", metavar="BACKUP", type=click.Path(exists=True, dir_okay=False))
@_db_option
@click.option(
    "--key",
    default=None,
    help="The audit signing key file (default $DECONFLICTION_AUDIT_KEY, else <db>.audit-key, "
    "else deconfliction-audit.key).",
)
@reports_errors
def restore_cmd(backup_file: str, db: str | None, key: str | None) -> None:
    """Restore BACKUP into an empty store (a new SQLite file, or a PostgreSQL database or
    schema without our tables), then verify every party's audit chain. Exit 0 when all
    verify, 1 when any does not."""
    from pathlib import Path

    from deconfliction.service.audit import AuditService
    from deconfliction.service.audit_verify import verify_export
    from deconfliction.service.signing import load_server_key
    from deconfliction.store.backup import restore

    url = store_url(db)
    restore(url, Path(backup_file))
    store = open_store(url)  # migrates a backup taken by an older version
    try:
        audit = AuditService(store, load_server_key(key, db=url))
        with store.transaction() as tx:
            parties = [p.id for p in tx.list_parties()]
        reports = [verify_export(audit.export(party)) for party in parties]
    finally:
        store.close()
    _print(
        {
            "restored": backup_file,
            "chains": [
                {"party": r.party, "entries": r.entries, "ok": r.ok, "findings": [str(f) for f in r.findings]}
                for r in reports
            ],
        }
    )
    if not all(r.ok for r in reports):
        raise SystemExit(EXIT_CONFLICTS_FOUND)
