"""Ed25519 signatures: the server's audit key, parties' acknowledgement keys.

Everything signed is the canonical JSON (:func:`~deconfliction.store.events.canonical_json`:
sorted keys, no spaces, UTF-8) of a JSON value, so any language can reproduce the bytes.
Keys and signatures travel as unpadded base64url; a key's id is the first 16 hex digits
of the SHA-256 of its raw 32 bytes.

The server's private key lives in a file outside the database (``$DECONFLICTION_AUDIT_KEY``,
else ``<db>.audit-key`` beside a SQLite store, else ``deconfliction-audit.key``; like the
token key of :mod:`deconfliction.service.tokens` but a separate key, so the two can be
rotated apart), created with mode 0600 on first use: someone holding
a copy of the database can rewrite a chain but cannot sign a checkpoint over the result.
A party's private key never reaches the server; only its public key is registered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconfliction.errors import InvalidInput, StoreError
from deconfliction.store.base import Transaction
from deconfliction.store.events import canonical_json
from deconfliction.store.signing import PartyKey, PartyKeysRepo

#: Environment variable naming the server's audit signing key file.
AUDIT_KEY_ENV: Final = "DECONFLICTION_AUDIT_KEY"
#: The key file of a server (PostgreSQL) store, in the working directory.
DEFAULT_AUDIT_KEY: Final = "deconfliction-audit.key"
#: Where an acknowledgement's verified signature is kept in its audit entry's body.
SIGNATURE_FIELD: Final = "party_signature"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str, field: str) -> bytes:
    """Strict base64url (padding optional); InvalidInput naming ``field`` otherwise."""
    if not isinstance(text, str) or not text or len(text) > 4096:
        raise InvalidInput(field, "must be a non-empty base64url string")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(field, "is not valid base64url") from exc


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def parse_public_key(text: str, field: str = "public_key") -> Ed25519PublicKey:
    """A public key given as base64url of its raw 32 bytes, or as a PEM block."""
    if isinstance(text, str) and text.lstrip().startswith("-----BEGIN"):
        try:
            loaded = serialization.load_pem_public_key(text.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise InvalidInput(field, "is not a PEM public key") from exc
        if not isinstance(loaded, Ed25519PublicKey):
            raise InvalidInput(field, "must be an Ed25519 key")
        return loaded
    raw = unb64u(text, field)
    if len(raw) != 32:
        raise InvalidInput(field, f"an Ed25519 public key is 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def sign_payload(private_key: Ed25519PrivateKey, payload: Any) -> str:
    """The base64url Ed25519 signature over the canonical JSON of ``payload``."""
    return b64u(private_key.sign(canonical_json(payload).encode("utf-8")))


def signature_valid(public_key_b64: str, payload: Any, signature_b64: str) -> bool:
    """Whether ``signature_b64`` is ``public_key_b64``'s signature over ``payload`` (no DB)."""
    try:
        public = parse_public_key(public_key_b64)
        signature = unb64u(signature_b64, "signature")
        public.verify(signature, canonical_json(payload).encode("utf-8"))
    except (InvalidInput, InvalidSignature, ValueError, TypeError):
        return False
    return True


# --- the server's audit key -----------------------------------------------------------


@dataclass(frozen=True)
class ServerKey:
    """The server's audit signing key."""

    private: Ed25519PrivateKey
    public_key: str  #: base64url raw
    key_id: str

    def sign(self, payload: Any) -> str:
        return sign_payload(self.private, payload)

    def public_dict(self) -> dict[str, str]:
        return {"key_id": self.key_id, "public_key": self.public_key, "algorithm": "Ed25519"}

    @classmethod
    def of(cls, private: Ed25519PrivateKey) -> ServerKey:
        raw = public_raw(private)
        return cls(private, b64u(raw), key_id(raw))


def audit_key_path(explicit: str | os.PathLike[str] | None = None, db: str | None = None) -> Path:
    """The key file: ``explicit``, else ``$DECONFLICTION_AUDIT_KEY``, else ``<db>.audit-key``
    beside a SQLite store ``db``, else :data:`DEFAULT_AUDIT_KEY`."""
    named = explicit or os.environ.get(AUDIT_KEY_ENV)
    if named:
        return Path(named)
    if db and not db.startswith(("postgresql://", "postgres://")):
        return Path(db.removeprefix("sqlite:///") + ".audit-key")
    return Path(DEFAULT_AUDIT_KEY)


