"""Wire models of the platform routes: pydantic here, frozen dataclasses inside.

Families follow Create / Update / Public: a request model converts to domain values
(``to_domain``), a public model is built from them (``of``). Unknown fields are errors.
Lengths carry their units (``interop.quantities``); times are RFC 3339 UTC.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from deconfliction.api.errors import ErrorBody
from deconfliction.engine.operation import MAX_VOLUMES, Operation, OperationState
from deconfliction.engine.policy import MAX_PRIVATE_BUDGET, Visibility
from deconfliction.errors import InvalidInput
from deconfliction.geo.grid import DEFAULT_GRID, DisclosureGrid
from deconfliction.geo.timewindow import format_utc
from deconfliction.geo.volume import Volume4D
from deconfliction.interop.geojson import VolumeWire, volume_from_wire, volume_to_wire
from deconfliction.interop.quantities import Length, MinimaWire, Wire
from deconfliction.service.access import MAX_PURPOSE_CHARS, Outcome, OwnOperation
from deconfliction.service.admin import PairTerms
from deconfliction.service.operations import MAX_BATCH
from deconfliction.store.auth import Credential, Desk, Scope, scopes_text
from deconfliction.store.base import Party, PartyKind

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
#: The languages with message catalogues (``store.auth.LANGUAGES``), spelled out for OpenAPI.
Language = Literal["ar", "en", "ru"]


class Public(BaseModel):
    model_config = ConfigDict(frozen=True)


# -- admin ------------------------------------------------------------------------------


class PartyCreate(Wire):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    kind: PartyKind = PartyKind.MILITARY
    #: language of the party's first duty desk, ``duty``
    language: Language = "en"


class PartyPublic(Public):
    id: str
    name: str
    kind: PartyKind

    @staticmethod
    def of(party: Party) -> PartyPublic:
        return PartyPublic(id=party.id, name=party.name, kind=party.kind)


class DeskCreate(Wire):
    id: str = Field(pattern=_ID)
    language: Language
    #: other desks of the same party a missed deadline escalates to, in order
    escalation: list[str] = Field(default_factory=list, max_length=16)


class DeskPublic(Public):
    party: str
    id: str
    language: str
    escalation: list[str]

    @staticmethod
    def of(desk: Desk) -> DeskPublic:
        return DeskPublic(
            party=desk.party, id=desk.id, language=desk.language, escalation=list(desk.escalation)
        )


class CredentialCreate(Wire):
    party: str = Field(pattern=_ID)
    scopes: list[Scope] = Field(min_length=1, max_length=4)


class CredentialPublic(Public):
    client_id: str
    party: str
    scopes: list[str]
    active: bool

    @staticmethod
    def of(credential: Credential) -> CredentialPublic:
        return CredentialPublic(
            client_id=credential.client_id,
            party=credential.party,
            scopes=scopes_text(credential.scopes).split(),
            active=credential.active,
        )


class CredentialIssued(CredentialPublic):
    """A new credential with its secret: the only response that ever carries one."""

    client_secret: str


class PolicyUpdate(Wire):
    """The parts of a pair policy to change; omitted parts stay as they are."""

    minima: MinimaWire | None = None
    min_lead_s: float | None = Field(default=None, ge=0, le=30 * 86_400, allow_inf_nan=False)
    #: what each party of the pair may see of the other's conflicting operations
    sees: dict[str, Visibility] | None = Field(default=None, max_length=2)
    #: the rule that decides the pair's conflicts and what is shown of them
    disclosure: DisclosureWire | None = None
    #: native (the service finds conflicts) or private (the parties' agents do, by PSI)
    mode: Literal["native", "private"] | None = None
    #: cells each side may submit per epoch in private mode
    private_budget: int | None = Field(default=None, ge=256, le=MAX_PRIVATE_BUDGET)


class DisclosureWire(Wire):
    """``exact``, or ``grid`` with its H3 resolution, band height and slot length
    (omitted parts take the defaults: resolution 6, 1,000 ft, 900 s)."""

    rule: Literal["grid", "exact"]
    resolution: int = DEFAULT_GRID.resolution
    band: Length = Length(value=1000, units="ft")
    slot_s: float = Field(default=DEFAULT_GRID.slot_s, allow_inf_nan=False)

    def to_domain(self) -> DisclosureGrid | None:
        if self.rule == "exact":
            return None
        return DisclosureGrid(self.resolution, self.band.metres("disclosure.band"), self.slot_s)


class DisclosurePublic(Public):
    """The rule that decided a conflict and what is shown of it: ``exact``, or ``grid``
    with the grid's H3 resolution, band height and slot length."""

    rule: Literal["grid", "exact"]
    resolution: int | None = None
    band_ft: float | None = None
    slot_s: float | None = None


class PolicyPublic(Public):
    parties: list[str]
    minima: dict[str, float]
    min_lead_s: float
    sees: dict[str, str]
    disclosure: DisclosurePublic
    mode: str
    private_budget: int

    @staticmethod
    def of(terms: PairTerms) -> PolicyPublic:
        return PolicyPublic.model_validate(terms.to_dict())


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


# -- operations -------------------------------------------------------------------------


class OperationCreate(Wire):
    """A new operation of the caller's party (version 1, proposed)."""

    id: str = Field(pattern=_ID)
    volumes: list[VolumeWire] = Field(min_length=1, max_length=MAX_VOLUMES)
    priority: int = Field(default=0, ge=0, le=100)
    affiliation: str | None = Field(default=None, max_length=200)
    #: shown to the filing party only, never to anyone it conflicts with
    purpose: str | None = Field(default=None, max_length=MAX_PURPOSE_CHARS)

    def to_domain(self, party: str) -> Operation:
        return Operation(
            party=party,
            id=self.id,
            volumes=volumes_from_wire(self.volumes),
            priority=self.priority,
            affiliation=self.affiliation,
        )


