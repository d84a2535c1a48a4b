"""F3548-21 DSS requirements, one test per requirement tag, over real HTTP on both stores.

Tags as the InterUSS test suite names them (``astm.f3548.v21.DSS0005,1`` ...); the table
of which are covered is in ``docs/f3548.md``. The server is the real app on a real socket
(uvicorn in a thread) over the SQLite and PostgreSQL fixtures; the DSS's clock is a
manual one, so that expiry can be tested without waiting.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from test_dss_http import AUD, ISS, KEY, NOW, _pem, token

from deconfliction.api.app import ApiSettings, create_app
from deconfliction.interop.f3548.auth import F3548AuthConfig
from deconfliction.service.clock import ManualClock
from deconfliction.store import Store
from served import in_thread

SC = "utm.strategic_coordination"
CMSA = "utm.conformance_monitoring_sa"
CM = "utm.constraint_management"
CP = "utm.constraint_processing"
AA = "utm.availability_arbitration"


@dataclass
class Dss:
    http: httpx.Client
    clock: ManualClock

    def put(self, path: str, body: Any, scope: str = SC, sub: str = "uss1") -> httpx.Response:
        return self.http.put(path, json=body, headers=token(sub=sub, scope=scope))

    def post(self, path: str, body: Any, scope: str = SC, sub: str = "uss1") -> httpx.Response:
        return self.http.post(path, json=body, headers=token(sub=sub, scope=scope))

    def get(self, path: str, scope: str = SC, sub: str = "uss1") -> httpx.Response:
        return self.http.get(path, headers=token(sub=sub, scope=scope))

    def delete(self, path: str, scope: str = SC, sub: str = "uss1") -> httpx.Response:
        return self.http.delete(path, headers=token(sub=sub, scope=scope))


@pytest.fixture
def dss(store: Store) -> Iterator[Dss]:
    clock = ManualClock(NOW)
    config = F3548AuthConfig(public_keys=(_pem(KEY),), audiences=(AUD,), issuers=(ISS,))
    app = create_app(ApiSettings(extra={"f3548_auth": config}), store=store, clock=clock)
    with (
        in_thread(app) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}/dss/v1", timeout=30.0) as http,
    ):
        yield Dss(http, clock)


def t(value: datetime) -> dict[str, str]:
    return {"value": value.isoformat().replace("+00:00", "Z"), "format": "RFC3339"}


def extent(
    start: datetime | None = None, minutes: float = 30.0, lat: float = 46.5, radius_m: float = 200.0
) -> dict[str, Any]:
    start = start or NOW + timedelta(minutes=10)
    return {
        "volume": {
            "outline_circle": {
                "center": {"lat": lat, "lng": 6.6},
                "radius": {"value": radius_m, "units": "M"},
            },
            "altitude_lower": {"value": 0, "reference": "W84", "units": "M"},
            "altitude_upper": {"value": 100, "reference": "W84", "units": "M"},
        },
        "time_start": t(start),
        "time_end": t(start + timedelta(minutes=minutes)),
    }


def intent(state: str = "Accepted", key: list[str] | None = None, **more: Any) -> dict[str, Any]:
    return {
        "extents": [more.pop("extent", None) or extent()],
        "state": state,
        "uss_base_url": "https://uss1.example",
        "key": key or [],
        **more,
    }


def subscription(ext: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    return {
        "extents": ext or extent(minutes=60.0, radius_m=1000.0),
        "uss_base_url": "https://uss1.example",
        "notify_for_operational_intents": True,
        **more,
    }


def new_id() -> str:
    return str(uuid.uuid4())


OIR = "/operational_intent_references"
CR = "/constraint_references"
SUBS = "/subscriptions"


def test_dss0005_1_accepted_intent_needs_no_subscription(dss: Dss) -> None:
    """An Accepted intent may go without subscription; Activated (and the off-nominal
    states) need ``subscription_id`` or ``new_subscription``."""
    oi = new_id()
    created = dss.put(f"{OIR}/{oi}", intent())
    assert created.status_code == 201, created.text
    ref = created.json()["operational_intent_reference"]
    assert ref["subscription_id"] == "00000000-0000-4000-8000-000000000000"  # none: a null v4 UUID
    assert dss.get(f"{SUBS}/{ref['subscription_id']}").status_code == 404
    activated = dss.put(f"{OIR}/{oi}/{ref['ovn']}", intent("Activated"))
    assert activated.status_code == 400
    assert "subscription_id" in activated.json()["message"]
    new_sub = {"new_subscription": {"uss_base_url": "https://uss1.example"}}
    activated = dss.put(f"{OIR}/{oi}/{ref['ovn']}", intent("Activated", **new_sub))
    assert activated.status_code == 200, activated.text
    assert activated.json()["operational_intent_reference"]["subscription_id"] != ref["subscription_id"]


def test_dss0005_1_explicit_subscription_must_cover_the_intent(dss: Dss) -> None:
    """A subscription named by an intent covers it at creation: one ending a second before
    the intent does is refused (400), nothing stored; one that covers is accepted."""
    start = NOW + timedelta(minutes=10)
    short = new_id()
    assert dss.put(f"{SUBS}/{short}", subscription(extent(start, 30.0 - 1 / 60))).status_code == 200
    oi = new_id()
    refused = dss.put(f"{OIR}/{oi}", intent(extent=extent(start, 30.0), subscription_id=short))
    assert refused.status_code == 400, refused.text
    assert dss.get(f"{OIR}/{oi}").status_code == 404
    covering = new_id()
    assert dss.put(f"{SUBS}/{covering}", subscription(extent(start, 30.0))).status_code == 200
    created = dss.put(f"{OIR}/{oi}", intent(extent=extent(start, 30.0), subscription_id=covering))
    assert created.status_code == 201, created.text
    assert created.json()["operational_intent_reference"]["subscription_id"] == covering


def test_dss0005_1_empty_or_stale_ovn(dss: Dss) -> None:
    """Mutating or deleting with an empty OVN is 400 (no redirect), with a wrong one 409,
    someone else's 403, an unknown intent 404."""
    oi = new_id()
    ovn = dss.put(f"{OIR}/{oi}", intent()).json()["operational_intent_reference"]["ovn"]
    for response in (dss.delete(f"{OIR}/{oi}/"), dss.put(f"{OIR}/{oi}/", intent())):
        assert response.status_code == 400, response.text
        assert response.json()["message"].startswith("ovn")
    assert dss.delete(f"{OIR}/{oi}/wrong").status_code == 409
    assert dss.delete(f"{OIR}/{oi}/{ovn}", sub="uss2").status_code == 403
    assert dss.delete(f"{OIR}/{new_id()}/{ovn}").status_code == 404
    deleted = dss.delete(f"{OIR}/{oi}/{ovn}")
    assert deleted.status_code == 200
    assert deleted.json()["operational_intent_reference"]["id"] == oi
    assert dss.get(f"{OIR}/{oi}").status_code == 404


