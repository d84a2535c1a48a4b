"""The one place where exceptions become HTTP responses.

Status codes are found by walking the exception's class hierarchy, so a new subclass
inherits its parent's status. Bodies are ``{"error": {"type", "message", "field"}}``.
"""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from deconfliction.errors import (
    AwarenessRequired,
    Conflict,
    DeconflictionError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    StoreError,
    StoreUnavailable,
    Unauthenticated,
)

log = logging.getLogger("deconfliction.api")

#: The one message of every 401: which part of a credential or token was wrong is not
#: told to the caller (it is logged for the operator).
UNAUTHENTICATED: Final = "not authenticated: the credentials or token are missing, wrong, expired or revoked"

STATUS: Final[dict[type[DeconflictionError], int]] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    Unauthenticated: 401,
    Forbidden: 403,
    RateLimited: 429,
    StoreUnavailable: 503,
    StoreError: 500,
}


class ErrorDetail(BaseModel):
    type: str
    message: str
    field: str | None = None
    #: structured detail where the message alone is not enough (e.g. the conflicts an
    #: activation must acknowledge first)
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    error: ErrorDetail


def status_for(exc: DeconflictionError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(
    status: int,
    kind: str,
    message: str,
    field: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(type=kind, message=message, field=field, details=details))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def _headers(exc: DeconflictionError) -> dict[str, str] | None:
    # RFC 6750 asks 401s to name the scheme; RFC 6585 lets 429s say when to come back.
    if isinstance(exc, Unauthenticated):
        return {"WWW-Authenticate": 'Bearer realm="deconfliction"'}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
    return None


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(DeconflictionError)
    async def _ours(request: Request, exc: DeconflictionError) -> JSONResponse:
        field = exc.field if isinstance(exc, InvalidInput) else None
        message = exc.rule if isinstance(exc, InvalidInput) else str(exc)
        if isinstance(exc, Unauthenticated):
            log.info("refused", extra={"path": request.url.path, "cause": message})
            message = UNAUTHENTICATED
        details = exc.details if isinstance(exc, AwarenessRequired) else None
        return error_response(status_for(exc), type(exc).__name__, message, field, details, _headers(exc))

    @app.exception_handler(RequestValidationError)
    async def _schema(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = list(first.get("loc", ()))
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        # list positions as the domain's own errors give them: operations[2].volumes[0]
        field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
        return error_response(422, "InvalidRequest", str(first.get("msg")), field or None)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        # Starlette's own refusals (no such route, method not allowed, unparsable body)
        kind = "".join(word.capitalize() for word in HTTPStatus(exc.status_code).phrase.split())
        kind = kind.replace("-", "")
        return error_response(exc.status_code, kind, str(exc.detail), headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback by the server; the caller learns only that it failed.
        return error_response(500, "InternalError", "the server failed to handle this request")
