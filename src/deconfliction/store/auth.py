"""Credentials and duty desks, in repositories on the caller's transaction.

A credential row holds the client id, its party, its scopes and an scrypt hash of the
secret (``service.credentials`` makes and checks the hashes); the secret itself is
never stored. A desk is where a party's messages go: never a named person.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from deconfliction.engine.operation import check_identifier
from deconfliction.errors import AlreadyExists, InvalidInput, NotFound
from deconfliction.geo.timewindow import format_utc, parse_utc
from deconfliction.store.sql import SqlRepo


class Scope(StrEnum):
    """What a token lets its bearer do."""

    READ = "read"  #: see the party's own operations, conflicts, events
    FILE = "file"  #: file, change and acknowledge operations and conflicts
    MESSAGE = "message"  #: use the hotline
    ADMIN = "admin"  #: manage parties, desks, credentials and pair policies


def parse_scopes(text: str | list[str] | tuple[str, ...], field: str = "scopes") -> frozenset[Scope]:
    """Scopes from ``"read,file"`` (or a list); InvalidInput names an unknown one."""
    parts = text.replace(" ", ",").split(",") if isinstance(text, str) else list(text)
    found = set()
    for part in (p.strip() for p in parts):
        if not part:
            continue
        try:
            found.add(Scope(part))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise InvalidInput(field, f"unknown scope {part!r}; one of {known}") from None
    if not found:
        raise InvalidInput(field, "at least one scope is needed")
    return frozenset(found)


def scopes_text(scopes: frozenset[Scope]) -> str:
    """Scopes in the one canonical order (as in :class:`Scope`), space-separated."""
    return " ".join(s.value for s in Scope if s in scopes)


@dataclass(frozen=True, slots=True)
class Credential:
    """A client's credential: who it acts for and what it may do; no secret."""

    client_id: str
    party: str
    scopes: frozenset[Scope]
    secret_hash: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


#: ISO 639-1 codes with message catalogues.
LANGUAGES: Final = ("ar", "en", "ru")
_LANG = re.compile(r"[a-z]{2}")


@dataclass(frozen=True, slots=True)
class Desk:
    """A party's duty desk: messages go here, in ``language``; missed deadlines go on
    along ``escalation`` (other desks of the same party, in order)."""

    party: str
    id: str
    language: str = "en"
    escalation: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_identifier(self.party, "party")
        check_identifier(self.id, "desk")
        if not isinstance(self.language, str) or self.language not in LANGUAGES:
            raise InvalidInput("language", f"{self.language!r} is not one of {', '.join(LANGUAGES)}")
        chain = tuple(self.escalation)
        for i, desk in enumerate(chain):
            check_identifier(desk, f"escalation[{i}]")
        if self.id in chain or len(set(chain)) != len(chain):
            raise InvalidInput("escalation", "an escalation chain names each desk once, never itself")
        object.__setattr__(self, "escalation", chain)


#: The party of an operator's credential: none (no party id can be empty).
OPERATOR: Final = ""


class CredentialsRepo(SqlRepo):
    """Store, find and revoke credentials: parties' and operators' (whose ``party`` is
    :data:`OPERATOR` and whose only scope is ``admin``)."""

    def add(self, credential: Credential) -> None:
        c = credential
        if c.party == OPERATOR:
            if c.scopes != frozenset({Scope.ADMIN}):
                raise InvalidInput("scopes", "an operator's credential has the admin scope only")
            row = self._x(
                "INSERT INTO operator_credentials (client_id, secret_hash, created_at)"
                " VALUES (?, ?, ?) ON CONFLICT (client_id) DO NOTHING RETURNING client_id",
                (c.client_id, c.secret_hash, format_utc(c.created_at)),
            ).fetchone()
            if row is None:
                raise AlreadyExists(f"client id {c.client_id!r} is taken")
            return
        try:
            row = self._x(
                "INSERT INTO credentials (client_id, party, secret_hash, scopes, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (client_id) DO NOTHING RETURNING client_id",
                (c.client_id, c.party, c.secret_hash, scopes_text(c.scopes), format_utc(c.created_at)),
            ).fetchone()
        except self.tx.dialect.integrity_error as exc:
            raise NotFound(f"no party {c.party!r}") from exc
        if row is None:
            raise AlreadyExists(f"client id {c.client_id!r} is taken")

    def get(self, client_id: str) -> Credential:
        row = self._x(
            "SELECT client_id, party, scopes, secret_hash, created_at, revoked_at FROM credentials"
            " WHERE client_id = ?",
            (client_id,),
        ).fetchone()
        if row is None:
            row = self._x(
                f"SELECT client_id, '{OPERATOR}', 'admin', secret_hash, created_at, revoked_at"
                " FROM operator_credentials WHERE client_id = ?",
                (client_id,),
            ).fetchone()
        if row is None:
            raise NotFound(f"no credential {client_id!r}")
        return _credential(row)

    def list(self, party: str | None = None) -> list[Credential]:
        sql = "SELECT client_id, party, scopes, secret_hash, created_at, revoked_at FROM credentials"
        params: tuple[str, ...] = ()
        if party is not None:
            sql += " WHERE party = ?"
            params = (party,)
        return [_credential(r) for r in self._x(sql + " ORDER BY client_id", params).fetchall()]

    def revoke(self, client_id: str, at: datetime) -> Credential:
        """Revoke (idempotent: a second revoke keeps the first time)."""
        for table in ("credentials", "operator_credentials"):
            self._x(
                f"UPDATE {table} SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL",
                (format_utc(at), client_id),
            )
        return self.get(client_id)


def _credential(row: tuple[str, str, str, str, str, str | None]) -> Credential:
    client_id, party, scopes, secret_hash, created, revoked = row
    return Credential(
        client_id,
        party,
        parse_scopes(scopes),
        secret_hash,
        parse_utc(created, "created_at"),
        parse_utc(revoked, "revoked_at") if revoked else None,
    )


class DesksRepo(SqlRepo):
    """Duty desks: add, get, list."""

    def add(self, desk: Desk) -> None:
        for i, other in enumerate(desk.escalation):
            if other != desk.id and self._find(desk.party, other) is None:
                raise InvalidInput(f"escalation[{i}]", f"party {desk.party!r} has no desk {other!r}")
        try:
            row = self._x(
                "INSERT INTO desks (party, desk, language, escalation) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (party, desk) DO NOTHING RETURNING desk",
                (desk.party, desk.id, desk.language, json.dumps(list(desk.escalation))),
            ).fetchone()
        except self.tx.dialect.integrity_error as exc:
            raise NotFound(f"no party {desk.party!r}") from exc
        if row is None:
            raise AlreadyExists(f"party {desk.party!r} already has a desk {desk.id!r}")

    def get(self, party: str, desk: str) -> Desk:
        found = self._find(party, desk)
        if found is None:
            raise NotFound(f"party {party!r} has no desk {desk!r}")
        return found

    def list(self, party: str) -> list[Desk]:
        rows = self._x(
            "SELECT party, desk, language, escalation FROM desks WHERE party = ? ORDER BY desk", (party,)
        ).fetchall()
        return [Desk(r[0], r[1], r[2], tuple(json.loads(r[3]))) for r in rows]

    def _find(self, party: str, desk: str) -> Desk | None:
        row = self._x(
            "SELECT party, desk, language, escalation FROM desks WHERE party = ? AND desk = ?",
            (party, desk),
        ).fetchone()
        return None if row is None else Desk(row[0], row[1], row[2], tuple(json.loads(row[3])))
