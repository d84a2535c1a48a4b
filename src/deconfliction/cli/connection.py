"""How a party's command reaches the service: a server (``--url`` with the party's
credentials, or ``$DECONFLICTION_URL``, ``$DECONFLICTION_CLIENT_ID``,
``$DECONFLICTION_CLIENT_SECRET``) or a store directly (``--db`` with ``--as PARTY``, for
the embedded single-site setup and for operators)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from deconfliction.client import ApiError, Client
from deconfliction.errors import (
    Conflict,
    DeconflictionError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    StoreError,
    Unauthenticated,
)

#: HTTP statuses back to our exceptions, so the CLI's exit codes mean the same either way.
_BY_STATUS: dict[int, Callable[[str, str | None], DeconflictionError]] = {
    401: lambda m, f: Unauthenticated(m),
    403: lambda m, f: Forbidden(m),
    404: lambda m, f: NotFound(m),
    409: lambda m, f: Conflict(m),
    422: lambda m, f: InvalidInput(f or "", m),
    429: lambda m, f: RateLimited(m, 1.0),
}


@contextmanager
def remote(url: str, client_id: str | None, secret: str | None) -> Iterator[Client]:
    """A client of the server at ``url``; its API errors raised as our exceptions."""
    if not client_id or not secret:
        raise InvalidInput(
            "--client-id", "a server needs --client-id and --client-secret (or their env vars)"
        )
    client = Client(url, client_id, secret)
    try:
        yield client
    except ApiError as exc:
        make = _BY_STATUS.get(exc.status)
        if make is None:
            raise StoreError(str(exc)) from exc
        raise make(exc.message, exc.field) from exc
    finally:
        client.close()


def acting_party(party: str | None) -> str:
    """The ``--as`` party of a command that works on a store."""
    if not party:
        raise InvalidInput("--as", "with a store (--db), say which party you act for: --as PARTY")
    return party


def connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--url``, ``--client-id``, ``--client-secret``, ``--db`` and ``--as``."""
    options = [
        click.option("--url", envvar="DECONFLICTION_URL", help="Server base URL (or $DECONFLICTION_URL)."),
        click.option(
            "--client-id", envvar="DECONFLICTION_CLIENT_ID", help="Credential id ($DECONFLICTION_CLIENT_ID)."
        ),
        click.option(
            "--client-secret",
            envvar="DECONFLICTION_CLIENT_SECRET",
            help="Its secret ($DECONFLICTION_CLIENT_SECRET).",
        ),
        click.option(
            "--db", default=None, help="Work on this store instead of a server ($DECONFLICTION_DB)."
        ),
        click.option("--as", "party", default=None, help="With a store: the party to act for."),
    ]
    for option in reversed(options):
        command = option(command)
    return command
