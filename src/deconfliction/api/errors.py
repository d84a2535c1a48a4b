"""The one place where exceptions become HTTP responses.

Status codes are found by walking the exception's class hierarchy, so a new subclass
inherits its parent's status. Bodies are ``{"error": {"type", "message", "field"}}``.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from deconfliction.errors import (
    Conflict,
    DeconflictionError,
    InvalidInput,
    NotFound,
    StoreError,
    StoreUnavailable,
)

STATUS: Final[dict[type[DeconflictionError], int]] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    StoreUnavailable: 503,
    StoreError: 500,
}


class ErrorDetail(BaseModel):
    type: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    error: ErrorDetail


def status_for(exc: DeconflictionError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(status: int, kind: str, message: str, field: str | None = None) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(type=kind, message=message, field=field))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(DeconflictionError)
    async def _ours(request: Request, exc: DeconflictionError) -> JSONResponse:
        field = exc.field if isinstance(exc, InvalidInput) else None
        message = exc.rule if isinstance(exc, InvalidInput) else str(exc)
        return error_response(status_for(exc), type(exc).__name__, message, field)

    @app.exception_handler(RequestValidationError)
    async def _schema(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(part) for part in first.get("loc", ())]
        field = ".".join(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
        return error_response(422, "InvalidRequest", str(first.get("msg")), field or None)
