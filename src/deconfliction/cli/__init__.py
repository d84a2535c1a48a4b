"""The ``deconfliction`` command line: a thin edge over the service layer.

Each command group lives in its own module, listed in :mod:`deconfliction.cli.commands`
and imported only when that command runs; errors from the one exception tree are mapped
to exit codes in :mod:`deconfliction.cli.errors`.
"""

from __future__ import annotations

import click

from deconfliction import __version__
from deconfliction.cli.commands import LazyGroup


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deconfliction")
def cli() -> None:
    """Deconfliction between parties who share airspace but not trust.

    File 4D operations, learn where and when they conflict, and keep a record.
    """


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="deconfliction")
