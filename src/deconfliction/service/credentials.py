"""Client credentials: made with a random secret shown once, kept only as an scrypt hash.

scrypt is memory-hard, so a stolen database does not let anyone recover a secret by
brute force at GPU speed; each hash has its own salt, so equal secrets do not show.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from deconfliction.errors import InvalidInput, NotFound, Unauthenticated
from deconfliction.service.clock import Clock
from deconfliction.store.auth import OPERATOR, Credential, CredentialsRepo, Scope
from deconfliction.store.base import Store, Transaction

#: scrypt cost (N, r, p): 16 MiB and ~50 ms per check on a laptop core.
SCRYPT_N: Final = 2**14
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
_SALT_BYTES: Final = 16
_KEY_BYTES: Final = 32
#: A secret is 32 random bytes, URL-safe base64 (43 characters).
_SECRET_BYTES: Final = 32
MAX_SECRET_CHARS: Final = 256


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$key``: everything needed to check a secret, nothing to recover it."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    key = hashlib.scrypt(
        secret.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=_KEY_BYTES
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def secret_matches(secret: str, stored: str) -> bool:
    """Whether ``secret`` hashes to ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(key)
        got = hashlib.scrypt(
            secret.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, UnicodeError):
        return False
    return hmac.compare_digest(got, expected)


# Checked against when the client id is unknown, so that a wrong id costs the same time
# as a wrong secret and response times do not reveal which client ids exist.
_DUMMY_HASH: Final = hash_secret("not a secret", b"\x00" * _SALT_BYTES)


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """A new credential and its secret: the only time the secret exists outside the client."""

    credential: Credential
    secret: str


def create_credential(
    tx: Transaction, party: str, scopes: frozenset[Scope], clock: Clock
) -> IssuedCredential:
    """Make a credential for ``party`` inside ``tx``; the secret is returned, never stored."""
    if not scopes:
        raise InvalidInput("scopes", "at least one scope is needed")
    tx.get_party(party)
    secret = _b64(secrets.token_bytes(_SECRET_BYTES))
    client_id = f"{party}.{secrets.token_hex(6)}"
    credential = Credential(client_id, party, frozenset(scopes), hash_secret(secret), clock.now())
    tx.repo(CredentialsRepo).add(credential)
    return IssuedCredential(credential, secret)


def create_operator_credential(tx: Transaction, clock: Clock) -> IssuedCredential:
    """A credential of the operator, belonging to no party, with the admin scope only: it
    can set parties up, and reads no party's operations, messages or chain."""
    secret = _b64(secrets.token_bytes(_SECRET_BYTES))
    client_id = f"operator.{secrets.token_hex(6)}"
    credential = Credential(client_id, OPERATOR, frozenset({Scope.ADMIN}), hash_secret(secret), clock.now())
    tx.repo(CredentialsRepo).add(credential)
    return IssuedCredential(credential, secret)


def authenticate(store: Store, client_id: str, secret: str) -> Credential:
    """The active credential ``client_id`` if ``secret`` is its secret; Unauthenticated
    (one message for every cause, so a caller cannot tell which part was wrong)."""
    refused = Unauthenticated("invalid client credentials")
    if not client_id or not secret or len(secret) > MAX_SECRET_CHARS or len(client_id) > MAX_SECRET_CHARS:
        raise refused
    with store.transaction() as tx:
        try:
            credential: Credential | None = tx.repo(CredentialsRepo).get(client_id)
        except NotFound:
            credential = None
    stored = credential.secret_hash if credential is not None else _DUMMY_HASH
    matches = secret_matches(secret, stored)
    if credential is None or not matches or not credential.active:
        raise refused
    return credential
