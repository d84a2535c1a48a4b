"""The event stream over a real socket: delivery after commits, resume with Last-Event-ID,
and resume across a server restart. Events are committed by this test process, a writer
other than the server, as another API node or the CLI would."""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from deconfliction.client import Client
from deconfliction.service.clock import SystemClock
from deconfliction.service.credentials import create_credential
from deconfliction.store import Store, open_store
from deconfliction.store.auth import parse_scopes
from deconfliction.store.events import EventsRepo
from served import Server, Subscriber, setup_parties

pytestmark = pytest.mark.slow


@pytest.fixture
def served(store_url: str, tmp_path: Path) -> Iterator[tuple[Server, dict[str, str], Store]]:
    creds = setup_parties(store_url, ["RED", "BLUE"], "read")
    server = Server(store_url, tmp_path).start()
    server.credentials = creds
    writer = open_store(store_url)
    try:
        tokens = {p: server.token(*c) for p, c in creds.items()}
        yield server, tokens, writer
    finally:
        writer.close()
        server.stop()


def _commit(store: Store, party: str, *numbers: int) -> None:
    for n in numbers:  # one transaction each, like separate requests
        with store.transaction() as tx:
            tx.repo(EventsRepo).append(party, "test.event", {"n": n}, datetime.now(UTC))


def test_a_subscriber_receives_events_after_commits_and_resumes_exactly(
    served: tuple[Server, dict[str, str], Store],
) -> None:
    server, tokens, writer = served
    red = Subscriber(server.url, tokens["RED"])
    blue = Subscriber(server.url, tokens["BLUE"])
    try:
        assert red.status == 200
        _commit(writer, "RED", 1, 2, 3)
        _commit(writer, "BLUE", 100)
        got = red.take(3)
        assert [(e.id, e.kind, e.data["payload"]["n"]) for e in got] == [
            (1, "test.event", 1),
            (2, "test.event", 2),
            (3, "test.event", 3),
        ]
        assert got[0].data["seq"] == 1
        assert [e.data["payload"]["n"] for e in blue.take(1)] == [100]
        assert red.nothing_more()  # RED never gets BLUE's event
    finally:
        red.close()
        blue.close()
    _commit(writer, "RED", 4, 5, 6, 7)  # while RED is away
    again = Subscriber(server.url, tokens["RED"], last_event_id=3)
    try:
        assert [e.id for e in again.take(4)] == [4, 5, 6, 7]
        assert again.nothing_more()
        _commit(writer, "RED", 8)
        assert [e.id for e in again.take(1)] == [8]
    finally:
        again.close()


def test_resume_across_a_server_restart(served: tuple[Server, dict[str, str], Store]) -> None:
    server, tokens, writer = served
    red = Subscriber(server.url, tokens["RED"])
    try:
        _commit(writer, "RED", 1, 2)
        assert [e.id for e in red.take(2)] == [1, 2]
        server.kill9()
        _commit(writer, "RED", 3, 4, 5)  # committed while the server is down
    finally:
        red.close()
    server.start()
    again = Subscriber(server.url, tokens["RED"], last_event_id=2)
    try:
        assert [e.data["payload"]["n"] for e in again.take(3)] == [3, 4, 5]
        assert again.nothing_more()
    finally:
        again.close()
    # ?after= is the same resume point for a first connection; polling agrees.
    page = httpx.get(
        f"{server.url}/v1/events", params={"after": 4}, headers={"Authorization": f"Bearer {tokens['RED']}"}
    ).json()
    assert [e["seq"] for e in page["events"]] == [5]


def test_the_client_stream_resumes_by_itself_across_a_restart(
    served: tuple[Server, dict[str, str], Store],
) -> None:
    server, _, writer = served
    received: queue.Queue[dict[str, Any]] = queue.Queue()
    done = threading.Event()

    def listen() -> None:
        with Client(server.url, *server.credentials["RED"]) as client:
            for event in client.stream_events(after=0, retry_s=0.2):
                if done.is_set():
                    return
                received.put(event)

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    _commit(writer, "RED", 1, 2)
    assert [received.get(timeout=10)["seq"] for _ in range(2)] == [1, 2]
    server.kill9()
    _commit(writer, "RED", 3, 4)
    server.start()
    # The client reconnects with Last-Event-ID: 2 on its own: 3 and 4 once each, in order.
    assert [received.get(timeout=20)["payload"]["n"] for _ in range(2)] == [3, 4]
    done.set()
    _commit(writer, "RED", 5)  # wakes the listener so that it sees `done`
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert received.empty()


def test_sigterm_ends_open_streams_so_the_server_stops(served: tuple[Server, dict[str, str], Store]) -> None:
    server, tokens, writer = served
    red = Subscriber(server.url, tokens["RED"])
    try:
        _commit(writer, "RED", 1)
        assert [e.id for e in red.take(1)] == [1]
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=10)  # an open stream would otherwise hold the shutdown forever
    finally:
        red.close()


def test_a_write_on_one_api_node_reaches_a_stream_on_another(
    served: tuple[Server, dict[str, str], Store], store_url: str, tmp_path: Path
) -> None:
    """Two `serve` processes on one store (design decision 4): a message sent through
    node A reaches the recipient's stream on node B, through B's outbox polling."""
    node_a, _, _ = served
    workdir = tmp_path / "b"
    workdir.mkdir()
    # Same token key file, so a token from either node is good on both.
    (workdir / "token.key").write_bytes((tmp_path / "token.key").read_bytes())
    (workdir / "token.key").chmod(0o600)
    node_b = Server(store_url, workdir).start()
    try:
        blue = Subscriber(node_b.url, node_b.token(*node_a.credentials["BLUE"]))
        try:
            red = node_a.token(*setup_sender(store_url))
            fields = {
                "operation": {"party": "RED", "operation_id": "R1"},
                "start": "2030-01-01T06:00:00Z",
                "end": "2030-01-01T07:00:00Z",
            }
            sent = httpx.post(
                f"{node_a.url}/v1/messages",
                json={"to": "BLUE", "class": "ROUTINE", "template": "NOTIFY", "fields": fields},
                headers={"Authorization": f"Bearer {red}"},
            )
            assert sent.status_code == 201, sent.text
            (event,) = blue.take(1)
            assert event.kind == "hotline.message"
            assert event.data["payload"]["message"]["id"] == sent.json()["id"]
        finally:
            blue.close()
    finally:
        node_b.stop()


def setup_sender(store_url: str) -> tuple[str, str]:
    """A RED credential that may send messages (the fixture's have read only)."""
    store = open_store(store_url)
    try:
        with store.transaction() as tx:
            issued = create_credential(tx, "RED", parse_scopes("read,message"), SystemClock())
    finally:
        store.close()
    return issued.credential.client_id, issued.secret
