"""kill -9 of the server in the middle of a stream of writes: nothing acknowledged is lost,
every outbox is gapless, and every party's audit export still verifies (alone and against
the others').

Three parties' clients file overlapping operations (so that conflict notices go to both
sides), message each other's duty desks and acknowledge what they received (BLUE signs its
acknowledgements with a registered key), over HTTP against `deconfliction serve`; the
server is killed with SIGKILL while requests are in flight and restarted on the same
store and key files.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconfliction.client import public_key_text, sign_payload
from deconfliction.service.audit import AuditService
from deconfliction.service.audit_verify import cross_verify, verify_export
from deconfliction.service.hotline.service import ack_payload
from deconfliction.store import open_store
from served import Server, setup_parties

pytestmark = pytest.mark.slow

PARTIES = ["RED", "BLUE", "CIVIL"]


def filing(op_id: str, n: int) -> dict[str, Any]:
    """An operation near a shared point, so that different parties' filings conflict."""
    lon = 40.0 + 0.02 * (n % 5)
    return {
        "id": op_id,
        "volumes": [
            {
                "geometry": {"type": "Point", "coordinates": [lon, 35.0]},
                "footprint": {"kind": "circle", "radius": {"value": 3, "units": "km"}},
                "altitude": {"lower": 1000, "upper": 3000, "units": "m", "datum": "MSL"},
                "time": {"start": "2030-01-01T06:00:00Z", "end": "2030-01-01T08:00:00Z"},
            }
        ],
    }


class Writer(threading.Thread):
    """One party's client: files operations, messages the others' duty desks and
    acknowledges what it received (signed, if it has a key) until the server goes away;
    remembers what the server acknowledged with a 2xx."""

    def __init__(self, url: str, party: str, token: str, key: Ed25519PrivateKey | None = None) -> None:
        super().__init__(daemon=True)
        self.url, self.party, self.key = url, party, key
        self.headers = {"Authorization": f"Bearer {token}"}
        self.filed: list[str] = []
        self.sent: list[str] = []
        self.acked: list[str] = []
        self.refused: list[tuple[int, str]] = []

    def _ok(self, r: httpx.Response) -> bool:
        if not r.is_success:
            self.refused.append((r.status_code, r.text[:200]))
        return r.is_success

    def run(self) -> None:
        others = [p for p in PARTIES if p != self.party]
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=10) as client:
            for n in itertools.count():
                try:
                    self.step(client, n, others[n % len(others)])
                except httpx.HTTPError:
                    return  # the server was killed: this request's outcome is unknown

    def step(self, client: httpx.Client, n: int, other: str) -> None:
        op_id = f"{self.party}-{n}"
        if self._ok(client.post("/v1/operations", json=filing(op_id, n))):
            self.filed.append(op_id)
        fields = {
            "operation": {"party": self.party, "operation_id": op_id},
            "start": "2030-01-01T06:00:00Z",
            "end": "2030-01-01T08:00:00Z",
        }
        message = {"to": other, "class": "ROUTINE", "template": "NOTIFY", "fields": fields}
        r = client.post("/v1/messages", json=message)
        if self._ok(r):
            self.sent.append(r.json()["id"])
        inbox = client.get("/v1/messages", params={"unacknowledged": "true", "limit": 5})
        if not self._ok(inbox):
            return
        for m in inbox.json()["messages"]:
            if m["template"] == "ACK" or m["from"] == self.party:
                continue
            body: dict[str, Any] = {"geometry_sha256": None}
            if self.key is not None:
                body["signature"] = sign_payload(self.key, ack_payload(m["id"], self.party, None))
            if self._ok(client.post(f"/v1/messages/{m['id']}/ack", json=body)):
                self.acked.append(m["id"])
            return


def test_kill_9_loses_nothing_acknowledged_and_the_audit_still_verifies(
    store_url: str, tmp_path: Path
) -> None:
    creds = setup_parties(store_url, PARTIES)
    blue_key = Ed25519PrivateKey.generate()  # BLUE signs its acknowledgements
    store = open_store(store_url)
    try:
        AuditService(store).register_key("BLUE", public_key_text(blue_key))
    finally:
        store.close()
    server = Server(store_url, tmp_path).start()
    try:
        tokens = {p: server.token(*c) for p, c in creds.items()}
        writers = [Writer(server.url, p, tokens[p], blue_key if p == "BLUE" else None) for p in PARTIES]
        for w in writers:
            w.start()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (
            sum(len(w.filed) + len(w.sent) for w in writers) < 40 or sum(len(w.acked) for w in writers) < 6
        ):
            time.sleep(0.05)
        server.kill9()  # mid-stream: the writers have requests in flight
        for w in writers:
            w.join(timeout=30)
        assert all(not w.refused for w in writers), [w.refused for w in writers]
        assert sum(len(w.acked) for w in writers) >= 6

        server.start()
        key = httpx.get(f"{server.url}/v1/audit/keys").json()["keys"][0]["public_key"]
        exports = {}
        for w in writers:
            party, headers = w.party, {"Authorization": f"Bearer {tokens[w.party]}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
                ids = {o["id"] for o in client.get("/v1/operations").json()}
                assert not [op for op in w.filed if op not in ids], f"{party}: filings lost after kill -9"
                sent = client.get("/v1/messages", params={"box": "sent", "limit": 1000}).json()["messages"]
                assert not set(w.sent) - {m["id"] for m in sent}, f"{party}: messages lost after kill -9"
                for message_id in w.acked:
                    assert client.get(f"/v1/messages/{message_id}").json()["state"] == "acknowledged"
                events = client.get("/v1/events", params={"limit": 1000}).json()["events"]
                seqs = [e["seq"] for e in events]
                assert seqs == list(range(1, len(seqs) + 1)), f"{party}: outbox has gaps: {seqs}"
                assert {"conflict.notice", "hotline.message"} <= {e["kind"] for e in events}
                exports[party] = client.get("/v1/audit/export").json()
            report = verify_export(exports[party], [key])
            assert report.ok, (party, [str(f) for f in report.findings])
            if party == "BLUE":
                assert report.signatures >= len(w.acked)
        for a, b in itertools.permutations(PARTIES, 2):
            assert cross_verify(exports[a], exports[b]) == [], (a, b)
    finally:
        server.stop()
