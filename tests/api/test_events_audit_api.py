"""Events polling and audit routes in process: own data only, bad input refused, nothing changed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from apihelpers import Api, make_api
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconfliction.geo.timewindow import format_utc
from deconfliction.service.audit_verify import verify_export
from deconfliction.service.signing import b64u, public_raw
from deconfliction.store import Store
from deconfliction.store.events import AuditRepo, EventsRepo
from deconfliction.store.signing import PartyKeysRepo


@pytest.fixture
def api(store: Store, tmp_path: Path) -> Api:
    api = make_api(store, tmp_path, extra={"audit_key_file": str(tmp_path / "audit.key")})
    api.party("RED")
    api.party("BLUE")
    return api


def _events(api: Api, party: str, n: int) -> None:
    with api.store.transaction() as tx:
        for i in range(n):
            tx.repo(EventsRepo).append(party, "test.event", {"i": i}, api.clock.now())
            tx.repo(AuditRepo).append(
                party, "test.event", party, {"i": i, "parties": [party]}, api.clock.now()
            )
            api.clock.advance(timedelta(seconds=1))


def test_polling_returns_own_events_after_an_id(api: Api) -> None:
    _events(api, "RED", 5)
    _events(api, "BLUE", 2)
    red = api.headers("RED", "read")
    page = api.client.get("/v1/events", params={"after": 2, "limit": 2}, headers=red).json()
    assert [e["seq"] for e in page["events"]] == [3, 4]
    assert page["last_seq"] == 5
    assert page["events"][0]["payload"] == {"i": 2}
    assert page["events"][0]["kind"] == "test.event"
    blue = api.client.get("/v1/events", headers=api.headers("BLUE", "read")).json()
    assert [e["payload"]["i"] for e in blue["events"]] == [0, 1]  # BLUE never sees RED's
    assert blue["last_seq"] == 2


@pytest.mark.parametrize(
    ("params", "field"), [({"after": -1}, "after"), ({"after": "x"}, "after"), ({"limit": 0}, "limit")]
)
def test_bad_polling_input_is_422(api: Api, params: dict[str, object], field: str) -> None:
    r = api.client.get("/v1/events", params=params, headers=api.headers("RED", "read"))
    assert r.status_code == 422
    assert r.json()["error"]["field"] == field


def test_stream_refuses_a_bad_last_event_id_and_needs_a_token(api: Api) -> None:
    r = api.client.get("/v1/events/stream", headers={**api.headers("RED", "read"), "Last-Event-ID": "12abc"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "Last-Event-ID"
    assert api.client.get("/v1/events/stream").status_code == 401
    assert api.client.get("/v1/events").status_code == 401
    assert api.client.get("/v1/events", headers=api.headers("RED", "file")).status_code == 403


def test_export_is_the_callers_own_chain_and_verifies(api: Api) -> None:
    _events(api, "RED", 3)
    _events(api, "BLUE", 1)
    keys = api.client.get("/v1/audit/keys").json()["keys"]
    assert len(keys) == 1
    doc = api.client.get("/v1/audit/export", headers=api.headers("RED", "read")).json()
    assert doc["party"] == "RED"
    assert [e["body"]["i"] for e in doc["entries"]] == [0, 1, 2]
    report = verify_export(doc, [keys[0]["public_key"]])
    assert report.ok, report.findings
    blue = api.client.get("/v1/audit/export", headers=api.headers("BLUE", "read")).json()
    assert [e["body"]["parties"] for e in blue["entries"]] == [["BLUE"]]
    assert api.client.get("/v1/audit/export").status_code == 401


def test_party_keys_are_registered_by_admins_only(api: Api) -> None:
    public = b64u(public_raw(Ed25519PrivateKey.generate()))
    admin = api.headers("RED", "admin")
    url = "/v1/audit/parties/BLUE/keys"
    assert api.client.post(url, json={"public_key": public}, headers=api.headers("BLUE")).status_code == 403
    bad = api.client.post(url, json={"public_key": "AAAA"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "public_key"
    extra = api.client.post(url, json={"public_key": public, "x": 1}, headers=admin)
    assert extra.status_code == 422
    missing = api.client.post("/v1/audit/parties/NOPE/keys", json={"public_key": public}, headers=admin)
    assert missing.status_code == 404
    with api.store.transaction() as tx:
        assert tx.repo(PartyKeysRepo).of("BLUE") == []  # nothing stored by the refusals
    made = api.client.post(url, json={"public_key": public}, headers=admin)
    assert made.status_code == 201
    key_id = made.json()["key_id"]
    assert api.client.post(url, json={"public_key": public}, headers=admin).status_code == 409
    own = api.client.get("/v1/audit/party-keys", headers=api.headers("BLUE", "read")).json()
    assert [k["key_id"] for k in own] == [key_id]
    assert api.client.get("/v1/audit/party-keys", headers=api.headers("RED", "read")).json() == []
    gone = api.client.delete(f"{url}/{key_id}", headers=admin)
    assert gone.status_code == 204
    assert api.client.delete(f"{url}/{key_id}", headers=admin).status_code == 404
    assert api.client.delete(f"{url}/nothex", headers=admin).status_code == 422
    # The registration and the revocation are in BLUE's chain.
    doc = api.client.get("/v1/audit/export", headers=api.headers("BLUE", "read")).json()
    assert [e["kind"] for e in doc["entries"]] == ["key.registered", "key.revoked"]


def test_the_client_registers_keys_signs_and_exports(api: Api) -> None:
    from deconfliction.client import Client, public_key_text, sign_payload
    from deconfliction.service.signing import verify_party_signature

    admin = Client("", *api.credential("RED", "admin"), http=api.client)
    blue = Client("", *api.credential("BLUE", "read"), http=api.client)
    private = Ed25519PrivateKey.generate()
    key = admin.register_party_key("BLUE", public_key_text(private))
    assert [k["key_id"] for k in blue.party_keys()] == [key["key_id"]]
    payload = {"kind": "hotline.ack", "message": "M-1", "by": "BLUE", "geometry_sha256": None}
    with api.store.transaction() as tx:
        checked = verify_party_signature(tx, "BLUE", payload, sign_payload(private, payload))
    assert checked.key_id == key["key_id"]
    doc = blue.audit_export()
    assert verify_export(doc, [k["public_key"] for k in blue.audit_keys()]).ok
    assert blue.events(after=0)["events"] == []
    admin.revoke_party_key("BLUE", key["key_id"])
    assert blue.party_keys()[0]["revoked_at"] is not None


def test_chains_get_signed_checkpoints_as_they_grow_without_an_export(store: Store, tmp_path: Path) -> None:
    from deconfliction.api.events import CHECKPOINT_CHECK_WRITES
    from deconfliction.service.audit import checkpoint_message
    from deconfliction.service.signing import signature_valid
    from deconfliction.store.signing import CheckpointsRepo

    api = make_api(
        store, tmp_path, extra={"audit_key_file": str(tmp_path / "a.key"), "audit_checkpoint_every": 5}
    )
    api.party("BLUE")
    admin = api.headers("BLUE", "admin")
    url = "/v1/audit/parties/BLUE/keys"

    def checkpoints() -> list[tuple[int, str]]:
        with api.store.transaction() as tx:
            return [(c.seq, c.hash) for c in tx.repo(CheckpointsRepo).of("BLUE")]

    writes = 1  # POST /v1/auth/token was a write request too
    key_ids: list[str] = []
    while writes < CHECKPOINT_CHECK_WRITES:
        assert checkpoints() == []  # not before the check
        if key_ids:
            assert api.client.delete(f"{url}/{key_ids.pop()}", headers=admin).status_code == 204
        else:
            public = b64u(public_raw(Ed25519PrivateKey.generate()))
            key_ids.append(api.client.post(url, json={"public_key": public}, headers=admin).json()["key_id"])
        writes += 1  # and one more entry in BLUE's chain
    with api.store.transaction() as tx:
        (cp,) = tx.repo(CheckpointsRepo).of("BLUE")
    assert cp.seq == CHECKPOINT_CHECK_WRITES - 1  # the chain head when the check ran
    assert signature_valid(
        cp.public_key, checkpoint_message("BLUE", cp.seq, cp.hash, format_utc(cp.at)), cp.signature
    )


def _circle(op_id: str) -> dict[str, object]:
    return {
        "id": op_id,
        "volumes": [
            {
                "geometry": {"type": "Point", "coordinates": [40.0, 35.0]},
                "footprint": {"kind": "circle", "radius": {"value": 3, "units": "km"}},
                "altitude": {"lower": 1000, "upper": 3000, "units": "m", "datum": "MSL"},
                "time": {"start": "2030-01-01T06:00:00Z", "end": "2030-01-01T08:00:00Z"},
            }
        ],
    }


def test_awareness_acknowledgements_are_signed_once_a_key_is_registered(api: Api) -> None:
    from deconfliction.client import Client, awareness_payload, public_key_text, sign_payload

    red = Client("", *api.credential("RED", "read,file"), http=api.client)
    blue = Client("", *api.credential("BLUE", "read,file"), http=api.client)
    red.file_operation(_circle("R1"))
    blue.file_operation(_circle("B1"))
    (conflict,) = blue.conflicts()
    private = Ed25519PrivateKey.generate()
    admin = Client("", *api.credential("RED", "admin"), http=api.client)
    admin.register_party_key("BLUE", public_key_text(private))
    url = f"/v1/conflicts/{conflict['reference']}/acknowledge"
    headers = api.headers("BLUE", "file")
    unsigned = api.client.post(url, headers=headers)
    assert unsigned.status_code == 422
    assert unsigned.json()["error"]["field"] == "signature"
    payload = awareness_payload("BLUE", conflict)
    forged = sign_payload(Ed25519PrivateKey.generate(), payload)
    assert api.client.post(url, json={"signature": forged}, headers=headers).status_code == 422
    wrong = sign_payload(private, {**payload, "operation_version": 2})
    assert api.client.post(url, json={"signature": wrong}, headers=headers).status_code == 422
    assert blue.conflicts()[0]["acknowledged"] is False  # the refusals stored nothing
    done = blue.acknowledge(conflict["reference"], sign_payload(private, payload))
    assert done["new"] is True
    assert blue.conflicts()[0]["acknowledged"] is True
    blue_doc, red_doc = blue.audit_export(), red.audit_export()
    report = verify_export(blue_doc)
    assert report.ok, report.findings
    assert report.signatures == 1
    assert verify_export(red_doc).signatures == 1  # the same signed body is in RED's chain
    from deconfliction.service.audit_verify import cross_verify

    assert cross_verify(blue_doc, red_doc) == []
