"""The private-mode relay over HTTP (docs/private-mode.md): agents post sealed messages to
their peer and fetch the peer's; the relay never sees a cell or a plan."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field

from deconfliction.api.auth import Filer, Reader
from deconfliction.api.models import ERRORS
from deconfliction.interop.quantities import Wire
from deconfliction.private.channel import Header
from deconfliction.private.protocol import PART
from deconfliction.service.relay import RelayService

router = APIRouter(prefix="/v1/private", tags=["private mode"], responses=ERRORS)

_EPOCH = Field(ge=0, le=10**7)
_ROUND = Field(ge=1, le=10**6)
#: base64 of the largest sealed message: a part of PART points and the 16-byte tag
_BOX_CHARS = 4 * -(-(PART * 32 + 16) // 3)


class MessageWire(Wire):
    """One sealed message: the clear header the relay checks, and the box it cannot open."""

    epoch: int = _EPOCH
    round: int = _ROUND
    seq: int = Field(ge=0, le=10**9)
    kind: Literal["commit", "blinded", "tags"]
    bucket: int = Field(ge=1, le=1 << 22)
    commitment: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    box: str = Field(max_length=_BOX_CHARS)


class RefusalWire(Wire):
    """A message of the peer that the caller's agent refused, and the rule it broke."""

    epoch: int = _EPOCH
    round: int = _ROUND
    code: Literal[
        "tampered",
        "replayed",
        "reordered",
        "truncated",
        "non_canonical",
        "identity",
        "over_budget",
        "oversize",
        "commitment_mismatch",
        "out_of_turn",
    ]
    field: str = Field(max_length=100, pattern=r"^[A-Za-z0-9_.\[\]]+$")


def _service(request: Request) -> RelayService:
    return RelayService(request.app.state.store, request.app.state.clock)


def _message(m: Any) -> dict[str, Any]:
    return {
        "sender": m.sender,
        "epoch": m.epoch,
        "round": m.round,
        "seq": m.seq,
        "kind": m.kind,
        "bucket": m.bucket,
        "commitment": m.commitment,
        "box": m.box,
    }


@router.get("/pairs/{peer}", summary="The private pair's terms and the current epoch")
def pair(peer: str, principal: Reader, request: Request) -> dict[str, Any]:
    """Minima, disclosure grid, budget per epoch and what the caller has used of it: what
    both agents must agree on. 409 when the pair is not in private mode."""
    return _service(request).pair(principal.party, peer)


@router.post("/pairs/{peer}/messages", status_code=201, summary="Post a sealed message to the peer")
def post_message(peer: str, body: MessageWire, principal: Filer, request: Request) -> dict[str, Any]:
    """Stored for the peer once its header passes the relay's checks (sequence, step,
    sizes, budget); a refusal names the rule (``code``) and is recorded."""
    header = Header(
        principal.party, peer, body.epoch, body.round, body.seq, body.kind, body.bucket, body.commitment
    )
    return _service(request).post(header, body.box)


@router.get("/pairs/{peer}/messages", summary="The peer's messages to the caller")
def messages(
    peer: str,
    principal: Reader,
    request: Request,
    epoch: int = Query(ge=0, le=10**7),
    after: int = Query(default=-1, ge=-1),
) -> list[dict[str, Any]]:
    """In sequence after ``after``; a blinded set only once the caller has committed to its
    own for that round."""
    return [_message(m) for m in _service(request).fetch(principal.party, peer, epoch, after)]


@router.post("/pairs/{peer}/refusals", status_code=201, summary="Record a refused message of the peer")
def refusal(peer: str, body: RefusalWire, principal: Filer, request: Request) -> dict[str, str]:
    _service(request).report_refusal(principal.party, peer, body.epoch, body.round, body.code, body.field)
    return {"recorded": body.code}


@router.get("/pairs/{peer}/report", summary="What the relay holds of the pair, round by round")
def report(
    peer: str, principal: Reader, request: Request, since_epoch: int = Query(default=0, ge=0)
) -> dict[str, Any]:
    return _service(request).report(principal.party, peer, since_epoch)
