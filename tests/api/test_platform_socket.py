"""Over a real socket: parties set up with `deconfliction admin`, then the Python client
against `deconfliction serve` — file, see conflicts as allowed, acknowledge, activate."""

from __future__ import annotations

import functools
import random
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apihelpers import filing

from at_once import run_at_once
from builders import circle_op
from deconfliction.client import ApiError, Client
from deconfliction.engine.operation import Operation
from deconfliction.service.audit_verify import verify_export
from served import Server

BIN = str(Path(sys.executable).parent / "deconfliction")


def _admin(db: str, *args: str) -> str:
    done = subprocess.run([BIN, "admin", *args, "--db", db], capture_output=True, text=True, check=True)
    return done.stdout


def _credential(db: str, party: str, scopes: str) -> tuple[str, str]:
    out = _admin(db, "credential", "create", party, "--scopes", scopes)
    fields = dict(line.split(":", 1) for line in out.splitlines())
    return fields["client_id"].strip(), fields["client_secret"].strip()


@pytest.fixture
def served(store_url: str, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A server on each backend (the store fixtures' empty SQLite file or PostgreSQL schema)."""
    db = store_url
    _admin(db, "party", "add", "RED", "--name", "Red", "--kind", "military", "--language", "ru")
    _admin(db, "party", "add", "BLUE", "--name", "Blue", "--kind", "military")
    _admin(db, "party", "add", "CIV", "--name", "Civil ANSP", "--kind", "civil", "--language", "ar")
    _admin(db, "policy", "set", "RED", "BLUE", "--horizontal-nm", "3", "--min-lead-min", "60")
    server = Server(db, tmp_path).start()
    try:
        yield server, db
    finally:
        server.stop()


def test_two_rivals_and_a_civil_party_over_http(served: tuple[Server, str], tmp_path: Path) -> None:
    server, db = served
    assert stat.S_IMODE((tmp_path / "token.key").stat().st_mode) == 0o600
    clients = {p: Client(server.url, *_credential(db, p, "read,file")) for p in ("RED", "BLUE", "CIV")}
    red, blue, civ = clients["RED"], clients["BLUE"], clients["CIV"]
    try:
        start = datetime.now(UTC) + timedelta(hours=3)
        red.file_operation(filing(circle_op("RED", "R1", start=start), purpose="red plan"))
        red.accept("R1", 1)
        late = blue.file_operation(
            filing(circle_op("BLUE", "B1", lon=40.05, start=start - timedelta(hours=2.5), hours=4))
        )
        assert late["operation"]["notice"]["late_for"] == ["RED"]  # 30 min < the agreed 60
        [seen] = red.conflicts()
        assert seen["other_party"] == "BLUE"
        assert civ.conflicts() == []
        with pytest.raises(ApiError) as refused:
            red.activate("R1", 2)
        assert refused.value.status == 409
        red.acknowledge(seen["reference"])
        assert red.activate("R1", 2)["operation"]["state"] == "activated"
        with pytest.raises(ApiError) as hidden:
            civ.operation("R1")
        assert hidden.value.status == 404
        assert "red plan" not in str(blue.conflicts())
    finally:
        for client in clients.values():
            client.close()


def test_revocation_from_the_cli_stops_a_live_client(served: tuple[Server, str]) -> None:
    server, db = served
    client_id, secret = _credential(db, "CIV", "read")
    with Client(server.url, client_id, secret) as civ:
        assert civ.whoami()["party"] == "CIV"
        _admin(db, "credential", "revoke", client_id)
        with pytest.raises(ApiError) as revoked:
            civ.operations()
        assert revoked.value.status == 401


def test_parties_filing_at_once_over_http_each_see_every_conflict_once(served: tuple[Server, str]) -> None:
    """Two clients per party file at the same time (the server files filings that wait
    together, docs/decisions/0013): every filing is stored with its audit entry, and each
    conflict is reported to the later of its two filings and stored for both sides."""
    server, db = served
    credentials = {p: _credential(db, p, "read,file") for p in ("RED", "BLUE", "CIV")}
    rng = random.Random(8)
    start = datetime.now(UTC) + timedelta(hours=3)
    work = [
        [
            circle_op(
                party,
                f"{party}-{t}-{k}",
                lat=35.0 + rng.uniform(0.0, 0.3),
                lon=40.0 + rng.uniform(0.0, 0.3),
                fl=(fl := rng.randrange(100, 200, 10), fl + 20),
                start=start + timedelta(hours=rng.uniform(0.0, 3.0)),
            )
            for k in range(12)
        ]
        for party in credentials
        for t in range(2)  # the server admits two requests in flight per party
    ]
    responses: list[dict[str, Any]] = []

    def file_all(operations: list[Operation]) -> None:
        with Client(server.url, *credentials[operations[0].party]) as client:
            for op in operations:
                responses.append(client.file_operation(filing(op)))

    assert run_at_once([functools.partial(file_all, ops) for ops in work], timeout_s=120) == []
    assert len(responses) == 72
    reported = [c["reference"] for r in responses for c in r["conflicts"]]
    assert len(reported) == len(set(reported)) > 10
    stored: set[str] = set()
    for party, (client_id, secret) in credentials.items():
        with Client(server.url, client_id, secret) as client:
            stored |= {c["reference"] for c in client.conflicts()}
            export = client.audit_export()
            assert verify_export(export, [k["public_key"] for k in client.audit_keys()]).ok
            filed = [e for e in export["entries"] if e["kind"] == "operation.filed"]
            assert len(filed) == 24, party
    assert stored == set(reported)
