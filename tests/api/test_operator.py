"""An operator's credential belongs to no party: it sets parties up and reads metrics,
and sees no party's operations, messages or audit chain."""

from __future__ import annotations

from pathlib import Path

from apihelpers import make_api
from click.testing import CliRunner

from deconfliction.cli import cli
from deconfliction.service.admin import AdminService
from deconfliction.store import Store, open_store


def test_an_operator_sets_parties_up_and_sees_no_partys_data(store: Store, tmp_path: Path) -> None:
    api = make_api(store, tmp_path)
    issued = AdminService(store, api.clock).create_operator_credential()
    assert issued.credential.party == ""
    r = api.client.post(
        "/v1/auth/token", json={"client_id": issued.credential.client_id, "client_secret": issued.secret}
    )
    assert r.status_code == 200, r.text
    assert r.json()["scopes"] == ["admin"]
    ops = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert api.client.get("/v1/auth/whoami", headers=ops).json()["party"] == ""
    made = api.client.post("/v1/admin/parties", headers=ops, json={"id": "RED", "name": "Red"})
    assert made.status_code == 201, made.text
    red = api.client.post("/v1/admin/credentials", headers=ops, json={"party": "RED", "scopes": ["read"]})
    assert red.status_code in (200, 201), red.text
    assert api.client.get("/metrics", headers=ops).status_code == 200
    for path in ("/v1/operations", "/v1/events", "/v1/audit/export", "/v1/messages"):
        assert api.client.get(path, headers=ops).status_code == 403, path
    revoked = api.client.post(f"/v1/admin/credentials/{issued.credential.client_id}/revoke", headers=ops)
    assert revoked.json()["active"] is False
    assert api.client.get("/v1/auth/whoami", headers=ops).status_code == 401


def test_operator_credential_from_the_cli(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    result = CliRunner().invoke(cli, ["admin", "credential", "operator", "--db", db])
    assert result.exit_code == 0, result.output
    client_id = result.stdout.split()[1]
    assert client_id.startswith("operator.")
    store = open_store(db)
    try:
        with store.transaction() as tx:
            assert tx.list_parties() == []  # it made no party
    finally:
        store.close()
    result = CliRunner().invoke(cli, ["admin", "credential", "revoke", client_id, "--db", db])
    assert result.exit_code == 0, result.output
    assert "of the operator revoked" in result.stdout
