"""Outbox and audit chain repositories on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deconfliction.errors import NotFound
from deconfliction.store import Store
from deconfliction.store.base import Party
from deconfliction.store.events import GENESIS, AuditRepo, EventsRepo, entry_hash

T = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def parties(store: Store) -> Store:
    with store.transaction() as tx:
        tx.add_party(Party("RED", "Red"))
        tx.add_party(Party("BLUE", "Blue"))
    return store


def test_events_are_numbered_per_party_and_read_after_an_id(parties: Store) -> None:
    with parties.transaction() as tx:
        events = tx.repo(EventsRepo)
        for i in range(3):
            events.append("RED", "test", {"i": i}, T + timedelta(seconds=i))
        events.append("BLUE", "test", {"i": 9}, T)
    with parties.transaction() as tx:
        events = tx.repo(EventsRepo)
        assert [e.seq for e in events.after("RED", 0)] == [1, 2, 3]
        assert [e.payload["i"] for e in events.after("RED", 1)] == [1, 2]
        assert [e.seq for e in events.after("BLUE", 0)] == [1]
        assert events.last_seq("RED") == 3


def test_a_rolled_back_change_leaves_no_event(parties: Store) -> None:
    def crash_after_append() -> None:
        with parties.transaction() as tx:
            tx.repo(EventsRepo).append("RED", "test", {}, T)
            tx.repo(AuditRepo).append("RED", "test", "RED", {}, T)
            raise RuntimeError("crash after the append, before commit")

    with pytest.raises(RuntimeError):
        crash_after_append()
    with parties.transaction() as tx:
        assert tx.repo(EventsRepo).after("RED", 0) == []
        assert tx.repo(AuditRepo).head("RED") == (0, GENESIS)
        # Numbering restarts where the committed state left it: no gap.
        assert tx.repo(EventsRepo).append("RED", "test", {}, T).seq == 1


def test_audit_entries_chain(parties: Store) -> None:
    with parties.transaction() as tx:
        audit = tx.repo(AuditRepo)
        first = audit.append("RED", "operation.filed", "RED", {"op": "R1"}, T)
        second = audit.append("RED", "message.sent", "RED", {"to": "BLUE"}, T)
    assert first.prev == GENESIS
    assert second.prev == first.hash
    assert second.hash == entry_hash(
        2, first.hash, "2026-01-01T00:00:00Z", "message.sent", "RED", second.body_hash
    )
    with parties.transaction() as tx:
        audit = tx.repo(AuditRepo)
        assert [e.hash for e in audit.entries("RED")] == [first.hash, second.hash]
        assert audit.head("RED") == (2, second.hash)


def test_unknown_party(parties: Store) -> None:
    with pytest.raises(NotFound), parties.transaction() as tx:
        tx.repo(EventsRepo).append("GHOST", "test", {}, T)
