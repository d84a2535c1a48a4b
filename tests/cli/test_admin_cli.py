"""`deconfliction admin`: parties, desks, credentials and policies from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from deconfliction.cli import cli
from deconfliction.cli.errors import EXIT_INVALID_INPUT, EXIT_NOT_FOUND, EXIT_STATE_CONFLICT
from deconfliction.service.credentials import authenticate
from deconfliction.store import open_store
from deconfliction.store.auth import CredentialsRepo, DesksRepo
from deconfliction.store.policy import PoliciesRepo


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_set_up_two_rivals_and_a_civil_party(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    assert (
        _run(
            "admin",
            "party",
            "add",
            "RED",
            "--name",
            "Red",
            "--kind",
            "military",
            "--language",
            "ru",
            "--db",
            db,
        )[0]
        == 0
    )
    assert _run("admin", "party", "add", "BLUE", "--name", "Blue", "--db", db)[0] == 0
    assert (
        _run(
            "admin",
            "party",
            "add",
            "CIV",
            "--name",
            "Civil ANSP",
            "--kind",
            "civil",
            "--language",
            "ar",
            "--db",
            db,
        )[0]
        == 0
    )
    code, out, _ = _run("admin", "party", "add", "RED", "--name", "again", "--db", db)
    assert code == EXIT_STATE_CONFLICT
    code, out, _ = _run(
        "admin", "desk", "add", "RED", "night", "--language", "ru", "--escalate-to", "duty", "--db", db
    )
    assert code == 0, out
    code, out, _ = _run("admin", "desk", "add", "NOPE", "night", "--language", "ru", "--db", db)
    assert code == EXIT_NOT_FOUND

    code, out, err = _run("admin", "credential", "create", "RED", "--scopes", "read,file,message", "--db", db)
    assert code == 0, err
    lines = dict(line.split(":", 1) for line in out.splitlines())
    client_id, secret = lines["client_id"].strip(), lines["client_secret"].strip()
    code, _, err = _run("admin", "credential", "create", "RED", "--scopes", "read,root", "--db", db)
    assert code == EXIT_INVALID_INPUT
    assert "root" in err

    code, out, _ = _run(
        "admin",
        "policy",
        "set",
        "RED",
        "BLUE",
        "--horizontal-nm",
        "3",
        "--vertical-ft",
        "1000",
        "--time-s",
        "600",
        "--min-lead-min",
        "30",
        "--visibility",
        "window",
        "--b-sees",
        "overlap",
        "--db",
        db,
    )
    assert code == 0, out
    shown = json.loads(_run("admin", "policy", "show", "BLUE", "RED", "--db", db)[1])
    assert shown["min_lead_s"] == 1800
    assert shown["minima"]["time_s"] == 600
    assert shown["sees"] == {"RED": "window", "BLUE": "overlap"}

    listed = json.loads(_run("admin", "credential", "list", "--party", "RED", "--db", db)[1])
    assert [c["client_id"] for c in listed] == [client_id]
    assert secret not in json.dumps(listed)
    parties = json.loads(_run("admin", "party", "list", "--db", db)[1])
    assert [p["id"] for p in parties] == ["BLUE", "CIV", "RED"]
    desks = json.loads(_run("admin", "desk", "list", "RED", "--db", db)[1])
    assert [d["desk"] for d in desks] == ["duty", "night"]

    store = open_store(db)
    try:
        assert authenticate(store, client_id, secret).party == "RED"
        with store.transaction() as tx:
            assert tx.repo(DesksRepo).get("CIV", "duty").language == "ar"
            assert tx.repo(PoliciesRepo).get("RED", "BLUE").min_lead_s == 1800
        assert _run("admin", "credential", "revoke", client_id, "--db", db)[0] == 0
        with store.transaction() as tx:
            assert not tx.repo(CredentialsRepo).get(client_id).active
    finally:
        store.close()


def test_link_a_uss_to_a_party(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    assert _run("admin", "party", "add", "SKYCO", "--name", "Sky", "--kind", "uas", "--db", db)[0] == 0
    code, _, err = _run("admin", "uss", "link", "uss1", "NOBODY", "--db", db)
    assert code == EXIT_NOT_FOUND, err
    code, out, err = _run("admin", "uss", "link", "uss1", "SKYCO", "--db", db)
    assert code == 0, err
    assert "uss1" in out
    assert "SKYCO" in out
    code, out, _ = _run("admin", "uss", "list", "--db", db)
    assert json.loads(out) == [{"client_id": "uss1", "party": "SKYCO"}]
    assert _run("admin", "uss", "link", "x" * 300, "SKYCO", "--db", db)[0] == EXIT_INVALID_INPUT
    assert _run("admin", "uss", "unlink", "uss1", "--db", db)[0] == 0
    assert _run("admin", "uss", "unlink", "uss1", "--db", db)[0] == EXIT_NOT_FOUND
    assert json.loads(_run("admin", "uss", "list", "--db", db)[1]) == []


def test_without_db_the_default_store_is_named_on_stderr(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DECONFLICTION_DB", raising=False)
    code, _, err = _run("admin", "party", "add", "RED", "--name", "Red")
    assert code == 0
    assert f"creating the store {tmp_path.resolve() / 'deconfliction.sqlite'}" in err
    code, _, err = _run("admin", "party", "add", "BLUE", "--name", "Blue")
    assert "using the store" in err
    monkeypatch.setenv("DECONFLICTION_DB", str(tmp_path / "other.sqlite"))
    code, _, err = _run("admin", "party", "add", "CIV", "--name", "Civil")
    assert code == 0
    assert "note:" not in err


def test_policy_minima_take_the_units_a_user_gives(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    for party in ("RED", "BLUE"):
        assert _run("admin", "party", "add", party, "--name", party, "--db", db)[0] == 0
    args = ("admin", "policy", "set", "RED", "BLUE", "--db", db)
    code, out, err = _run(*args, "--horizontal", "9260m", "--vertical", "1000ft", "--time", "5min")
    assert code == 0, err
    minima = json.loads(out)["minima"]
    assert minima == {"horizontal_m": 9260.0, "vertical_m": 304.8, "time_s": 300.0}
    code, out, _ = _run(*args, "--horizontal", "3nm")
    assert json.loads(out)["minima"]["horizontal_m"] == 3 * 1852.0
    assert json.loads(out)["minima"]["vertical_m"] == 304.8  # what is not given stays
    code, _, err = _run(*args, "--horizontal", "5")
    assert code == 2
    assert "'5' is not a length with its unit" in err
    code, _, err = _run(*args, "--vertical", "1000 furlongs")
    assert code == 2
    assert "units: m, km, ft, nm, NM" in err
