"""The FastAPI application factory.

``create_app`` wires a store, a clock and settings into an app; routers for each
feature are included here. The app holds no state of its own beyond that wiring, so
several API processes can serve one PostgreSQL store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from deconfliction import __version__
from deconfliction.api import (
    admin,
    audit,
    auth,
    disclosures,
    docs_page,
    errors,
    events,
    hotline,
    operations,
    private,
)
from deconfliction.api import limits as party_limits
from deconfliction.api.admission import FairGate
from deconfliction.api.console import mount as mount_console
from deconfliction.api.edge import Edge, EdgeLimits
from deconfliction.api.f3548 import mount as mount_f3548
from deconfliction.api.f3548_bridge import delivering as f3548_delivering
from deconfliction.service.clock import Clock, SystemClock
from deconfliction.store import Store, open_store

#: Request bodies above this are refused with 413 while they are read.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


@dataclass
class ApiSettings:
    """What an API process needs to know; every field has a production default."""

    db: str = "deconfliction.sqlite"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: ... for a request without a genuine token (sign-in, and whatever will get 401)
    anonymous_max_body_bytes: int = 64 * 1024
    #: Ed25519 key that signs tokens; default: ``<db>.key`` beside a SQLite file (never in the store)
    key_file: str | None = None
    #: lifetime of an access token
    token_ttl_s: int = 900
    #: per-party token bucket: sustained requests per second, and the burst allowed
    rate_per_s: float = 50.0
    rate_burst: int = 100
    #: requests this process works on at once; the rest wait, costing the event loop nothing
    max_in_flight: int = 2
    #: places of their own for requests without a genuine token (sign-in, health, 401s)
    anonymous_in_flight: int = 1
    #: a request body must have arrived in full this long after its headers (else 408)
    body_timeout_s: float = 30.0
    #: arrays and objects nested deeper than this are refused (400) before parsing
    max_json_depth: int = 64
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    waiting: Gauge
    in_flight: Gauge


def _metrics() -> Metrics:
    registry = CollectorRegistry()
    return Metrics(
        registry,
        Counter(
            "deconfliction_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry
        ),
        Histogram(
            "deconfliction_http_seconds", "HTTP request latency", ["method", "route"], registry=registry
        ),
        Gauge("deconfliction_http_requests_waiting", "Requests waiting for a place", registry=registry),
        Gauge("deconfliction_http_requests_in_flight", "Requests being worked on", registry=registry),
    )


def create_app(
    settings: ApiSettings | None = None, store: Store | None = None, clock: Clock | None = None
) -> FastAPI:
    """An app over ``store`` (opened from ``settings.db`` when not given)."""
    settings = settings or ApiSettings()
    owned = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with hotline.sweeping(app), f3548_delivering(app):  # deadlines; F3548 notifications
            yield
        if owned:
            app.state.store.close()

    app = FastAPI(
        title="deconfliction",
        version=__version__,
        summary="Airspace deconfliction between parties who do not trust each other.",
        lifespan=lifespan,
        docs_url=None,  # served from vendored assets by docs_page, not from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store if store is not None else open_store(settings.db)
    app.state.clock = clock or SystemClock()
    app.state.metrics = metrics = _metrics()
    errors.install(app)

    # The event loop parses, validates and answers every request it has started, and it is
    # also what carries events to the open streams. Under a burst, letting every waiting
    # request start at once puts dozens of them between an event and its stream (at
    # saturation a commit reached its stream 464 ms late at p99); admitting two at a time
    # keeps that within about one hub tick (45 ms at p99) for 6-10 % of the throughput,
    # as the store takes one writer at a time anyway (docs/benchmarks.md, "Service load").
    limits = EdgeLimits(
        settings.max_body_bytes,
        settings.body_timeout_s,
        settings.max_json_depth,
        settings.anonymous_max_body_bytes,
    )
    members, anonymous = FairGate(settings.max_in_flight), FairGate(settings.anonymous_in_flight)
    app.state.gates = (members, anonymous)

    @app.get("/health", tags=["ops"], summary="Liveness and store reachability")
    def health() -> dict[str, str]:
        with app.state.store.transaction() as tx:
            tx.count_operations()
        return {"status": "ok", "version": __version__}

    # Metrics tell an outsider how busy the service is and which routes fail: a token with
    # the admin scope here, or `serve --metrics-port` for a scraper on a private interface.
    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics (admin scope)", response_class=Response)
    def prometheus(_: auth.Admin) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(operations.router)
    app.include_router(disclosures.router)
    app.include_router(audit.router)
    app.include_router(hotline.router)
    app.include_router(party_limits.router)
    app.include_router(private.router)  # the private-mode relay (docs/private-mode.md)
    docs_page.install(app)
    events.install(app)  # the stream routes and the hook that wakes streams after writes
    mount_f3548(app)  # ASTM F3548-21 DSS at /dss/v1 and the InterUSS /aux/v1
    mount_console(app)  # the duty desk's console at /console (static files over the JSON API)
    # Added last, so outermost: nothing reads a body or takes a place before the edge.
    app.add_middleware(Edge, owner=app, limits=limits, members=members, anonymous=anonymous)
    return app
