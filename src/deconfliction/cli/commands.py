"""The list of top-level commands, in the order ``--help`` shows them."""

from __future__ import annotations

import click

from deconfliction.cli.tactical import tactical

ALL: list[click.Command] = []
ALL.append(tactical)
