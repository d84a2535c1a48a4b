"""Outbox and audit chain repositories on every backend."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from at_once import run_at_once
from deconfliction.engine.minima import Minima
from deconfliction.errors import NotFound, StoreUnavailable
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
        tx.repo(EventsRepo).append("RED", "test", {}, T)
        assert [e.seq for e in tx.repo(EventsRepo).after("RED", 0)] == [1]


def test_audit_entries_chain(parties: Store) -> None:
    with parties.transaction() as tx:
        audit = tx.repo(AuditRepo)
        audit.append("RED", "operation.filed", "RED", {"op": "R1"}, T)
        audit.append("RED", "message.sent", "RED", {"to": "BLUE"}, T)
    with parties.transaction() as tx:
        first, second = tx.repo(AuditRepo).entries("RED")
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
        tx.repo(AuditRepo).append_many([(p, k, "RED", b) for p, k, b in items], T)
        tx.repo(EventsRepo).append_many(items, T)
    with parties.transaction() as tx:
        for p, k, b in items:
            tx.repo(AuditRepo).append(p + "2", k, "RED", b, T)
            tx.repo(EventsRepo).append(p + "2", k, b, T)
    with parties.transaction() as tx:
        red, blue = (tx.repo(EventsRepo).after(party, 0) for party in ("RED", "BLUE"))
        assert [(e.seq, e.kind) for e in red] == [(1, "a"), (2, "c"), (3, "d")]
        assert [(e.seq, e.kind) for e in blue] == [(1, "first"), (2, "b")]
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


def test_a_transaction_reads_what_it_appended(parties: Store) -> None:
    """Appends are numbered as the transaction ends, or earlier when it reads an outbox or a
    chain: its reads see them, numbered."""
    with parties.transaction() as tx:
        tx.repo(EventsRepo).append("RED", "test", {"i": 1}, T)
        tx.repo(AuditRepo).append("RED", "test", "RED", {"i": 1}, T)
        assert [e.seq for e in tx.repo(EventsRepo).after("RED", 0)] == [1]
        assert tx.repo(EventsRepo).last_seq("RED") == 1
        (entry,) = tx.repo(AuditRepo).entries("RED")
        assert tx.repo(AuditRepo).head("RED") == (1, entry.hash)
        tx.repo(EventsRepo).append("RED", "test", {"i": 2}, T)
    with parties.transaction() as tx:
        assert [e.payload["i"] for e in tx.repo(EventsRepo).after("RED", 0)] == [1, 2]


@pytest.mark.postgres
def test_two_transactions_appending_to_two_parties_in_opposite_orders_both_commit(
    pg_schema_url: str, open_url: Callable[[str], Store]
) -> None:
    """Each transaction tells one party, waits until the other has told the other party,
    then tells the party the other began with. Numbered as they came, each would hold the
    counter the other waits for, and PostgreSQL would abort one as deadlocked; numbered at
    commit in party order, the second waits for the first and both commit."""
    first, second = open_url(pg_schema_url), open_url(pg_schema_url)
    with first.transaction() as tx:
        tx.add_party(Party("RED", "Red"))
        tx.add_party(Party("BLUE", "Blue"))
        for party in ("RED", "BLUE"):  # counters exist: the race is on locking them, not making them
            tx.repo(EventsRepo).append(party, "first", {}, T)
            tx.repo(AuditRepo).append(party, "first", party, {}, T)
    both_began = threading.Barrier(2, timeout=30)

    def tell(store: Store, parties: tuple[str, str]) -> None:
        with store.transaction() as tx:
            for n, party in enumerate(parties):
                tx.repo(EventsRepo).append(party, "told", {"by": parties[0]}, T)
                tx.repo(AuditRepo).append(party, "told", parties[0], {"by": parties[0]}, T)
                if n == 0:
                    both_began.wait()

    calls = [
        functools.partial(tell, first, ("RED", "BLUE")),
        functools.partial(tell, second, ("BLUE", "RED")),
    ]
    assert run_at_once(calls, timeout_s=60) == []
    with first.transaction() as tx:
        for party in ("RED", "BLUE"):
            assert [e.seq for e in tx.repo(EventsRepo).after(party, 0)] == [1, 2, 3]
            chain = tx.repo(AuditRepo).entries(party)
            assert [e.seq for e in chain] == [1, 2, 3]
            assert [e.prev for e in chain] == [GENESIS, chain[0].hash, chain[1].hash]


@pytest.mark.postgres
def test_a_transaction_postgresql_undoes_for_a_concurrent_one_says_so(
    pg_schema_url: str, open_url: Callable[[str], Store]
) -> None:
    """Two transactions set two pairs' minima in opposite orders: PostgreSQL undoes one of
    them as deadlocked. That one fails with a message that says nothing was written and the
    request can be repeated (not "connection failed"), and the other commits."""
    first, second = open_url(pg_schema_url), open_url(pg_schema_url)
    with first.transaction() as tx:
        for party in ("RED", "BLUE", "CIVIL"):
            tx.add_party(Party(party, party))
    both_began = threading.Barrier(2, timeout=30)

    def set_minima(store: Store, pairs: list[tuple[str, str]]) -> None:
        with store.transaction() as tx:
            for n, (a, b) in enumerate(pairs):
                tx.set_pair_minima(a, b, Minima(1000.0 + n, 300.0, 60.0))
                if n == 0:
                    both_began.wait()

    pairs = [("RED", "BLUE"), ("RED", "CIVIL")]
    calls = [functools.partial(set_minima, first, pairs), functools.partial(set_minima, second, pairs[::-1])]
    (failure,) = run_at_once(calls, timeout_s=60)
    assert isinstance(failure, StoreUnavailable)
    assert "40P01" in str(failure)
    assert "nothing was written, try again" in str(failure)
    with first.transaction() as tx:
        assert {pair: m.horizontal_m for pair, m in tx.pair_minima().items()} in (
            {("BLUE", "RED"): 1000.0, ("CIVIL", "RED"): 1001.0},
            {("CIVIL", "RED"): 1000.0, ("BLUE", "RED"): 1001.0},
        )
