"""The F3548 DSS over HTTP, in process: tokens, scopes, status codes and error shape."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from implicitdict import ImplicitDict
from uas_standards.astm.f3548.v21 import api

from deconfliction.api.app import ApiSettings, create_app
from deconfliction.cli.f3548 import f3548_config
from deconfliction.interop.f3548.auth import TEST_PUBLIC_KEY, F3548AuthConfig
from deconfliction.service.clock import ManualClock
from deconfliction.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)
AUD = "dss.test"
ISS = "https://auth.test"
SC = "utm.strategic_coordination"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY = _key()
OTHER_KEY = _key()


def _pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def token(
    sub: str = "uss1",
    scope: str = SC,
    aud: str = AUD,
    iss: str = ISS,
    ttl_s: float = 600.0,
    key: rsa.RSAPrivateKey = KEY,
) -> dict[str, str]:
    now = time.time()
    claims = {
        "sub": sub,
        "scope": scope,
        "aud": aud,
        "iss": iss,
        "exp": int(now + ttl_s),
        "nbf": int(now - 1),
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm='RS256')}"}


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    config = F3548AuthConfig(public_keys=(_pem(KEY),), audiences=(AUD,), issuers=(ISS,))
    app = create_app(ApiSettings(extra={"f3548_auth": config}), store=store, clock=ManualClock(NOW))
    with TestClient(app) as client:
        yield client


def oi_body() -> dict[str, Any]:
    start = NOW + timedelta(minutes=10)

    def t(value: datetime) -> dict[str, str]:
        return {"value": value.isoformat().replace("+00:00", "Z"), "format": "RFC3339"}

    return {
        "extents": [
            {
                "volume": {
                    "outline_circle": {
                        "center": {"lat": 46.5, "lng": 6.6},
                        "radius": {"value": 200, "units": "M"},
                    },
                    "altitude_lower": {"value": 0, "reference": "W84", "units": "M"},
                    "altitude_upper": {"value": 100, "reference": "W84", "units": "M"},
                },
                "time_start": t(start),
                "time_end": t(start + timedelta(minutes=30)),
            }
        ],
        "state": "Accepted",
        "uss_base_url": "https://uss1.example",
        "new_subscription": {"uss_base_url": "https://uss1.example"},
    }


def test_create_and_read_with_a_valid_token(client: TestClient) -> None:
    oi = str(uuid.uuid4())
    created = client.put(f"/dss/v1/operational_intent_references/{oi}", json=oi_body(), headers=token())
    assert created.status_code == 201, created.text
    ovn = created.json()["operational_intent_reference"]["ovn"]
    seen = client.get(f"/dss/v1/operational_intent_references/{oi}", headers=token(sub="uss2"))
    assert seen.status_code == 200
    assert seen.json()["operational_intent_reference"]["ovn"] == "Available from USS"
    stale = client.put(f"/dss/v1/operational_intent_references/{oi}/wrong", json=oi_body(), headers=token())
    assert stale.status_code == 409
    foreign = client.delete(f"/dss/v1/operational_intent_references/{oi}/{ovn}", headers=token(sub="uss2"))
    assert foreign.status_code == 403
    deleted = client.delete(f"/dss/v1/operational_intent_references/{oi}/{ovn}", headers=token())
    assert deleted.status_code == 200


def test_key_check_conflict_body(client: TestClient) -> None:
    first = str(uuid.uuid4())
    assert (
        client.put(
            f"/dss/v1/operational_intent_references/{first}", json=oi_body(), headers=token()
        ).status_code
        == 201
    )
    refused = client.put(
        f"/dss/v1/operational_intent_references/{uuid.uuid4()}", json=oi_body(), headers=token(sub="uss2")
    )
    assert refused.status_code == 409
    assert [m["id"] for m in refused.json()["missing_operational_intents"]] == [first]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNzMTpwdw=="},
        token(aud="someone-else"),
        token(iss="https://evil.test"),
        token(ttl_s=-120.0),
        token(key=OTHER_KEY),
    ],
    ids=["missing", "not-bearer", "audience", "issuer", "expired", "unknown-key"],
)
def test_bad_tokens_are_401(client: TestClient, headers: dict[str, str]) -> None:
    oi = str(uuid.uuid4())
    response = client.put(f"/dss/v1/operational_intent_references/{oi}", json=oi_body(), headers=headers)
    assert response.status_code == 401
    assert "message" in response.json()
    assert client.get(f"/dss/v1/operational_intent_references/{oi}", headers=token()).status_code == 404


def test_missing_scope_is_403(client: TestClient) -> None:
    response = client.put(
        f"/dss/v1/operational_intent_references/{uuid.uuid4()}",
        json=oi_body(),
        headers=token(scope="utm.constraint_processing"),
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("content", "status"),
    [(b"{not json", 400), (b"", 400), (b"[]", 400)],
)
def test_malformed_bodies_are_400(client: TestClient, content: bytes, status: int) -> None:
    response = client.put(
        f"/dss/v1/operational_intent_references/{uuid.uuid4()}",
        content=content,
        headers={**token(), "Content-Type": "application/json"},
    )
    assert response.status_code == status
    assert set(response.json()) == {"message"}


def test_aux_endpoints(client: TestClient) -> None:
    assert client.get("/aux/v1/version").json()["version"].startswith("deconfliction-")
    assert (
        client.get(
            "/aux/v1/validate_oauth", headers=token(scope="dss.read.identification_service_areas")
        ).status_code
        == 200
    )
    assert client.get("/aux/v1/validate_oauth?owner=uss1", headers=token()).status_code == 200
    assert client.get("/aux/v1/validate_oauth?owner=uss9", headers=token()).status_code == 403
    assert client.get("/aux/v1/validate_oauth").status_code == 401


def test_the_published_test_key_is_off_by_default() -> None:
    assert f3548_config().public_keys == ()
    assert TEST_PUBLIC_KEY not in f3548_config(f3548_audiences=("localhost",)).public_keys
    with_tests = f3548_config(f3548_test_keys=True)
    assert TEST_PUBLIC_KEY in with_tests.public_keys
    assert with_tests.audiences == ("localhost",)
    assert with_tests.issuers == ("NoAuth",)


def test_without_configured_keys_every_token_is_refused(store: Store) -> None:
    app = create_app(ApiSettings(), store=store, clock=ManualClock(NOW))
    with TestClient(app) as client:
        response = client.get(f"/dss/v1/operational_intent_references/{uuid.uuid4()}", headers=token())
    assert response.status_code == 401


def test_a_uss_marked_down_gets_412(client: TestClient) -> None:
    arbiter = token(sub="arbiter", scope="utm.availability_arbitration")
    marked = client.put("/dss/v1/uss_availability/uss1", json={"availability": "Down"}, headers=arbiter)
    assert marked.status_code == 200
    assert marked.json()["status"] == {"uss": "uss1", "availability": "Down"}
    seen = client.get("/dss/v1/uss_availability/uss1", headers=token())
    assert seen.json()["version"] == marked.json()["version"]
    refused = client.put(
        f"/dss/v1/operational_intent_references/{uuid.uuid4()}", json=oi_body(), headers=token()
    )
    assert refused.status_code == 412
    stale = client.put("/dss/v1/uss_availability/uss1", json={"availability": "Normal"}, headers=arbiter)
    assert stale.status_code == 409


def test_responses_parse_as_the_standards_models(client: TestClient) -> None:
    """Every response body parses as the matching ``uas-standards`` F3548 model (required
    fields present, enums and types right)."""

    def parsed(response: Any, model: type[ImplicitDict], status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return ImplicitDict.parse(response.json(), model)

    cm = token(scope="utm.constraint_management utm.constraint_processing utm.strategic_coordination")
    sub_id = str(uuid.uuid4())
    sub_body = {
        "extents": oi_body()["extents"][0],
        "uss_base_url": "https://uss1.example",
        "notify_for_operational_intents": True,
        "notify_for_constraints": True,
    }
    put_sub = parsed(
        client.put(f"/dss/v1/subscriptions/{sub_id}", json=sub_body, headers=cm), api.PutSubscriptionResponse
    )
    parsed(client.get(f"/dss/v1/subscriptions/{sub_id}", headers=cm), api.GetSubscriptionResponse)
    aoi = {"area_of_interest": oi_body()["extents"][0]}
    assert parsed(
        client.post("/dss/v1/subscriptions/query", json=aoi, headers=cm), api.QuerySubscriptionsResponse
    ).subscriptions

    oi = str(uuid.uuid4())
    created = parsed(
        client.put(f"/dss/v1/operational_intent_references/{oi}", json=oi_body(), headers=token()),
        api.ChangeOperationalIntentReferenceResponse,
        201,
    )
    assert created.operational_intent_reference.state == api.OperationalIntentState.Accepted
    assert created.subscribers
    parsed(
        client.get(f"/dss/v1/operational_intent_references/{oi}", headers=token()),
        api.GetOperationalIntentReferenceResponse,
    )
    query = client.post("/dss/v1/operational_intent_references/query", json=aoi, headers=token())
    assert parsed(query, api.QueryOperationalIntentReferenceResponse).operational_intent_references
    conflict = client.put(
        f"/dss/v1/operational_intent_references/{uuid.uuid4()}", json=oi_body(), headers=token(sub="uss2")
    )
    assert parsed(conflict, api.AirspaceConflictResponse, 409).missing_operational_intents

    constraint = str(uuid.uuid4())
    body = {"extents": oi_body()["extents"], "uss_base_url": "https://uss1.example"}
    made = parsed(
        client.put(f"/dss/v1/constraint_references/{constraint}", json=body, headers=cm),
        api.ChangeConstraintReferenceResponse,
        201,
    )
    parsed(
        client.get(f"/dss/v1/constraint_references/{constraint}", headers=cm),
        api.GetConstraintReferenceResponse,
    )
    parsed(
        client.post("/dss/v1/constraint_references/query", json=aoi, headers=cm),
        api.QueryConstraintReferencesResponse,
    )
    ovn = made.constraint_reference.ovn
    parsed(
        client.delete(f"/dss/v1/constraint_references/{constraint}/{ovn}", headers=cm),
        api.ChangeConstraintReferenceResponse,
    )

    ovn = created.operational_intent_reference.ovn
    parsed(
        client.delete(f"/dss/v1/operational_intent_references/{oi}/{ovn}", headers=token()),
        api.ChangeOperationalIntentReferenceResponse,
    )
    version = put_sub.subscription.version
    parsed(
        client.delete(f"/dss/v1/subscriptions/{sub_id}/{version}", headers=cm), api.DeleteSubscriptionResponse
    )
    parsed(client.get("/dss/v1/uss_availability/uss1", headers=token()), api.UssAvailabilityStatusResponse)
    report = {
        "exchange": {
            "url": "https://uss2.example/x",
            "method": "GET",
            "recorder_role": "Client",
            "request_time": {"value": NOW.isoformat(), "format": "RFC3339"},
        }
    }
    assert parsed(
        client.post("/dss/v1/reports", json=report, headers=token()), api.ErrorReport, 201
    ).report_id
    parsed(
        client.get(f"/dss/v1/operational_intent_references/{uuid.uuid4()}", headers=token()),
        api.ErrorResponse,
        404,
    )
