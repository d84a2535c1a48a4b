"""On PostgreSQL the event hub is woken by the commit's NOTIFY, not by polling: with the
poll set to an hour, an event committed through another connection (another node)
reaches a subscription at once, before and after the listener is up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from deconfliction.api.event_hub import Hub
from deconfliction.store import Party, Store
from deconfliction.store.events import EventsRepo


@pytest.mark.postgres
def test_a_commit_on_another_connection_wakes_the_hub(
    pg_schema_url: str, open_url: Callable[[str], Store]
) -> None:
    store, other = open_url(pg_schema_url), open_url(pg_schema_url)
    with store.transaction() as tx:
        tx.add_party(Party("RED", "Red"))
        tx.add_party(Party("BLUE", "Blue"))

    def write(party: str, n: int) -> None:
        with other.transaction() as tx:
            tx.repo(EventsRepo).append(party, "test", {"n": n}, datetime(2026, 1, 1, tzinfo=UTC))

    async def scenario() -> list[list[int]]:
        hub = Hub(store, poll_s=3600.0)
        assert hub.notified
        red = hub.subscribe("RED", 0)
        got = []
        try:
            for n in (1, 2, 3):
                await asyncio.to_thread(write, "BLUE", n)  # not red's: no batch for red
                await asyncio.to_thread(write, "RED", n)
                events = await asyncio.wait_for(red.queue.get(), timeout=15.0)
                got.append([e.seq for e in events])
        finally:
            hub.unsubscribe(red)
            hub.close()
        return got

    assert asyncio.run(scenario()) == [[1], [2], [3]]
