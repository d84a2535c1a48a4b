"""Audit routes: the server's public keys, a party's export, parties' signing keys.

The export is the caller's own chain only (any other party's chain is not its business);
``deconfliction audit verify`` checks it offline. Registering or revoking a party's
acknowledgement key is an admin act: a party's own token could otherwise replace the key
its acknowledgements are judged by.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from deconfliction.api.auth import Admin, Reader
from deconfliction.geo.timewindow import format_utc
from deconfliction.service.audit import AuditService
from deconfliction.service.signing import load_server_key
from deconfliction.store.signing import PartyKey

_lock = threading.Lock()


def audit_service(app: FastAPI) -> AuditService:
    """The app's audit service, its key loaded (or created) on first use.

    The key file is ``settings.extra["audit_key_file"]``, else ``$DECONFLICTION_AUDIT_KEY``,
    else ``<db>.audit-key`` beside a SQLite store (``deconfliction-audit.key`` for PostgreSQL)."""
    found: AuditService | None = getattr(app.state, "audit", None)
    if found is not None:
        return found
    with _lock:
        found = getattr(app.state, "audit", None)
        if found is None:
            extra = app.state.settings.extra
            explicit = extra.get("audit_key_file")
            key = load_server_key(str(explicit) if explicit else None, db=app.state.store.url)
            every = int(extra.get("audit_checkpoint_every", 100))
            found = app.state.audit = AuditService(app.state.store, key, app.state.clock, every)
    return found


class ServerKeyOut(BaseModel):
    key_id: str
    public_key: str = Field(description="Raw Ed25519 public key, base64url without padding")
    algorithm: str


class ServerKeys(BaseModel):
    """The keys that sign audit checkpoints; pin one for ``deconfliction audit verify --server-key``."""

    keys: list[ServerKeyOut]


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    kind: str
    actor: str
    body: dict[str, Any]
    body_hash: str = Field(description="SHA-256 hex of the canonical JSON of body")
    prev: str = Field(description="hash of entry seq - 1 (64 zeros for seq 1)")
    hash: str = Field(
        description="SHA-256 of the canonical JSON of {seq, prev, at, kind, actor, body: body_hash}"
    )


class CheckpointOut(BaseModel):
    party: str
    seq: int
    hash: str
    at: str
    key_id: str
    public_key: str
    signature: str = Field(
        description="server's Ed25519 signature over the checkpoint message (docs/audit.md)"
    )


class PartyKeyExport(BaseModel):
    key_id: str
    public_key: str
    registered_at: str
    revoked_at: str | None


class AuditExport(BaseModel):
    """One party's chain with its checkpoints and keys: ``deconfliction audit verify`` reads it."""

    format: str
    party: str
    exported_at: str
    server_key: ServerKeyOut
    server_keys: list[ServerKeyOut]
    party_keys: list[PartyKeyExport]
    entries: list[AuditEntryOut]
    checkpoints: list[CheckpointOut]


class PartyKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key: str = Field(
        min_length=1, max_length=1000, description="Raw Ed25519 public key in base64url, or a PEM block"
    )


class PartyKeyOut(BaseModel):
    party: str
    key_id: str
    public_key: str
    registered_at: str
    revoked_at: str | None = None


def _key_out(k: PartyKey) -> PartyKeyOut:
    return PartyKeyOut(
        party=k.party,
        key_id=k.key_id,
        public_key=k.public_key,
        registered_at=format_utc(k.registered_at),
        revoked_at=format_utc(k.revoked_at) if k.revoked_at else None,
    )


router = APIRouter(prefix="/v1/audit", tags=["audit"])

PartyId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
KeyId = Annotated[str, Path(min_length=16, max_length=16, pattern=r"^[0-9a-f]{16}$")]


@router.get("/keys", summary="The server's audit signing public keys (no token needed)")
def server_keys(request: Request) -> ServerKeys:
    key = audit_service(request.app).server_key
    return ServerKeys(keys=[ServerKeyOut(**key.public_dict())])


@router.get("/export", summary="The caller's audit chain, checkpoints and keys, for offline verification")
async def export(request: Request, principal: Reader) -> AuditExport:
    service = audit_service(request.app)
    doc: dict[str, Any] = await to_thread.run_sync(service.export, principal.party)
    return AuditExport.model_validate(doc)


@router.get("/party-keys", summary="The caller's registered acknowledgement keys")
def own_keys(request: Request, principal: Reader) -> list[PartyKeyOut]:
    return [_key_out(k) for k in audit_service(request.app).keys(principal.party)]


@router.post(
    "/parties/{party}/keys",
    status_code=201,
    summary="Register a party's acknowledgement signing key (admin)",
    responses={404: {"description": "No such party"}, 409: {"description": "Key already registered"}},
)
def register_key(request: Request, body: PartyKeyIn, party: PartyId, principal: Admin) -> PartyKeyOut:
    return _key_out(audit_service(request.app).register_key(party, body.public_key))


@router.delete(
    "/parties/{party}/keys/{key_id}",
    status_code=204,
    summary="Revoke a party's acknowledgement key (admin)",
    responses={404: {"description": "No such party or active key"}},
)
def revoke_key(
    request: Request,
    party: PartyId,
    key_id: KeyId,
    principal: Admin,
) -> None:
    audit_service(request.app).revoke_key(party, key_id)
