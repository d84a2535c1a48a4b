"""Wire models of the platform routes: pydantic here, frozen dataclasses inside.

Families follow Create / Update / Public: a request model converts to domain values
(``to_domain``), a public model is built from them (``of``). Unknown fields are errors.
Lengths carry their units (``interop.quantities``); times are RFC 3339 UTC.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from deconfliction.engine.policy import Visibility
from deconfliction.interop.quantities import MinimaWire, Wire
from deconfliction.service.admin import PairTerms
from deconfliction.store.auth import LANGUAGES, Credential, Desk, Scope, scopes_text
from deconfliction.store.base import Party, PartyKind

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
Language = Literal["en", "ru", "ar"]
assert set(LANGUAGES) == {"en", "ru", "ar"}


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


class PolicyPublic(Public):
    parties: list[str]
    minima: dict[str, float]
    min_lead_s: float
    sees: dict[str, str]

    @staticmethod
    def of(terms: PairTerms) -> PolicyPublic:
        return PolicyPublic.model_validate(terms.to_dict())


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
