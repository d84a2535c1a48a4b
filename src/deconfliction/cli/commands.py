"""The list of top-level commands, in the order ``--help`` shows them."""

from __future__ import annotations

import click

ALL: list[click.Command] = []
