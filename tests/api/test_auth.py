"""Credentials, tokens, scopes, revocation and rate limits over HTTP."""

from __future__ import annotations

import base64
import json
import stat
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from apihelpers import Api, make_api
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconfliction.api.errors import UNAUTHENTICATED
from deconfliction.errors import InvalidInput
from deconfliction.service.credentials import hash_secret, secret_matches
from deconfliction.service.tokens import load_or_create_key
from deconfliction.store import Store
from deconfliction.store.auth import CredentialsRepo


@pytest.fixture
def api(store: Store, tmp_path: Path) -> Api:
    api = make_api(store, tmp_path)
    api.party("RED")
    api.party("BLUE")
    return api


def test_token_flow_and_whoami(api: Api) -> None:
    client_id, secret = api.credential("RED", "read,file")
    r = api.client.post("/v1/auth/token", json={"client_id": client_id, "client_secret": secret})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scopes"] == ["read", "file"]
    who = api.client.get("/v1/auth/whoami", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert who.status_code == 200
    assert who.json() == {"party": "RED", "client_id": client_id, "scopes": ["file", "read"]}


def test_token_from_an_oauth2_form_body(api: Api) -> None:
    client_id, secret = api.credential("RED", "read,file")
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "scope": "read",
    }
    r = api.client.post("/v1/auth/token", data=form)
    assert r.status_code == 200, r.text
    assert r.json()["scopes"] == ["read"]
    who = api.client.get("/v1/auth/whoami", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert who.json()["party"] == "RED"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"client_id": "x"}, "client_secret"),
        ({"client_id": "x", "client_secret": "y", "grant_type": "password"}, "grant_type"),
        ({"client_id": "x", "client_secret": "y", "colour": "red"}, "colour"),
        ("client_id=x&client_id=y&client_secret=z", "client_id"),
    ],
)
def test_a_bad_form_body_names_the_field(api: Api, form: dict[str, str] | str, field: str) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if isinstance(form, str):
        r = api.client.post("/v1/auth/token", content=form, headers=headers)
    else:
        r = api.client.post("/v1/auth/token", data=form)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


