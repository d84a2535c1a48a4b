"""``deconfliction serve``: the HTTP API."""

from __future__ import annotations

import gc
from typing import Any

import click

from deconfliction.cli.errors import reports_errors
from deconfliction.cli.f3548 import f3548_options, f3548_settings
from deconfliction.cli.stores import store_url


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option(
    "--db", default=None, help="Store: SQLite path or postgresql:// URL (default $DECONFLICTION_DB)."
)
@click.option("--log-level", default="info", show_default=True, help="debug, info, warning or error.")
@click.option(
    "--key-file",
    default=None,
    help="Ed25519 token-signing key, created 0600 if missing (default: <db>.key beside a SQLite file).",
)
@click.option(
    "--rate-per-s",
    default=50.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Requests per second each party may sustain (token bucket, per API process).",
)
@click.option(
    "--rate-burst",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    help="Requests a party may send at once before the rate applies.",
)
@click.option(
    "--max-in-flight",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Requests this process works on at once; later ones wait their turn.",
)
@f3548_options
@reports_errors
def serve(
    host: str,
    port: int,
    db: str | None,
    log_level: str,
    key_file: str | None,
    rate_per_s: float,
    rate_burst: int,
    max_in_flight: int,
    **f3548: Any,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs)."""
    import uvicorn

    from deconfliction.api.app import ApiSettings, create_app
    from deconfliction.api.auth import auth_state
    from deconfliction.api.logs import configure

    configure(log_level)
    app = create_app(
        ApiSettings(
            db=store_url(db),
            key_file=key_file,
            rate_per_s=rate_per_s,
            rate_burst=rate_burst,
            max_in_flight=max_in_flight,
            extra=f3548_settings(**f3548),
        )
    )
    auth_state(app)  # create or check the signing key now, not at the first request
    # Everything made so far (the imported libraries, the app) lives as long as the process:
    # moved out of the cyclic collector's reach, a full collection no longer walks ~95,000
    # objects (tens of milliseconds) in the middle of some request.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
