"""The sender of constraint notifications for native operations (the bridge).

Every ``serve`` process runs :func:`delivering`: each period it leases the notifications
that are due (:meth:`~deconfliction.service.f3548.bridge.Bridge.claim`), POSTs each to
``{uss_base_url}/uss/v1/constraints`` as F3548 asks of a managing USS, and deletes it
once the USS answered 2xx, or schedules a retry. A notification is a row written in the
transaction of the change, so a crash loses none; one whose sender died is sent again
when its lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import httpx
from anyio import to_thread
from fastapi import FastAPI

from deconfliction.api.f3548 import BASE_URL_SETTING
from deconfliction.interop.f3548 import wire
from deconfliction.service.f3548.bridge import Bridge, Delivery
from deconfliction.service.f3548.model import DEFAULT_BASE_URL

log = logging.getLogger("deconfliction.f3548.bridge")

#: Seconds between two looks at the outbox (``ApiSettings.extra["f3548_notify_period_s"]``).
DEFAULT_PERIOD_S: Final = 1.0
#: How long one USS may take to answer a notification; a round sends at most
#: :data:`PER_ROUND` of them one after the other, so it ends well within a lease (60 s).
SEND_TIMEOUT_S: Final = 5.0
PER_ROUND: Final = 10
#: ``ApiSettings.extra`` key: send to private, loopback and link-local addresses too.
PRIVATE_SETTING: Final = "f3548_notify_private"


def _refused_target(url: str) -> str | None:
    """Why the service will not send to ``url``, or None. A subscription's base URL is the
    USS's to choose, so without a check any USS with a token could make the service POST
    to hosts only it can reach (its loopback, the operator's private network)."""
    try:
        parsed = httpx.URL(url)
        infos = socket.getaddrinfo(parsed.host, parsed.port or 443, proto=socket.IPPROTO_TCP)
    except (httpx.InvalidURL, OSError, UnicodeError) as exc:
        return f"cannot resolve: {exc}"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            return f"{parsed.host} resolves to a non-public address ({address})"
    return None


def _bridge(app: FastAPI) -> Bridge:
    base_url = str(app.state.settings.extra.get(BASE_URL_SETTING) or DEFAULT_BASE_URL)
    return Bridge(app.state.store, app.state.clock, base_url=base_url)


def _headers(app: FastAPI) -> dict[str, str]:
    token_file = app.state.settings.extra.get("f3548_notify_token_file")
    if not token_file:
        return {}
    try:
        token = Path(str(token_file)).read_text(encoding="ascii").strip()
    except OSError as exc:
        log.warning("cannot read the notification token file", extra={"error": str(exc)})
        return {}
    return {"Authorization": f"Bearer {token}"} if token else {}


def send_due(app: FastAPI, http: httpx.Client) -> int:
    """Send every notification due now; the number delivered."""
    bridge = _bridge(app)
    delivered = 0
    allow_private = bool(app.state.settings.extra.get(PRIVATE_SETTING, False))
    for d in bridge.claim(PER_ROUND):
        refused = None if allow_private else _refused_target(d.notification.uss_base_url)
        if refused is not None:
            log.warning(
                "constraint notification dropped", extra={"url": d.notification.uss_base_url, "why": refused}
            )
            bridge.drop(d.notification)
            continue
        error = _send(app, http, d)
        if error is None:
            bridge.delivered(d.notification)
            delivered += 1
        else:
            log.info(
                "constraint notification failed", extra={"url": d.notification.uss_base_url, "error": error}
            )
            bridge.failed(d.notification, error)
    return delivered


def _send(app: FastAPI, http: httpx.Client, d: Delivery) -> str | None:
    """POST one notification; None when the USS took it, else why not."""
    n = d.notification
    url = f"{n.uss_base_url.rstrip('/')}/uss/v1/constraints"
    body = wire.constraint_notification(n.constraint_id, d.details, n.subscriptions)
    try:
        # Streamed and closed unread: what a USS answers is not ours to hold in memory.
        with http.stream("POST", url, json=body, headers=_headers(app)) as answer:
            status = answer.status_code
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if 200 <= status < 300 else f"HTTP {status}"


@contextlib.asynccontextmanager
async def delivering(app: FastAPI) -> AsyncIterator[None]:
    """Send due constraint notifications every ``f3548_notify_period_s`` while the app runs."""
    extra = app.state.settings.extra
    period = float(extra.get("f3548_notify_period_s", DEFAULT_PERIOD_S))
    ca = extra.get("f3548_notify_ca")
    # Redirects are not followed: a notification goes to the URL the subscriber registered.
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca)) if ca else True
    http = httpx.Client(timeout=SEND_TIMEOUT_S, verify=verify, follow_redirects=False)

    async def loop() -> None:
        while True:
            try:
                await to_thread.run_sync(send_due, app, http)
            except Exception:  # the loop must outlive any one failed round (a store restart, ...)
                log.exception("sending constraint notifications failed; retrying at the next period")
            await asyncio.sleep(period)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        http.close()
