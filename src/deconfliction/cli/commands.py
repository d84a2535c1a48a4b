"""The top-level commands, each imported only when it runs (or its own --help is asked).

A command module pulls in what its command needs (the service layer, credentials,
pyproj, the HTTP server...), which takes most of a second; ``deconfliction --help`` and a
command that needs none of it should not pay for the others. So the group knows each
command by its module and its one-line help, and imports the module when the command is
resolved. ``tests/cli/test_startup.py`` checks the lines against the commands' own help.
"""

from __future__ import annotations

import importlib
from typing import Final

import click

#: name -> (module, attribute, the command's one-line help as ``--help`` lists it)
COMMANDS: Final[dict[str, tuple[str, str, str]]] = {
    "admin": (
        "deconfliction.cli.admin",
        "admin",
        "Set up parties, duty desks, credentials and pair policies; list probe alarms.",
    ),
    "audit": (
        "deconfliction.cli.audit",
        "audit",
        "The tamper-evident audit log: export, verify offline, sign checkpoints, party keys.",
    ),
    "check": ("deconfliction.cli.check", "check", "Check the operations in FILE.geojson for conflicts."),
    "demo": (
        "deconfliction.cli.demo",
        "demo",
        "File a day of operations by two rival forces and a civil ANSP over eastern Syria, then replay "
        "real recorded flights against the operations under way.",
    ),
    "file": (
        "deconfliction.cli.file",
        "file_operations",
        "File the operations in FILE.geojson into a store, all or none.",
    ),
    "disclosures": (
        "deconfliction.cli.disclosures",
        "disclosures",
        "What each other party has learned of your plans over the last 24 hours: cells, area, band-hours, "
        "the budget used and left, and the probing alarms raised.",
    ),
    "hotline": (
        "deconfliction.cli.hotline",
        "hotline",
        "Messages between parties' duty desks (docs/hotline.md).",
    ),
    "private": (
        "deconfliction.cli.private",
        "private",
        "Private mode: find shared cells with a rival by private set intersection.",
    ),
    "serve": (
        "deconfliction.cli.serve",
        "serve",
        "Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs).",
    ),
    "tactical": (
        "deconfliction.cli.tactical",
        "tactical",
        "Live tracks: conflict detection between tracks, replay of recorded feeds.",
    ),
}


def _shortened(text: str, width: int) -> str:
    """``text`` cut at a word to fit ``width`` with "...", as click shortens a command's help."""
    if len(text) <= width:
        return text
    kept = ""
    for word in text.split():
        if len(kept) + 1 + len(word) + 3 > width:
            break
        kept = f"{kept} {word}".lstrip()
    return kept.rstrip(",;:") + "..."


class LazyGroup(click.Group):
    """A click group whose commands in :data:`COMMANDS` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module, attribute, _ = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table, without importing any command."""
        width = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = []
        for name in self.list_commands(ctx):
            if name in COMMANDS and name not in self.commands:
                rows.append((name, _shortened(COMMANDS[name][2], width)))
            else:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(width)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
