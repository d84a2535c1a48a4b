"""Helpers for HTTP tests: an app over a test store with a manual clock and a temp key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from deconfliction.api.app import ApiSettings, create_app
from deconfliction.client import Client
from deconfliction.engine.operation import Operation
from deconfliction.interop.geojson import volume_to_wire
from deconfliction.service.clock import ManualClock
from deconfliction.service.credentials import create_credential
from deconfliction.store import Party, PartyKind, Store
from deconfliction.store.auth import Desk, DesksRepo, parse_scopes

#: Test "now": filings in tests start at builders.T0 (2026-01-01 06:00Z), a day later.
NOW = datetime(2025, 12, 31, 6, 0, tzinfo=UTC)


@dataclass
class Api:
    app: FastAPI
    client: TestClient
    clock: ManualClock
    store: Store

    def party(self, party_id: str, kind: PartyKind = PartyKind.MILITARY, language: str = "en") -> None:
        with self.store.transaction() as tx:
            tx.add_party(Party(party_id, f"Party {party_id}", kind))
            tx.repo(DesksRepo).add(Desk(party_id, "duty", language))

    def credential(self, party_id: str, scopes: str = "read,file,message") -> tuple[str, str]:
        with self.store.transaction() as tx:
            issued = create_credential(tx, party_id, parse_scopes(scopes), self.clock)
        return issued.credential.client_id, issued.secret

    def token(self, party_id: str, scopes: str = "read,file,message") -> str:
        client_id, secret = self.credential(party_id, scopes)
        response = self.client.post("/v1/auth/token", json={"client_id": client_id, "client_secret": secret})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def headers(self, party_id: str, scopes: str = "read,file,message") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(party_id, scopes)}"}


def make_api(store: Store, tmp_path: Path, **settings: object) -> Api:
    clock = ManualClock(NOW)
    app = create_app(ApiSettings(key_file=str(tmp_path / "token.key"), **settings), store=store, clock=clock)  # type: ignore[arg-type]
    return Api(app, TestClient(app), clock, store)


def client_for(api: Api, party_id: str, scopes: str = "read,file,message") -> Client:
    """A :class:`deconfliction.client.Client` for ``party_id`` over the in-process app."""
    client_id, secret = api.credential(party_id, scopes)
    return Client("http://testserver", client_id, secret, http=api.client)


def wire_volumes(operation: Operation) -> list[dict[str, Any]]:
    """An operation's volumes in the API's wire form."""
    return [volume_to_wire(v).model_dump(mode="json") for v in operation.volumes]


def filing(operation: Operation, **extra: Any) -> dict[str, Any]:
    """The POST /v1/operations body for ``operation`` (its party is the caller's)."""
    return {"id": operation.id, "volumes": wire_volumes(operation), "priority": operation.priority, **extra}
