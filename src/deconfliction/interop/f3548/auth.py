"""F3548 access tokens: RS256 JWTs from the USS ecosystem's auth server, verified here.

A token is accepted when its signature verifies against one of the configured public
keys, ``aud`` names this DSS, ``iss`` is a configured issuer (when any are configured),
and ``exp`` has not passed. Its ``sub`` is the USS, the manager of what it files, and
our party (:class:`~deconfliction.service.f3548.access.F3548Principal`). The InterUSS
test key (:data:`TEST_PUBLIC_KEY`, whose private half is published) is accepted only
when :meth:`F3548AuthConfig.for_tests` built the config:
``deconfliction serve --f3548-test-keys``; never by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from deconfliction.errors import InvalidInput, Unauthenticated
from deconfliction.service.f3548.access import F3548Principal

#: Public half of the InterUSS monitoring ``NoAuth`` test key pair (test-certs/auth2.pem).
#: Its private half ships with the prober, so anyone can sign for it: tests only.
TEST_PUBLIC_KEY: Final = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtjrMt+vOxuqjOU+hwrVA
gHjBMs9nMw1ONSpiLOpUQSnqvBwB0Zba+8e2tGJeQDWEf8KoVt3PfMa34EomLhWZ
GWEosftV8gZSbneDjUnE+kUTXvZmMFa2Byc9njsl5N7dOC1pT7qHNJOB9RhK/9eh
Pl7XczRuIJR7N/ZFk+XZSlFh5werq7ME7GdhBPFaO30KZRmRhgwVtAP2kA8sSrqg
xXuuyy808UvT3MkzL63Sv/EzQSs8YLVAn/BwiQlmWxKFmtzNk9RJdYkxRJN1E9E2
sS2i6b55j94hiPwwQ16GsAAWUT+ijezlHuGZU+OLYtYfoHy+4Ku31doQc0ujvtYO
JQIDAQAB
-----END PUBLIC KEY-----
"""
#: Issuer the test tokens carry.
TEST_ISSUER: Final = "NoAuth"
#: Clock skew tolerated on ``exp`` and ``nbf``, seconds.
LEEWAY_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class F3548AuthConfig:
    """Which tokens the DSS accepts. With no public key, every request is refused (401)."""

    public_keys: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    _keys: tuple[object, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = []
        for i, pem in enumerate(self.public_keys):
            try:
                keys.append(load_pem_public_key(pem.encode("ascii")))
            except (ValueError, TypeError) as exc:
                raise InvalidInput(f"f3548.public_keys[{i}]", f"not a PEM public key: {exc}") from exc
        object.__setattr__(self, "_keys", tuple(keys))

    @classmethod
    def for_tests(
        cls, audiences: tuple[str, ...] = ("localhost",), extra: F3548AuthConfig | None = None
    ) -> F3548AuthConfig:
        """The InterUSS test key and issuer, plus ``extra``'s keys, audiences and issuers."""
        base = extra or cls()
        return cls(
            public_keys=(*base.public_keys, TEST_PUBLIC_KEY),
            audiences=tuple(dict.fromkeys((*base.audiences, *audiences))),
            # Without issuers of its own, ``extra``'s keys stay open to any issuer.
            issuers=(*base.issuers, TEST_ISSUER) if base.issuers or not base.public_keys else (),
        )


def verify(config: F3548AuthConfig, authorization: str | None) -> F3548Principal:
    """The principal of an ``Authorization: Bearer <jwt>`` header; Unauthenticated otherwise."""
    if not authorization:
        raise Unauthenticated("missing Authorization header with a bearer token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <token>'")
    if not config._keys:
        raise Unauthenticated("this server accepts no F3548 tokens (no public key configured)")
    claims: dict[str, object] | None = None
    last: Exception | None = None
    for key in config._keys:
        try:
            claims = jwt.decode(
                token.strip(),
                key,  # type: ignore[arg-type]
                algorithms=["RS256"],
                audience=list(config.audiences) or None,
                leeway=LEEWAY_S,
                options={"require": ["exp", "sub", "aud", "iss"], "verify_aud": bool(config.audiences)},
            )
            break
        except jwt.InvalidSignatureError as exc:
            last = exc
            continue
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from exc
    if claims is None:
        raise Unauthenticated(f"invalid token: {last}")
    if config.issuers and claims.get("iss") not in config.issuers:
        raise Unauthenticated(f"token issuer {claims.get('iss')!r} is not trusted")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthenticated("token has no subject")
    scope = claims.get("scope", "")
    scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
    return F3548Principal(sub, scopes)
