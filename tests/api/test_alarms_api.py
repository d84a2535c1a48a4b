"""Probe alarms at the edges, on both stores: the owner's ledger over HTTP, the
operator's list (``GET /v1/admin/alarms``, admin scope only) and ``deconfliction admin
alarms`` (docs/disclosure.md, "Probe alarms")."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from apihelpers import Api, client_for, filing, make_api
from click.testing import CliRunner

from builders import circle_op
from deconfliction.cli import cli
from deconfliction.cli.errors import EXIT_INVALID_INPUT
from deconfliction.engine.operation import OperationState
from deconfliction.service.access import AccessService
from deconfliction.service.clock import SystemClock
from deconfliction.service.operations import OperationService
from deconfliction.store import Party, PartyKind, Store, open_store


@pytest.fixture
def api(store: Store, tmp_path: Path) -> Api:
    api = make_api(store, tmp_path)
    for party in ("RED", "BLUE", "OPS"):
        api.party(party)
    return api


def test_the_owner_and_the_operator_see_the_alarm(api: Api) -> None:
    red, blue = client_for(api, "RED"), client_for(api, "BLUE")
    blue.file_operation(filing(circle_op("BLUE", "B1", radius_m=20_000)))
    for n in range(4):
        filed = red.file_operation(filing(circle_op("RED", f"P{n}", radius_m=300.0)))
        assert filed["conflicts"]
        api.clock.advance(timedelta(minutes=1))
        red.request("POST", f"/v1/operations/P{n}/cancel", json={"version": 1})
    ledger = {row["viewer"]: row for row in blue.disclosures()["learned_by"]}
    [alarm] = ledger["RED"]["alarms"]
    assert (alarm["detector"], alarm["suspect"], alarm["owner"]) == ("churn", "RED", "BLUE")
    assert ledger["OPS"]["alarms"] == []
    admin = api.headers("OPS", "admin")
    listed = api.client.get("/v1/admin/alarms", headers=admin)
    assert listed.status_code == 200, listed.text
    assert listed.json() == [alarm]
    api.clock.advance(timedelta(hours=2))
    later = api.client.get("/v1/admin/alarms", params={"hours": 1}, headers=api.headers("OPS", "admin"))
    assert later.json() == []


def test_the_alarm_list_is_the_operators(api: Api) -> None:
    assert api.client.get("/v1/admin/alarms", headers=api.headers("RED")).status_code == 403
    assert api.client.get("/v1/admin/alarms").status_code == 401
    admin = api.headers("OPS", "admin")
    for hours in ("0", "-1", "721", "nan", "x"):
        r = api.client.get("/v1/admin/alarms", params={"hours": hours}, headers=admin)
        assert r.status_code == 422, hours
        assert "hours" in r.text


def test_admin_alarms_on_the_command_line(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    store = open_store(db)
    try:
        operations = OperationService(store)
        for party in ("RED", "BLUE"):
            operations.add_party(Party(party, party, PartyKind.MILITARY))
        access = AccessService(store, SystemClock(), operations)
        access.file(circle_op("BLUE", "B1", radius_m=20_000))
        for n in range(4):
            access.file(circle_op("RED", f"P{n}", radius_m=300.0))
            access.transition("RED", f"P{n}", OperationState.CANCELLED, 1)
    finally:
        store.close()
    result = CliRunner().invoke(cli, ["admin", "alarms", "--db", db])
    assert result.exit_code == 0, result.output
    [alarm] = json.loads(result.stdout)
    assert (alarm["detector"], alarm["suspect"], alarm["owner"]) == ("churn", "RED", "BLUE")
    refused = CliRunner().invoke(cli, ["admin", "alarms", "--hours", "0", "--db", db])
    assert refused.exit_code == EXIT_INVALID_INPUT
    assert "hours" in refused.stderr
