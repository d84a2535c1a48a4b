"""Where every party's outbox and audit chain stand, in one cheap read.

The push stream polls this (one small table, one row per party and counter) to learn
which parties have new events, instead of querying every party's outbox; the audit
checkpointer uses it to find chains that grew.
"""

from __future__ import annotations

from typing import Literal

from deconfliction.store.events import PendingAppends
from deconfliction.store.sql import SqlRepo


class HeadsRepo(SqlRepo):
    """Read the per-party counters kept by :mod:`deconfliction.store.events`."""

    def heads(self, counter: Literal["events", "audit"]) -> dict[str, int]:
        """party -> the last number taken from ``counter`` (committed)."""
        self.tx.repo(PendingAppends).flush()
        rows = self._x("SELECT party, value FROM party_counters WHERE counter = ?", (counter,)).fetchall()
        return {r[0]: int(r[1]) for r in rows}
