"""Expiring bearer tokens: JWTs signed with an Ed25519 key kept in a file, not the store.

The key file sits beside the SQLite file by default (``<db>.key``), is created with mode
0600 on first start, and is refused if others can read it. A stolen database holds only
credential hashes and no key, so it lets nobody sign in or forge a token. Expiry is
checked against the injected clock, not the machine's, so tests can move time.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconfliction.errors import InvalidInput, Unauthenticated
from deconfliction.service.clock import Clock
from deconfliction.store.auth import Credential, Scope, parse_scopes, scopes_text

ISSUER: Final = "deconfliction"
ALGORITHM: Final = "EdDSA"
#: Default token lifetime: short, so a leaked token is soon worthless.
DEFAULT_TTL_S: Final = 900
#: Longest token accepted at all (a bearer token is not a session store).
MAX_TOKEN_CHARS: Final = 4096


def default_key_file(db: str) -> Path:
    """The key file beside a SQLite store, or ``deconfliction-token.key`` for a server store."""
    if db.startswith(("postgresql://", "postgres://")):
        return Path("deconfliction-token.key")
    path = db.removeprefix("sqlite:///")
    return Path(path + ".key")


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key at ``path``, created (0600, exclusively) if the file does not exist."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    except OSError as exc:
        raise InvalidInput("key_file", f"cannot create {str(path)!r}: {exc.strerror}") from exc
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    return key


def _read_key(path: Path) -> Ed25519PrivateKey:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            "key_file", f"{str(path)!r} is readable by others (mode {stat.filemode(mode)}); chmod 600 it"
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise InvalidInput("key_file", f"{str(path)!r} is not a PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput("key_file", f"{str(path)!r} is not an Ed25519 key")
    return key


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says."""

    client_id: str
    party: str
    scopes: frozenset[Scope]
    issued_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int
    scopes: frozenset[Scope]


class TokenSigner:
    """Issues and verifies tokens with one key."""

    def __init__(self, key: Ed25519PrivateKey, clock: Clock, ttl_s: int = DEFAULT_TTL_S) -> None:
        if ttl_s <= 0:
            raise InvalidInput("token_ttl_s", f"must be positive, got {ttl_s}")
        self._key = key
        self._public: Ed25519PublicKey = key.public_key()
        raw = self._public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]
        self._clock = clock
        self.ttl_s = ttl_s

    def issue(self, credential: Credential, scopes: frozenset[Scope] | None = None) -> IssuedToken:
        """A token for ``credential`` with ``scopes`` (a subset of its scopes; all by default)."""
        granted = credential.scopes if scopes is None else scopes
        if not granted <= credential.scopes:
            extra = scopes_text(frozenset(granted - credential.scopes))
            raise InvalidInput("scope", f"the credential does not have: {extra}")
        now = int(self._clock.now().timestamp())
        claims = {
            "iss": ISSUER,
            "sub": credential.client_id,
            "party": credential.party,
            "scope": scopes_text(frozenset(granted)),
            "iat": now,
            "exp": now + self.ttl_s,
            "jti": secrets.token_hex(8),
        }
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.key_id})
        return IssuedToken(token, self.ttl_s, frozenset(granted))

    def verify(self, token: str) -> TokenClaims:
        """The claims of a genuine, unexpired token; Unauthenticated otherwise."""
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated("token too long")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._public,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                # Time is checked below against the injected clock.
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["iss", "sub", "exp", "iat"],
                },
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        try:
            exp, iat = claims["exp"], claims["iat"]
            if not isinstance(exp, int) or not isinstance(iat, int):
                raise Unauthenticated("invalid token: exp and iat must be integers")
            party, sub = claims["party"], claims["sub"]
            if not isinstance(party, str) or not isinstance(sub, str):
                raise Unauthenticated("invalid token: party and sub must be strings")
            scopes = parse_scopes(str(claims.get("scope", "")))
        except (KeyError, InvalidInput) as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        if self._clock.now().timestamp() >= exp:
            raise Unauthenticated("token expired")
        return TokenClaims(sub, party, scopes, iat, exp)