def test_a_body_that_is_neither_json_nor_form_is_422(api: Api) -> None:
    r = api.client.post("/v1/auth/token", content=b"\xff{", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "body"


def test_token_with_narrower_scope_and_refused_wider(api: Api) -> None:
    client_id, secret = api.credential("RED", "read")
    ok = api.client.post(
        "/v1/auth/token", json={"client_id": client_id, "client_secret": secret, "scope": "read"}
    )
    assert ok.status_code == 200
    wider = api.client.post(
        "/v1/auth/token", json={"client_id": client_id, "client_secret": secret, "scope": "read admin"}
    )
    assert wider.status_code == 422
    assert wider.json()["error"]["field"] == "scope"


@pytest.mark.parametrize("which", ["secret", "client"])
def test_wrong_credentials_are_401_with_one_message(api: Api, which: str) -> None:
    client_id, secret = api.credential("RED")
    body = {"client_id": client_id, "client_secret": secret}
    body["client_secret" if which == "secret" else "client_id"] += "x"
    r = api.client.post("/v1/auth/token", json=body)
    assert r.status_code == 401
    assert r.json()["error"]["message"] == UNAUTHENTICATED
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_secrets_are_stored_only_as_scrypt_hashes(api: Api, store: Store) -> None:
    client_id, secret = api.credential("RED")
    with store.transaction() as tx:
        stored = tx.repo(CredentialsRepo).get(client_id).secret_hash
    assert secret not in stored
    assert stored.startswith("scrypt$")
    assert secret_matches(secret, stored)
    assert not secret_matches(secret + "x", stored)
    # salted: the same secret never hashes the same twice
    assert hash_secret(secret) != hash_secret(secret)


def test_key_file_is_private_and_outside_the_store(api: Api, tmp_path: Path) -> None:
    api.token("RED")
    key = tmp_path / "token.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    pem = key.read_text()
    with api.store.transaction() as tx:
        rows = [r.secret_hash for r in tx.repo(CredentialsRepo).list()]
    assert all(pem not in r for r in rows)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic abc",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
    ],
)
def test_missing_or_garbled_tokens_are_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    r = api.client.get("/v1/auth/whoami", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "Unauthenticated"


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    data: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def test_forged_tokens_are_401(api: Api) -> None:
    genuine = api.token("RED", "read")
    claims = _claims(genuine)
    # signed with another key
    other = jwt.encode({**claims, "party": "BLUE"}, Ed25519PrivateKey.generate(), algorithm="EdDSA")
    # claims changed, signature kept
    header, _, sig = genuine.split(".")
    tampered_claims = {**claims, "scope": "read admin"}
    body = base64.urlsafe_b64encode(json.dumps(tampered_claims).encode()).decode().rstrip("=")
    tampered = f"{header}.{body}.{sig}"
    # "none" algorithm and HMAC with a guessable secret
    unsigned = jwt.encode(claims, "", algorithm="none")
    hmac_token = jwt.encode(claims, "secret-at-least-32-bytes-long-xxxxxx", algorithm="HS256")
    for forged in (other, tampered, unsigned, hmac_token):
        r = api.client.get("/v1/auth/whoami", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401, forged
    ok = api.client.get("/v1/auth/whoami", headers={"Authorization": f"Bearer {genuine}"})
    assert ok.status_code == 200


def test_token_expires_on_the_injected_clock(api: Api) -> None:
    headers = api.headers("RED", "read")
    api.clock.advance(timedelta(seconds=899))
    assert api.client.get("/v1/auth/whoami", headers=headers).status_code == 200
    api.clock.advance(timedelta(seconds=1))
    r = api.client.get("/v1/auth/whoami", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == {"type": "Unauthenticated", "message": UNAUTHENTICATED}


def test_revoked_credential_stops_tokens_and_sign_in(api: Api, store: Store) -> None:
    client_id, secret = api.credential("RED", "read")
    token = api.client.post("/v1/auth/token", json={"client_id": client_id, "client_secret": secret}).json()[
        "access_token"
    ]
    with store.transaction() as tx:
        tx.repo(CredentialsRepo).revoke(client_id, api.clock.now())
    r = api.client.get("/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["error"] == {"type": "Unauthenticated", "message": UNAUTHENTICATED}
    again = api.client.post("/v1/auth/token", json={"client_id": client_id, "client_secret": secret})
    assert again.status_code == 401


def test_rate_limit_is_per_party_with_retry_after(store: Store, tmp_path: Path) -> None:
    api = make_api(store, tmp_path, rate_per_s=1.0, rate_burst=3)
    api.party("RED")
    api.party("BLUE")
    red = api.headers("RED", "read")  # the token request takes one
    blue = api.headers("BLUE", "read")
    assert [api.client.get("/v1/auth/whoami", headers=red).status_code for _ in range(3)] == [200, 200, 429]
    limited = api.client.get("/v1/auth/whoami", headers=red)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["error"]["type"] == "RateLimited"
    # another party is not affected
    assert api.client.get("/v1/auth/whoami", headers=blue).status_code == 200
    api.clock.advance(timedelta(seconds=1))
    assert api.client.get("/v1/auth/whoami", headers=red).status_code == 200
    assert api.client.get("/v1/auth/whoami", headers=red).status_code == 429


def test_a_stolen_database_signs_nobody_in(api: Api, store: Store, tmp_path: Path) -> None:
    """The thief has the store (hashes, no secrets) but not the key file: a server they run
    on it makes its own key, and tokens it signs mean nothing to the real server — and
    the real server's tokens mean nothing to theirs."""
    real_token = api.token("RED", "read")
    thief = make_api(store, tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir(exist_ok=True)
    with store.transaction() as tx:
        stored = [c.secret_hash for c in tx.repo(CredentialsRepo).list()]
    assert all(h.startswith("scrypt$") for h in stored)
    thief_token = thief.token("BLUE", "read")  # the thief can mint only with a credential of its own making
    assert (
        api.client.get("/v1/auth/whoami", headers={"Authorization": f"Bearer {thief_token}"}).status_code
        == 401
    )
    assert (
        thief.client.get("/v1/auth/whoami", headers={"Authorization": f"Bearer {real_token}"}).status_code
        == 401
    )


def test_a_key_file_others_can_read_is_refused(store: Store, tmp_path: Path) -> None:
    api = make_api(store, tmp_path)
    api.party("RED")
    api.token("RED")  # creates the key
    (tmp_path / "token.key").chmod(0o644)
    with pytest.raises(InvalidInput) as refused:
        load_or_create_key(tmp_path / "token.key")
    assert refused.value.field == "key_file"
    again = make_api(store, tmp_path)
    client_id, secret = again.credential("RED")
    r = again.client.post("/v1/auth/token", json={"client_id": client_id, "client_secret": secret})
    assert r.status_code == 500
    assert "readable by others" in r.json()["error"]["message"]
