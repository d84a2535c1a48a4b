"""Plausibility limits over HTTP: a party reads its own at ``GET /v1/limits``; an admin
reads and sets any party's at ``/v1/admin/parties/{party}/limits``.

Values carry their units in their names (km², ft, h, km²·h), as ``deconfliction admin
party limits`` prints them; inside they are SI (:mod:`deconfliction.engine.limits`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import Field

from deconfliction.api.auth import Admin, Reader
from deconfliction.api.models import ERRORS, Public
from deconfliction.engine.operation import MAX_VOLUMES
from deconfliction.interop.quantities import Wire
from deconfliction.service.admin import AdminService
from deconfliction.service.limits import EDGE_UNITS, standing_to_edge
from deconfliction.store.limits import Standing

router = APIRouter(prefix="/v1", tags=["limits"], responses=ERRORS)

#: A positive finite amount (the largest any limit could sensibly be is far below 1e15).
Amount = Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)]


class LimitsUpdate(Wire):
    """The limits to change; omitted ones stay as they are, ``null`` puts one back to
    the default."""

    max_volume_area_km2: Amount | None = None
    max_altitude_span_ft: Amount | None = None
    max_duration_h: Amount | None = None
    max_volumes: int | None = Field(default=None, ge=1, le=MAX_VOLUMES, strict=True)
    max_claim_km2h: Amount | None = None

    def to_si(self) -> dict[str, float | int | None]:
        """The limits given, by their SI names, in SI units."""
        by_edge = {edge: (name, scale) for name, (edge, scale) in EDGE_UNITS.items()}
        out: dict[str, float | int | None] = {}
        for edge in sorted(self.model_fields_set):
            name, scale = by_edge[edge]
            value = getattr(self, edge)
            out[name] = value if value is None or name == "max_volumes" else float(value) * scale
        return out


class LimitsPublic(Public):
    """A party's limits, which of them the operator set, and the space-time its live
    operations hold and have left."""

    party: str
    limits: dict[str, float]
    set_by_operator: list[str]
    held_km2h: float
    left_km2h: float

    @staticmethod
    def of(standing: Standing) -> LimitsPublic:
        return LimitsPublic.model_validate(standing_to_edge(standing))


def _service(request: Request) -> AdminService:
    return AdminService(request.app.state.store, request.app.state.clock)


@router.get("/limits", tags=["operations"], summary="The caller's plausibility limits and space-time held")
def my_limits(principal: Reader, request: Request) -> LimitsPublic:
    return LimitsPublic.of(_service(request).limits(principal.party))


@router.get("/admin/parties/{party}/limits", tags=["admin"], summary="A party's plausibility limits")
def get_limits(party: str, principal: Admin, request: Request) -> LimitsPublic:
    return LimitsPublic.of(_service(request).limits(party))


@router.put("/admin/parties/{party}/limits", tags=["admin"], summary="Set a party's plausibility limits")
def set_limits(party: str, body: LimitsUpdate, principal: Admin, request: Request) -> LimitsPublic:
    return LimitsPublic.of(_service(request).set_limits(party, body.to_si(), actor=principal.client_id))
