"""`deconfliction file`: a GeoJSON file's operations filed into a store, all or none."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from builders import circle_op
from deconfliction.cli import cli
from deconfliction.cli.errors import (
    EXIT_CONFLICTS_FOUND,
    EXIT_INVALID_INPUT,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_STATE_CONFLICT,
)
from deconfliction.engine.operation import OperationState
from deconfliction.interop.geojson import document
from deconfliction.service import OperationService
from deconfliction.store import Store
from deconfliction.store.base import Party
from deconfliction.store.events import AuditRepo, EventsRepo


def _setup(store: Store) -> OperationService:
    service = OperationService(store)
    for party in ("BLUE", "RED", "CIV"):
        service.add_party(Party(party, f"{party} ops"))
    service.file(circle_op("BLUE", "B1"))
    return service


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "plan.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _state(store: Store) -> tuple[list[tuple[str, str]], int, int]:
    with store.transaction() as tx:
        ops = [o.key for o in tx.list_operations()]
        events = tx.repo(EventsRepo).last_seq("BLUE")
        audit = len(tx.repo(AuditRepo).entries("RED"))
    return ops, events, audit


def test_file_stores_every_operation_with_its_conflicts_and_records(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    service = _setup(store)
    plan = [
        circle_op("RED", "R1", lon=40.05),  # conflicts with the stored B1
        circle_op("RED", "R2", lon=42.0),  # far from everything
        circle_op("CIV", "C1", lon=42.05),  # conflicts with R2, filed before it in the file
    ]
    path = _write(tmp_path, document(plan))
    result = CliRunner().invoke(cli, ["file", str(path), "--db", store_url, "--json"])
    assert result.exit_code == EXIT_CONFLICTS_FOUND, result.output
    payload = json.loads(result.output)
    pairs = {frozenset((c["a"]["operation_id"], c["b"]["operation_id"])) for c in payload["conflicts"]}
    assert pairs == {frozenset({"R1", "B1"}), frozenset({"C1", "R2"})}
    assert payload["count"] == 2
    assert [o.id for o in service.operations()] == ["B1", "C1", "R1", "R2"]
    assert [(c.a.id, c.b.id) for c in service.conflicts("BLUE")] == [("B1", "R1")]
    with store.transaction() as tx:
        assert [e.kind for e in tx.repo(EventsRepo).after("BLUE", 0)] == ["conflict.notice"]
        assert [e.kind for e in tx.repo(AuditRepo).entries("RED")].count("operation.filed") == 2
    # a second run names the id already filed and changes nothing
    before = _state(store)
    again = CliRunner().invoke(cli, ["file", str(path), "--db", store_url])
    assert again.exit_code == EXIT_STATE_CONFLICT
    assert "features[0]: operation 'R1' of party 'RED' already exists" in again.output
    assert _state(store) == before


def test_file_without_conflicts_exits_0(store: Store, store_url: str, tmp_path: Path) -> None:
    _setup(store)
    path = _write(tmp_path, document([circle_op("RED", "R1", lon=44.0)]))
    result = CliRunner().invoke(cli, ["file", str(path), "--db", store_url])
    assert result.exit_code == EXIT_OK, result.output
    assert "1 operations from" in result.output
    assert "No conflicts" in result.output


def test_bad_input_or_an_unknown_party_files_nothing(store: Store, store_url: str, tmp_path: Path) -> None:
    _setup(store)
    before = _state(store)
    bad = document([circle_op("RED", "R1", lon=40.05), circle_op("RED", "R2")])
    bad["features"][1]["properties"]["altitude"]["units"] = "cubits"
    result = CliRunner().invoke(cli, ["file", str(_write(tmp_path, bad)), "--db", store_url])
    assert result.exit_code == EXIT_INVALID_INPUT, result.output
    assert "altitude.units" in result.output
    assert _state(store) == before
    # a state other than proposed is reached through the lifecycle, not filed
    accepted = document([replace(circle_op("RED", "R1", lon=40.05), state=OperationState.ACCEPTED)])
    result = CliRunner().invoke(cli, ["file", str(_write(tmp_path, accepted)), "--db", store_url])
    assert result.exit_code == EXIT_INVALID_INPUT, result.output
    # paths are the file's own, as every other error about the file names them
    assert "features[0].properties.state: a new operation is filed as proposed" in result.output
    assert _state(store) == before
    # RED's operation goes in first, then the unknown party fails the whole transaction
    unknown = document([circle_op("RED", "R1", lon=40.05), circle_op("NOBODY", "N1")])
    result = CliRunner().invoke(cli, ["file", str(_write(tmp_path, unknown)), "--db", store_url])
    assert result.exit_code == EXIT_NOT_FOUND, result.output
    assert "features[1].properties.party: no party 'NOBODY'" in result.output
    assert _state(store) == before


def test_too_many_operations_are_refused_before_any_feature_is_validated(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    _setup(store)
    before = _state(store)
    feature = document([circle_op("RED", "R0")])["features"][0]
    feature["properties"]["altitude"]["units"] = "cubits"  # would be an error, if it were read
    features = [
        {**feature, "properties": {**feature["properties"], "operation_id": f"R{n}"}} for n in range(1001)
    ]
    data = {"type": "FeatureCollection", "features": features}
    result = CliRunner().invoke(cli, ["file", str(_write(tmp_path, data)), "--db", store_url])
    assert result.exit_code == EXIT_INVALID_INPUT, result.output
    assert "features: 1,001 operations exceed the limit of 1,000 per filing" in result.output
    assert "cubits" not in result.output
    assert _state(store) == before
