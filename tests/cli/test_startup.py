"""The command line starts without importing what the command does not need.

Timings are in docs/benchmarks.md ("Command-line start-up"); here, what is imported:
``--help`` imports no command module, and ``tactical detect`` neither the service layer,
the stores, credentials (cryptography) nor the geometry libraries (shapely, pyproj).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from deconfliction.cli import cli
from deconfliction.cli.commands import COMMANDS

HEAVY = ("shapely", "pyproj", "cryptography", "sqlalchemy", "psycopg", "fastapi", "uvicorn", "h3", "httpx")


def _modules_after(args: list[str], tmp_path: Path) -> set[str]:
    """The modules a real ``deconfliction ARGS`` process had imported when it ended."""
    report = tmp_path / "modules.json"
    code = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: open({str(report)!r}, 'w').write(json.dumps(sorted(sys.modules))))\n"
        "from deconfliction.cli import main\n"
        f"sys.argv = ['deconfliction', *{args!r}]\n"
        "main()\n"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False)
    return set(json.loads(report.read_text()))


def test_help_imports_no_command(tmp_path: Path) -> None:
    loaded = _modules_after(["--help"], tmp_path)
    assert "deconfliction.cli" in loaded
    commands = {module for module, _, _ in COMMANDS.values()}
    assert sorted(loaded & commands) == []
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY or m == "numpy") == []


def test_tactical_detect_imports_only_the_detector(tmp_path: Path) -> None:
    states = tmp_path / "two.csv"
    states.write_text(
        "id,party,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps\n"
        "A,blue,10.0,20.0,3000,200,90,0\nB,red,10.0,20.2,3000,200,270,0\n",
        encoding="utf-8",
    )
    loaded = _modules_after(["tactical", "detect", str(states)], tmp_path)
    assert "deconfliction.engine.tactical.detect" in loaded
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY) == []
    assert sorted(m for m in loaded if m.startswith(("deconfliction.service", "deconfliction.store"))) == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    ctx = click.Context(cli)
    command = cli.get_command(ctx, name)
    assert command is not None
    short_help = COMMANDS[name][2]
    assert command.name == name
    assert command.get_short_help_str(limit=1000) == short_help


def test_help_lists_every_command_with_its_line() -> None:
    from click.testing import CliRunner

    out = CliRunner().invoke(cli, ["--help"]).output
    for name in COMMANDS:
        assert f"  {name} " in out