def test_scd0100_off_nominal_states_need_conformance_monitoring(dss: Dss) -> None:
    """An intent is created Accepted; only ``utm.conformance_monitoring_sa`` may put one
    in Nonconforming or Contingent (SCD0100, DSS0005,1)."""
    new_sub = {"new_subscription": {"uss_base_url": "https://uss1.example"}}
    for state in ("Nonconforming", "Contingent"):
        for scope in (SC, f"{SC} {CMSA}"):
            refused = dss.put(f"{OIR}/{new_id()}", intent(state, **new_sub), scope=scope)
            assert refused.status_code in (400, 403), refused.text
    oi = new_id()
    ovn = dss.put(f"{OIR}/{oi}", intent(**new_sub)).json()["operational_intent_reference"]["ovn"]
    for state in ("Nonconforming", "Contingent"):
        assert dss.put(f"{OIR}/{oi}/{ovn}", intent(state, **new_sub)).status_code == 403
    ovn = dss.put(f"{OIR}/{oi}/{ovn}", intent("Activated", **new_sub)).json()["operational_intent_reference"][
        "ovn"
    ]
    assert dss.put(f"{OIR}/{oi}/{ovn}", intent("Nonconforming", **new_sub)).status_code == 403
    allowed = dss.put(f"{OIR}/{oi}/{ovn}", intent("Nonconforming", **new_sub), scope=f"{SC} {CMSA}")
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["operational_intent_reference"]["state"] == "Nonconforming"
    # The state the DSS never holds is refused whoever asks.
    ended = dss.put(f"{OIR}/{new_id()}", intent("Ended"), scope=f"{SC} {CMSA}")
    assert ended.status_code == 400
    assert ended.json()["message"].startswith("state")


def test_dss0005_2_operational_intent_search(dss: Dss) -> None:
    """Intents are found by area of interest, not elsewhere; a huge area is 413."""
    oi = new_id()
    assert dss.put(f"{OIR}/{oi}", intent()).status_code == 201
    here = dss.post(f"{OIR}/query", {"area_of_interest": extent(radius_m=2000.0)}, scope=CMSA)
    assert [r["id"] for r in here.json()["operational_intent_references"]] == [oi]
    far = dss.post(f"{OIR}/query", {"area_of_interest": extent(lat=40.0)})
    assert far.json()["operational_intent_references"] == []
    huge = dss.post(f"{OIR}/query", {"area_of_interest": extent(radius_m=40_000.0)})
    assert huge.status_code == 413
    assert dss.post(f"{OIR}/query", {}).status_code == 400