def load_server_key(
    path: str | os.PathLike[str] | None = None, create: bool = True, db: str | None = None
) -> ServerKey:
    """The key in ``path`` (PKCS#8 PEM); a new one is written there first if missing and
    ``create``. Exclusive creation, so two processes starting at once agree on one key."""
    where = audit_key_path(path, db)
    if not where.exists() and create:
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            where.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race: read its key below
        except OSError as exc:
            raise StoreError(f"cannot create the audit key file {str(where)!r}: {exc}") from exc
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
                out.flush()
                os.fsync(out.fileno())
    try:
        loaded = serialization.load_pem_private_key(where.read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise StoreError(f"no audit key file at {str(where)!r}") from exc
    except (OSError, ValueError, TypeError) as exc:
        raise StoreError(f"cannot read the audit key file {str(where)!r}: {exc}") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise StoreError(f"the audit key file {str(where)!r} does not hold an Ed25519 key")
    return ServerKey.of(loaded)


# --- parties' keys --------------------------------------------------------------------


def register_party_key(tx: Transaction, party: str, public_key: str, at: datetime) -> PartyKey:
    """Register ``party``'s public key (base64url raw or PEM); AlreadyExists if it is."""
    tx.get_party(party)
    raw = public_raw(parse_public_key(public_key))
    key = PartyKey(party, key_id(raw), b64u(raw), at)
    tx.repo(PartyKeysRepo).add(key)
    return key


def active_keys(tx: Transaction, party: str) -> list[PartyKey]:
    return [k for k in tx.repo(PartyKeysRepo).of(party) if k.revoked_at is None]


@dataclass(frozen=True, slots=True)
class PartySignature:
    """A verified signature by ``party`` over ``payload``: what goes into the audit body."""

    party: str
    key_id: str
    public_key: str
    signature: str
    payload: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "key_id": self.key_id,
            "public_key": self.public_key,
            "signature": self.signature,
            "payload": self.payload,
        }


def verify_party_signature(tx: Transaction, party: str, payload: Any, signature: str) -> PartySignature:
    """Check that ``signature`` is ``party``'s signature over the canonical JSON of ``payload``
    with one of its registered, unrevoked keys; InvalidInput (HTTP 422) otherwise.

    Put ``result.to_dict()`` in the audit body under :data:`SIGNATURE_FIELD`: it carries the
    public key, so ``deconfliction audit verify`` can check it offline. ``payload`` should
    name what is acknowledged and who acknowledges it (ids, versions, hashes), so that the
    signature cannot be replayed for something else.
    """
    keys = active_keys(tx, party)
    if not keys:
        raise InvalidInput("signature", f"party {party!r} has no registered signing key")
    raw = unb64u(signature, "signature")
    if len(raw) != 64:
        raise InvalidInput("signature", f"an Ed25519 signature is 64 bytes, got {len(raw)}")
    message = canonical_json(payload).encode("utf-8")
    for key in reversed(keys):  # newest first: the usual signer after a rotation
        try:
            parse_public_key(key.public_key).verify(raw, message)
        except InvalidSignature:
            continue
        return PartySignature(party, key.key_id, key.public_key, b64u(raw), payload)
    raise InvalidInput("signature", f"not a signature of party {party!r} over this acknowledgement")


def acknowledgement_signature(
    tx: Transaction, party: str, payload: Any, signature: str | None
) -> dict[str, Any] | None:
    """The policy for acknowledgements: a party with a registered key must sign (422 if it
    does not); a party without one may not send a signature it cannot back (422), and its
    acknowledgement is recorded unsigned (None). Returns the audit-body record."""
    if signature is None:
        if active_keys(tx, party):
            raise InvalidInput(
                "signature", f"party {party!r} has a registered key: acknowledgements must be signed"
            )
        return None
    return verify_party_signature(tx, party, payload, signature).to_dict()
