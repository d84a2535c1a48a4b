"""The disclosure ledger over HTTP: what other parties have learned of the caller's plans,
and the budgets the caller allows them (docs/disclosure.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from deconfliction.api.auth import Filer, Reader
from deconfliction.api.models import ERRORS
from deconfliction.interop.quantities import Wire
from deconfliction.service.disclosure import MAX_BUDGET, DisclosureService

router = APIRouter(prefix="/v1", tags=["disclosures"], responses=ERRORS)


class BudgetUpdate(Wire):
    """The units (cell × band × slot) the caller allows the viewer to learn of its plans
    in any rolling 24 hours."""

    units: int = Field(ge=0, le=MAX_BUDGET)


def _service(request: Request) -> DisclosureService:
    return DisclosureService(request.app.state.store, request.app.state.clock)


@router.get("/disclosures", summary="What each other party has learned of the caller's plans")
def disclosures(principal: Reader, request: Request) -> dict[str, Any]:
    """Per other party, over the rolling 24 hours: the cells it was told of the caller's
    plans and their area, band-hours, units, units charged to its budget, the budget and
    what is left of it, and the probing alarms raised against it."""
    return _service(request).ledger(principal.party)


@router.put("/disclosures/budgets/{viewer}", summary="Set the budget the caller allows a viewer")
def set_budget(viewer: str, body: BudgetUpdate, principal: Filer, request: Request) -> dict[str, Any]:
    """Only the owner of the plans sets what another party may learn of them."""
    return _service(request).set_budget(principal.party, viewer, body.units)