def test_dss0005_3_constraint_references(dss: Dss) -> None:
    """Constraints: created, read, mutated and deleted with ``utm.constraint_management``;
    an empty OVN is 400, a wrong one 409."""
    cr = new_id()
    body = {"extents": [extent()], "uss_base_url": "https://authority.example"}
    assert dss.put(f"{CR}/{cr}", body, scope=SC).status_code == 403
    created = dss.put(f"{CR}/{cr}", body, scope=CM)
    assert created.status_code == 201, created.text
    ovn = created.json()["constraint_reference"]["ovn"]
    assert dss.get(f"{CR}/{cr}", scope=CP, sub="uss2").json()["constraint_reference"]["ovn"] != ovn
    for response in (dss.delete(f"{CR}/{cr}/", scope=CM), dss.put(f"{CR}/{cr}/", body, scope=CM)):
        assert response.status_code == 400, response.text
    assert dss.delete(f"{CR}/{cr}/wrong", scope=CM).status_code == 409
    mutated = dss.put(f"{CR}/{cr}/{ovn}", body, scope=CM)
    assert mutated.status_code == 200
    new_ovn = mutated.json()["constraint_reference"]["ovn"]
    assert (new_ovn != ovn, mutated.json()["constraint_reference"]["version"]) == (True, 2)
    assert dss.delete(f"{CR}/{cr}/{new_ovn}", scope=CM).status_code == 200
    assert dss.get(f"{CR}/{cr}", scope=CP).status_code == 404


def test_dss0005_4_constraint_search(dss: Dss) -> None:
    cr = new_id()
    body = {"extents": [extent()], "uss_base_url": "https://authority.example"}
    assert dss.put(f"{CR}/{cr}", body, scope=CM).status_code == 201
    found = dss.post(f"{CR}/query", {"area_of_interest": extent(radius_m=2000.0)}, scope=CP)
    assert [r["id"] for r in found.json()["constraint_references"]] == [cr]
    assert dss.post(f"{CR}/query", {"area_of_interest": extent(lat=40.0)}, scope=CP).json() == {
        "constraint_references": []
    }
    assert dss.post(f"{CR}/query", {"area_of_interest": extent()}, scope=SC).status_code == 403


def test_dss0005_5_subscriptions(dss: Dss) -> None:
    """Subscriptions: created, read, mutated, searched (the caller's own, not expired) and
    deleted; an empty version is 400, a wrong one 409."""
    sub = new_id()
    created = dss.put(f"{SUBS}/{sub}", subscription())
    assert created.status_code == 200, created.text
    version = created.json()["subscription"]["version"]
    assert dss.get(f"{SUBS}/{sub}").json()["subscription"]["implicit_subscription"] is False
    assert dss.get(f"{SUBS}/{sub}", sub="uss2").status_code == 403
    mutated = dss.put(f"{SUBS}/{sub}/{version}", subscription(notify_for_constraints=False))
    assert mutated.status_code == 200
    assert dss.put(f"{SUBS}/{sub}/{version}", subscription()).status_code == 409
    version = mutated.json()["subscription"]["version"]
    aoi = {"area_of_interest": extent(radius_m=5000.0)}
    assert [s["id"] for s in dss.post(f"{SUBS}/query", aoi).json()["subscriptions"]] == [sub]
    assert dss.post(f"{SUBS}/query", aoi, sub="uss2").json()["subscriptions"] == []
    for response in (dss.delete(f"{SUBS}/{sub}/"), dss.put(f"{SUBS}/{sub}/", subscription())):
        assert response.status_code == 400, response.text
        assert response.json()["message"].startswith("version")
    assert dss.delete(f"{SUBS}/{sub}/wrong").status_code == 409
    assert dss.delete(f"{SUBS}/{sub}/{version}").status_code == 200
    assert dss.post(f"{SUBS}/query", aoi).json()["subscriptions"] == []


def test_dss0005_5_expired_subscriptions_are_not_found(dss: Dss) -> None:
    sub = new_id()
    assert dss.put(f"{SUBS}/{sub}", subscription(extent(minutes=20.0))).status_code == 200
    aoi = {"area_of_interest": extent(radius_m=5000.0)}
    assert len(dss.post(f"{SUBS}/query", aoi).json()["subscriptions"]) == 1
    dss.clock.advance(timedelta(minutes=31))  # it ended at NOW + 30 min
    assert dss.post(f"{SUBS}/query", aoi).json()["subscriptions"] == []


