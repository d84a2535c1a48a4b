"""``deconfliction serve``: the HTTP API."""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from deconfliction.cli.errors import reports_errors
from deconfliction.cli.f3548 import f3548_options, f3548_settings
from deconfliction.cli.stores import store_url
from deconfliction.errors import InvalidInput

if TYPE_CHECKING:
    from fastapi import FastAPI

#: Where ``serve`` hands its options to the API processes it starts.
_OPTIONS_ENV = "DECONFLICTION_SERVE_OPTIONS"

_PEM = click.Path(exists=True, dir_okay=False)


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
    envvar="DECONFLICTION_TOKEN_KEY",
    help="Ed25519 token-signing key file, created 0600 if missing "
    "(default $DECONFLICTION_TOKEN_KEY, else <db>.key beside a SQLite file).",
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
@click.option(
    "--anonymous-in-flight",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Places of their own for requests without a genuine token (sign-in, health).",
)
@click.option(
    "--header-timeout-s",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="A request's headers must be complete this long after the connection is ready (else 408).",
)
@click.option(
    "--body-timeout-s",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="A request's body must be complete this long after its headers (else 408).",
)
@click.option(
    "--max-connections-per-address",
    default=64,
    show_default=True,
    type=click.IntRange(min=1),
    help="Open connections one client address may hold; one more is refused (429).",
)
@click.option("--tls-cert", default=None, type=_PEM, help="PEM certificate (chain): serve HTTPS.")
@click.option("--tls-key", default=None, type=_PEM, help="PEM private key of --tls-cert.")
@click.option(
    "--forwarded-allow-ips",
    default="",
    show_default=True,
    help="Comma-separated proxy addresses whose X-Forwarded-For/-Proto are believed (none by default).",
)
@click.option(
    "--metrics-port",
    default=None,
    type=click.IntRange(1, 65535),
    help="Also serve /metrics without a token on this port (for a scraper); off by default.",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Interface of --metrics-port.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="API processes on this port (PostgreSQL; SQLite takes one writer at a time).",
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
    anonymous_in_flight: int,
    header_timeout_s: float,
    body_timeout_s: float,
    max_connections_per_address: int,
    tls_cert: str | None,
    tls_key: str | None,
    forwarded_allow_ips: str,
    metrics_port: int | None,
    metrics_host: str,
    workers: int,
    **f3548: Any,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs)."""
    import uvicorn

    from deconfliction.api.connections import GuardedProtocol

    if (tls_cert is None) != (tls_key is None):
        missing = "tls_key" if tls_key is None else "tls_cert"
        raise InvalidInput(missing, "--tls-cert and --tls-key go together")
    if workers > 1 and metrics_port is not None:
        raise InvalidInput(
            "metrics_port", "--metrics-port serves one process's metrics; with --workers scrape /metrics"
        )
    options = {
        "db": store_url(db),
        "log_level": log_level,
        "key_file": key_file,
        "rate_per_s": rate_per_s,
        "rate_burst": rate_burst,
        "max_in_flight": max_in_flight,
        "anonymous_in_flight": anonymous_in_flight,
        "body_timeout_s": body_timeout_s,
        "header_timeout_s": header_timeout_s,
        "max_connections_per_address": max_connections_per_address,
        "f3548": {k: _json_safe(v) for k, v in f3548.items()},
    }
    # Worker processes read the options from the environment (uvicorn starts them afresh).
    os.environ[_OPTIONS_ENV] = json.dumps(options)
    # Made here even with workers: the store is migrated and the key files created once,
    # before any worker starts, and a bad option fails here with its message.
    app = worker_app()
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host, registry=app.state.metrics.registry)
    trusted = [ip.strip() for ip in forwarded_allow_ips.split(",") if ip.strip()]
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "log_config": None,  # keep the JSON handlers configure() installed
        "access_log": False,
        "ssl_certfile": tls_cert,
        "ssl_keyfile": tls_key,
        # X-Forwarded-For/-Proto are believed only from these peers; from anyone else
        # they are ignored, so a client cannot claim another address to escape its limits.
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
    }
    if workers == 1:
        uvicorn.run(app, http=GuardedProtocol, **common)
        return
    app.state.store.close()
    uvicorn.run(
        "deconfliction.cli.serve:worker_app",
        factory=True,
        workers=workers,
        http="deconfliction.api.connections:GuardedProtocol",
        # A worker imports the whole package before it answers the supervisor's first
        # ping: seconds on a busy machine, where uvicorn's default 5 s killed some.
        timeout_worker_healthcheck=60,
        **common,
    )


def worker_app() -> FastAPI:
    """The app of one API process, from the options ``serve`` put in the environment."""
    from deconfliction.api.app import ApiSettings, create_app
    from deconfliction.api.auth import auth_state
    from deconfliction.api.connections import GuardedProtocol
    from deconfliction.api.logs import configure

    options = json.loads(os.environ[_OPTIONS_ENV])
    configure(options["log_level"])
    GuardedProtocol.configure(options["max_connections_per_address"], options["header_timeout_s"])
    f3548 = options["f3548"]
    f3548["f3548_public_keys"] = tuple(Path(p) for p in f3548.get("f3548_public_keys", ()))
    for name in ("f3548_notify_ca", "f3548_notify_token_file"):
        if f3548.get(name) is not None:
            f3548[name] = Path(f3548[name])
    app = create_app(
        ApiSettings(
            db=options["db"],
            key_file=options["key_file"],
            rate_per_s=options["rate_per_s"],
            rate_burst=options["rate_burst"],
            max_in_flight=options["max_in_flight"],
            anonymous_in_flight=options["anonymous_in_flight"],
            body_timeout_s=options["body_timeout_s"],
            extra=f3548_settings(**f3548),
        )
    )
    auth_state(app)  # create or check the signing key now, not at the first request
    # Everything made so far (the imported libraries, the app) lives as long as the process:
    # moved out of the cyclic collector's reach, a full collection no longer walks ~95,000
    # objects (tens of milliseconds) in the middle of some request.
    gc.collect()
    gc.freeze()
    return app


def _json_safe(value: Any) -> Any:
    """An option's value as JSON can carry it to the worker processes (paths as text)."""
    if isinstance(value, tuple | list):
        return [str(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def run_server(settings: Any, host: str, port: int, log_level: str = "info") -> None:
    """Serve ``settings`` (an ``ApiSettings``) in this process until interrupted, with the
    default connection guards: ``demo --serve`` uses it."""
    import uvicorn

    from deconfliction.api.app import create_app
    from deconfliction.api.auth import auth_state
    from deconfliction.api.connections import GuardedProtocol
    from deconfliction.api.logs import configure

    configure(log_level)
    app = create_app(settings)
    auth_state(app)  # create or check the signing key now, not at the first request
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=None,
        access_log=False,
        http=GuardedProtocol,
    )
