"""Admin routes (``admin`` scope): parties, desks, credentials, pair policies.

The same use-cases as ``deconfliction admin``; the audit log names the admin's client id.
A party may read its own pair policies with ``read`` at ``GET /v1/policies``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

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