def test_dss0015_subscriptions_last_at_most_24_hours(dss: Dss) -> None:
    start = NOW + timedelta(minutes=1)
    longest = new_id()
    created = dss.put(f"{SUBS}/{longest}", subscription(extent(start, 24 * 60)))
    assert created.status_code == 200, created.text
    version = created.json()["subscription"]["version"]
    too_long = extent(start, 24 * 60 + 1)
    assert dss.put(f"{SUBS}/{new_id()}", subscription(too_long)).status_code == 400
    assert dss.put(f"{SUBS}/{longest}/{version}", subscription(too_long)).status_code == 400
    # Without time_end it lasts the longest allowed.
    open_end = subscription({"volume": extent()["volume"]})
    got = dss.put(f"{SUBS}/{new_id()}", open_end).json()["subscription"]
    assert (got["time_start"]["value"], got["time_end"]["value"]) == (
        t(NOW)["value"],
        t(NOW + timedelta(hours=24))["value"],
    )


def test_dss0100_1_uss_availability(dss: Dss) -> None:
    """Availability: Unknown with an empty version until set; set with arbitration and the
    current version only; a USS marked Down may not put an intent in Accepted (412)."""
    unknown = dss.get("/uss_availability/uss1", scope=SC).json()
    assert unknown == {"status": {"uss": "uss1", "availability": "Unknown"}, "version": ""}
    assert dss.put("/uss_availability/uss1", {"availability": "Down", "old_version": ""}).status_code == 403
    down = dss.put("/uss_availability/uss1", {"availability": "Down", "old_version": ""}, scope=AA)
    assert down.status_code == 200
    stale = dss.put("/uss_availability/uss1", {"availability": "Normal", "old_version": ""}, scope=AA)
    assert stale.status_code == 409
    # A missing old_version means "none yet" (as the InterUSS DSS and its prober have it).
    assert dss.put("/uss_availability/uss1", {"availability": "Normal"}, scope=AA).status_code == 409
    assert dss.put("/uss_availability/uss1", {"availability": "pUrPlE"}, scope=AA).status_code == 400
    assert dss.put(f"{OIR}/{new_id()}", intent()).status_code == 412
    back = {"availability": "Normal", "old_version": down.json()["version"]}
    assert dss.put("/uss_availability/uss1", back, scope=AA).status_code == 200
    assert dss.put(f"{OIR}/{new_id()}", intent()).status_code == 201


def test_dss0100_2_reports(dss: Dss) -> None:
    exchange = {
        "url": "https://uss2.example/uss/v1/operational_intents/x",
        "method": "GET",
        "recorder_role": "Client",
        "request_time": t(NOW),
        "request_source": "uss1",
    }
    made = dss.post("/reports", {"exchange": exchange})
    assert made.status_code == 201, made.text
    uuid.UUID(made.json()["report_id"])
    refused = dss.post("/reports", {"exchange": {**exchange, "method": 5}})
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("exchange.method")


#: (method, path, a scope that does not open it)
ROUTES = [
    ("PUT", f"{OIR}/{uuid.UUID(int=1)}", AA),
    ("GET", f"{OIR}/{uuid.UUID(int=1)}", CP),
    ("POST", f"{OIR}/query", CM),
    ("DELETE", f"{OIR}/{uuid.UUID(int=1)}/x", AA),
    ("DELETE", f"{OIR}/{uuid.UUID(int=1)}/", AA),
    ("PUT", f"{CR}/{uuid.UUID(int=1)}", CP),
    ("GET", f"{CR}/{uuid.UUID(int=1)}", SC),
    ("POST", f"{CR}/query", SC),
    ("DELETE", f"{CR}/{uuid.UUID(int=1)}/x", CP),
    ("PUT", f"{SUBS}/{uuid.UUID(int=1)}", CM),
    ("GET", f"{SUBS}/{uuid.UUID(int=1)}", AA),
    ("POST", f"{SUBS}/query", CMSA),
    ("DELETE", f"{SUBS}/{uuid.UUID(int=1)}/x", CM),
    ("GET", "/uss_availability/uss1", CP),
    ("PUT", "/uss_availability/uss1", SC),
    ("POST", "/reports", "utm.unknown"),
]


