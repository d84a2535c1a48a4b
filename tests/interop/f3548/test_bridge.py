"""The bridge between native operations and F3548 USSs, over real HTTP on both stores.

The service runs on a real socket (uvicorn in a thread, with its notification worker);
the USS is a real HTTPS server with a self-signed certificate that records what it is
sent. A native RED operation becomes a constraint reference at the disclosure grid of
RED's pair with the USS's party; the USS's subscription is notified of it; the USS's
intent in the same place produces a conflict notice to RED at RED's policy; ending RED's
operation removes the constraint and notifies again.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import queue
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import h3.api.basic_int as h3int
import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from test_dss_http import AUD, ISS, KEY, NOW, _pem, token
from test_dss_socket import DssServer

from deconfliction.api.app import ApiSettings, create_app
from deconfliction.cli import cli
from deconfliction.engine.operation import Operation, OperationState
from deconfliction.engine.policy import PairPolicy
from deconfliction.errors import AwarenessRequired
from deconfliction.geo import AltitudeBand, Circle, Position, TimeWindow, Volume4D
from deconfliction.geo.altitude import Datum
from deconfliction.geo.grid import DisclosureGrid
from deconfliction.interop.f3548.auth import F3548AuthConfig
from deconfliction.service.access import AccessService
from deconfliction.service.clock import ManualClock, SystemClock
from deconfliction.service.f3548.bridge import Bridge
from deconfliction.store import Party, Store, open_store
from deconfliction.store.base import PartyKind
from deconfliction.store.events import EventsRepo
from deconfliction.store.policy import PoliciesRepo
from deconfliction.units import FOOT_M
from served import free_port, in_thread

SC = "utm.strategic_coordination"
CP = "utm.constraint_processing"
LAT, LON = 46.5, 6.6
#: RED's pair with SKYCO: coarser than the default grid in each part.
PAIR_GRID = DisclosureGrid(5, 2000 * FOOT_M, 1800.0)


# -- a USS on a real HTTPS socket ------------------------------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "uss.pem", directory / "uss.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@dataclass
class Uss:
    """What the USS received (path, headers, raw body), and how many requests to refuse."""

    url: str
    received: queue.Queue[tuple[str, dict[str, str], bytes]] = field(default_factory=queue.Queue)
    refuse: int = 0

    def next(self, timeout_s: float = 20.0) -> tuple[str, dict[str, str], bytes]:
        return self.received.get(timeout=timeout_s)


@pytest.fixture
def uss(tmp_path: Path) -> Iterator[Uss]:
    cert, key = _self_signed(tmp_path)
    port = free_port()
    state = Uss(f"https://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if state.refuse > 0:
                state.refuse -= 1
                self.send_response(503)
            else:
                state.received.put((self.path, dict(self.headers), body))
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# -- the service on a real socket ------------------------------------------------------


@dataclass
class Service:
    http: httpx.Client
    clock: ManualClock
    store: Store
    access: AccessService


def _app(store: Store, clock: ManualClock, tmp_path: Path, private: bool = True) -> Any:
    config = F3548AuthConfig(public_keys=(_pem(KEY),), audiences=(AUD,), issuers=(ISS,))
    extra: dict[str, object] = {
        "f3548_auth": config,
        "f3548_base_url": "https://dss.test",
        "f3548_notify_ca": str(tmp_path / "uss.pem"),
        "f3548_notify_period_s": 0.05,
        "f3548_notify_private": private,
    }
    return create_app(ApiSettings(extra=extra), store=store, clock=clock)


def _parties(store: Store) -> None:
    with store.transaction() as tx:
        tx.add_party(Party("RED", "Red air force", PartyKind.MILITARY))
        tx.add_party(Party("SKYCO", "Sky drone services", PartyKind.UAS))
        tx.repo(PoliciesRepo).set(PairPolicy("RED", "SKYCO", grid=PAIR_GRID))


@pytest.fixture
def service(store: Store, uss: Uss, tmp_path: Path) -> Iterator[Service]:
    clock = ManualClock(NOW)
    _parties(store)
    Bridge(store, clock).link("uss1", "SKYCO")
    with (
        in_thread(_app(store, clock, tmp_path)) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0) as http,
    ):
        yield Service(http, clock, store, AccessService(store, clock))


def t(value: dt.datetime) -> dict[str, str]:
    return {"value": value.isoformat().replace("+00:00", "Z"), "format": "RFC3339"}


def extent(radius_m: float, minutes: float, lower: float = 0.0, upper: float = 100.0) -> dict[str, Any]:
    start = NOW + timedelta(minutes=10)
    return {
        "volume": {
            "outline_circle": {
                "center": {"lat": LAT, "lng": LON},
                "radius": {"value": radius_m, "units": "M"},
            },
            "altitude_lower": {"value": lower, "reference": "W84", "units": "M"},
            "altitude_upper": {"value": upper, "reference": "W84", "units": "M"},
        },
        "time_start": t(start),
        "time_end": t(start + timedelta(minutes=minutes)),
    }


def red_operation(op_id: str) -> Operation:
    volume = Volume4D(
        Circle(Position(LAT, LON), 3_000.0),
        AltitudeBand(0.0, 150.0, Datum.MSL),
        TimeWindow(NOW + timedelta(minutes=5), NOW + timedelta(minutes=65)),
    )
    return Operation("RED", op_id, (volume,))


def _grid_vertices(lat: float, lon: float, resolution: int, rings: int = 6) -> set[tuple[float, float]]:
    """Every vertex of the cells of ``resolution`` within ``rings`` of (lat, lon)."""
    out: set[tuple[float, float]] = set()
    for cell in h3int.grid_disk(h3int.latlng_to_cell(lat, lon, resolution), rings):
        out.update(h3int.cell_to_boundary(cell))
    return out


def _check_on_grid(constraint: dict[str, Any], grid: DisclosureGrid) -> None:
    """Nothing in the constraint is finer than ``grid``."""
    vertices = _grid_vertices(LAT, LON, grid.resolution)
    volumes = constraint["details"]["volumes"]
    assert volumes
    for v in volumes:
        assert set(v["volume"]) == {"outline_polygon", "altitude_lower", "altitude_upper"}
        for p in v["volume"]["outline_polygon"]["vertices"]:
            assert (p["lat"], p["lng"]) in vertices, p
        for bound in ("altitude_lower", "altitude_upper"):
            alt = v["volume"][bound]
            assert alt["reference"] == "W84"
            assert alt["value"] / grid.band_m == pytest.approx(round(alt["value"] / grid.band_m), abs=1e-9)
        for bound in ("time_start", "time_end"):
            seconds = dt.datetime.fromisoformat(v[bound]["value"].replace("Z", "+00:00")).timestamp()
            assert seconds % grid.slot_s == 0


def _events(store: Store, party: str, kind: str) -> list[dict[str, Any]]:
    with store.transaction() as tx:
        return [e.payload for e in tx.repo(EventsRepo).after(party, 0) if e.kind == kind]


def test_bridge_native_operation_to_uss_and_back(service: Service, uss: Uss) -> None:
    http = service.http
    both = f"{SC} {CP}"
    sub_id = str(uuid.uuid4())
    sub = {
        "extents": extent(8_000.0, 120.0, -1000.0, 3000.0),
        "uss_base_url": uss.url,
        "notify_for_operational_intents": True,
        "notify_for_constraints": True,
    }
    made = http.put(f"/dss/v1/subscriptions/{sub_id}", json=sub, headers=token(scope=both))
    assert made.status_code == 200, made.text
    query = {"area_of_interest": extent(8_000.0, 120.0, -1000.0, 3000.0)}

    def constraints() -> list[dict[str, Any]]:
        found = http.post("/dss/v1/constraint_references/query", json=query, headers=token(scope=CP))
        assert found.status_code == 200, found.text
        refs: list[dict[str, Any]] = found.json()["constraint_references"]
        return refs

    # Proposed: nothing is published.
    op = service.access.file(red_operation("red-strike-7"), purpose="strike package KILO").own.operation
    assert constraints() == []
    assert uss.received.empty()

    # Accepted: a constraint at the pair's grid, and a notification over HTTPS.
    op = service.access.transition("RED", op.id, OperationState.ACCEPTED, op.version).own.operation
    path, _, raw = uss.next()
    assert path == "/uss/v1/constraints"
    for secret in (b"red-strike-7", b"KILO", b"RED", b"Red air force"):
        assert secret not in raw
    note = json.loads(raw)
    constraint_id = note["constraint_id"]
    assert note["subscriptions"] == [{"subscription_id": sub_id, "notification_index": 1}]
    _check_on_grid(note["constraint"], PAIR_GRID)
    first_ovn = note["constraint"]["reference"]["ovn"]
    [ref] = constraints()
    assert ref["id"] == constraint_id
    assert ref["manager"] == "deconfliction"
    assert ref["ovn"] == "Available from USS"
    assert ref["uss_base_url"] == "https://dss.test"
    by_id = http.get(f"/dss/v1/constraint_references/{constraint_id}", headers=token(scope=CP))
    assert by_id.status_code == 200, by_id.text
    assert by_id.json()["constraint_reference"] == ref
    # A new subscription for constraints is given it, as any constraint.
    second = http.put(f"/dss/v1/subscriptions/{uuid.uuid4()}", json=sub, headers=token(scope=both))
    assert [c["id"] for c in second.json()["constraint_references"]] == [constraint_id]

    # The details, as the managing USS gives them: same grid, with the OVN.
    details = http.get(f"/uss/v1/constraints/{constraint_id}", headers=token(scope=CP))
    assert details.status_code == 200, details.text
    assert details.json()["constraint"] == note["constraint"]
    assert http.get(f"/uss/v1/constraints/{constraint_id}").status_code == 401
    assert http.get(f"/uss/v1/constraints/{constraint_id}", headers=token(scope=SC)).status_code == 403
    assert http.get(f"/uss/v1/constraints/{uuid.uuid4()}", headers=token(scope=CP)).status_code == 404
    # A USS cannot take the published id over through the DSS.
    taken = http.put(
        f"/dss/v1/constraint_references/{constraint_id}",
        json={"extents": [extent(100.0, 30.0)], "uss_base_url": uss.url},
        headers=token(scope="utm.constraint_management"),
    )
    assert taken.status_code == 409

    # The USS's intent in the same place: a conflict notice to RED at RED's policy, with
    # the USS as its party SKYCO.
    oi = str(uuid.uuid4())
    intent = {"extents": [extent(200.0, 30.0)], "state": "Accepted", "uss_base_url": uss.url, "key": []}
    created = http.put(f"/dss/v1/operational_intent_references/{oi}", json=intent, headers=token())
    assert created.status_code == 201, created.text
    assert created.json()["operational_intent_reference"]["manager"] == "SKYCO"
    [notice] = _events(service.store, "RED", "conflict.notice")
    seen = notice["conflict"]
    assert seen["other_party"] == "SKYCO"
    assert seen["operation_id"] == "red-strike-7"
    assert seen["disclosure"] == {"rule": "grid", "resolution": 5, "band_ft": 2000.0, "slot_s": 1800.0}
    assert all(h3int.get_resolution(h3int.str_to_int(c)) == 5 for o in seen["overlaps"] for c in o["cells"])
    assert [c["reference"] for c in service.access.conflicts("RED")] == [seen["reference"]]

    # The USS must know the constraint to activate (proof of awareness on its side) ...
    ovn = created.json()["operational_intent_reference"]["ovn"]
    activate = {
        **intent,
        "state": "Activated",
        "new_subscription": {"uss_base_url": uss.url, "notify_for_constraints": True},
    }
    refused = http.put(f"/dss/v1/operational_intent_references/{oi}/{ovn}", json=activate, headers=token())
    assert refused.status_code == 409, refused.text
    assert [c["id"] for c in refused.json()["missing_constraints"]] == [constraint_id]
    activate["key"] = [first_ovn]
    activated = http.put(f"/dss/v1/operational_intent_references/{oi}/{ovn}", json=activate, headers=token())
    assert activated.status_code == 200, activated.text

    # ... and RED must acknowledge the intent's version to activate (RED's policy).
    with pytest.raises(AwarenessRequired):
        service.access.transition("RED", op.id, OperationState.ACTIVATED, op.version)
    [current] = service.access.conflicts("RED")
    service.access.acknowledge("RED", current["reference"])
    op = service.access.transition("RED", op.id, OperationState.ACTIVATED, op.version).own.operation

    # Activated: a new OVN, and the subscription hears of it.
    _, _, raw = uss.next()
    note = json.loads(raw)
    assert note["constraint_id"] == constraint_id
    assert note["subscriptions"][0]["notification_index"] >= 2
    assert note["constraint"]["reference"]["ovn"] != first_ovn
    assert note["constraint"]["reference"]["version"] == 2

    # Ended: the constraint is gone, and the USS is told (a notification without constraint).
    service.access.transition("RED", op.id, OperationState.ENDED, op.version)
    _, _, raw = uss.next()
    note = json.loads(raw)
    assert note["constraint_id"] == constraint_id
    assert "constraint" not in note
    assert constraints() == []
    assert http.get(f"/uss/v1/constraints/{constraint_id}", headers=token(scope=CP)).status_code == 404
    assert Bridge(service.store, service.clock).pending() == []


def test_bridge_notifications_survive_a_stopped_server_and_refusals(
    store: Store, uss: Uss, tmp_path: Path
) -> None:
    """A notification is queued with the change even when no server runs; a server started
    later sends it, retrying (with backoff on the service's clock) while the USS refuses."""
    clock = ManualClock(NOW)
    _parties(store)
    access = AccessService(store, clock)
    bridge = Bridge(store, clock)
    # A subscription for constraints, made through the DSS of a first server.
    sub = {
        "extents": extent(8_000.0, 120.0, -1000.0, 3000.0),
        "uss_base_url": uss.url,
        "notify_for_operational_intents": False,
        "notify_for_constraints": True,
    }
    with in_thread(_app(store, clock, tmp_path)) as port:
        made = httpx.put(
            f"http://127.0.0.1:{port}/dss/v1/subscriptions/{uuid.uuid4()}", json=sub, headers=token(scope=CP)
        )
    assert made.status_code == 200, made.text

    op = access.file(red_operation("red-1")).own.operation
    access.transition("RED", op.id, OperationState.ACCEPTED, op.version)
    [(url, _, attempts, _)] = bridge.pending()
    assert (url, attempts) == (uss.url, 0)

    uss.refuse = 2
    with in_thread(_app(store, clock, tmp_path)):
        deadline = time.monotonic() + 20.0
        while uss.received.empty():
            assert time.monotonic() < deadline, bridge.pending()
            clock.advance(timedelta(seconds=5))  # past each retry's backoff
            time.sleep(0.05)
        assert uss.refuse == 0  # refused twice, then taken
        path, _, raw = uss.next()
        assert path == "/uss/v1/constraints"
        assert "constraint" in json.loads(raw)
        deadline = time.monotonic() + 20.0
        while bridge.pending():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert uss.received.empty()  # sent once it was taken, not again


def test_bridge_does_not_send_to_private_addresses_unless_allowed(
    store: Store, uss: Uss, tmp_path: Path
) -> None:
    """A USS chooses its subscription's base URL: by default the service does not POST to a
    loopback (or private, or link-local) address, so a USS cannot use it to reach hosts
    only the service can; such a notification is dropped, not retried."""
    clock = ManualClock(NOW)
    _parties(store)
    access, bridge = AccessService(store, clock), Bridge(store, clock)
    sub = {
        "extents": extent(8_000.0, 120.0, -1000.0, 3000.0),
        "uss_base_url": uss.url,
        "notify_for_operational_intents": False,
        "notify_for_constraints": True,
    }
    with in_thread(_app(store, clock, tmp_path, private=False)) as port:
        made = httpx.put(
            f"http://127.0.0.1:{port}/dss/v1/subscriptions/{uuid.uuid4()}", json=sub, headers=token(scope=CP)
        )
        assert made.status_code == 200, made.text
        op = access.file(red_operation("red-1")).own.operation
        access.transition("RED", op.id, OperationState.ACCEPTED, op.version)
        deadline = time.monotonic() + 20.0
        while bridge.pending():
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert uss.received.empty()


def test_serve_sends_notifications_with_its_options(tmp_path: Path, uss: Uss) -> None:
    """`deconfliction serve` in its own process, configured by its command-line options
    alone, sends the notification of a change made by another process on the same store."""
    db = str(tmp_path / "bridge.sqlite")
    store = open_store(db)
    try:
        _parties(store)
        pem = tmp_path / "auth-server.pem"
        pem.write_text(_pem(KEY), encoding="ascii")
        options = [
            *("--f3548-public-key", str(pem), "--f3548-audience", AUD, "--f3548-issuer", ISS),
            *("--f3548-base-url", "https://dss.example.net/", "--f3548-notify-ca", str(tmp_path / "uss.pem")),
            "--f3548-notify-private",
        ]
        server = DssServer(db=db, workdir=tmp_path, options=options).start()
        try:
            sub = {
                "extents": extent(8_000.0, 120.0, -1000.0, 3000.0),
                "uss_base_url": uss.url,
                "notify_for_operational_intents": False,
                "notify_for_constraints": True,
            }
            made = httpx.put(
                f"{server.url}/dss/v1/subscriptions/{uuid.uuid4()}", json=sub, headers=token(scope=CP)
            )
            assert made.status_code == 200, made.text
            access = AccessService(store, SystemClock())
            op = access.file(red_operation("red-1")).own.operation
            access.transition("RED", op.id, OperationState.ACCEPTED, op.version)
            try:
                _, _, raw = uss.next(timeout_s=30.0)
            except queue.Empty:
                raise AssertionError((tmp_path / "server.log").read_text()[-3000:]) from None  # why not
            reference = json.loads(raw)["constraint"]["reference"]
            assert reference["uss_base_url"] == "https://dss.example.net"
        finally:
            server.stop()
    finally:
        store.close()
    refused = CliRunner().invoke(cli, ["serve", "--db", db, "--f3548-base-url", "http://dss.example.net"])
    assert refused.exit_code == 2
    assert "https://" in refused.output
