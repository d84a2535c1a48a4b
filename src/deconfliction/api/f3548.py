"""HTTP edge of the ASTM F3548-21 DSS: ``/dss/v1`` and the InterUSS ``/aux/v1`` endpoints.

Mounted as sub-applications (:func:`mount`) because F3548 has its own error shape
(``{"message": ...}``, 400 for every bad request where our native API says 422) and
its own tokens (:mod:`deconfliction.interop.f3548.auth`, configured in
``settings.extra["f3548_auth"]``). The use-cases are
:class:`~deconfliction.service.f3548.F3548Service`'s, over the app's store; bodies are
parsed and results rendered by :mod:`deconfliction.interop.f3548.wire`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Final, NoReturn

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from deconfliction import __version__
from deconfliction.api.errors import status_for
from deconfliction.errors import DeconflictionError, Forbidden, InvalidInput
from deconfliction.interop.f3548 import wire
from deconfliction.interop.f3548.auth import F3548AuthConfig, verify
from deconfliction.service.f3548 import AirspaceConflict, AreaTooLarge, F3548Principal, F3548Service, UssDown
from deconfliction.service.f3548.access import (
    ALL_SCOPES,
    AVAILABILITY_ARBITRATION,
    CONFORMANCE_MONITORING_SA,
    CONSTRAINT_MANAGEMENT,
    CONSTRAINT_PROCESSING,
    STRATEGIC_COORDINATION,
)
from deconfliction.service.f3548.bridge import Bridge
from deconfliction.service.f3548.model import DEFAULT_BASE_URL, EntityChange

#: Where ``create_app``'s settings carry the F3548 token configuration.
AUTH_SETTING: Final = "f3548_auth"
#: ... and whether notification indices are time-based (``--f3548-time-based-notification-index``).
TIME_BASED_INDEX_SETTING: Final = "f3548_time_based_index"
#: ... and where USSs reach this service's ``/uss/v1`` (``--f3548-base-url``).
BASE_URL_SETTING: Final = "f3548_base_url"
#: The scopes each route needs one of (F3548-21's OpenAPI ``security``).
INTENT_READ: Final = (STRATEGIC_COORDINATION, CONFORMANCE_MONITORING_SA)
INTENT_WRITE: Final = INTENT_READ
CONSTRAINT_READ: Final = (CONSTRAINT_MANAGEMENT, CONSTRAINT_PROCESSING)
SUBSCRIBE: Final = (STRATEGIC_COORDINATION, CONSTRAINT_PROCESSING)
AVAILABILITY_READ: Final = (STRATEGIC_COORDINATION, CONFORMANCE_MONITORING_SA, AVAILABILITY_ARBITRATION)
#: F3548 says 400 for every malformed request.
_STATUS_OVERRIDES: Final = {422: 400}


def _error(exc: DeconflictionError) -> JSONResponse:
    if isinstance(exc, UssDown):
        status = 412
    elif isinstance(exc, AreaTooLarge):
        status = 413
    else:
        status = status_for(exc)
    status = _STATUS_OVERRIDES.get(status, status)
    if isinstance(exc, AirspaceConflict):
        return JSONResponse(wire.airspace_conflict(exc), status_code=status)
    return JSONResponse({"message": str(exc)}, status_code=status)


def _install_errors(sub: FastAPI) -> None:
    @sub.exception_handler(DeconflictionError)
    async def _ours(request: Request, exc: DeconflictionError) -> JSONResponse:
        # A 409 may list thousands of references: rendered off the event loop.
        return await run_in_threadpool(_error, exc)

    @sub.exception_handler(RequestValidationError)
    async def _schema(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"message": f"invalid request: {exc.errors()[:1]}"}, status_code=400)


def _sub_app(title: str) -> FastAPI:
    """An F3548 sub-application: its own OpenAPI, F3548's errors, no slash redirects (an
    empty OVN in ``/{id}/`` is 400, not a redirect)."""
    sub = FastAPI(
        title=title, version="1.0.0", docs_url="/docs", openapi_url="/openapi.json", redirect_slashes=False
    )
    _install_errors(sub)
    return sub


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

    def config() -> F3548AuthConfig:
        return _config(app)

    def principal(request: Request, *scopes: str) -> F3548Principal:
        """The verified caller, holding one of ``scopes``: 401 and 403 come before any
        look at the body (the use-cases check the scopes again)."""
        who = verify(config(), request.headers.get("authorization"))
        if scopes:
            who.require_any(*scopes)
        return who

    def service() -> F3548Service:
        extra = app.state.settings.extra
        time_based = bool(extra.get(TIME_BASED_INDEX_SETTING, False))
        base_url = str(extra.get(BASE_URL_SETTING) or DEFAULT_BASE_URL)
        return F3548Service(app.state.store, app.state.clock, time_based_index=time_based, base_url=base_url)

    def bridge() -> Bridge:
        base_url = str(app.state.settings.extra.get(BASE_URL_SETTING) or DEFAULT_BASE_URL)
        return Bridge(app.state.store, app.state.clock, base_url=base_url)

    # Reading bodies, the use-cases and rendering all run in the threadpool: a body at the
    # standard's limits takes tens of milliseconds to check, which the event loop must not wait.
    # A caller whose USS is linked to a party acts as that party (the link is read there too).
    async def call(fn: Callable[..., Any], *args: Any) -> Any:
        def run() -> Any:
            resolved = [bridge().resolve(a) if isinstance(a, F3548Principal) else a for a in args]
            return fn(*resolved)

        return await run_in_threadpool(run)

    async def respond(render: Callable[[], dict[str, Any]], status: int = 200) -> JSONResponse:
        return await run_in_threadpool(lambda: JSONResponse(render(), status_code=status))

    async def change(result: EntityChange) -> JSONResponse:
        return await respond(lambda: wire.entity_change(result), 201 if result.created else 200)

    def entity(entityid: str) -> str:
        return wire.check_id(entityid, "entityid")

    def subscription(subscriptionid: str) -> str:
        return wire.check_id(subscriptionid, "subscriptionid")

    def missing(what: str) -> NoReturn:
        # ``/{id}/`` with an empty OVN or version: F3548 answers 400, not a redirect.
        raise InvalidInput(what, "is required")

    dss = _sub_app("ASTM F3548-21 DSS")

    # -- operational intent references ------------------------------------------------

    @dss.post("/operational_intent_references/query", summary="Query operational intent references")
    async def query_ois(request: Request) -> JSONResponse:
        who = principal(request, *INTENT_READ)
        aoi = await call(wire.area_of_interest, await _json(request))
        refs = await call(service().query_operational_intents, who, aoi)
        return await respond(lambda: {"operational_intent_references": [wire.reference(r) for r in refs]})

    @dss.get("/operational_intent_references/{entityid}", summary="Get an operational intent reference")
    async def get_oi(entityid: str, request: Request) -> JSONResponse:
        ref = await call(service().get_operational_intent, principal(request, *INTENT_READ), entity(entityid))
        return JSONResponse({"operational_intent_reference": wire.reference(ref)})

    @dss.put("/operational_intent_references/{entityid}", summary="Create an operational intent reference")
    async def create_oi(entityid: str, request: Request) -> JSONResponse:
        who = principal(request, *INTENT_WRITE)
        body = await call(wire.intent_request, await _json(request))
        return await change(await call(service().put_operational_intent, who, entity(entityid), None, body))

    @dss.put(
        "/operational_intent_references/{entityid}/{ovn}", summary="Update an operational intent reference"
    )
    async def update_oi(entityid: str, ovn: str, request: Request) -> JSONResponse:
        who = principal(request, *INTENT_WRITE)
        body = await call(wire.intent_request, await _json(request))
        return await change(await call(service().put_operational_intent, who, entity(entityid), ovn, body))

    @dss.delete(
        "/operational_intent_references/{entityid}/{ovn}", summary="Delete an operational intent reference"
    )
    async def delete_oi(entityid: str, ovn: str, request: Request) -> JSONResponse:
        who = principal(request, *INTENT_WRITE)
        return await change(await call(service().delete_operational_intent, who, entity(entityid), ovn))

    # -- constraint references --------------------------------------------------------

    @dss.post("/constraint_references/query", summary="Query constraint references")
    async def query_constraints(request: Request) -> JSONResponse:
        who = principal(request, *CONSTRAINT_READ)
        aoi = await call(wire.area_of_interest, await _json(request))
        refs = await call(service().query_constraints, who, aoi)
        return await respond(lambda: {"constraint_references": [wire.reference(r) for r in refs]})

    @dss.get("/constraint_references/{entityid}", summary="Get a constraint reference")
    async def get_constraint(entityid: str, request: Request) -> JSONResponse:
        ref = await call(service().get_constraint, principal(request, *CONSTRAINT_READ), entity(entityid))
        return JSONResponse({"constraint_reference": wire.reference(ref)})

    @dss.put("/constraint_references/{entityid}", summary="Create a constraint reference")
    async def create_constraint(entityid: str, request: Request) -> JSONResponse:
        who = principal(request, CONSTRAINT_MANAGEMENT)
        body = await call(wire.constraint_request, await _json(request))
        return await change(await call(service().put_constraint, who, entity(entityid), None, body))

    @dss.put("/constraint_references/{entityid}/{ovn}", summary="Update a constraint reference")
    async def update_constraint(entityid: str, ovn: str, request: Request) -> JSONResponse:
        who = principal(request, CONSTRAINT_MANAGEMENT)
        body = await call(wire.constraint_request, await _json(request))
        return await change(await call(service().put_constraint, who, entity(entityid), ovn, body))

    @dss.delete("/constraint_references/{entityid}/{ovn}", summary="Delete a constraint reference")
    async def delete_constraint(entityid: str, ovn: str, request: Request) -> JSONResponse:
        who = principal(request, CONSTRAINT_MANAGEMENT)
        return await change(await call(service().delete_constraint, who, entity(entityid), ovn))

    # -- subscriptions ------------------------------------------------------------------

    @dss.post("/subscriptions/query", summary="Query the caller's subscriptions")
    async def query_subscriptions(request: Request) -> JSONResponse:
        who = principal(request, *SUBSCRIBE)
        aoi = await call(wire.area_of_interest, await _json(request))
        subs = await call(service().query_subscriptions, who, aoi)
        return await respond(lambda: {"subscriptions": [wire.subscription(s) for s in subs]})

    @dss.get("/subscriptions/{subscriptionid}", summary="Get a subscription")
    async def get_subscription(subscriptionid: str, request: Request) -> JSONResponse:
        who = principal(request, *SUBSCRIBE)
        view = await call(service().get_subscription, who, subscription(subscriptionid))
        return JSONResponse({"subscription": wire.subscription(view)})

    @dss.put("/subscriptions/{subscriptionid}", summary="Create a subscription")
    async def create_subscription(subscriptionid: str, request: Request) -> JSONResponse:
        who = principal(request, *SUBSCRIBE)
        body = await call(wire.subscription_request, await _json(request))
        result = await call(service().put_subscription, who, subscription(subscriptionid), None, body)
        return await respond(lambda: wire.subscription_change(result))

    @dss.put("/subscriptions/{subscriptionid}/{version}", summary="Update a subscription")
    async def update_subscription(subscriptionid: str, version: str, request: Request) -> JSONResponse:
        who = principal(request, *SUBSCRIBE)
        body = await call(wire.subscription_request, await _json(request))
        result = await call(service().put_subscription, who, subscription(subscriptionid), version, body)
        return await respond(lambda: wire.subscription_change(result))

    @dss.delete("/subscriptions/{subscriptionid}/{version}", summary="Delete a subscription")
    async def delete_subscription(subscriptionid: str, version: str, request: Request) -> JSONResponse:
        who = principal(request, *SUBSCRIBE)
        view = await call(service().delete_subscription, who, subscription(subscriptionid), version)
        return JSONResponse({"subscription": wire.subscription(view)})

    # ``/{id}/``: the version or OVN is empty. Declared after the routes above, so that
    # ``/query`` and ``/{id}/{ovn}`` match first.
    def empty_version(what: str, scopes: tuple[str, ...]) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def refuse(request: Request) -> JSONResponse:
            principal(request, *scopes)
            missing(what)

        return refuse

    for collection, what, scopes in (
        ("operational_intent_references", "ovn", INTENT_WRITE),
        ("constraint_references", "ovn", (CONSTRAINT_MANAGEMENT,)),
        ("subscriptions", "version", SUBSCRIBE),
    ):
        dss.add_api_route(
            f"/{collection}/{{id}}/",
            empty_version(what, scopes),
            methods=["PUT", "DELETE"],
            include_in_schema=False,
        )

    # -- availability and reports --------------------------------------------------------

    @dss.get("/uss_availability/{uss_id}", summary="Get a USS's availability")
    async def get_availability(uss_id: str, request: Request) -> JSONResponse:
        found = await call(service().get_availability, principal(request, *AVAILABILITY_READ), uss_id)
        return JSONResponse(wire.availability(found))

    @dss.put("/uss_availability/{uss_id}", summary="Set a USS's availability")
    async def set_availability(uss_id: str, request: Request) -> JSONResponse:
        who = principal(request, AVAILABILITY_ARBITRATION)
        availability, old_version = wire.availability_request(await _json(request))
        found = await call(service().set_availability, who, uss_id, availability, old_version)
        return JSONResponse(wire.availability(found))

    @dss.post("/reports", summary="Report a problem with another USS or the DSS")
    async def report(request: Request) -> JSONResponse:
        who = principal(request, *sorted(ALL_SCOPES))
        body = wire.report_request(await _json(request))
        return JSONResponse(await call(service().report, who, body), status_code=201)

    # -- the USS API, for the constraints of native operations (the bridge) -------------

    uss = _sub_app("ASTM F3548-21 USS API (constraints of native operations)")

    @uss.get("/constraints/{entityid}", summary="Details of a native operation's constraint")
    async def constraint_details(entityid: str, request: Request) -> JSONResponse:
        who = principal(request, CONSTRAINT_PROCESSING)
        found = await call(bridge().details, who, entity(entityid))
        return await respond(lambda: {"constraint": wire.constraint_details(found)})

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
    app.mount("/uss/v1", uss)
