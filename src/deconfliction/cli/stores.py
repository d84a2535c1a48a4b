"""Which store a command opens, said out loud when it is the default."""

from __future__ import annotations

import os
from pathlib import Path

import click

from deconfliction.settings import DB_ENV, DEFAULT_DB, database_url


def store_url(explicit: str | None) -> str:
    """The store for ``--db`` (``explicit``), ``$DECONFLICTION_DB`` or the default.

    When neither is given the command works on ``./deconfliction.sqlite``; a note on stderr
    says so (and whether the file is being created), so that a forgotten ``--db`` does not
    silently start a second, empty store in whatever directory the shell was in.
    """
    url = database_url(explicit)
    if not explicit and not os.environ.get(DB_ENV):
        path = Path(DEFAULT_DB).resolve()
        verb = "using" if path.exists() else "creating"
        click.echo(f"note: no --db and no ${DB_ENV}: {verb} the store {path}", err=True)
    return url
