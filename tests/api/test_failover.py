"""Three API nodes over one PostgreSQL, one killed with SIGKILL mid-run: nothing a client
saw acknowledged is lost, every stream resumes on another node with Last-Event-ID with
no gap and no duplicate, and every audit chain verifies."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from apihelpers import filing

from builders import circle_op
from deconfliction.client import ApiError, Client
from deconfliction.service.audit_verify import verify_export
from served import Server, setup_parties

PARTIES = ("red", "blue", "civil")


class Stream(threading.Thread):
    """A party's event stream through the client (which fails over by itself)."""

    def __init__(self, client: Client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.seqs: list[int] = []
        #: set before the test closes the client
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            for event in self.client.stream_events(0, retry_s=0.2, read_timeout_s=20.0):
                self.seqs.append(int(event["seq"]))
        except RuntimeError:  # the test closed the client to end the stream
            if not self.stop.is_set():
                raise


class Writer(threading.Thread):
    """Files overlapping operations and sends messages, keeping what was acknowledged."""

    def __init__(self, client: Client, party: str, until: threading.Event) -> None:
        super().__init__(daemon=True)
        self.client, self.party, self.until = client, party, until
        self.filed: list[str] = []
        self.sent: list[str] = []
        self.unknown = 0  # writes whose connection broke: maybe done, never acknowledged

    def run(self) -> None:
        others = [p for p in PARTIES if p != self.party]
        for i in itertools.count():
            if self.until.is_set():
                return
            op_id = f"{self.party.upper()}-{i}"
            try:
                self.client.file_operation(filing(circle_op(self.party, op_id, lon=40.0 + 0.001 * (i % 50))))
                self.filed.append(op_id)
                fields = {
                    "operation": {"party": self.party, "operation_id": op_id, "version": 1},
                    "start": "2026-01-01T06:00:00Z",
                    "end": "2026-01-01T08:00:00Z",
                }
                sent = self.client.send_message(others[i % 2], "ROUTINE", "NOTIFY", fields)
                self.sent.append(str(sent["id"]))
            except httpx.TransportError:
                self.unknown += 1
            except ApiError as exc:
                if exc.status not in (409, 429, 503):
                    raise
                time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.postgres
def test_a_node_killed_mid_run_loses_nothing(pg_schema_url: str, tmp_path: Path) -> None:
    credentials = setup_parties(pg_schema_url, list(PARTIES))
    # Every node reads the same key files (the deployment's shared secrets).
    nodes = [
        Server(pg_schema_url, tmp_path, credentials=credentials, extra_args=["--rate-per-s", "1000"]).start()
        for _ in range(3)
    ]
    urls = [n.url for n in nodes]
    clients: dict[str, Client] = {}
    streams: dict[str, Stream] = {}
    writers: list[Writer] = []
    stop_writing = threading.Event()
    try:
        for k, party in enumerate(PARTIES):
            order = urls[k:] + urls[:k]  # spread: each party starts on another node
            clients[party] = Client(order, *credentials[party], timeout_s=20.0)
            streams[party] = Stream(Client(order[1:] + order[:1], *credentials[party], timeout_s=20.0))
            streams[party].start()
        writers = [Writer(clients[p], p, stop_writing) for p in PARTIES]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 60
        while sum(len(w.filed) for w in writers) < 30 and time.monotonic() < deadline:
            time.sleep(0.1)
        nodes[0].kill9()  # mid-run: writers and one stream are on it
        before_kill = sum(len(w.filed) for w in writers)
        deadline = time.monotonic() + 60
        while sum(len(w.filed) for w in writers) < before_kill + 30 and time.monotonic() < deadline:
            time.sleep(0.1)
        stop_writing.set()
        for writer in writers:
            writer.join(timeout=60)
        assert all(len(w.filed) > 10 for w in writers), [len(w.filed) for w in writers]
        assert sum(len(w.filed) for w in writers) >= before_kill + 30

        survivor = Client(urls[1:], *credentials["red"], timeout_s=20.0)
        for writer in writers:  # every acknowledged write is there, read through another node
            reader = Client(urls[1:], *credentials[writer.party], timeout_s=20.0)
            stored = {op["id"] for op in reader.operations()}
            assert set(writer.filed) <= stored
            sent = {m["id"] for m in reader.messages("sent", limit=1000)["messages"]}
            assert set(writer.sent) <= sent
            reader.close()

        for party, stream in streams.items():  # streams: every event once, in order, no gap
            reader = Client(urls[1:], *credentials[party], timeout_s=20.0)
            table: list[int] = []
            after = 0
            while True:
                page = reader.events(after=after, limit=1000)
                table += [e["seq"] for e in page["events"]]
                if not page["events"]:
                    break
                after = table[-1]
            deadline = time.monotonic() + 30
            while len(stream.seqs) < len(table) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert stream.seqs == table, party
            assert table == list(range(1, len(table) + 1))
            export: dict[str, Any] = reader.audit_export()
            report = verify_export(export)
            assert report.ok, report.findings
            assert report.entries > 0
            reader.close()
        survivor.close()
    finally:
        stop_writing.set()
        for stream in streams.values():
            stream.stop.set()
            stream.client.close()  # its next request raises, and the thread ends
        for node in nodes:
            node.stop()
        for client in clients.values():
            client.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_workers_serve_one_port_over_postgres(pg_schema_url: str, tmp_path: Path) -> None:
    """`serve --workers 2`: one port, two processes (the supervisor's two children), one store."""
    credentials = setup_parties(pg_schema_url, ["red"])
    server = Server(pg_schema_url, tmp_path, credentials=credentials, extra_args=["--workers", "2"]).start()
    try:
        assert server.proc is not None
        children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()
        deadline = time.monotonic() + 60
        while len(children) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()
        with Client(server.url, *credentials["red"]) as red:
            for i in range(10):
                red.file_operation(filing(circle_op("red", f"W-{i}")))
            assert {op["id"] for op in red.operations()} == {f"W-{i}" for i in range(10)}
        # uvicorn's supervisor may also run a resource tracker: at least the two workers
        assert len(children) >= 2
    finally:
        server.stop()
