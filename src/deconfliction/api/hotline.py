"""The hotline over HTTP: messages, receipts, acknowledgements, lines, and the sweep.

Every route acts for the token's party only: a message is visible to its sender and
its recipient and is 404 to everyone else. Messages are rendered in the reader's
language (``Accept-Language`` if it names en, ru or ar, else the language of the
reader's duty desk). STOP messages, and the receipt and acknowledgement of a STOP,
are never refused for rate: the rate limit is charged here, after the class is known.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final, Literal

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from deconfliction.api.auth import Principal, auth_state, identify
from deconfliction.errors import Forbidden, NotFound
from deconfliction.interop.hotline import deadlines_from_env, read_area
from deconfliction.service.hotline import HotlineService, Line, Message, MessageClass
from deconfliction.service.hotline.model import MAX_ANNEX_CHARS

log = logging.getLogger("deconfliction.api.hotline")

#: Seconds between deadline sweeps of a running server (``ApiSettings.extra["hotline_sweep_s"]``).
DEFAULT_SWEEP_S: Final = 1.0

_lock = threading.Lock()


def hotline(app: FastAPI) -> HotlineService:
    """The app's hotline service, made on first use from its store and clock."""
    found: HotlineService | None = getattr(app.state, "hotline", None)
    if found is None:
        with _lock:
            found = getattr(app.state, "hotline", None)
            if found is None:
                found = app.state.hotline = HotlineService(
                    app.state.store, app.state.clock, read_area, deadlines_from_env()
                )
    return found


# -- who is asking ---------------------------------------------------------------------------


def _principal(request: Request, scope: str) -> Principal:
    principal = identify(request)
    if scope not in principal.scopes:
        raise Forbidden(
            f"this needs the {scope!r} scope; the token has: {' '.join(sorted(principal.scopes))}"
        )
    return principal


def _charge(request: Request, principal: Principal, cls: Any) -> None:
    if cls != MessageClass.STOP.value:
        auth_state(request.app).limiter.take(principal.party)


async def _sender(request: Request) -> Principal:
    principal = _principal(request, "message")
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None  # the route's validation names the problem
    _charge(request, principal, body.get("class") if isinstance(body, dict) else None)
    return principal


def _replier(request: Request, message_id: str) -> Principal:
    principal = _principal(request, "message")
    try:
        cls: Any = hotline(request.app).get(principal.party, message_id).cls.value
    except NotFound:
        cls = None  # charged like any other request; the route answers 404
    _charge(request, principal, cls)
    return principal


def _messenger(request: Request) -> Principal:
    principal = _principal(request, "message")
    _charge(request, principal, None)
    return principal


def _reader(request: Request) -> Principal:
    principal = _principal(request, "read")
    _charge(request, principal, None)
    return principal


Sender = Annotated[Principal, Depends(_sender)]
Replier = Annotated[Principal, Depends(_replier)]
Messenger = Annotated[Principal, Depends(_messenger)]
Reader = Annotated[Principal, Depends(_reader)]
AcceptLanguage = Annotated[str | None, Header(description="en, ru or ar; default: the desk's language")]

# -- wire models -----------------------------------------------------------------------------


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SendRequest(Wire):
    """A message: ``fields`` are the template's typed fields (docs/hotline.md)."""

    to: str = Field(max_length=128, description="the recipient party")
    cls: Literal["ROUTINE", "PRIORITY", "STOP"] = Field(alias="class")
    template: str = Field(max_length=64, description="NOTIFY, REQUEST-DECONFLICT, STOP, ...")
    fields: dict[str, Any] = Field(default_factory=dict)
    annex: str | None = Field(default=None, description=f"free text, at most {MAX_ANNEX_CHARS} characters")
    desk: str | None = Field(
        default=None, max_length=128, description="a desk of the recipient; default duty"
    )
    signature: str | None = Field(default=None, max_length=4096, description="for ACK: the party's signature")


class AckRequest(Wire):
    geometry_sha256: str | None = Field(
        default=None, description="SHA-256 of the canonical JSON of the geometry fields as received"
    )
    signature: str | None = Field(default=None, max_length=4096)
    annex: str | None = None


class SuspendRequest(Wire):
    reason: str | None = Field(default=None, max_length=500)


class RenderedField(BaseModel):
    name: str
    label: str
    value: str


class Rendered(BaseModel):
    language: str
    direction: Literal["ltr", "rtl"]
    cls: str = Field(alias="class")
    title: str
    summary: str
    state: str
    fields: list[RenderedField]
    annex_label: str


class EscalationView(BaseModel):
    message: str
    stage: Literal["delivery", "acknowledgement"]
    level: int
    deadline: str
    at: str
    notify: dict[str, Any]


class MessageView(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    sender: str = Field(alias="from")
    recipient: str = Field(alias="to")
    desk: str
    cls: Literal["ROUTINE", "PRIORITY", "STOP"] = Field(alias="class")
    template: str
    fields: dict[str, Any]
    annex: str | None
    geometry_sha256: str | None
    reply_to: str | None
    created_at: str
    deliver_by: str
    ack_by: str | None
    received_at: str | None
    acked_at: str | None
    ack_message: str | None
    state: Literal["sent", "received", "acknowledged"]
    rendered: Rendered
    escalations: list[EscalationView] | None = None


class MessageList(BaseModel):
    box: Literal["inbox", "sent"]
    language: str
    messages: list[MessageView]


class AckResult(BaseModel):
    ack: MessageView
    message: MessageView


class SuspensionView(BaseModel):
    party: str
    since: str
    reason: str | None


class LineView(BaseModel):
    other: str
    state: Literal["open", "suspended"]
    suspended_by_me: SuspensionView | None
    suspended_by_them: SuspensionView | None


class LineList(BaseModel):
    lines: list[LineView]


def _view(service: HotlineService, message: Message, language: str) -> MessageView:
    return MessageView.model_validate(service.view(message, language))


def _line(line: Line) -> LineView:
    def s(x: Any) -> SuspensionView | None:
        if x is None:
            return None
        return SuspensionView(
            party=x.party, since=x.since.isoformat().replace("+00:00", "Z"), reason=x.reason
        )

    return LineView(
        other=line.other,
        state="suspended" if line.state == "suspended" else "open",
        suspended_by_me=s(line.suspended_by_me),
        suspended_by_them=s(line.suspended_by_them),
    )


# -- routes ----------------------------------------------------------------------------------

router = APIRouter(prefix="/v1", tags=["hotline"])
_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such message, or not one the caller sent or received"}
}


