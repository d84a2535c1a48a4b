"""kill -9 of the server in the middle of a stream of writes: nothing acknowledged is lost,
every outbox is gapless, and every party's audit export still verifies (alone and against
the others').

Three parties' clients file overlapping operations (so that conflict notices go to both
sides) and, where the hotline routes exist, message each other, over HTTP against
`deconfliction serve`; the server is killed with SIGKILL while requests are in flight and
restarted on the same store and key files.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from deconfliction.service.audit_verify import cross_verify, verify_export
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
    """One party's client: files operations until the server goes away; remembers what
    the server acknowledged with a 2xx."""

    def __init__(self, url: str, party: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.party = url, party
        self.headers = {"Authorization": f"Bearer {token}"}
        self.acknowledged: list[str] = []
        self.refused: list[tuple[int, str]] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=10) as client:
            for n in itertools.count():
                op_id = f"{self.party}-{n}"
                try:
                    r = client.post("/v1/operations", json=filing(op_id, n))
                except httpx.HTTPError:
                    return  # the server was killed: this request's outcome is unknown
                if r.is_success:
                    self.acknowledged.append(op_id)
                else:
                    self.refused.append((r.status_code, r.text[:200]))


def test_kill_9_loses_nothing_acknowledged_and_the_audit_still_verifies(
    store_url: str, tmp_path: Path
) -> None:
    creds = setup_parties(store_url, PARTIES)
    server = Server(store_url, tmp_path).start()
    try:
        tokens = {p: server.token(*c) for p, c in creds.items()}
        writers = [Writer(server.url, p, tokens[p]) for p in PARTIES]
        for w in writers:
            w.start()
        deadline = time.monotonic() + 60
        while sum(len(w.acknowledged) for w in writers) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill9()  # mid-stream: the writers have requests in flight
        for w in writers:
            w.join(timeout=30)
        assert all(not w.refused for w in writers), [w.refused for w in writers]
        acknowledged = {w.party: w.acknowledged for w in writers}
        assert sum(len(a) for a in acknowledged.values()) >= 30

        server.start()
        key = httpx.get(f"{server.url}/v1/audit/keys").json()["keys"][0]["public_key"]
        exports = {}
        for party in PARTIES:
            headers = {"Authorization": f"Bearer {tokens[party]}"}
            stored = httpx.get(f"{server.url}/v1/operations", headers=headers).json()
            ids = {o["id"] for o in stored}
            lost = [op for op in acknowledged[party] if op not in ids]
            assert not lost, f"{party}: acknowledged but lost after kill -9: {lost}"
            events = httpx.get(f"{server.url}/v1/events", params={"limit": 1000}, headers=headers).json()
            seqs = [e["seq"] for e in events["events"]]
            assert seqs == list(range(1, len(seqs) + 1)), f"{party}: outbox has gaps: {seqs}"
            assert any(e["kind"] == "conflict.notice" for e in events["events"])
            exports[party] = httpx.get(f"{server.url}/v1/audit/export", headers=headers).json()
            report = verify_export(exports[party], [key])
            assert report.ok, (party, [str(f) for f in report.findings])
            assert report.entries >= len(acknowledged[party])
        for a, b in itertools.permutations(PARTIES, 2):
            assert cross_verify(exports[a], exports[b]) == [], (a, b)
    finally:
        server.stop()
