"""The ``deconfliction`` command line: a thin edge over the service layer.

Each command group lives in its own module and is registered here; errors from
the one exception tree are mapped to exit codes in :mod:`deconfliction.cli.errors`.
"""

from __future__ import annotations

import click

from deconfliction import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deconfliction")
def cli() -> None:
    """Deconfliction between parties who share airspace but not trust.

    File 4D operations, learn where and when they conflict, and keep a record.
    """


def _register() -> None:
    # Imported here so that `deconfliction --help` lists every command while each
    # command module stays independent of the others.
    from deconfliction.cli import commands

    for command in commands.ALL:
        cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    _register()
    cli(prog_name="deconfliction")
