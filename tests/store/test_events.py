"""Outbox and audit chain repositories on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deconfliction.errors import NotFound
from deconfliction.store import Store
from deconfliction.store.base import Party
from deconfliction.store.events import GENESIS, AuditEntry, AuditRepo, EventsRepo, entry_hash

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


def test_appending_together_numbers_and_links_as_appending_one_by_one(parties: Store) -> None:
    """Entries appended together for several parties get the numbers, links and hashes the
    same entries get appended one at a time (the hash does not name the party, so the
    twin parties' chains must be identical)."""
    with parties.transaction() as tx:
        tx.add_party(Party("RED2", "Red twin"))
        tx.add_party(Party("BLUE2", "Blue twin"))
        tx.repo(AuditRepo).append("RED", "first", "RED", {"n": 0}, T)  # heads not at genesis
        tx.repo(AuditRepo).append("RED2", "first", "RED", {"n": 0}, T)
        tx.repo(EventsRepo).append("BLUE", "first", {}, T)
        tx.repo(EventsRepo).append("BLUE2", "first", {}, T)
    items = [("RED", "a", {"n": 1}), ("BLUE", "b", {"n": 2}), ("RED", "c", {"n": 3}), ("RED", "d", {"n": 4})]
    with parties.transaction() as tx:
        together = tx.repo(AuditRepo).append_many([(p, k, "RED", b) for p, k, b in items], T)
        events = tx.repo(EventsRepo).append_many(items, T)
    with parties.transaction() as tx:
        one_by_one = [tx.repo(AuditRepo).append(p + "2", k, "RED", b, T) for p, k, b in items]
        for p, k, b in items:
            tx.repo(EventsRepo).append(p + "2", k, b, T)
    assert [(e.seq, e.prev, e.hash) for e in together] == [(e.seq, e.prev, e.hash) for e in one_by_one]
    assert [(e.party, e.seq) for e in events] == [("RED", 1), ("BLUE", 2), ("RED", 2), ("RED", 3)]
    with parties.transaction() as tx:
        audit = tx.repo(AuditRepo)
        for party in ("RED", "BLUE"):
            assert audit.entries(party) == [
                AuditEntry(party, e.seq, e.at, e.kind, e.actor, e.body, e.body_hash, e.prev, e.hash)
                for e in audit.entries(party + "2")
            ]
            assert audit.head(party) == audit.head(party + "2")
            stored = [(e.seq, e.kind, e.payload) for e in tx.repo(EventsRepo).after(party, 0)]
            assert stored == [(e.seq, e.kind, e.payload) for e in tx.repo(EventsRepo).after(party + "2", 0)]
        assert [e.seq for e in audit.entries("RED")] == [1, 2, 3, 4]
