"""Operations and conflicts over HTTP: the caller's own operations only.

Every route acts for the token's party; another party's operation id answers 404, as a
missing one does, so its existence does not leak. Changes name the version they apply
to (409 when stale). Filing returns the lead time given and the conflicts as the caller
may see them; both sides of each conflict also get a notice on their event streams.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from deconfliction.api.auth import Filer, Reader, auth_state
from deconfliction.api.models import (
    ERRORS,
    AcknowledgementPublic,
    AcknowledgeRequest,
    ConflictPublic,
    OperationBatch,
    OperationCreate,
    OperationPublic,
    OperationUpdate,
    OutcomePublic,
    VersionBody,
    volumes_from_wire,
)
from deconfliction.engine.operation import OperationState
from deconfliction.service.access import AccessService

router = APIRouter(prefix="/v1", tags=["operations"], responses=ERRORS)


def _service(request: Request) -> AccessService:
    return AccessService(request.app.state.store, request.app.state.clock)


@router.post("/operations", status_code=201, summary="File an operation")
def file_operation(body: OperationCreate, principal: Filer, request: Request) -> OutcomePublic:
    operation = body.to_domain(principal.party)
    return OutcomePublic.of(_service(request).file(operation, body.purpose))


@router.post("/operations/batch", status_code=201, summary="File a batch of operations: all or none")
def file_operations(body: OperationBatch, principal: Filer, request: Request) -> list[OutcomePublic]:
    """Up to 1,000 new operations in one transaction (a day's plan, say): each outcome as
    ``POST /v1/operations`` gives it, in the order sent; on any error nothing is filed and
    the error names the operation (``operations[3].volumes[0]...``). Each operation
    counts as one request against the party's rate limit."""
    auth_state(request.app).limiter.charge(principal.party, len(body.operations) - 1)
    filings = body.to_domain(principal.party)
    return [OutcomePublic.of(o) for o in _service(request).file_many(filings)]


@router.get("/operations", summary="The caller's operations")
def list_operations(
    principal: Reader, request: Request, state: Annotated[list[OperationState] | None, Query()] = None
) -> list[OperationPublic]:
    states = frozenset(state) if state else None
    return [OperationPublic.of(o) for o in _service(request).list_own(principal.party, states)]


@router.get("/operations/{operation_id}", summary="One of the caller's operations")
def get_operation(operation_id: str, principal: Reader, request: Request) -> OperationPublic:
    return OperationPublic.of(_service(request).get(principal.party, operation_id))


@router.put("/operations/{operation_id}", summary="Change an operation (current version required)")
def update_operation(
    operation_id: str, body: OperationUpdate, principal: Filer, request: Request
) -> OutcomePublic:
    volumes = volumes_from_wire(body.volumes) if body.volumes is not None else None
    outcome = _service(request).update(
        principal.party, operation_id, body.version, volumes, body.priority, body.purpose
    )
    return OutcomePublic.of(outcome)


def _transition(
    request: Request, party: str, operation_id: str, target: OperationState, version: int
) -> OutcomePublic:
    return OutcomePublic.of(_service(request).transition(party, operation_id, target, version))


@router.post("/operations/{operation_id}/accept", summary="proposed -> accepted")
def accept(operation_id: str, body: VersionBody, principal: Filer, request: Request) -> OutcomePublic:
    return _transition(request, principal.party, operation_id, OperationState.ACCEPTED, body.version)


@router.post(
    "/operations/{operation_id}/activate",
    summary="accepted -> activated (needs acknowledged conflicts)",
    description="Refused with 409 AwarenessRequired, listing the conflicts in error.details, "
    "while any conflicting operation's current version is unacknowledged.",
)
def activate(operation_id: str, body: VersionBody, principal: Filer, request: Request) -> OutcomePublic:
    return _transition(request, principal.party, operation_id, OperationState.ACTIVATED, body.version)


@router.post("/operations/{operation_id}/end", summary="activated -> ended")
def end(operation_id: str, body: VersionBody, principal: Filer, request: Request) -> OutcomePublic:
    return _transition(request, principal.party, operation_id, OperationState.ENDED, body.version)


@router.post("/operations/{operation_id}/cancel", summary="Cancel before it ends")
def cancel(operation_id: str, body: VersionBody, principal: Filer, request: Request) -> OutcomePublic:
    return _transition(request, principal.party, operation_id, OperationState.CANCELLED, body.version)


@router.get(
    "/operations/{operation_id}/conflicts", summary="One operation's conflicts, as the caller may see them"
)
def operation_conflicts(operation_id: str, principal: Reader, request: Request) -> list[ConflictPublic]:
    views = _service(request).conflicts(principal.party, operation_id)
    return [ConflictPublic.model_validate(v) for v in views]


@router.get("/conflicts", summary="The caller's conflicts, as it may see them")
def conflicts(principal: Reader, request: Request) -> list[ConflictPublic]:
    return [ConflictPublic.model_validate(v) for v in _service(request).conflicts(principal.party)]


@router.post(
    "/conflicts/{reference}/acknowledge",
    summary="Acknowledge the other side's current version (proof of awareness)",
)
def acknowledge(
    reference: str, principal: Filer, request: Request, body: AcknowledgeRequest | None = None
) -> AcknowledgementPublic:
    signature = body.signature if body is not None else None
    result = _service(request).acknowledge(principal.party, reference, signature)
    return AcknowledgementPublic.model_validate(result.to_dict())
