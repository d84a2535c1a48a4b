"""Who is asking: bearer tokens, scopes and per-party rate limits, as FastAPI dependencies.

Every route that touches a party's data takes ``principal: Annotated[Principal,
Depends(requires("read"))]`` (or ``"file"``, ``"message"``, ``"admin"``; the aliases
``Reader``, ``Filer``, ``Messenger``, ``Admin`` say the same) and acts for
``principal.party`` only. A request passes when its ``Authorization: Bearer <token>``
is a genuine, unexpired token of a credential that is still active, carrying the scope;
then the party's rate limit is charged. ``POST /v1/auth/token`` exchanges client
credentials for a token (OAuth 2.0 client-credentials grant; a JSON or form body).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from deconfliction.api.models import ERRORS
from deconfliction.errors import DeconflictionError, Forbidden, InvalidInput, NotFound, Unauthenticated
from deconfliction.service.credentials import authenticate
from deconfliction.service.ratelimit import RateLimiter
from deconfliction.service.throttle import SignInThrottle
from deconfliction.service.tokens import TokenSigner, default_key_file, load_or_create_key
from deconfliction.store.auth import CredentialsRepo, Scope, parse_scopes, scopes_text


@dataclass(frozen=True, slots=True)
class Principal:
    """The party a request acts for, the credential it used, and what it may do."""

    party: str
    client_id: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class AuthState:
    signer: TokenSigner
    limiter: RateLimiter
    throttle: SignInThrottle


_state_lock = threading.Lock()


def auth_state(app: FastAPI) -> AuthState:
    """The app's signer and rate limiter, made on first use from its settings.

    Made lazily so that ``create_app`` needs no auth-specific line; the key file is
    created (0600) the first time anything asks for it."""
    found: AuthState | None = getattr(app.state, "auth", None)
    if found is not None:
        return found
    with _state_lock:
        found = getattr(app.state, "auth", None)
        if found is None:
            settings = app.state.settings
            path = Path(settings.key_file) if settings.key_file else default_key_file(app.state.store.url)
            try:
                key = load_or_create_key(path)
            except InvalidInput as exc:
                # The server's own configuration, not the caller's input: a 500, not a 422.
                raise DeconflictionError(f"the server cannot sign tokens: {exc}") from exc
            signer = TokenSigner(key, app.state.clock, settings.token_ttl_s)
            limiter = RateLimiter(app.state.clock, settings.rate_per_s, settings.rate_burst)
            found = AuthState(signer, limiter, SignInThrottle(app.state.clock))
            app.state.auth = found
    return found


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthenticated("missing Authorization: Bearer <token> header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()


#: Declares the bearer scheme in the OpenAPI document; the header is checked below, so
#: that every failure gets our 401 body rather than FastAPI's 403.
bearer_scheme = HTTPBearer(auto_error=False, description="An access token from POST /v1/auth/token")
_Scheme = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]


def authenticated(request: Request, _scheme: _Scheme = None) -> Principal:
    """The principal of a request with a valid token (any scope), rate limit charged."""
    principal = identify(request)
    auth_state(request.app).limiter.take(principal.party)
    return principal


def identify(request: Request) -> Principal:
    """:func:`authenticated` without charging the rate limit: for the hotline, whose STOP
    messages are never refused for rate (it charges everything else itself)."""
    state = auth_state(request.app)
    claims = state.signer.verify(_bearer(request))
    # Revocation takes effect at once, not when the token expires: one key lookup.
    with request.app.state.store.transaction() as tx:
        try:
            credential = tx.repo(CredentialsRepo).get(claims.client_id)
        except NotFound:
            raise Unauthenticated("the token's credential no longer exists") from None
    if not credential.active:
        raise Unauthenticated("the token's credential has been revoked")
    if credential.party != claims.party:
        raise Unauthenticated("the token does not match its credential")
    return Principal(claims.party, claims.client_id, frozenset(s.value for s in claims.scopes))


def requires(scope: str) -> Callable[[Request], Principal]:
    """A dependency admitting tokens that carry ``scope`` (read, file, message or admin)."""
    needed = Scope(scope)

    def dependency(request: Request, _scheme: _Scheme = None) -> Principal:
        principal = authenticated(request)
        if needed.value not in principal.scopes:
            raise Forbidden(
                f"this needs the {needed.value!r} scope; the token has: {' '.join(sorted(principal.scopes))}"
            )
        return principal

    dependency.__name__ = f"requires_{needed.value}"
    return dependency


#: Parameter types for routes: ``def route(principal: Reader) -> ...``.
Reader = Annotated[Principal, Depends(requires("read"))]
Filer = Annotated[Principal, Depends(requires("file"))]
Messenger = Annotated[Principal, Depends(requires("message"))]
Admin = Annotated[Principal, Depends(requires("admin"))]


# -- the token endpoint ------------------------------------------------------------------


class TokenRequest(BaseModel):
    """Client credentials (OAuth 2.0 client-credentials grant)."""

    model_config = ConfigDict(extra="forbid")

    grant_type: Literal["client_credentials"] = "client_credentials"
    client_id: str = Field(min_length=1, max_length=256)
    client_secret: str = Field(min_length=1, max_length=256)
    #: space-separated subset of the credential's scopes; all of them when omitted
    scope: str | None = Field(default=None, max_length=100)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scopes: list[str]


FORM: Final = "application/x-www-form-urlencoded"


async def token_request(request: Request) -> TokenRequest:
    """The token request from a JSON body or, as OAuth 2.0 clients send it (RFC 6749
    section 4.4.2), a form-encoded one; errors name the field like any other body's."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    raw = await request.body()  # the app's body limit has already bounded it
    data: Any
    repeated: list[str] = []
    try:
        if media == FORM:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
            data = dict(pairs)
            repeated = [name for name in data if sum(n == name for n, _ in pairs) > 1]
        else:
            data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("body", f"not a valid JSON or form body: {exc}") from None
    except ValueError as exc:  # parse_qsl's field limit
        raise InvalidInput("body", str(exc)) from None
    if repeated:
        raise InvalidInput(repeated[0], "a form parameter may be given only once")
    try:
        return TokenRequest.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


