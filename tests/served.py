"""`deconfliction serve` in a subprocess on a free port, and a small SSE reader, for tests
over a real socket (stream delivery, reconnects, restarts, kill -9)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from deconfliction.client import parse_sse
from deconfliction.service.clock import SystemClock
from deconfliction.service.credentials import create_credential
from deconfliction.store import Party, open_store
from deconfliction.store.auth import Desk, DesksRepo, parse_scopes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def setup_parties(
    db: str, parties: list[str], scopes: str = "read,file,message", languages: dict[str, str] | None = None
) -> dict[str, tuple[str, str]]:
    """Parties with a duty desk (English unless ``languages`` says otherwise) and one
    credential each: party -> (client_id, secret)."""
    store = open_store(db)
    out = {}
    try:
        with store.transaction() as tx:
            for p in parties:
                tx.add_party(Party(p, f"Party {p}"))
                tx.repo(DesksRepo).add(Desk(p, "duty", (languages or {}).get(p, "en")))
            for p in parties:
                issued = create_credential(tx, p, parse_scopes(scopes), SystemClock())
                out[p] = (issued.credential.client_id, issued.secret)
    finally:
        store.close()
    return out


@dataclass
class Server:
    """One `deconfliction serve` process; start, kill -9, restart on the same store and keys."""

    db: str
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    #: party -> (client_id, secret), for tests that use the Python client
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: more `serve` options
    extra_args: list[str] = field(default_factory=list)
    #: "https" with --tls-cert/--tls-key among extra_args, and the CA file to trust
    scheme: str = "http"
    verify: ssl.SSLContext | bool = True
    log_level: str = "warning"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> Server:
        env = {
            **os.environ,
            "DECONFLICTION_AUDIT_KEY": str(self.workdir / "audit.key"),
            "PYTHONUNBUFFERED": "1",
        }
        with (self.workdir / "server.log").open("ab") as log:
            self.proc = self._spawn(env, log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {(self.workdir / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0, verify=self.verify).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def _spawn(self, env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                str(Path(sys.executable).parent / "deconfliction"),
                "serve",
                "--db",
                self.db,
                "--port",
                str(self.port),
                "--key-file",
                str(self.workdir / "token.key"),
                "--log-level",
                self.log_level,
                *self.extra_args,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> int:
        """SIGTERM, as systemd stops a unit; the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if "--workers" in self.extra_args:
                # SIGKILL would leave the worker processes running, orphaned, on the port.
                self.proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=30)
            self.proc.kill()
            self.proc.wait(timeout=10)

    def token(self, client_id: str, secret: str) -> str:
        r = httpx.post(f"{self.url}/v1/auth/token", json={"client_id": client_id, "client_secret": secret})
        r.raise_for_status()
        token: str = r.json()["access_token"]
        return token


@dataclass(frozen=True)
class Received:
    id: int
    kind: str
    data: dict[str, Any]
    at: float  #: time.time() when it arrived


def _chunks(f: Any) -> Iterator[bytes]:
    """The body of a chunked HTTP/1.1 response, chunk by chunk."""
    while True:
        size_line = f.readline()
        if not size_line:
            return
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return
        data = f.read(size)
        f.readline()
        if len(data) < size:
            return
        yield data


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line.rstrip(b"\r").decode("utf-8")


class Subscriber:
    """Reads a party's stream on a thread into a queue until closed.

    A raw socket rather than httpx, so that :meth:`close` can shut the connection down
    under the reading thread and the thread ends at once."""

    def __init__(self, url: str, token: str, last_event_id: int | None = None) -> None:
        self.events: queue.Queue[Received] = queue.Queue()
        host, port = url.removeprefix("http://").split(":")
        self._sock = socket.create_connection((host, int(port)), timeout=10)
        request = (
            f"GET /v1/events/stream HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
            f"Authorization: Bearer {token}\r\n"
            + (f"Last-Event-ID: {last_event_id}\r\n" if last_event_id is not None else "")
            + "\r\n"
        )
        self._sock.sendall(request.encode("ascii"))
        self._file = self._sock.makefile("rb")
        self.status = int(self._file.readline().split()[1])
        while self._file.readline() not in (b"\r\n", b""):
            pass  # headers: the stream is always chunked
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for ident, kind, data in parse_sse(_lines(_chunks(self._file))):
                self.events.put(Received(int(ident or 0), kind or "", json.loads(data), time.time()))
        except (OSError, ValueError):
            pass  # shut down by close(), or the server went away

    def take(self, n: int, timeout_s: float = 10.0) -> list[Received]:
        out = []
        deadline = time.monotonic() + timeout_s
        while len(out) < n:
            out.append(self.events.get(timeout=max(0.01, deadline - time.monotonic())))
        return out

    def nothing_more(self, wait_s: float = 0.5) -> bool:
        try:
            self.events.get(timeout=wait_s)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
        self._file.close()
        self._sock.close()


@contextlib.contextmanager
def in_thread(app: Any) -> Iterator[int]:
    """Serve ``app`` with uvicorn in a thread on a free port (yielded) until the block ends."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20.0
    while not server.started:
        assert thread.is_alive(), "the server stopped"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=20.0)
