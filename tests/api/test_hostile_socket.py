"""A hostile client over a real socket, against `deconfliction serve` in its own process:
slow, huge, chunked, nested, guessing, many connections at once, and edge-of-calendar
times. Each test says what it would have seen before the limit existed."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from apihelpers import filing

from builders import circle_op
from deconfliction.api.errors import UNAUTHENTICATED
from served import Server, setup_parties

HEADER_TIMEOUT_S = 1.5
BODY_TIMEOUT_S = 3.0
MAX_CONNECTIONS = 8
LIMIT = 1024 * 1024  # the default body limit


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("hostile")
    db = f"sqlite:///{workdir / 'store.sqlite'}"
    credentials = setup_parties(db, ["red", "blue"])
    args = [
        "--header-timeout-s",
        str(HEADER_TIMEOUT_S),
        "--body-timeout-s",
        str(BODY_TIMEOUT_S),
        "--max-connections-per-address",
        str(MAX_CONNECTIONS),
        "--max-in-flight",
        "1",
        "--anonymous-in-flight",
        "1",
    ]
    server = Server(db, workdir, credentials=credentials, extra_args=args).start()
    yield server
    server.stop()


def _connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _response(sock: socket.socket) -> tuple[int, dict[str, str], Any]:
    """Status, headers and JSON body of the one response on ``sock`` (read to EOF or length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, json.loads(body[:length]) if length else None


def _closed(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (EOF or reset), waiting up to 10 s."""
    sock.settimeout(10)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def _token(server: Server, party: str) -> str:
    return server.token(*server.credentials[party])


def test_a_chunked_body_over_the_limit_is_refused_while_it_is_read(server: Server) -> None:
    """Before: a 100 MB chunked body was read and parsed in full (memory 243 -> 526 MB)."""
    sock = _connect(server)
    sock.sendall(
        b"POST /v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    sent = 0
    with contextlib.suppress(OSError):  # the server closes the connection under us
        for _ in range(16 * LIMIT // 65536):  # offer 16 MiB
            sock.sendall(chunk)
            sent += 65536
    status, headers, body = _response(sock)
    assert status == 413
    assert body["error"]["type"] == "PayloadTooLarge"
    assert headers["connection"] == "close"
    assert _closed(sock)
    assert sent < 16 * LIMIT  # it stopped reading well before the end
    sock.close()


def test_without_a_genuine_token_the_body_limit_is_64_kib(server: Server) -> None:
    """Parsing a megabyte costs the server milliseconds: an outsider may send 64 KiB; a
    party's request with the same 200 KiB body gets past the limit to its route."""
    body = b'{"purpose": "' + b"x" * 200_000 + b'"}'
    r = httpx.post(f"{server.url}/v1/auth/token", content=body, timeout=30)
    assert (r.status_code, r.json()["error"]["type"]) == (413, "PayloadTooLarge")
    headers = {"Authorization": f"Bearer {_token(server, 'red')}", "Content-Type": "application/json"}
    r = httpx.post(f"{server.url}/v1/operations", content=body, headers=headers, timeout=30)
    assert r.status_code == 422, r.text  # judged by the route: no id, no volumes


def test_a_declared_length_over_the_limit_is_refused_before_reading(server: Server) -> None:
    sock = _connect(server)
    sock.sendall(b"POST /v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
    status, _, body = _response(sock)
    assert (status, body["error"]["type"]) == (413, "PayloadTooLarge")
    sock.close()


def test_headers_that_trickle_in_get_408_and_the_connection_closed(server: Server) -> None:
    """Before: no header deadline; one byte every few seconds held the connection forever."""
    sock = _connect(server)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    answered: list[bytes] = []

    def trickle() -> None:
        for _ in range(40):
            try:
                sock.sendall(b"X")  # a header line that never ends, one byte every 0.25 s
            except OSError:
                return
            time.sleep(0.25)

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    status, _, body = _response(sock)
    answered.append(b"done")
    assert (status, body["error"]["type"]) == (408, "RequestTimeout")
    assert _closed(sock)
    sender.join(timeout=15)
    sock.close()


def test_a_body_that_trickles_in_gets_408(server: Server) -> None:
    sock = _connect(server)
    sock.sendall(
        b"POST /v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    status, _, body = _response(sock)
    assert (status, body["error"]["type"]) == (408, "RequestTimeout")
    sock.close()


def test_slow_unauthenticated_clients_hold_no_place(server: Server) -> None:
    """With one place each for authenticated and anonymous work, six half-sent bodies
    still leave a party's requests and health checks to be served while they wait.
    Before: each held one of two places with no timeout, and /health took 14 s."""
    slow = [_connect(server) for _ in range(6)]
    for sock in slow:
        sock.sendall(
            b"POST /v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 500\r\n\r\n{"
        )
    token = _token(server, "red")
    who = httpx.get(f"{server.url}/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    health = httpx.get(f"{server.url}/health", timeout=30)
    assert (who.status_code, health.status_code) == (200, 200)
    for sock in slow:  # still waiting for their bodies: nothing was answered yet
        sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            sock.recv(1)
        sock.close()


def test_one_address_holds_a_bounded_number_of_connections(server: Server) -> None:
    time.sleep(0.2)  # connections of earlier tests are gone
    held = [_connect(server) for _ in range(MAX_CONNECTIONS)]
    extra = _connect(server)
    status, headers, body = _response(extra)
    assert (status, body["error"]["type"]) == (429, "TooManyConnections")
    assert int(headers["retry-after"]) >= 1
    extra.close()
    held.pop().close()
    time.sleep(0.2)
    assert httpx.get(f"{server.url}/health", timeout=30).status_code == 200
    for sock in held:
        sock.close()


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize(
    ("method", "path", "authenticated"),
    [
        ("POST", "/v1/auth/token", False),
        ("POST", "/v1/operations", True),
        ("POST", "/v1/operations/batch", True),
        ("POST", "/dss/v1/operational_intent_references/query", False),
        ("PUT", "/dss/v1/subscriptions/5f0a3c4e-1c1b-4c7b-9d7a-1a2b3c4d5e6f", False),
    ],
)
def test_deep_nesting_is_400_in_the_routes_error_shape(
    server: Server, method: str, path: str, authenticated: bool
) -> None:
    """Before: about 2,000 levels of `[` gave 500 on every /dss/v1 JSON route."""
    headers = {"Content-Type": "application/json"}
    if authenticated:
        headers["Authorization"] = f"Bearer {_token(server, 'red')}"
    r = httpx.request(method, f"{server.url}{path}", content=_deep(5000), headers=headers, timeout=30)
    assert r.status_code == 400, r.text
    if path.startswith("/dss/"):
        assert "nested deeper than 64 levels" in r.json()["message"]
    else:
        assert r.json()["error"] == {
            "type": "InvalidRequest",
            "message": "JSON nested deeper than 64 levels",
            "field": "body",
        }


def test_nesting_within_the_limit_reaches_the_route(server: Server) -> None:
    r = httpx.post(f"{server.url}/v1/auth/token", content=_deep(64), timeout=30)
    assert r.status_code == 422  # not a token request, but parsed and judged by the route
    assert "error" in r.json()


@pytest.mark.parametrize(
    ("method", "path", "content", "content_type", "status"),
    [
        # the OAuth 2.0 form body is read: these credentials are simply wrong
        ("POST", "/v1/auth/token", b"client_id=a&client_secret=b", "application/x-www-form-urlencoded", 401),
        ("POST", "/v1/auth/token", b"\xff\xfe not json", "application/json", 422),
        ("POST", "/v1/auth/token", b"{not json", "application/json", 422),
        ("POST", "/v1/auth/token", b"hello", "text/plain", 422),
        ("GET", "/v1/nowhere", b"", "", 404),
        ("DELETE", "/health", b"", "", 405),
    ],
)
def test_every_error_has_the_documented_shape(
    server: Server, method: str, path: str, content: bytes, content_type: str, status: int
) -> None:
    """Before: bodies that were not JSON got FastAPI's `{"detail": ...}`."""
    headers = {"Content-Type": content_type} if content_type else {}
    r = httpx.request(method, f"{server.url}{path}", content=content, headers=headers, timeout=30)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) <= {"type", "message", "field", "details"}
    assert error["type"]
    assert error["message"]


def test_every_401_has_one_message(server: Server) -> None:
    """Before: eleven different messages told a guesser which part was wrong."""
    client_id, secret = server.credentials["blue"]
    token = _token(server, "blue")
    whoami = f"{server.url}/v1/auth/whoami"
    answers = [
        httpx.get(whoami, timeout=30),
        httpx.get(whoami, headers={"Authorization": "Basic abc"}, timeout=30),
        httpx.get(whoami, headers={"Authorization": "Bearer not-a-token"}, timeout=30),
        httpx.get(whoami, headers={"Authorization": f"Bearer {token[:-3]}abc"}, timeout=30),
        httpx.get(whoami, headers={"Authorization": f"Bearer {'x' * 5000}"}, timeout=30),
        httpx.post(
            f"{server.url}/v1/auth/token",
            json={"client_id": client_id, "client_secret": secret + "x"},
            timeout=30,
        ),
    ]
    for r in answers:
        assert r.status_code == 401, r.text
        assert r.json()["error"] == {"type": "Unauthenticated", "message": UNAUTHENTICATED}
        assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("start", "0001-01-01T00:00:00Z"),
        ("end", "9999-12-31T23:59:59Z"),
        ("start", "0001-01-01T00:00:00+01:00"),
        ("end", "2300-01-01T00:00:01Z"),
    ],
)
def test_times_at_the_ends_of_the_calendar_are_refused_naming_the_field(
    server: Server, key: str, value: str
) -> None:
    """Before: accepted, and every later filing that met them failed with 500."""
    suffix = uuid.uuid4().hex[:8]
    body = filing(circle_op("red", f"EDGE-{suffix}"))
    body["volumes"][0]["time"][key] = value
    if key == "end":
        body["volumes"][0]["time"]["start"] = "2026-01-01T06:00:00Z"
    headers = {"Authorization": f"Bearer {_token(server, 'red')}"}
    r = httpx.post(f"{server.url}/v1/operations", json=body, headers=headers, timeout=30)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == f"volumes[0].time.{key}"
    # and the next filing, which would have met it, is fine
    ok = httpx.post(
        f"{server.url}/v1/operations", json=filing(circle_op("red", f"OK-{suffix}")), headers=headers
    )
    assert ok.status_code in (200, 201), ok.text


def test_sign_in_guessing_backs_off_per_client_id_and_per_address(tmp_path: Path) -> None:
    """Five wrong secrets are free; after that a client id, and an address, must wait,
    doubling, before its next attempt is even hashed: the right secret is then refused
    too (429, Retry-After). Addresses come from X-Forwarded-For, which this server
    believes from its proxy (127.0.0.1) only. Before: 200 wrong secrets got 200 401s."""
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    credentials = setup_parties(db, ["red", "blue"])
    server = Server(db, tmp_path, credentials=credentials, extra_args=["--forwarded-allow-ips", "127.0.0.1"])
    server.start()
    try:
        red_id, red_secret = credentials["red"]
        blue_id, blue_secret = credentials["blue"]

        def sign_in(client_id: str, secret: str, address: str) -> httpx.Response:
            return httpx.post(
                f"{server.url}/v1/auth/token",
                json={"client_id": client_id, "client_secret": secret},
                headers={"X-Forwarded-For": address},
                timeout=30,
            )

        # One client id guessed from six addresses: blocked for every address after.
        statuses = [sign_in(red_id, "wrong", f"10.0.0.{i}").status_code for i in range(6)]
        assert statuses == [401] * 6
        blocked = sign_in(red_id, red_secret, "10.0.0.99")
        assert blocked.status_code == 429
        assert blocked.json()["error"]["type"] == "RateLimited"
        assert int(blocked.headers["retry-after"]) >= 1
        # ... while another client id signs in from anywhere.
        assert sign_in(blue_id, blue_secret, "10.0.1.1").status_code == 200

        # One address guessing invented ids: blocked for every id, the right one included.
        statuses = [sign_in(f"nobody.{i}", "wrong", "10.0.2.2").status_code for i in range(6)]
        assert statuses == [401] * 6
        assert sign_in(blue_id, blue_secret, "10.0.2.2").status_code == 429
        assert sign_in(blue_id, blue_secret, "10.0.2.3").status_code == 200

        # The back-off lifts: after its Retry-After the right secret works again.
        time.sleep(int(blocked.headers["retry-after"]) + 0.1)
        assert sign_in(red_id, red_secret, "10.0.0.99").status_code == 200
    finally:
        server.stop()


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(tmp_path: Path) -> None:
    """Without --forwarded-allow-ips, a guesser cannot claim a fresh address per request."""
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    credentials = setup_parties(db, ["red"])
    server = Server(db, tmp_path, credentials=credentials).start()
    try:
        statuses = [
            httpx.post(
                f"{server.url}/v1/auth/token",
                json={"client_id": f"nobody.{i}", "client_secret": "wrong"},
                headers={"X-Forwarded-For": f"10.9.9.{i}"},
                timeout=30,
            ).status_code
            for i in range(7)
        ]
        assert statuses == [401] * 6 + [429]
    finally:
        server.stop()
