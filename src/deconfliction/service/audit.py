"""Signed checkpoints of the audit chains, exports, and parties' key registry.

A checkpoint is the server's Ed25519 signature over a chain head ``(party, seq, hash,
at)``. One is signed at every export (over the head exported) and by :meth:`AuditService.
checkpoint_due` whenever a chain has grown by ``every`` entries since its last one. The
export is one JSON document (format :data:`EXPORT_FORMAT`) that
:mod:`deconfliction.service.audit_verify` checks with no server and no database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from deconfliction.errors import StoreError
from deconfliction.geo.timewindow import format_utc
from deconfliction.service.clock import Clock, SystemClock
from deconfliction.service.signing import ServerKey, register_party_key
from deconfliction.store.base import Store, Transaction
from deconfliction.store.events import AuditRepo
from deconfliction.store.heads import HeadsRepo
from deconfliction.store.signing import Checkpoint, CheckpointsRepo, PartyKey, PartyKeysRepo

EXPORT_FORMAT: Final = "deconfliction.audit-export/1"
CHECKPOINT_TYPE: Final = "deconfliction.audit.checkpoint/1"
#: Default: a checkpoint after this many new entries in a chain.
DEFAULT_EVERY: Final = 100


def checkpoint_message(party: str, seq: int, head_hash: str, at: str) -> dict[str, Any]:
    """What the server signs for a checkpoint (``type`` keeps it from meaning anything else)."""
    return {"type": CHECKPOINT_TYPE, "party": party, "seq": seq, "hash": head_hash, "at": at}


def sign_checkpoint(key: ServerKey, party: str, seq: int, head_hash: str, at: datetime) -> Checkpoint:
    at_text = format_utc(at)
    signature = key.sign(checkpoint_message(party, seq, head_hash, at_text))
    return Checkpoint(party, seq, head_hash, at, key.key_id, key.public_key, signature)


def _key_dict(k: PartyKey) -> dict[str, Any]:
    return {
        "key_id": k.key_id,
        "public_key": k.public_key,
        "registered_at": format_utc(k.registered_at),
        "revoked_at": format_utc(k.revoked_at) if k.revoked_at else None,
    }


class AuditService:
    """Checkpoints, exports and key registration over one store and one server key."""

    def __init__(
        self,
        store: Store,
        key: ServerKey | None = None,
        clock: Clock | None = None,
        every: int = DEFAULT_EVERY,
    ) -> None:
        self.store = store
        self.key = key
        self.clock = clock or SystemClock()
        self.every = every

    @property
    def server_key(self) -> ServerKey:
        if self.key is None:
            raise StoreError("no audit signing key is configured for this service")
        return self.key

    def _checkpoint(self, tx: Transaction, party: str) -> Checkpoint | None:
        seq, head = tx.repo(AuditRepo).head(party)
        if seq == 0:
            return None
        cp = sign_checkpoint(self.server_key, party, seq, head, self.clock.now())
        return tx.repo(CheckpointsRepo).add(cp)

    def checkpoint(self, party: str) -> Checkpoint | None:
        """Sign ``party``'s chain head now (None for an empty chain)."""
        with self.store.transaction() as tx:
            tx.get_party(party)
            return self._checkpoint(tx, party)

    def checkpoint_due(self) -> list[Checkpoint]:
        """Sign the head of every chain that grew by ``every`` entries since its last checkpoint."""
        with self.store.transaction() as tx:
            heads = tx.repo(HeadsRepo).heads("audit")
            checkpoints = tx.repo(CheckpointsRepo)
            due = [p for p, seq in sorted(heads.items()) if seq - checkpoints.last_seq(p) >= self.every]
        done = []
        for party in due:  # one transaction each: a long backlog never holds the writer lock long
            cp = self.checkpoint(party)
            if cp is not None:
                done.append(cp)
        return done

    def export(self, party: str) -> dict[str, Any]:
        """``party``'s chain, its checkpoints (a fresh one over the head), its keys, and the
        server's public key: one document, read in one transaction."""
        with self.store.transaction() as tx:
            tx.get_party(party)
            self._checkpoint(tx, party)
            entries = tx.repo(AuditRepo).entries(party)
            checkpoints = tx.repo(CheckpointsRepo).of(party)
            keys = tx.repo(PartyKeysRepo).of(party)
        server_keys = {cp.key_id: cp.public_key for cp in checkpoints}
        server_keys[self.server_key.key_id] = self.server_key.public_key
        return {
            "format": EXPORT_FORMAT,
            "party": party,
            "exported_at": format_utc(self.clock.now()),
            "server_key": self.server_key.public_dict(),
            "server_keys": [
                {"key_id": k, "public_key": v, "algorithm": "Ed25519"} for k, v in sorted(server_keys.items())
            ],
            "party_keys": [_key_dict(k) for k in keys],
            "entries": [e.to_dict() for e in entries],
            "checkpoints": [cp.to_dict() for cp in checkpoints],
        }

    # -- parties' keys --------------------------------------------------------------------

    def register_key(self, party: str, public_key: str) -> PartyKey:
        """Register ``party``'s Ed25519 public key for signing acknowledgements."""
        with self.store.transaction() as tx:
            key = register_party_key(tx, party, public_key, self.clock.now())
            tx.repo(AuditRepo).append(
                party, "key.registered", "admin", {"party": party, **_key_dict(key)}, key.registered_at
            )
        return key

    def revoke_key(self, party: str, key_id: str) -> None:
        with self.store.transaction() as tx:
            at = self.clock.now()
            tx.repo(PartyKeysRepo).revoke(party, key_id, at)
            tx.repo(AuditRepo).append(
                party,
                "key.revoked",
                "admin",
                {"party": party, "key_id": key_id, "revoked_at": format_utc(at)},
                at,
            )

    def keys(self, party: str) -> list[PartyKey]:
        with self.store.transaction() as tx:
            tx.get_party(party)
            return tx.repo(PartyKeysRepo).of(party)