_TOKEN_SCHEMA = {"schema": TokenRequest.model_json_schema()}

router = APIRouter(prefix="/v1/auth", tags=["auth"], responses=ERRORS)


@router.post(
    "/token",
    summary="Exchange client credentials for an access token",
    responses={
        401: {"description": "Wrong, unknown or revoked credentials"},
        429: {"description": "Too many failed attempts for this client id or address; see Retry-After"},
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": _TOKEN_SCHEMA, FORM: _TOKEN_SCHEMA}}
    },
)
def token(body: Annotated[TokenRequest, Depends(token_request)], request: Request) -> TokenResponse:
    state = auth_state(request.app)
    # Throttled before the secret is hashed: a guess that must wait costs no scrypt.
    keys = (f"id:{body.client_id}", f"addr:{request.client.host if request.client else '?'}")
    state.throttle.check(keys)
    try:
        credential = authenticate(request.app.state.store, body.client_id, body.client_secret)
    except Unauthenticated:
        state.throttle.failed(keys)
        raise
    state.throttle.succeeded(keys[0])
    scopes = parse_scopes(body.scope, "scope") if body.scope else None
    issued = state.signer.issue(credential, scopes)
    state.limiter.take(credential.party)
    return TokenResponse(
        access_token=issued.token, expires_in=issued.expires_in, scopes=scopes_text(issued.scopes).split()
    )


class WhoAmI(BaseModel):
    party: str
    client_id: str
    scopes: list[str]


@router.get("/whoami", summary="The party and scopes of the presented token")
def whoami(principal: Annotated[Principal, Depends(authenticated)]) -> WhoAmI:
    return WhoAmI(party=principal.party, client_id=principal.client_id, scopes=sorted(principal.scopes))
