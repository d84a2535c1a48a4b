"""The hotline over HTTP (in process, both stores): flow, languages, 404 matrix, bad input."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hotlinehelpers import NOTIFY_FIELDS, STOP_FIELDS

from api.apihelpers import Api, make_api
from deconfliction.store import Store
from deconfliction.store.events import AuditRepo, EventsRepo, canonical_json, sha256_hex
from deconfliction.store.hotline import HotlineRepo

PARTIES = {"RED": "en", "BLUE": "ru", "CIVIL": "ar"}


@pytest.fixture
def api(store: Store, tmp_path: Path) -> Api:
    api = make_api(store, tmp_path)
    for party, language in PARTIES.items():
        api.party(party, language=language)
    return api


@pytest.fixture
def h(api: Api) -> dict[str, dict[str, str]]:
    return {party: api.headers(party) for party in PARTIES}


def _send(
    api: Api, headers: dict[str, str], to: str, cls: str, template: str, fields: Any, **extra: Any
) -> Any:
    return api.client.post(
        "/v1/messages",
        json={"to": to, "class": cls, "template": template, "fields": fields, **extra},
        headers=headers,
    )


def _geometry_hash(fields: dict[str, Any]) -> str:
    return sha256_hex(
        canonical_json({k: v for k, v in fields.items() if k in ("area", "position", "altitude")})
    )


def test_stop_goes_to_the_desk_renders_per_reader_and_is_acknowledged(
    api: Api, h: dict[str, dict[str, str]]
) -> None:
    sent = _send(api, h["RED"], "BLUE", "STOP", "STOP", STOP_FIELDS, annex="VIPER 1 orbiting")
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert (body["from"], body["to"], body["desk"], body["class"]) == ("RED", "BLUE", "duty", "STOP")
    assert body["rendered"]["language"] == "en"
    assert body["rendered"]["title"] == "STOP / ABORT"
    inbox = api.client.get("/v1/messages", headers=h["BLUE"]).json()
    assert inbox["language"] == "ru"
    [mine] = inbox["messages"]
    assert mine["rendered"]["title"] == "СТОП / ПРЕКРАТИТЬ"
    assert mine["annex"] == "VIPER 1 orbiting"
    assert mine["state"] == "received"  # the inbox read is the machine receipt
    arabic = api.client.get(
        f"/v1/messages/{body['id']}", headers={**h["BLUE"], "Accept-Language": "ar"}
    ).json()
    assert arabic["rendered"]["direction"] == "rtl"
    assert arabic["rendered"]["title"] == "توقّف / إلغاء"
    got = api.client.post(f"/v1/messages/{body['id']}/receipt", headers=h["BLUE"])
    assert got.status_code == 200
    assert got.json()["state"] == "received"
    wrong = copy_with(mine["fields"], ("area", "geometry", "coordinates"), [40.1, 35.28])
    refused = api.client.post(
        f"/v1/messages/{body['id']}/ack", json={"geometry_sha256": _geometry_hash(wrong)}, headers=h["BLUE"]
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["type"] == "GeometryMismatch"
    ok = api.client.post(
        f"/v1/messages/{body['id']}/ack",
        json={"geometry_sha256": _geometry_hash(mine["fields"])},
        headers=h["BLUE"],
    )
    assert ok.status_code == 200, ok.text
    ack = ok.json()["ack"]
    assert ok.json()["message"]["state"] == "acknowledged"
    [back] = api.client.get("/v1/messages", headers=h["RED"]).json()["messages"]
    assert back["id"] == ack["id"]
    assert back["state"] == "received"  # so the ACK sent back does not escalate either
    assert back["rendered"]["summary"] == f"BLUE acknowledges message {body['id']}."
    sent_box = api.client.get("/v1/messages?box=sent", headers=h["RED"]).json()
    assert [m["id"] for m in sent_box["messages"]] == [body["id"]]
    with api.store.transaction() as tx:
        red = [e.kind for e in tx.repo(EventsRepo).after("RED", 0)]
        assert red == ["hotline.receipt", "hotline.message", "hotline.ack"]
        assert [e.body_hash for e in tx.repo(AuditRepo).entries("RED")] == [
            e.body_hash for e in tx.repo(AuditRepo).entries("BLUE")
        ]


def _snapshot(api: Api) -> dict[str, Any]:
    with api.store.transaction() as tx:
        return {
            p: (tx.repo(EventsRepo).last_seq(p), tx.repo(AuditRepo).head(p), [
                (m["id"], m["received_at"], m["acked_at"]) for m in tx.repo(HotlineRepo).inbox(p, 1000)
            ]) for p in PARTIES
        }  # fmt: skip


def copy_with(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def test_every_party_gets_404_for_every_other_partys_messages(api: Api, h: dict[str, dict[str, str]]) -> None:
    ids = {}
    for sender, to in (("RED", "BLUE"), ("BLUE", "CIVIL"), ("CIVIL", "RED")):
        ids[(sender, to)] = _send(api, h[sender], to, "PRIORITY", "NOTIFY", NOTIFY_FIELDS).json()["id"]
    for party in PARTIES:  # each reads its inbox: its receipts are recorded, once, here
        api.client.get("/v1/messages?box=inbox", headers=h[party])
    before = _snapshot(api)
    for (sender, to), message_id in ids.items():
        for party in PARTIES:
            if party == to:
                continue  # the recipient may act on it: not part of this matrix
            calls = {
                "get": lambda m=message_id, p=party: api.client.get(f"/v1/messages/{m}", headers=h[p]),
                "receipt": lambda m=message_id, p=party: api.client.post(
                    f"/v1/messages/{m}/receipt", headers=h[p]
                ),
                "ack": lambda m=message_id, p=party: api.client.post(
                    f"/v1/messages/{m}/ack", json={}, headers=h[p]
                ),
                "ack-template": lambda m=message_id, p=party, s=sender: _send(
                    api, h[p], s, "PRIORITY", "ACK", {"message": m}
                ),
            }
            for name, call in calls.items():
                response = call()
                if party != sender:
                    assert response.status_code == 404, (party, name, sender, to)
                    assert response.json()["error"]["message"] == f"no message '{message_id}'"
                elif name != "get":
                    assert response.status_code in (403, 422), (
                        party,
                        name,
                    )  # the sender neither receives nor acks
            listed = api.client.get("/v1/messages?box=inbox", headers=h[party]).json()["messages"]
            assert all(party == m["to"] for m in listed)
            listed = api.client.get("/v1/messages?box=sent", headers=h[party]).json()["messages"]
            assert all(party == m["from"] for m in listed)
    assert _snapshot(api) == before  # nothing changed
    # a made-up id reads exactly like someone else's
    other = api.client.get(f"/v1/messages/{ids[('RED', 'BLUE')]}", headers=h["CIVIL"]).json()
    made_up = api.client.get("/v1/messages/M-0000000000000000", headers=h["CIVIL"]).json()
    assert other["error"]["type"] == made_up["error"]["type"] == "NotFound"


BAD = [
    ({"template": "SITREP"}, "template"),
    ({"class": "URGENT"}, "class"),
    ({"fields": {**NOTIFY_FIELDS, "colour": "red"}}, "fields.colour"),
    ({"fields": {**NOTIFY_FIELDS, "start": "tomorrow"}}, "fields.start"),
    ({"fields": {**NOTIFY_FIELDS, "altitude": {"lower": 1, "upper": 2, "units": "yd", "datum": "MSL"}}},
     "fields.altitude.units"),
    ({"annex": "x" * 2001}, "annex"),
    ({"annex": 5}, "annex"),
    ({"fields": "NOTIFY"}, "fields"),
    ({"colour": "red"}, "colour"),
    ({"to": "GREEN"}, None),  # 404, below
]  # fmt: skip


@pytest.mark.parametrize(("change", "field"), BAD)
def test_bad_input_is_422_naming_the_field_and_stores_nothing(
    api: Api, h: dict[str, dict[str, str]], change: dict[str, Any], field: str | None
) -> None:
    body = {"to": "BLUE", "class": "ROUTINE", "template": "NOTIFY", "fields": NOTIFY_FIELDS, **change}
    response = api.client.post("/v1/messages", json=body, headers=h["RED"])
    if field is None:
        assert response.status_code == 404
    else:
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == field
    for party in ("RED", "BLUE"):
        for box in ("inbox", "sent"):
            assert api.client.get(f"/v1/messages?box={box}", headers=h[party]).json()["messages"] == []
    with api.store.transaction() as tx:
        assert tx.repo(EventsRepo).after("BLUE", 0) == []
        assert tx.repo(AuditRepo).entries("RED") == []


def test_scopes_are_enforced(api: Api) -> None:
    reader = api.headers("RED", "read")
    messenger = api.headers("RED", "message")
    assert _send(api, reader, "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS).status_code == 403
    assert api.client.post("/v1/lines/BLUE/suspend", headers=reader).status_code == 403
    assert api.client.get("/v1/messages", headers=messenger).status_code == 403
    assert api.client.get("/v1/lines", headers=messenger).status_code == 403
    assert api.client.get("/v1/messages").status_code == 401
    assert _send(api, messenger, "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS).status_code == 201


def test_suspended_line_refuses_with_notice_but_stop_passes(api: Api, h: dict[str, dict[str, str]]) -> None:
    suspended = api.client.post(
        "/v1/lines/RED/suspend", json={"reason": "talks broken off"}, headers=h["BLUE"]
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["state"] == "suspended"
    refused = _send(api, h["RED"], "BLUE", "PRIORITY", "NOTIFY", NOTIFY_FIELDS)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["type"] == "LineSuspended"
    assert "suspended by BLUE" in error["message"]
    assert "talks broken off" in error["message"]
    assert _send(api, h["RED"], "BLUE", "STOP", "STOP", STOP_FIELDS).status_code == 201
    lines = {ln["other"]: ln for ln in api.client.get("/v1/lines", headers=h["RED"]).json()["lines"]}
    assert lines["BLUE"]["suspended_by_them"]["party"] == "BLUE"
    assert lines["CIVIL"]["state"] == "open"
    assert api.client.post("/v1/lines/BLUE/resume", headers=h["RED"]).status_code == 409
    assert api.client.post("/v1/lines/GREEN/suspend", headers=h["RED"]).status_code == 404
    assert api.client.post("/v1/lines/RED/resume", headers=h["BLUE"]).json()["state"] == "open"
    assert _send(api, h["RED"], "BLUE", "PRIORITY", "NOTIFY", NOTIFY_FIELDS).status_code == 201


def test_stop_is_never_refused_for_rate(store: Store, tmp_path: Path) -> None:
    api = make_api(store, tmp_path, rate_per_s=0.001, rate_burst=3)
    api.party("RED")
    api.party("BLUE")
    headers = api.headers("RED")  # the token request takes one of the three
    assert _send(api, headers, "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS).status_code == 201
    assert _send(api, headers, "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS).status_code == 201
    assert _send(api, headers, "BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS).status_code == 429
    for _ in range(5):
        assert _send(api, headers, "BLUE", "STOP", "STOP", STOP_FIELDS).status_code == 201
    blue = api.headers("BLUE")
    [stop, *_] = api.client.get("/v1/messages", headers=blue).json()["messages"]
    assert api.client.get("/v1/lines", headers=blue).status_code == 200  # the third of BLUE's burst
    assert api.client.get("/v1/messages", headers=blue).status_code == 429
    assert api.client.post(f"/v1/messages/{stop['id']}/receipt", headers=blue).status_code == 200
    acked = api.client.post(
        f"/v1/messages/{stop['id']}/ack", json={"geometry_sha256": stop["geometry_sha256"]}, headers=blue
    )
    assert acked.status_code == 200


def test_the_server_sweeps_deadlines_in_the_background(store: Store, tmp_path: Path) -> None:
    api = make_api(store, tmp_path, extra={"hotline_sweep_s": 0.02})
    api.party("RED")
    api.party("BLUE")
    with api.client as client:  # runs the lifespan, and so the sweeper
        headers = api.headers("RED")
        message = _send(api, headers, "BLUE", "STOP", "STOP", STOP_FIELDS).json()
        api.clock.advance(timedelta(seconds=10))
        deadline = time.monotonic() + 20  # generous: the sweep runs every 20 ms
        escalations: list[Any] = []
        while not escalations and time.monotonic() < deadline:
            time.sleep(0.02)
            escalations = client.get(f"/v1/messages/{message['id']}", headers=headers).json()["escalations"]
        assert [(e["stage"], e["level"]) for e in escalations] == [("delivery", 1)]


def test_the_python_client_covers_the_hotline(api: Api) -> None:
    from deconfliction.client import ApiError, Client, geometry_hash

    red = Client("", *api.credential("RED", "read,message"), http=api.client)
    blue = Client("", *api.credential("BLUE", "read,message"), http=api.client)
    sent = red.send_message("BLUE", "STOP", "STOP", STOP_FIELDS, annex="now")
    got = blue.message(sent["id"], language="ar")
    assert got["rendered"]["language"] == "ar"
    assert blue.receipt(sent["id"])["state"] == "received"
    assert blue.messages(unacknowledged=True)["messages"][0]["id"] == sent["id"]
    with pytest.raises(ApiError) as mismatch:
        blue.acknowledge_message(sent["id"], geometry_hash({**got["fields"], "altitude": {"lower": 1}}))
    assert (mismatch.value.status, mismatch.value.type) == (409, "GeometryMismatch")
    done = blue.acknowledge_message(sent["id"], geometry_hash(got["fields"]))
    assert done["message"]["state"] == "acknowledged"
    assert blue.messages(unacknowledged=True)["messages"] == []
    assert red.messages(box="sent")["messages"][0]["ack_message"] == done["ack"]["id"]
    assert blue.suspend_line("RED", "drill")["state"] == "suspended"
    assert {ln["other"]: ln["state"] for ln in red.lines()}["BLUE"] == "suspended"
    with pytest.raises(ApiError) as refused:
        red.send_message("BLUE", "ROUTINE", "NOTIFY", NOTIFY_FIELDS)
    assert refused.value.type == "LineSuspended"
    assert blue.resume_line("RED")["state"] == "open"
