"""The duty desk's console: static files served at ``/console``, talking to the JSON API only.

The console is plain ES modules and vendored libraries (Leaflet, topojson-client and
Natural Earth from ``world-atlas``, each with its version in the file name and its
licence beside it), so nothing is built and nothing is fetched from anywhere but this
server. Its pages are sent with a Content-Security-Policy that allows scripts, styles,
images and connections from this origin only: a console page cannot load or send
anything elsewhere, even if a library in it tried.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC: Final = Path(__file__).resolve().parent / "static"
#: How the project's browser tests and benchmarks run Debian's headless Chromium: no
#: network of its own (no QUIC, no background or component traffic), no GPU, no sandbox
#: (CI runs as root).
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
PREFIX: Final = "/console"

#: Same origin only. Leaflet positions its panes with inline ``style`` attributes, hence
#: ``'unsafe-inline'`` for styles (never for scripts).
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_HEADERS: Final = [
    (b"content-security-policy", CSP.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    # The page holds an access token: never cached by shared caches, revalidated by the browser.
    (b"cache-control", b"no-cache"),
]


class _Secured:
    """The static app with the console's security headers on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def mount(app: FastAPI) -> None:
    """Serve the console at ``/console/`` (and redirect ``/console`` there)."""

    @app.get(PREFIX, include_in_schema=False)
    def console_root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=308)

    app.mount(PREFIX, _Secured(StaticFiles(directory=STATIC, html=True)), name="console")
