"""Docs are checked: every command and option of the CLI appears in docs/cli.md or the doc it names."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest

from deconfliction.cli import cli
from deconfliction.interop.geojson import VolumeWire, parse_document, volume_from_wire
from deconfliction.interop.quantities import AltitudeWire

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        full = f"{prefix}{name}"
        found.append((full, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{full} "))
    return found


def test_every_command_and_option_is_documented() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    missing = []
    for name, command in _commands(cli):
        if f"deconfliction {name}" not in text:
            missing.append(f"command {name!r}")
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help" and opt not in text:
                    missing.append(f"{name} {opt}")
    assert not missing, f"undocumented in docs/*.md: {missing}"


# -- every example in the docs runs -----------------------------------------------------

ROOT = DOCS.parent
DOCUMENTS = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
ELLIPSES = ("…", "...", "<")  # placeholders mark an example as an illustration, not input


def _blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(rf"```{language}\n(.*?)```", text, re.S):
            found.append((path.name, match.group(1)))
    return found


def _check_wire(value: Any, where: str) -> int:
    """Validate every part of ``value`` that is a wire object we read; return how many."""
    checked = 0
    if isinstance(value, dict):
        if value.get("type") == "FeatureCollection":
            parse_document(value)
            return 1
        if {"geometry", "footprint", "altitude", "time"} <= value.keys():
            volume_from_wire(VolumeWire.model_validate(value))
            return 1
        if {"lower", "upper", "units"} <= value.keys():
            AltitudeWire.model_validate(value).to_domain()
            return 1
        for key, item in value.items():
            checked += _check_wire(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            checked += _check_wire(item, f"{where}[{i}]")
    return checked


JSON_EXAMPLES = [(name, body) for name, body in _blocks("json") if not any(e in body for e in ELLIPSES)]


@pytest.mark.parametrize(
    ("name", "body"), JSON_EXAMPLES, ids=[f"{n}:{i}" for i, (n, _) in enumerate(JSON_EXAMPLES)]
)
def test_json_examples_parse_and_validate(name: str, body: str) -> None:
    _check_wire(json.loads(body), name)


def test_the_documented_request_bodies_are_checked() -> None:
    # The walk above really reaches the operations file and the API's filing body.
    assert sum(_check_wire(json.loads(body), name) for name, body in JSON_EXAMPLES) >= 2


def _shell_commands() -> list[tuple[str, str]]:
    found = []
    for name, body in _blocks("sh") + _blocks(""):
        for line in body.replace("\\\n", " ").splitlines():
            line = line.split("  #", 1)[0].strip()
            if line.startswith("deconfliction ") and not any(c in line for c in "[<…"):
                found.append((name, line))
    return found


SHELL_EXAMPLES = _shell_commands()


@pytest.mark.parametrize(("name", "line"), SHELL_EXAMPLES, ids=[line for _, line in SHELL_EXAMPLES])
def test_shell_examples_parse_with_the_cli(name: str, line: str, tmp_path: Path, monkeypatch) -> None:
    """Each documented command line names real commands and options with valid values."""
    monkeypatch.chdir(tmp_path)
    args = shlex.split(line)[1:]
    for arg in args:  # files the command reads must exist for click to accept the line
        if re.fullmatch(r"[\w./-]+\.(csv|pem|json|geojson|backup|key|crt)", arg):
            (tmp_path / arg).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / arg).write_text("{}")
    command: click.Command = cli
    if args == ["--help"]:
        with pytest.raises(click.exceptions.Exit) as done:
            command.make_context("deconfliction", args)
        assert done.value.exit_code == 0
        return
    ctx = command.make_context("deconfliction", list(args))
    # click keeps the subcommand's name apart from its arguments (``_protected_args``)
    while isinstance(command, click.Group) and ctx._protected_args + ctx.args:
        rest = [*ctx._protected_args, *ctx.args]
        _, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None, f"{name}: {line}"
        command = sub
        ctx = command.make_context(command.name, rest, parent=ctx)


def test_the_shell_examples_are_found() -> None:
    assert any("admin policy set" in line for _, line in SHELL_EXAMPLES)
    assert any("check " in line for _, line in SHELL_EXAMPLES)


# -- docs describe the system as it is -------------------------------------------------

#: "session 5", "sessions 10 and 12", "issue 3", "(issue #22)": history, which belongs in
#: docs/decisions/. A PostgreSQL session (no number after it) is not matched.
HISTORY = re.compile(r"\b(sessions?|issues?)\s+#?\d+", re.IGNORECASE)


def test_no_document_speaks_of_sessions_or_issue_numbers() -> None:
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in DOCUMENTS
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if HISTORY.search(line)
    ]
    assert found == []


def test_the_history_pattern_catches_what_it_should() -> None:
    assert HISTORY.search("Session 13 (2026-11-27): a slow machine")
    assert HISTORY.search("as sessions 10 and 12 did")
    assert HISTORY.search("## Service load (issue 3)")
    assert not HISTORY.search("Sessions run with max_parallel_workers_per_gather = 0")
