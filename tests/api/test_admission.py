"""Admission: a process works on at most ``max_in_flight`` requests at once; an event
stream, open as long as its client listens, gives its place back once it has started."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from apihelpers import Api, make_api

from deconfliction.store import Store
from served import Server, Subscriber, setup_parties


class Holder:
    """A route that records who entered, each request held until freed in turn."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self._waits: list[asyncio.Future[None]] = []
        self._freed = 0

    async def hold(self, who: str) -> dict[str, str]:
        self.entered.append(who)
        wait: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waits.append(wait)
        await wait
        return {"who": who}

    async def free_next(self) -> None:
        self._waits[self._freed].set_result(None)
        self._freed += 1
        await _settle()

    def free_all(self) -> None:
        for wait in self._waits[self._freed :]:
            wait.set_result(None)
        self._freed = len(self._waits)


def _holding_api(store: Store, tmp_path: Path, **settings: object) -> tuple[Api, Holder]:
    api = make_api(store, tmp_path, **settings)
    holder = Holder()
    api.app.add_api_route("/test/hold", holder.hold)
    return api, holder


async def _settle() -> None:
    for _ in range(300):  # every request that can get in gets in within a few loop turns
        await asyncio.sleep(0)


def _client(api: Api) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url="http://api")


def test_requests_beyond_max_in_flight_wait_their_turn(store: Store, tmp_path: Path) -> None:
    api, holder = _holding_api(store, tmp_path, max_in_flight=2)
    api.party("red")
    headers = api.headers("red")

    async def scenario() -> list[httpx.Response]:
        async with _client(api) as c:
            requests = [asyncio.create_task(c.get("/test/hold?who=red", headers=headers)) for _ in range(6)]
            await _settle()
            assert len(holder.entered) == 2
            holder.free_all()
            while len(holder.entered) < 6:
                await _settle()
                holder.free_all()
            return await asyncio.gather(*requests)

    assert [r.status_code for r in asyncio.run(scenario())] == [200] * 6


def test_one_partys_flood_does_not_starve_another(store: Store, tmp_path: Path) -> None:
    """Places go round the parties that wait: blue's one request, queued behind ten of
    red's, is served after at most one more of red's."""
    api, holder = _holding_api(store, tmp_path, max_in_flight=1)
    api.party("red")
    api.party("blue")
    red, blue = api.headers("red"), api.headers("blue")

    async def scenario() -> None:
        async with _client(api) as c:
            tasks = [asyncio.create_task(c.get("/test/hold?who=red", headers=red)) for _ in range(10)]
            await _settle()
            tasks.append(asyncio.create_task(c.get("/test/hold?who=blue", headers=blue)))
            await _settle()
            assert holder.entered == ["red"]
            await holder.free_next()
            await holder.free_next()
            assert holder.entered == ["red", "red", "blue"]
            while len(holder.entered) < 11:
                holder.free_all()
                await _settle()
            holder.free_all()
            assert [r.status_code for r in await asyncio.gather(*tasks)] == [200] * 11

    asyncio.run(scenario())


def test_unauthenticated_work_never_takes_an_authenticated_place(store: Store, tmp_path: Path) -> None:
    """Requests without a genuine token (none, or a forged one) wait among places of their
    own: with those all taken, a party's request still goes straight in."""
    api, holder = _holding_api(store, tmp_path, max_in_flight=1, anonymous_in_flight=1)
    api.party("red")
    red = api.headers("red")
    forged = {"Authorization": "Bearer " + red["Authorization"].split()[1][:-4] + "AAAA"}

    async def scenario() -> None:
        async with _client(api) as c:
            tasks = [asyncio.create_task(c.get("/test/hold?who=anon")) for _ in range(5)]
            tasks += [asyncio.create_task(c.get("/test/hold?who=forged", headers=forged)) for _ in range(5)]
            await _settle()
            assert holder.entered == ["anon"]
            tasks.append(asyncio.create_task(c.get("/test/hold?who=red", headers=red)))
            await _settle()
            assert holder.entered == ["anon", "red"]
            while len(holder.entered) < 11:
                holder.free_all()
                await _settle()
            holder.free_all()
            await asyncio.gather(*tasks)

    asyncio.run(scenario())


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
