"""Plausibility limits from the command line: `admin party limits` / `admin party show`
with explicit units, and `file` refusing a plan beyond a limit with exit status 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from builders import circle_op
from deconfliction.cli import cli
from deconfliction.cli.errors import EXIT_INVALID_INPUT, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from deconfliction.interop.geojson import document
from deconfliction.store import Store
from deconfliction.store.events import AuditRepo


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _party(db: str, party: str = "RED") -> None:
    assert _run("admin", "party", "add", party, "--name", f"{party} ops", "--db", db)[0] == EXIT_OK


def test_limits_are_set_with_explicit_units_and_shown_in_the_profile(store: Store, store_url: str) -> None:
    _party(store_url)
    code, out, err = _run(
        "admin", "party", "limits", "RED", "--db", store_url,
        "--max-volume-area", "5000km2", "--max-altitude-span", "18km", "--max-duration", "90min",
        "--max-volumes", "10", "--max-claim", "200,000 km2h",
    )  # fmt: skip
    assert code == EXIT_OK, err
    shown = json.loads(out)
    assert shown["limits"] == {
        "max_volume_area_km2": 5000,
        "max_altitude_span_ft": pytest.approx(59_055.118, abs=1e-3),
        "max_duration_h": 1.5,
        "max_volumes": 10,
        "max_claim_km2h": 200_000,
    }
    assert shown["held_km2h"] == 0
    # 'default' puts one back; what is not named stays
    code, out, _ = _run("admin", "party", "limits", "RED", "--db", store_url, "--max-volumes", "default")
    assert json.loads(out)["limits"]["max_volumes"] == 64
    assert json.loads(out)["limits"]["max_duration_h"] == 1.5
    code, out, _ = _run("admin", "party", "show", "RED", "--db", store_url)
    profile = json.loads(out)
    assert (profile["id"], profile["kind"], profile["desks"]) == ("RED", "military", ["duty"])
    assert profile["limits"]["max_altitude_span_ft"] == pytest.approx(59_055.118, abs=1e-3)
    assert profile["set_by_operator"] == [
        "max_altitude_span_ft",
        "max_claim_km2h",
        "max_duration_h",
        "max_volume_area_km2",
    ]
    with store.transaction() as tx:
        kinds = [e.kind for e in tx.repo(AuditRepo).entries("RED")]
    assert kinds.count("party.limits_set") == 2  # showing changes nothing


@pytest.mark.parametrize(
    ("option", "value", "code", "words"),
    [
        ("--max-volume-area", "5000", EXIT_USAGE, "expected a number and a unit"),
        ("--max-volume-area", "5000 acres", EXIT_USAGE, "unknown unit 'acres'"),
        ("--max-claim", "1e400km2h", EXIT_USAGE, "finite"),
        ("--max-duration", "-2h", EXIT_INVALID_INPUT, "max_duration_s: must be a positive finite number"),
        ("--max-volumes", "65", EXIT_INVALID_INPUT, "max_volumes: must be a whole number 1 .. 64"),
        ("--max-volumes", "many", EXIT_USAGE, "expected a whole number"),
    ],
)
def test_bad_limits_are_refused_and_change_nothing(
    tmp_path: Path, option: str, value: str, code: int, words: str
) -> None:
    db = str(tmp_path / "s.sqlite")
    _party(db)
    got, _, err = _run("admin", "party", "limits", "RED", "--db", db, option, value)
    assert got == code, err
    assert words in err
    assert json.loads(_run("admin", "party", "show", "RED", "--db", db)[1])["set_by_operator"] == []


def test_an_unknown_party_is_not_found(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    for command in (["limits", "NOPE", "--max-volumes", "3"], ["limits", "NOPE"], ["show", "NOPE"]):
        code, _, err = _run("admin", "party", *command, "--db", db)
        assert code == EXIT_NOT_FOUND, err
        assert "no party 'NOPE'" in err


def test_file_beyond_a_limit_exits_3_naming_it_and_files_nothing(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    _party(store_url)
    _run("admin", "party", "limits", "RED", "--db", store_url, "--max-duration", "3h")
    plan = [circle_op("RED", "R1"), circle_op("RED", "R2", lon=41.0, hours=4.0)]
    path = tmp_path / "plan.geojson"
    path.write_text(json.dumps(document(plan)), encoding="utf-8")
    code, _, err = _run("file", str(path), "--db", store_url)
    assert code == EXIT_INVALID_INPUT, err
    assert (
        "features[1].properties.volumes[0].time: duration 4 h exceeds this party's limit of 3 h per volume"
        in err
    )
    with store.transaction() as tx:
        assert tx.count_operations() == 0
    _run("admin", "party", "limits", "RED", "--db", store_url, "--max-duration", "default")
    code, _, err = _run("file", str(path), "--db", store_url)
    assert code == EXIT_OK, err
    assert json.loads(_run("admin", "party", "show", "RED", "--db", store_url)[1])[
        "held_km2h"
    ] == pytest.approx(3 * 157.08, rel=2e-3)
