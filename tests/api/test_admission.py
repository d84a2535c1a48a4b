"""Admission: a process works on at most ``max_in_flight`` requests at once; an event
stream, open as long as its client listens, gives its place back once it has started."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from apihelpers import make_api

from deconfliction.store import Store
from served import Server, Subscriber, setup_parties


def test_requests_beyond_max_in_flight_wait_their_turn(store: Store, tmp_path: Path) -> None:
    api = make_api(store, tmp_path, max_in_flight=2)
    inside = 0
    peak = 0
    release = asyncio.Event()

    async def hold() -> dict[str, int]:
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        await release.wait()
        inside -= 1
        return {"peak": peak}

    api.app.add_api_route("/test/hold", hold)

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            requests = [asyncio.create_task(client.get("/test/hold")) for _ in range(6)]
            for _ in range(1000):  # until two are inside (a few loop turns)
                if inside == 2:
                    break
                await asyncio.sleep(0)
            for _ in range(200):  # give the other four every chance to get in too
                await asyncio.sleep(0)
            assert inside == 2
            release.set()
            return await asyncio.gather(*requests)

    responses = asyncio.run(scenario())
    assert [r.status_code for r in responses] == [200] * 6
    assert peak == 2


@pytest.mark.slow
def test_open_streams_do_not_take_the_places_of_requests(tmp_path: Path) -> None:
    """With one place, three open streams still leave it to the requests after them."""
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    credentials = setup_parties(db, ["red", "blue", "civil"])
    server = Server(db, tmp_path, credentials=credentials, extra_args=["--max-in-flight", "1"]).start()
    subscribers = []
    try:
        for party in credentials:
            subscribers.append(Subscriber(server.url, server.token(*credentials[party])))
        assert [s.status for s in subscribers] == [200, 200, 200]
        assert httpx.get(f"{server.url}/health", timeout=30.0).status_code == 200
        token = server.token(*credentials["red"])
        response = httpx.get(
            f"{server.url}/v1/operations", headers={"Authorization": f"Bearer {token}"}, timeout=30.0
        )
        assert response.status_code == 200
    finally:
        for subscriber in subscribers:
            subscriber.close()
        server.stop()
