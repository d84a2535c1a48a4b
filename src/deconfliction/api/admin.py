"""Admin routes (``admin`` scope): parties, desks, credentials, pair policies, probe alarms.

The same use-cases as ``deconfliction admin``; the audit log names the admin's client id.
A party may read its own pair policies with ``read`` at ``GET /v1/policies``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from deconfliction.api.auth import Admin, Reader
from deconfliction.api.models import (
    ERRORS,
    CredentialCreate,
    CredentialIssued,
    CredentialPublic,
    DeskCreate,
    DeskPublic,
    PartyCreate,
    PartyPublic,
    PolicyPublic,
    PolicyUpdate,
)
from deconfliction.errors import InvalidInput
from deconfliction.service.admin import AdminService
from deconfliction.service.f3548.bridge import Bridge
from deconfliction.service.probing import MAX_LOOKBACK_H, ProbeAlarms

router = APIRouter(prefix="/v1", tags=["admin"], responses=ERRORS)


def _service(request: Request) -> AdminService:
    return AdminService(request.app.state.store, request.app.state.clock)


@router.post("/admin/parties", status_code=201, summary="Add a party (with its duty desk)")
def add_party(body: PartyCreate, principal: Admin, request: Request) -> PartyPublic:
    party, _ = _service(request).add_party(
        body.id, body.name, body.kind.value, body.language, actor=principal.client_id
    )
    return PartyPublic.of(party)


@router.get("/admin/parties", summary="List parties")
def list_parties(principal: Admin, request: Request) -> list[PartyPublic]:
    return [PartyPublic.of(p) for p in _service(request).parties()]


@router.post("/admin/parties/{party}/desks", status_code=201, summary="Add a duty desk")
def add_desk(party: str, body: DeskCreate, principal: Admin, request: Request) -> DeskPublic:
    desk = _service(request).add_desk(
        party, body.id, body.language, tuple(body.escalation), actor=principal.client_id
    )
    return DeskPublic.of(desk)


@router.get("/admin/parties/{party}/desks", summary="List a party's desks")
def list_desks(party: str, principal: Admin, request: Request) -> list[DeskPublic]:
    return [DeskPublic.of(d) for d in _service(request).desks(party)]


@router.post("/admin/credentials", status_code=201, summary="Create a credential (secret shown once)")
def create_credential(body: CredentialCreate, principal: Admin, request: Request) -> CredentialIssued:
    issued = _service(request).create_credential(
        body.party, frozenset(body.scopes), actor=principal.client_id
    )
    public = CredentialPublic.of(issued.credential)
    return CredentialIssued(**public.model_dump(), client_secret=issued.secret)


@router.get("/admin/credentials", summary="List credentials (never secrets)")
def list_credentials(principal: Admin, request: Request, party: str | None = None) -> list[CredentialPublic]:
    return [CredentialPublic.of(c) for c in _service(request).credentials(party)]


@router.post("/admin/credentials/{client_id}/revoke", summary="Revoke a credential at once")
def revoke_credential(client_id: str, principal: Admin, request: Request) -> CredentialPublic:
    return CredentialPublic.of(_service(request).revoke_credential(client_id, actor=principal.client_id))


@router.put("/admin/policies/{party_a}/{party_b}", summary="Set a pair policy")
def set_policy(
    party_a: str, party_b: str, body: PolicyUpdate, principal: Admin, request: Request
) -> PolicyPublic:
    sees = dict(body.sees or {})
    unknown = set(sees) - {party_a, party_b}
    if unknown:
        raise InvalidInput("sees", f"names parties outside the pair: {', '.join(sorted(unknown))}")
    try:
        minima = body.minima.to_domain() if body.minima is not None else None
    except InvalidInput as exc:
        # The domain names its SI fields; the caller wrote the wire names.
        wire = {"horizontal_m": "horizontal", "vertical_m": "vertical"}.get(exc.field, exc.field)
        raise type(exc)(f"minima.{wire}", exc.rule) from None
    terms = _service(request).set_policy(
        party_a,
        party_b,
        minima,
        body.min_lead_s,
        sees.get(party_a),
        sees.get(party_b),
        actor=principal.client_id,
        grid="keep" if body.disclosure is None else body.disclosure.to_domain(),
        mode=body.mode,
        private_budget=body.private_budget,
    )
    return PolicyPublic.of(terms)


@router.get("/admin/policies/{party_a}/{party_b}", summary="Show a pair policy")
def get_policy(party_a: str, party_b: str, principal: Admin, request: Request) -> PolicyPublic:
    return PolicyPublic.of(_service(request).terms(party_a, party_b))


@router.get("/policies", tags=["operations"], summary="The caller's pair policies with every other party")
def my_policies(principal: Reader, request: Request) -> list[PolicyPublic]:
    return [PolicyPublic.of(t) for t in _service(request).terms_of(principal.party)]


@router.get("/admin/alarms", summary="Probe alarms raised, every owner's")
def alarms(
    principal: Admin, request: Request, hours: float = Query(24.0, gt=0, le=MAX_LOOKBACK_H)
) -> list[dict[str, Any]]:
    """Alarms of the last ``hours``: detector, suspect, owner, colluding parties, the
    suspects' operations, count and threshold (docs/disclosure.md, "Probe alarms")."""
    return ProbeAlarms(request.app.state.store, request.app.state.clock).recent(hours)


class UssLink(BaseModel):
    """The party a USS (the ``sub`` of its F3548 tokens) acts as."""

    model_config = ConfigDict(extra="forbid")
    party: str = Field(min_length=1, max_length=64)


class UssLinkPublic(UssLink):
    client_id: str


def _bridge(request: Request) -> Bridge:
    return Bridge(request.app.state.store, request.app.state.clock)


@router.put("/admin/uss/{client_id}", summary="Link a USS (F3548 client id) to a party")
def link_uss(client_id: str, body: UssLink, principal: Admin, request: Request) -> UssLinkPublic:
    _bridge(request).link(client_id, body.party, actor=principal.client_id)
    return UssLinkPublic(client_id=client_id, party=body.party)


@router.delete("/admin/uss/{client_id}", status_code=204, summary="Unlink a USS from its party")
def unlink_uss(client_id: str, principal: Admin, request: Request) -> None:
    _bridge(request).unlink(client_id, actor=principal.client_id)


@router.get("/admin/uss", summary="List USS links")
def list_uss(principal: Admin, request: Request) -> list[UssLinkPublic]:
    return [UssLinkPublic(client_id=c, party=p) for c, p in _bridge(request).links()]
