"""Schemathesis over the OpenAPI document: no 5xx, and every response on its schema.

Runs in process against the app on a SQLite store, authenticated with a real token
(every scope) of a party that has an operation filed. Bounded and repeatable: a few
dozen derandomized examples per route. Every route in the document is run except
event streams, whose responses do not end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from apihelpers import Api, filing, make_api
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from builders import circle_op
from deconfliction.store import open_store

#: The platform's routes, which must all be in the document.
PLATFORM = ("/health", "/v1/auth/", "/v1/admin/", "/v1/operations", "/v1/conflicts", "/v1/policies")
MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    store = open_store(str(tmp / "store.sqlite"))
    api = make_api(store, tmp, rate_per_s=1e6, rate_burst=1_000_000)
    for party in ("RED", "BLUE"):
        api.party(party)
    yield api
    store.close()


@pytest.fixture(scope="module")
def auth(api: Api) -> dict[str, str]:
    headers = api.headers("RED", "read,file,message,admin")
    blue = api.headers("BLUE", "read,file")
    for headers_, op in ((headers, circle_op("RED", "R1")), (blue, circle_op("BLUE", "B1", lon=40.05))):
        assert api.client.post("/v1/operations", headers=headers_, json=filing(op)).status_code == 201
    return headers


def _operations(api: Api) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    found = [result.ok() for result in schema.get_all_operations()]
    return [op for op in found if not op.path.endswith("/stream")]


def test_routes_keep_their_contract(api: Api, auth: dict[str, str]) -> None:
    operations = _operations(api)
    assert len([op for op in operations if op.path.startswith(PLATFORM)]) >= 20
    failures = []
    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers=auth)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every route's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
