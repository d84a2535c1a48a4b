"""Settings read from the environment, with their defaults."""

from __future__ import annotations

import os
from typing import Final

#: Environment variable naming the store; a SQLite path or a postgresql:// URL.
DB_ENV: Final = "DECONFLICTION_DB"
#: The embedded default store: a SQLite file in the working directory.
DEFAULT_DB: Final = "deconfliction.sqlite"


def database_url(explicit: str | None = None) -> str:
    """The store to use: ``explicit`` if given, else ``$DECONFLICTION_DB``, else the default."""
    return explicit or os.environ.get(DB_ENV) or DEFAULT_DB