class OperationBatch(Wire):
    """New operations of the caller's party, filed together: all of them or none."""

    operations: list[OperationCreate] = Field(min_length=1, max_length=MAX_BATCH)

    def to_domain(self, party: str) -> list[tuple[Operation, str | None]]:
        out = []
        for n, item in enumerate(self.operations):
            try:
                out.append((item.to_domain(party), item.purpose))
            except InvalidInput as exc:
                raise exc.within(f"operations[{n}]") from None
        return out


class OperationUpdate(Wire):
    """A change to an operation: ``version`` must be its current version."""

    version: int = Field(ge=1)
    volumes: list[VolumeWire] | None = Field(default=None, min_length=1, max_length=MAX_VOLUMES)
    priority: int | None = Field(default=None, ge=0, le=100)
    purpose: str | None = Field(default=None, max_length=MAX_PURPOSE_CHARS)


class VersionBody(Wire):
    """A state change names the version it applies to."""

    version: int = Field(ge=1)


def volumes_from_wire(volumes: list[VolumeWire]) -> tuple[Volume4D, ...]:
    out = []
    for i, wire in enumerate(volumes):
        try:
            out.append(volume_from_wire(wire))
        except InvalidInput as exc:
            raise exc.within(f"volumes[{i}]") from None
    return tuple(out)


class Window(Public):
    start: str
    end: str


class NoticePublic(Public):
    """The notice a filed version gave: lead time before its first volume starts, and the
    parties whose agreed minimum lead time it fell short of (accepted, but flagged)."""

    filed_at: str
    lead_s: float
    late: bool
    late_for: list[str]


class OperationPublic(Public):
    party: str
    id: str
    version: int
    state: OperationState
    priority: int
    affiliation: str | None
    purpose: str | None
    volumes: list[VolumeWire]
    notice: NoticePublic | None

    @staticmethod
    def of(own: OwnOperation) -> OperationPublic:
        op, record = own.operation, own.record
        notice = None
        if record is not None:
            n = record.notice
            notice = NoticePublic(
                filed_at=format_utc(n.filed_at),
                lead_s=round(n.lead_s, 3),
                late=n.late,
                late_for=list(n.late_for),
            )
        return OperationPublic(
            party=op.party,
            id=op.id,
            version=op.version,
            state=op.state,
            priority=op.priority,
            affiliation=op.affiliation,
            purpose=record.purpose if record is not None else None,
            volumes=[volume_to_wire(v) for v in op.volumes],
            notice=notice,
        )


class AltitudePublic(Public):
    lower_m: float
    upper_m: float
    lower_ft: int
    upper_ft: int
    datum: str


class OverlapPublic(Public):
    """One overlapping pair of volumes: the caller's volume index, and where and when."""

    volume: int
    altitude: AltitudePublic
    window: Window
    #: GeoJSON geometry (lon, lat) of the overlap; only with visibility ``overlap``. On a
    #: disclosure grid, a MultiPolygon of the grid's cells (docs/disclosure.md).
    region: dict[str, Any] | None = None
    #: on a disclosure grid: the H3 cells of ``region``, as H3's hexadecimal ids
    cells: list[str] | None = None


class ConflictPublic(Public):
    """A conflict as the caller may see it: never the other operation's id, geometry or purpose."""

    reference: str
    operation_id: str
    operation_version: int
    other_party: str
    visibility: Visibility
    #: whether the caller has acknowledged the other side's current version
    acknowledged: bool
    disclosure: DisclosurePublic
    #: ``budget``: the caller's disclosure budget about the other party is spent, so the
    #: conflict is shown with its window only (docs/disclosure.md)
    withheld: Literal["budget"] | None = None
    window: Window | None = None
    overlaps: list[OverlapPublic] | None = None


class OutcomePublic(Public):
    """An operation after a change, and its conflicts as the caller may see them."""

    operation: OperationPublic
    conflicts: list[ConflictPublic]

    @staticmethod
    def of(outcome: Outcome) -> OutcomePublic:
        return OutcomePublic(
            operation=OperationPublic.of(outcome.own),
            conflicts=[ConflictPublic.model_validate(c) for c in outcome.conflicts],
        )


class AcknowledgeRequest(Wire):
    """Optional body of an acknowledgement: the party's signature (docs/audit.md), required
    once the party has a registered key."""

    signature: str | None = Field(
        default=None,
        max_length=4096,
        description="base64url Ed25519 signature over the canonical JSON of the awareness payload",
    )


class AcknowledgementPublic(Public):
    reference: str
    other_party: str
    operation_id: str
    acknowledged_at: str
    #: false when that version had already been acknowledged
    new: bool


#: Error responses every authenticated route may give, for the OpenAPI document.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing, expired, forged or revoked token"},
    403: {"model": ErrorBody, "description": "The token lacks the scope"},
    404: {"model": ErrorBody, "description": "No such object, or not the caller's"},
    409: {"model": ErrorBody, "description": "Stale version, transition not allowed, or awareness required"},
    413: {"model": ErrorBody, "description": "Body too large"},
    422: {"model": ErrorBody, "description": "Invalid request; error.field names the field"},
    429: {"model": ErrorBody, "description": "Over the party's rate; see Retry-After"},
}
