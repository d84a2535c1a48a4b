"""``/docs``: the interactive API page, from assets shipped in the package.

The page FastAPI makes by default loads Swagger UI from a CDN, so on a network without
internet access (an air operations centre's) it stays blank. The assets are vendored
instead: ``swagger-ui-dist`` from the npm registry, its version in every file name, with
its licence (Apache-2.0) and notice beside them in ``api/static/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_UI_VERSION: Final = "5.36.0"
STATIC: Final = Path(__file__).resolve().parent / "static"


def install(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Serve ``/docs`` and the assets it needs under ``/static`` (create the app with
    ``docs_url=None, redoc_url=None``)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API",
            swagger_js_url=f"/static/swagger-ui-bundle-{SWAGGER_UI_VERSION}.js",
            swagger_css_url=f"/static/swagger-ui-{SWAGGER_UI_VERSION}.css",
            swagger_favicon_url=f"/static/swagger-ui-favicon-{SWAGGER_UI_VERSION}.png",
        )