@router.post(
    "/messages",
    status_code=201,
    summary="Send a message to a party's duty desk (an ACK template acknowledges)",
    responses={409: {"description": "The line is suspended (only STOP passes), or an ACK was refused"}},
)
def send(
    body: SendRequest, principal: Sender, request: Request, accept_language: AcceptLanguage = None
) -> MessageView:
    service = hotline(request.app)
    message = service.send(
        principal.party, body.to, body.cls, body.template, body.fields, body.annex, body.desk, body.signature
    )
    return _view(service, message, service.language_of(principal.party, accept_language))


@router.get("/messages", summary="Messages received (STOP first) or sent, rendered for the reader")
def list_messages(
    principal: Reader,
    request: Request,
    box: Literal["inbox", "sent"] = "inbox",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    unacknowledged: bool = False,
    accept_language: AcceptLanguage = None,
) -> MessageList:
    service = hotline(request.app)
    language = service.language_of(principal.party, accept_language)
    if box == "inbox":  # reading is receiving: each message listed has its receipt recorded
        found = service.read_inbox(principal.party, limit, unacknowledged)
    else:
        found = service.sent(principal.party, limit)
    return MessageList(box=box, language=language, messages=[_view(service, m, language) for m in found])


@router.get("/messages/{message_id}", summary="One message with its escalations", responses=_404)
def get_message(
    message_id: str, principal: Reader, request: Request, accept_language: AcceptLanguage = None
) -> MessageView:
    service = hotline(request.app)
    message = service.read(principal.party, message_id)  # the recipient reading it receives it
    view = _view(service, message, service.language_of(principal.party, accept_language))
    view.escalations = [
        EscalationView.model_validate(e.to_dict()) for e in service.escalations(principal.party, message_id)
    ]
    return view


@router.post(
    "/messages/{message_id}/receipt",
    summary="Record machine receipt (the recipient only)",
    responses={**_404, 403: {"description": "The caller sent it: only the recipient records receipt"}},
)
def receipt(
    message_id: str, principal: Replier, request: Request, accept_language: AcceptLanguage = None
) -> MessageView:
    service = hotline(request.app)
    message = service.receipt(principal.party, message_id)
    return _view(service, message, service.language_of(principal.party, accept_language))


@router.post(
    "/messages/{message_id}/ack",
    summary="Acknowledge (a person at the desk), echoing the geometry hash",
    responses={
        **_404,
        403: {"description": "Only the recipient acknowledges"},
        409: {"description": "The geometry hash does not match, or it was already acknowledged"},
    },
)
def acknowledge(
    message_id: str,
    body: AckRequest,
    principal: Replier,
    request: Request,
    accept_language: AcceptLanguage = None,
) -> AckResult:
    service = hotline(request.app)
    ack, message = service.acknowledge(
        principal.party, message_id, body.geometry_sha256, body.signature, body.annex
    )
    language = service.language_of(principal.party, accept_language)
    return AckResult(ack=_view(service, ack, language), message=_view(service, message, language))


@router.get("/lines", summary="The caller's line with every other party")
def lines(principal: Reader, request: Request) -> LineList:
    return LineList(lines=[_line(x) for x in hotline(request.app).lines(principal.party)])


@router.post(
    "/lines/{party}/suspend",
    summary="Suspend the line with a party: only STOP messages pass until resumed",
    responses={
        404: {"description": "No such party"},
        409: {"description": "Already suspended by the caller"},
    },
)
def suspend(
    party: str, principal: Messenger, request: Request, body: SuspendRequest | None = None
) -> LineView:
    reason = body.reason if body is not None else None
    return _line(hotline(request.app).suspend(principal.party, party, reason))


@router.post(
    "/lines/{party}/resume",
    summary="Lift the caller's own suspension of the line",
    responses={404: {"description": "No such party"}, 409: {"description": "Not suspended by the caller"}},
)
def resume(party: str, principal: Messenger, request: Request) -> LineView:
    return _line(hotline(request.app).resume(principal.party, party))


# -- the deadline sweep ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def sweeping(app: FastAPI) -> AsyncIterator[None]:
    """Run the deadline sweep every ``hotline_sweep_s`` seconds while the app runs."""
    period = float(app.state.settings.extra.get("hotline_sweep_s", DEFAULT_SWEEP_S))

    async def loop() -> None:
        while True:
            await asyncio.sleep(period)
            try:
                found = await to_thread.run_sync(hotline(app).sweep)
            except Exception:  # the loop must outlive any one failed sweep (a store restart, ...)
                log.exception("hotline sweep failed; retrying at the next period")
                continue
            if found:
                from deconfliction.api.events import hub

                hub(app).poke()
                log.info("hotline escalations", extra={"count": len(found)})

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
