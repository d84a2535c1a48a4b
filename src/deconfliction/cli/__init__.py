"""The ``deconfliction`` command line: a thin edge over the service layer.

Each command group lives in its own module and is listed in
:mod:`deconfliction.cli.commands`; errors from the one exception tree are mapped to
exit codes in :mod:`deconfliction.cli.errors`.
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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="deconfliction")


# Registered after the group exists: command modules import only cli.errors and lower
# layers, never this module, so there is no cycle.
from deconfliction.cli.commands import ALL  # noqa: E402

for _command in ALL:
    cli.add_command(_command)
