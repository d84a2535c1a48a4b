"""HTTP edge of the ASTM F3548-21 DSS: ``/dss/v1`` and the InterUSS ``/aux/v1`` endpoints.

Mounted as sub-applications (:func:`mount`) because F3548 has its own error shape
(``{"message": ...}``, 400 for every bad request where our native API says 422) and
its own tokens (:mod:`deconfliction.interop.f3548.auth`, configured in
``settings.extra["f3548_auth"]``). The use-cases are
:class:`~deconfliction.interop.f3548.service.DssService`'s, over the app's store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from deconfliction import __version__
from deconfliction.api.errors import status_for
from deconfliction.errors import DeconflictionError, Forbidden, InvalidInput
from deconfliction.interop.f3548.auth import F3548AuthConfig, F3548Principal, verify
from deconfliction.interop.f3548.common import AirspaceConflict, Change, UssDown
from deconfliction.interop.f3548.service import DssService

#: Where ``create_app``'s settings carry the F3548 token configuration.
AUTH_SETTING: Final = "f3548_auth"
#: ... and whether notification indices are time-based (``--f3548-time-based-notification-index``).
TIME_BASED_INDEX_SETTING: Final = "f3548_time_based_index"
#: F3548 says 400 for every malformed request.
_STATUS_OVERRIDES: Final = {422: 400}


def _error(exc: DeconflictionError) -> JSONResponse:
    status = 412 if isinstance(exc, UssDown) else status_for(exc)
    status = _STATUS_OVERRIDES.get(status, status)
    message = str(exc)
    body: dict[str, Any] = {"message": message}
    if isinstance(exc, AirspaceConflict):
        body["missing_operational_intents"] = exc.missing
        body["missing_constraints"] = exc.missing_constraints
    return JSONResponse(body, status_code=status)


def _install_errors(sub: FastAPI) -> None:
    @sub.exception_handler(DeconflictionError)
    async def _ours(request: Request, exc: DeconflictionError) -> JSONResponse:
        return _error(exc)

    @sub.exception_handler(RequestValidationError)
    async def _schema(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"message": f"invalid request: {exc.errors()[:1]}"}, status_code=400)


async def _json(request: Request, required: bool = True) -> Any:
    raw = await request.body()
    if not raw:
        if required:
            raise InvalidInput("body", "a JSON body is required")
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("body", f"not JSON: {exc}") from None


def _config(app: FastAPI) -> F3548AuthConfig:
    found = app.state.settings.extra.get(AUTH_SETTING)
    return found if isinstance(found, F3548AuthConfig) else F3548AuthConfig()


def uss_of(app: FastAPI, authorization: str) -> str:
    """The USS a genuine F3548 token of ``app`` names (for admission); Unauthenticated otherwise."""
    return verify(_config(app), authorization).manager


def mount(app: FastAPI) -> None:
    """Serve F3548 at ``/dss/v1`` and the InterUSS auxiliary API at ``/aux/v1`` on ``app``."""

    def principal(request: Request) -> F3548Principal:
        return verify(_config(app), request.headers.get("authorization"))

    def service() -> DssService:
        time_based = bool(app.state.settings.extra.get(TIME_BASED_INDEX_SETTING, False))
        return DssService(app.state.store, app.state.clock, time_based_index=time_based)

    async def call(fn: Callable[..., Any], *args: Any) -> Any:
        return await run_in_threadpool(fn, *args)

    def change(result: Change) -> JSONResponse:
        return JSONResponse(result.body, status_code=result.status)

    dss = FastAPI(title="ASTM F3548-21 DSS", version="1.0.0", docs_url="/docs", openapi_url="/openapi.json")
    _install_errors(dss)

    # -- operational intent references ------------------------------------------------

    @dss.post("/operational_intent_references/query", summary="Query operational intent references")
    async def query_ois(request: Request) -> JSONResponse:
        who = principal(request)
        return JSONResponse(await call(service().query_operational_intents, who, await _json(request)))

    @dss.get("/operational_intent_references/{entityid}", summary="Get an operational intent reference")
    async def get_oi(entityid: str, request: Request) -> JSONResponse:
        return JSONResponse(await call(service().get_operational_intent, principal(request), entityid))

    @dss.put("/operational_intent_references/{entityid}", summary="Create an operational intent reference")
    async def create_oi(entityid: str, request: Request) -> JSONResponse:
        who = principal(request)
        return change(await call(service().put_operational_intent, who, entityid, None, await _json(request)))

    @dss.put(
        "/operational_intent_references/{entityid}/{ovn}", summary="Update an operational intent reference"
    )
    async def update_oi(entityid: str, ovn: str, request: Request) -> JSONResponse:
        who = principal(request)
        return change(await call(service().put_operational_intent, who, entityid, ovn, await _json(request)))

    @dss.delete(
        "/operational_intent_references/{entityid}/{ovn}", summary="Delete an operational intent reference"
    )
    async def delete_oi(entityid: str, ovn: str, request: Request) -> JSONResponse:
        return change(await call(service().delete_operational_intent, principal(request), entityid, ovn))

    # -- constraint references --------------------------------------------------------

    @dss.post("/constraint_references/query", summary="Query constraint references")
    async def query_constraints(request: Request) -> JSONResponse:
        who = principal(request)
        return JSONResponse(await call(service().query_constraints, who, await _json(request)))

    @dss.get("/constraint_references/{entityid}", summary="Get a constraint reference")
    async def get_constraint(entityid: str, request: Request) -> JSONResponse:
        return JSONResponse(await call(service().get_constraint, principal(request), entityid))

    @dss.put("/constraint_references/{entityid}", summary="Create a constraint reference")
    async def create_constraint(entityid: str, request: Request) -> JSONResponse:
        who = principal(request)
        return change(await call(service().put_constraint, who, entityid, None, await _json(request)))

    @dss.put("/constraint_references/{entityid}/{ovn}", summary="Update a constraint reference")
    async def update_constraint(entityid: str, ovn: str, request: Request) -> JSONResponse:
        who = principal(request)
        return change(await call(service().put_constraint, who, entityid, ovn, await _json(request)))

    @dss.delete("/constraint_references/{entityid}/{ovn}", summary="Delete a constraint reference")
    async def delete_constraint(entityid: str, ovn: str, request: Request) -> JSONResponse:
        return change(await call(service().delete_constraint, principal(request), entityid, ovn))

    # -- subscriptions ------------------------------------------------------------------

    @dss.post("/subscriptions/query", summary="Query the caller's subscriptions")
    async def query_subscriptions(request: Request) -> JSONResponse:
        who = principal(request)
        return JSONResponse(await call(service().query_subscriptions, who, await _json(request)))

    @dss.get("/subscriptions/{subscriptionid}", summary="Get a subscription")
    async def get_subscription(subscriptionid: str, request: Request) -> JSONResponse:
        return JSONResponse(await call(service().get_subscription, principal(request), subscriptionid))

    @dss.put("/subscriptions/{subscriptionid}", summary="Create a subscription")
    async def create_subscription(subscriptionid: str, request: Request) -> JSONResponse:
        who = principal(request)
        return change(await call(service().put_subscription, who, subscriptionid, None, await _json(request)))

    @dss.put("/subscriptions/{subscriptionid}/{version}", summary="Update a subscription")
    async def update_subscription(subscriptionid: str, version: str, request: Request) -> JSONResponse:
        who = principal(request)
        return change(
            await call(service().put_subscription, who, subscriptionid, version, await _json(request))
        )

    @dss.delete("/subscriptions/{subscriptionid}/{version}", summary="Delete a subscription")
    async def delete_subscription(subscriptionid: str, version: str, request: Request) -> JSONResponse:
        return JSONResponse(
            await call(service().delete_subscription, principal(request), subscriptionid, version)
        )

    # -- availability and reports --------------------------------------------------------

    @dss.get("/uss_availability/{uss_id}", summary="Get a USS's availability")
    async def get_availability(uss_id: str, request: Request) -> JSONResponse:
        return JSONResponse(await call(service().get_availability, principal(request), uss_id))

    @dss.put("/uss_availability/{uss_id}", summary="Set a USS's availability")
    async def set_availability(uss_id: str, request: Request) -> JSONResponse:
        who = principal(request)
        return JSONResponse(await call(service().set_availability, who, uss_id, await _json(request)))

    @dss.post("/reports", summary="Report a problem with another USS or the DSS")
    async def report(request: Request) -> JSONResponse:
        who = principal(request)
        return JSONResponse(await call(service().report, who, await _json(request)), status_code=201)

    # -- InterUSS auxiliary API -------------------------------------------------------

    aux = FastAPI(title="InterUSS DSS auxiliary API", version="1.0.0", docs_url="/docs")
    _install_errors(aux)

    @aux.get("/version", summary="Version of this DSS")
    async def version() -> dict[str, str]:
        return {"version": f"deconfliction-{__version__}"}

    @aux.get("/validate_oauth", summary="Check a token (and, with owner, that it is owner's)")
    async def validate_oauth(request: Request, owner: str | None = None) -> dict[str, Any]:
        who = principal(request)
        if owner is not None and owner != who.manager:
            raise Forbidden(f"the token's subject is {who.manager!r}, not {owner!r}")
        return {}

    app.mount("/dss/v1", dss)
    app.mount("/aux/v1", aux)
