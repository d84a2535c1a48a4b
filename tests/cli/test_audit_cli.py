"""`deconfliction audit`: export, offline verify (exit codes, pinpointed findings), keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from deconfliction.cli import cli
from deconfliction.store import Party, open_store
from deconfliction.store.events import AuditRepo
from deconfliction.store.signing import PartyKeysRepo


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DECONFLICTION_AUDIT_KEY", str(tmp_path / "audit.key"))
    path = str(tmp_path / "store.sqlite")
    store = open_store(path)
    with store.transaction() as tx:
        tx.add_party(Party("RED", "Red"))
        tx.add_party(Party("BLUE", "Blue"))
        t = datetime(2026, 1, 1, tzinfo=UTC)
        for i in range(4):
            body = {"parties": ["BLUE", "RED"], "message": f"M{i}"}
            tx.repo(AuditRepo).append("RED", "message.sent", "RED", body, t + timedelta(seconds=i))
            tx.repo(AuditRepo).append("BLUE", "message.received", "RED", body, t + timedelta(seconds=i))
    store.close()
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_export_verify_and_cross_verify(db: str, tmp_path: Path) -> None:
    red, blue, keys = (str(tmp_path / n) for n in ("red.json", "blue.json", "keys.json"))
    assert run("audit", "export", "--db", db, "--party", "RED", "--out", red)[0] == 0
    assert run("audit", "export", "--db", db, "--party", "BLUE", "--out", blue)[0] == 0
    code, out = run("audit", "server-key", "--db", db)
    assert code == 0
    Path(keys).write_text(out)
    code, out = run("audit", "verify", red, "--against", blue, "--server-key", keys)
    assert code == 0, out
    assert "RED against BLUE: agree" in out
    doc = json.loads(Path(blue).read_text())
    doc["entries"][2]["body"]["message"] = "M9"
    Path(blue).write_text(json.dumps(doc))
    code, out = run("audit", "verify", red, "--against", blue, "--server-key", keys)
    assert code == 1
    assert "seq 3: body altered" in out
    assert "RED against BLUE: DISAGREE" in out
    assert "seq 3: concerns BLUE but BLUE's export has no entry with this body" in out
    # A key other than the pinned one.
    code, out = run("audit", "verify", red, "--server-key", "A" * 43)
    assert code == 1
    assert "not a trusted server key" in out


def test_verify_refuses_what_is_not_an_export(tmp_path: Path) -> None:
    assert run("audit", "verify", str(tmp_path / "missing.json"))[0] == 3
    (tmp_path / "x.json").write_text('{"format": "something else"}')
    code, out = run("audit", "verify", str(tmp_path / "x.json"))
    assert code == 3
    assert "not an audit export" in out


def test_party_keys_and_checkpoints_from_the_cli(db: str, tmp_path: Path) -> None:
    code, public = run("audit", "keygen", "--out", str(tmp_path / "blue.pem"))
    assert code == 0
    assert (tmp_path / "blue.pem").stat().st_mode & 0o777 == 0o600
    assert run("audit", "keygen", "--out", str(tmp_path / "blue.pem"))[0] == 3  # never overwrites
    code, out = run("audit", "register-key", "--db", db, "--party", "BLUE", "--public-key", public.strip())
    assert code == 0, out
    assert run("audit", "register-key", "--db", db, "--party", "BLUE", "--public-key", public.strip())[0] == 5
    assert run("audit", "register-key", "--db", db, "--party", "NOPE", "--public-key", public.strip())[0] == 4
    assert run("audit", "register-key", "--db", db, "--party", "BLUE", "--public-key", "xx")[0] == 3
    store = open_store(db)
    with store.transaction() as tx:
        (key,) = tx.repo(PartyKeysRepo).of("BLUE")
    store.close()
    assert run("audit", "revoke-key", "--db", db, "--party", "BLUE", "--key-id", key.key_id)[0] == 0
    assert run("audit", "revoke-key", "--db", db, "--party", "BLUE", "--key-id", key.key_id)[0] == 4
    code, out = run("audit", "checkpoint", "--db", db)
    assert code == 0
    assert "BLUE: seq 6" in out  # 4 messages + registration + revocation
    assert "RED: seq 4" in out
