"""The FastAPI application factory.

``create_app`` wires a store, a clock and settings into an app; routers for each
feature are included here. The app holds no state of its own beyond that wiring, so
several API processes can serve one PostgreSQL store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response
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
    errors,
    events,
    hotline,
    limits,
    operations,
    private,
)
from deconfliction.api.console import mount as mount_console
from deconfliction.api.errors import error_response
from deconfliction.api.f3548 import mount as mount_f3548
from deconfliction.api.f3548_bridge import delivering as f3548_delivering
from deconfliction.service.clock import Clock, SystemClock
from deconfliction.store import Store, open_store

log = logging.getLogger("deconfliction.api")

#: Request bodies above this are refused with 413 before they are read.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


@dataclass
class ApiSettings:
    """What an API process needs to know; every field has a production default."""

    db: str = "deconfliction.sqlite"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: Ed25519 key that signs tokens; default: ``<db>.key`` beside a SQLite file (never in the store)
    key_file: str | None = None
    #: lifetime of an access token
    token_ttl_s: int = 900
    #: per-party token bucket: sustained requests per second, and the burst allowed
    rate_per_s: float = 50.0
    rate_burst: int = 100
    #: requests this process works on at once; the rest wait, costing the event loop nothing
    max_in_flight: int = 2
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
    in_flight = asyncio.Semaphore(settings.max_in_flight)

    @app.middleware("http")
    async def _edge(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return error_response(
                413, "PayloadTooLarge", f"request body is over the limit of {settings.max_body_bytes} bytes"
            )
        started = time.perf_counter()
        # call_next returns once the response starts, so an event stream gives its place
        # back as soon as its headers are out, however long its client listens.
        with metrics.waiting.track_inprogress():
            await in_flight.acquire()
        try:
            with metrics.in_flight.track_inprogress():
                response = await call_next(request)
        finally:
            in_flight.release()
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        elapsed = time.perf_counter() - started
        metrics.requests.labels(request.method, path, str(response.status_code)).inc()
        metrics.latency.labels(request.method, path).observe(elapsed)
        log.info(
            "request",
            extra={
                "method": request.method,
                "route": path,
                "status": response.status_code,
                "ms": round(elapsed * 1000, 2),
            },
        )
        return response

    @app.get("/health", tags=["ops"], summary="Liveness and store reachability")
    def health() -> dict[str, str]:
        with app.state.store.transaction() as tx:
            tx.count_operations()
        return {"status": "ok", "version": __version__}

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", response_class=Response)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(operations.router)
    app.include_router(disclosures.router)
    app.include_router(audit.router)
    app.include_router(hotline.router)
    app.include_router(limits.router)
    app.include_router(private.router)  # the private-mode relay (docs/private-mode.md)
    events.install(app)  # the stream routes and the hook that wakes streams after writes
    mount_f3548(app)  # ASTM F3548-21 DSS at /dss/v1 and the InterUSS /aux/v1
    mount_console(app)  # the duty desk's console at /console (static files over the JSON API)
    return app