def test_dss0210_a2_7_2_7_credentials_and_scopes_on_every_route(dss: Dss) -> None:
    """Every route: no token or a bad one is 401, a token without the route's scope is
    403, each with an F3548 error body (``{"message"}``)."""
    for method, path, wrong_scope in ROUTES:
        for headers, status in (
            ({}, 401),
            ({"Authorization": "Bearer not-a-jwt"}, 401),
            (token(scope=wrong_scope), 403),
        ):
            response = dss.http.request(method, path, json={}, headers=headers)
            assert response.status_code == status, (method, path, response.text)
            assert isinstance(response.json()["message"], str)


def test_dss0005_1_key_check_counts_every_intent_but_a_down_uss_accepted_one(dss: Dss) -> None:
    """The key holds every intersecting intent's OVN, an off-nominal one's too; only an
    Accepted intent of a USS marked Down may be left out."""
    new_sub = {"new_subscription": {"uss_base_url": "https://uss1.example"}}
    monitor = f"{SC} {CMSA}"
    first = new_id()
    ovn = dss.put(f"{OIR}/{first}", intent(**new_sub)).json()["operational_intent_reference"]["ovn"]
    ovn = dss.put(f"{OIR}/{first}/{ovn}", intent("Activated", [], **new_sub)).json()[
        "operational_intent_reference"
    ]["ovn"]
    gone_astray = dss.put(f"{OIR}/{first}/{ovn}", intent("Nonconforming", **new_sub), scope=monitor)
    assert gone_astray.status_code == 200, gone_astray.text
    refused = dss.put(f"{OIR}/{new_id()}", intent(), sub="uss2")
    assert refused.status_code == 409
    assert [r["id"] for r in refused.json()["missing_operational_intents"]] == [first]
    assert refused.json()["missing_operational_intents"][0]["ovn"] == "Available from USS"

    # uss3's Accepted intent elsewhere, then uss3 marked Down: others may ignore it.
    far = extent(lat=46.6)
    parked = new_id()
    assert dss.put(f"{OIR}/{parked}", intent(extent=far), sub="uss3").status_code == 201
    assert (
        dss.put("/uss_availability/uss3", {"availability": "Down", "old_version": ""}, scope=AA).status_code
        == 200
    )
    assert dss.put(f"{OIR}/{new_id()}", intent(extent=far), sub="uss2").status_code == 201


def test_dss0005_1_a_named_subscription_must_be_the_callers_and_notify_for_intents(dss: Dss) -> None:
    start = NOW + timedelta(minutes=10)
    theirs = new_id()
    assert dss.put(f"{SUBS}/{theirs}", subscription(extent(start, 30.0)), sub="uss2").status_code == 200
    oi = new_id()
    body = intent(extent=extent(start, 30.0), subscription_id=theirs)
    assert dss.put(f"{OIR}/{oi}", body).status_code == 403
    constraints_only = new_id()
    only = subscription(
        extent(start, 30.0), notify_for_operational_intents=False, notify_for_constraints=True
    )
    assert dss.put(f"{SUBS}/{constraints_only}", only, scope=f"{SC} {CP}").status_code == 200
    refused = dss.put(f"{OIR}/{oi}", {**body, "subscription_id": constraints_only})
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("subscription_id")
    assert dss.get(f"{OIR}/{oi}").status_code == 404


def test_dss0005_5_subscription_times(dss: Dss) -> None:
    """A start more than 5 minutes in the past is refused; an update without times keeps
    the subscription's window; a subscription may not shrink away from its intents."""
    late = extent(NOW - timedelta(minutes=6), 30.0)
    assert dss.put(f"{SUBS}/{new_id()}", subscription(late)).status_code == 400
    skewed = extent(NOW - timedelta(minutes=4), 30.0)
    assert dss.put(f"{SUBS}/{new_id()}", subscription(skewed)).status_code == 200

    sub = new_id()
    start = NOW + timedelta(minutes=10)
    made = dss.put(f"{SUBS}/{sub}", subscription(extent(start, 60.0))).json()["subscription"]
    open_times = subscription({"volume": extent()["volume"]})
    kept = dss.put(f"{SUBS}/{sub}/{made['version']}", open_times).json()["subscription"]
    assert (kept["time_start"], kept["time_end"]) == (made["time_start"], made["time_end"])

    oi = new_id()
    assert dss.put(f"{OIR}/{oi}", intent(extent=extent(start, 30.0), subscription_id=sub)).status_code == 201
    too_short = subscription(extent(start, 29.0))
    refused = dss.put(f"{SUBS}/{sub}/{kept['version']}", too_short)
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("extents")
    # Starting up to 5 minutes after its intent is allowed (notification latency).
    late_start = subscription(extent(start + timedelta(minutes=4), 30.0))
    assert dss.put(f"{SUBS}/{sub}/{kept['version']}", late_start).status_code == 200
