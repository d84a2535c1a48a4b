"""Parties' public keys and the server's signed audit checkpoints (migration 0005).

Only SQL lives here; what is signed, and how, is :mod:`deconfliction.service.signing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deconfliction.errors import AlreadyExists, NotFound
from deconfliction.geo.timewindow import format_utc, parse_utc
from deconfliction.store.sql import SqlRepo


@dataclass(frozen=True, slots=True)
class PartyKey:
    """A party's Ed25519 public key (raw 32 bytes, base64url) and its life."""

    party: str
    key_id: str
    public_key: str
    registered_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The server's signature over one chain head: ``(party, seq, hash, at)``."""

    party: str
    seq: int
    hash: str
    at: datetime
    key_id: str
    public_key: str
    signature: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "seq": self.seq,
            "hash": self.hash,
            "at": format_utc(self.at),
            "key_id": self.key_id,
            "public_key": self.public_key,
            "signature": self.signature,
        }


def _key(row: Any) -> PartyKey:
    revoked = parse_utc(row[4], "revoked_at") if row[4] is not None else None
    return PartyKey(row[0], row[1], row[2], parse_utc(row[3], "registered_at"), revoked)


class PartyKeysRepo(SqlRepo):
    """Register, revoke and look up parties' acknowledgement keys."""

    def add(self, key: PartyKey) -> None:
        if self.get(key.party, key.key_id, missing_ok=True) is not None:
            raise AlreadyExists(f"key {key.key_id} is already registered for party {key.party!r}")
        try:
            self._x(
                "INSERT INTO party_keys (party, key_id, public_key, registered_at) VALUES (?, ?, ?, ?)",
                (key.party, key.key_id, key.public_key, format_utc(key.registered_at)),
            )
        except self.tx.dialect.integrity_error as exc:
            raise NotFound(f"no party {key.party!r}") from exc

    def get(self, party: str, key_id: str, missing_ok: bool = False) -> PartyKey | None:
        row = self._x(
            "SELECT party, key_id, public_key, registered_at, revoked_at FROM party_keys"
            " WHERE party = ? AND key_id = ?",
            (party, key_id),
        ).fetchone()
        if row is None and not missing_ok:
            raise NotFound(f"no key {key_id!r} for party {party!r}")
        return _key(row) if row is not None else None

    def of(self, party: str) -> list[PartyKey]:
        """Every key ``party`` has had, oldest first."""
        rows = self._x(
            "SELECT party, key_id, public_key, registered_at, revoked_at FROM party_keys"
            " WHERE party = ? ORDER BY registered_at, key_id",
            (party,),
        ).fetchall()
        return [_key(r) for r in rows]

    def revoke(self, party: str, key_id: str, at: datetime) -> None:
        row = self._x(
            "UPDATE party_keys SET revoked_at = ? WHERE party = ? AND key_id = ? AND revoked_at IS NULL"
            " RETURNING key_id",
            (format_utc(at), party, key_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"no active key {key_id!r} for party {party!r}")


class CheckpointsRepo(SqlRepo):
    """Store and read the server's signed checkpoints."""

    def add(self, cp: Checkpoint) -> Checkpoint:
        """Store ``cp``; if that head is already signed with that key, the stored one."""
        row = self._x(
            "INSERT INTO audit_checkpoints (party, seq, hash, at, key_id, public_key, signature)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (party, seq, key_id) DO NOTHING RETURNING seq",
            (cp.party, cp.seq, cp.hash, format_utc(cp.at), cp.key_id, cp.public_key, cp.signature),
        ).fetchone()
        if row is not None:
            return cp
        found = [c for c in self.of(cp.party) if c.seq == cp.seq and c.key_id == cp.key_id]
        return found[0]

    def of(self, party: str) -> list[Checkpoint]:
        """``party``'s checkpoints by seq."""
        rows = self._x(
            "SELECT party, seq, hash, at, key_id, public_key, signature FROM audit_checkpoints"
            " WHERE party = ? ORDER BY seq, key_id",
            (party,),
        ).fetchall()
        return [Checkpoint(r[0], int(r[1]), r[2], parse_utc(r[3], "at"), r[4], r[5], r[6]) for r in rows]

    def last_seq(self, party: str) -> int:
        row = self._x("SELECT max(seq) FROM audit_checkpoints WHERE party = ?", (party,)).fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0
