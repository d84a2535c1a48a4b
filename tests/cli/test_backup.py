"""`deconfliction admin backup` / `restore`: a backup taken while the store is open
restores into an empty store whose audit chains verify and equal the original's."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from click.testing import CliRunner

from builders import circle_op
from deconfliction.cli import cli
from deconfliction.service.access import AccessService
from deconfliction.service.audit import AuditService
from deconfliction.service.clock import SystemClock
from deconfliction.service.signing import load_server_key
from deconfliction.store import Party, open_store
from deconfliction.store.events import AuditRepo


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _chains(url: str) -> dict[str, list[tuple[int, str]]]:
    store = open_store(url)
    try:
        with store.transaction() as tx:
            return {
                p.id: [(e.seq, e.hash) for e in tx.repo(AuditRepo).entries(p.id)] for p in tx.list_parties()
            }
    finally:
        store.close()


def test_backup_and_restore_keep_every_chain(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DECONFLICTION_AUDIT_KEY", str(tmp_path / "audit.key"))
    store = open_store(store_url)
    service = AccessService(store, SystemClock())
    with store.transaction() as tx:
        for party in ("RED", "BLUE", "CIV"):
            tx.add_party(Party(party, party))
    for i in range(5):  # overlapping filings: conflict notices in every pair's chains
        for party in ("RED", "BLUE", "CIV"):
            service.file(circle_op(party, f"{party}-{i}", lon=40.0 + 0.01 * i))
    AuditService(store, load_server_key(tmp_path / "audit.key")).checkpoint("RED")
    out = tmp_path / "store.backup"
    code, output = run("admin", "backup", "--db", store_url, str(out))  # the store is still open
    store.close()
    assert code == 0, output
    before = _chains(store_url)
    assert all(len(chain) >= 5 for chain in before.values()), {p: len(c) for p, c in before.items()}

    code, output = run("admin", "backup", "--db", store_url, str(out))
    assert code != 0  # never overwrites

    if store_url.startswith("sqlite"):
        target = f"sqlite:///{tmp_path / 'restored.sqlite'}"
    else:  # the schema is emptied (dropped), then restored from the dump
        target = store_url
        schema = parse_qs(urlsplit(store_url).query)["options"][0].split("=", 1)[1]
        with psycopg.connect(store_url.split("?")[0], autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    code, output = run("admin", "restore", "--db", target, str(out))
    assert code == 0, output
    report = json.loads(output)
    assert {c["party"]: c["ok"] for c in report["chains"]} == {"RED": True, "BLUE": True, "CIV": True}
    after = _chains(target)
    for party, chain in before.items():  # the same entries, and one fresh checkpoint's worth at most
        assert after[party][: len(chain)] == chain


def test_restore_refuses_a_store_that_is_not_empty(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    open_store(db).close()
    out = tmp_path / "a.backup"
    assert run("admin", "backup", "--db", db, str(out))[0] == 0
    code, output = run("admin", "restore", "--db", db, str(out))
    assert code != 0
    assert "exists" in output
    garbage = tmp_path / "garbage.backup"
    garbage.write_bytes(b"not a database at all" * 100)
    code, output = run("admin", "restore", "--db", f"sqlite:///{tmp_path / 'new.sqlite'}", str(garbage))
    assert code != 0
    assert "not a SQLite backup" in output
