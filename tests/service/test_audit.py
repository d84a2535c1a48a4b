"""Signed checkpoints, exports, party signatures, and offline verification that pinpoints tampering."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconfliction.errors import AlreadyExists, InvalidInput, NotFound
from deconfliction.service.audit import AuditService, sign_checkpoint
from deconfliction.service.audit_verify import cross_verify, verify_export
from deconfliction.service.clock import ManualClock
from deconfliction.service.signing import (
    SIGNATURE_FIELD,
    ServerKey,
    acknowledgement_signature,
    b64u,
    load_server_key,
    public_raw,
    sign_payload,
    verify_party_signature,
)
from deconfliction.store import Store
from deconfliction.store.base import Party
from deconfliction.store.events import AuditRepo

T = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T)


@pytest.fixture
def service(store: Store, clock: ManualClock, tmp_path: Path) -> AuditService:
    with store.transaction() as tx:
        for p in ("RED", "BLUE", "CIVIL"):
            tx.add_party(Party(p, f"Party {p}"))
    return AuditService(store, load_server_key(tmp_path / "audit.key"), clock, every=5)


def _shared(
    store: Store, clock: ManualClock, n: int, ack_by: str | None = None, sig: dict[str, Any] | None = None
) -> None:
    """n events that concern RED and BLUE, recorded in both chains with the same body."""
    with store.transaction() as tx:
        audit = tx.repo(AuditRepo)
        for i in range(n):
            at = clock.advance(timedelta(seconds=1))
            body: dict[str, Any] = {"parties": ["BLUE", "RED"], "message": f"M{i}", "text": "stop"}
            if sig is not None and i == n - 1:
                body[SIGNATURE_FIELD] = sig
            audit.append("RED", "message.sent", "RED", body, at)
            audit.append("BLUE", "message.received" if ack_by is None else "message.ack", "RED", body, at)


def test_export_signs_the_head_and_verifies(service: AuditService, clock: ManualClock) -> None:
    _shared(service.store, clock, 3)
    doc = service.export("RED")
    assert [e["seq"] for e in doc["entries"]] == [1, 2, 3]
    assert doc["checkpoints"][-1]["seq"] == 3
    assert doc["checkpoints"][-1]["public_key"] == service.server_key.public_key
    report = verify_export(doc, [service.server_key.public_key])
    assert report.ok, report.findings
    assert (report.entries, report.checkpoints) == (3, 1)


def test_checkpoint_due_signs_every_n_entries(service: AuditService, clock: ManualClock) -> None:
    _shared(service.store, clock, 4)
    assert service.checkpoint_due() == []  # 4 < every=5
    _shared(service.store, clock, 2)
    done = service.checkpoint_due()
    assert sorted((c.party, c.seq) for c in done) == [("BLUE", 6), ("RED", 6)]
    assert service.checkpoint_due() == []  # nothing new since


def _doc(service: AuditService, clock: ManualClock, n: int = 6) -> dict[str, Any]:
    _shared(service.store, clock, n)
    service.checkpoint("RED")  # a checkpoint mid-chain, at seq n
    _shared(service.store, clock, 2)
    return service.export("RED")  # and one at the head, seq n + 2


def _findings(doc: dict[str, Any], trusted: list[str] | None = None) -> list[str]:
    return [str(f) for f in verify_export(doc, trusted).findings]


def test_an_altered_body_is_pinpointed(service: AuditService, clock: ManualClock) -> None:
    doc = _doc(service, clock)
    doc["entries"][2]["body"]["text"] = "go ahead"
    found = _findings(doc)
    assert found
    assert all(f.startswith("seq 3:") for f in found), found
    assert "body altered" in found[0]


def test_a_rewritten_chain_is_caught_by_its_checkpoints(service: AuditService, clock: ManualClock) -> None:
    # The forger recomputes every hash after changing entry 3: the chain is consistent
    # again, but the server's signatures are over the old hashes.
    from deconfliction.store.events import canonical_json, entry_hash, sha256_hex

    doc = _doc(service, clock)
    entries = doc["entries"]
    entries[2]["body"]["text"] = "go ahead"
    prev = entries[1]["hash"]
    for e in entries[2:]:
        e["body_hash"] = sha256_hex(canonical_json(e["body"]))
        e["prev"] = prev
        e["hash"] = prev = entry_hash(e["seq"], e["prev"], e["at"], e["kind"], e["actor"], e["body_hash"])
    found = _findings(doc)
    assert any(f.startswith("seq 6: checkpoint") and "rewritten" in f for f in found), found


def test_a_removed_entry_is_pinpointed(service: AuditService, clock: ManualClock) -> None:
    doc = _doc(service, clock)
    del doc["entries"][3]
    found = _findings(doc)
    assert found[0] == "seq 4: missing: the entry was removed (the chain numbers every entry)", found
    assert all(f.startswith(("seq 4:", "seq 5:")) for f in found), found


def test_a_removed_tail_is_caught(service: AuditService, clock: ManualClock) -> None:
    doc = _doc(service, clock)
    del doc["entries"][-2:]
    found = _findings(doc)
    assert any(f.startswith("seq 8: checkpoint") and "entries removed" in f for f in found), found


def test_swapped_entries_are_pinpointed(service: AuditService, clock: ManualClock) -> None:
    doc = _doc(service, clock)
    e = doc["entries"]
    e[2], e[3] = e[3], e[2]
    found = _findings(doc)
    assert found == [
        "seq 3: out of order: found at position 4, where seq 4 belongs",
        "seq 4: out of order: found at position 3, where seq 3 belongs",
    ]


def test_swapped_and_renumbered_entries_are_pinpointed(service: AuditService, clock: ManualClock) -> None:
    doc = _doc(service, clock)
    e = doc["entries"]
    e[2], e[3] = e[3], e[2]
    e[2]["seq"], e[3]["seq"] = 3, 4
    found = _findings(doc)
    assert found
    assert {f.split(":")[0] for f in found} <= {"seq 3", "seq 4", "seq 5"}, found
    assert any(f.startswith("seq 3: entry altered") for f in found), found


def test_a_forged_checkpoint_is_caught(service: AuditService, clock: ManualClock) -> None:
    doc = _doc(service, clock)
    doc["checkpoints"][0]["hash"] = doc["entries"][4]["hash"]
    found = _findings(doc)
    assert any(f.startswith("seq 6: checkpoint at seq 6: the server signature is invalid") for f in found), (
        found
    )


def test_a_checkpoint_by_another_key_is_refused_when_the_key_is_pinned(
    service: AuditService, clock: ManualClock
) -> None:
    doc = _doc(service, clock)
    impostor = ServerKey.of(Ed25519PrivateKey.generate())
    head = doc["entries"][-1]
    forged = sign_checkpoint(impostor, "RED", head["seq"], head["hash"], clock.now()).to_dict()
    doc["checkpoints"] = [forged]
    doc["server_keys"] = [impostor.public_dict()]
    assert _findings(doc) == []  # self-consistent without a trust anchor...
    pinned = _findings(doc, [service.server_key.public_key])
    assert pinned == [
        f"seq 8: checkpoint at seq 8: signed by key {impostor.key_id}, which is not a trusted server key",
        "seq 8: not covered by a valid signed checkpoint (the last one covers seq 0; an export always"
        " signs its head): entries appended or checkpoints removed",
    ]


def test_party_signatures_are_required_verified_and_checked_offline(
    service: AuditService, clock: ManualClock
) -> None:
    private = Ed25519PrivateKey.generate()
    payload = {"ack": "M1", "by": "BLUE", "geometry_sha256": "ab" * 32}
    with service.store.transaction() as tx:
        # Before a key is registered an acknowledgement is recorded unsigned, and a
        # signature cannot be checked.
        assert acknowledgement_signature(tx, "BLUE", payload, None) is None
        with pytest.raises(InvalidInput, match="no registered signing key"):
            verify_party_signature(tx, "BLUE", payload, sign_payload(private, payload))
    key = service.register_key("BLUE", b64u(public_raw(private)))
    with pytest.raises(AlreadyExists):
        service.register_key("BLUE", b64u(public_raw(private)))
    with service.store.transaction() as tx:
        with pytest.raises(InvalidInput, match="must be signed"):
            acknowledgement_signature(tx, "BLUE", payload, None)
        other = sign_payload(Ed25519PrivateKey.generate(), payload)
        with pytest.raises(InvalidInput, match="not a signature of party 'BLUE'"):
            verify_party_signature(tx, "BLUE", payload, other)
        with pytest.raises(InvalidInput, match="not a signature"):
            verify_party_signature(tx, "BLUE", {**payload, "ack": "M2"}, sign_payload(private, payload))
        with pytest.raises(InvalidInput, match="base64url"):
            verify_party_signature(tx, "BLUE", payload, "not base64!")
        record = acknowledgement_signature(tx, "BLUE", payload, sign_payload(private, payload))
    assert record is not None
    assert record["key_id"] == key.key_id
    _shared(service.store, clock, 2, ack_by="BLUE", sig=record)
    doc = service.export("BLUE")
    report = verify_export(doc)
    assert report.ok, report.findings
    assert report.signatures == 1
    # BLUE's registration is in its own chain (seq 1); the acks are at 2 and 3, the last signed.
    assert report.unsigned_acknowledgements == [2]
    # Altering the signed payload breaks the party signature even if the forger rehashes.
    forged = copy.deepcopy(doc)
    forged["entries"][-1]["body"][SIGNATURE_FIELD]["payload"]["ack"] = "M9"
    found = _findings(forged)
    assert any(f.startswith("seq 3: party signature of 'BLUE' does not verify") for f in found), found
    # A revoked key signs no more.
    service.revoke_key("BLUE", key.key_id)
    with service.store.transaction() as tx, pytest.raises(InvalidInput, match="no registered signing key"):
        verify_party_signature(tx, "BLUE", payload, sign_payload(private, payload))
    with pytest.raises(NotFound):
        service.revoke_key("BLUE", key.key_id)


def test_two_exports_cross_verify_and_disagreements_are_named(
    service: AuditService, clock: ManualClock
) -> None:
    _shared(service.store, clock, 3)
    red, blue = service.export("RED"), service.export("BLUE")
    assert cross_verify(red, blue) == []
    assert cross_verify(blue, red) == []
    # BLUE's operator "remembers" message M1 differently: BLUE's own chain is rewritten
    # consistently, so only the comparison with RED's ledger shows it.
    from deconfliction.store.events import canonical_json, entry_hash, sha256_hex

    e = blue["entries"][1]
    e["body"]["text"] = "no claim"
    e["body_hash"] = sha256_hex(canonical_json(e["body"]))
    e["hash"] = entry_hash(e["seq"], e["prev"], e["at"], e["kind"], e["actor"], e["body_hash"])
    found = [str(f) for f in cross_verify(red, blue)]
    assert found == [
        "seq 2: concerns BLUE but BLUE's export has no entry with this body",
        "BLUE seq 2 concerns RED but RED's export has no entry with its body",
    ]
    # Same body, another time: the entries disagree on when.
    red2 = service.export("RED")
    blue2 = service.export("BLUE")
    blue2["entries"][0]["at"] = "2026-01-01T00:00:00Z"
    found = [str(f) for f in cross_verify(red2, blue2)]
    assert found
    assert found[0].startswith("seq 1: BLUE seq 1 has the same body but at")


def test_the_server_key_file_is_created_once_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "k" / "audit.key"
    first = load_server_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_server_key(path).public_key == first.public_key
    assert first.public_key != load_server_key(tmp_path / "other.key").public_key


def test_bad_exports_are_refused_with_the_field() -> None:
    with pytest.raises(InvalidInput, match="format"):
        verify_export({"entries": []})
    with pytest.raises(InvalidInput) as caught:
        verify_export(
            {"format": "deconfliction.audit-export/1", "party": "RED", "entries": {}, "checkpoints": []}
        )
    assert caught.value.field == "entries"
    report = verify_export(
        {"format": "deconfliction.audit-export/1", "party": "RED", "entries": [{"seq": 1}], "checkpoints": []}
    )
    assert not report.ok
    assert "field 'at' is missing" in str(report.findings[0])


def test_removed_checkpoints_and_appended_or_duplicated_entries_are_caught(
    service: AuditService, clock: ManualClock
) -> None:
    doc = _doc(service, clock)
    stripped = copy.deepcopy(doc)
    stripped["checkpoints"] = []
    assert _findings(stripped) == [
        "seq 8: not covered by a valid signed checkpoint (the last one covers seq 0; an export always"
        " signs its head): entries appended or checkpoints removed"
    ]
    appended = copy.deepcopy(doc)
    from deconfliction.store.events import canonical_json, entry_hash, sha256_hex

    last = appended["entries"][-1]
    body = {"parties": ["BLUE", "RED"], "text": "added later"}
    body_hash = sha256_hex(canonical_json(body))
    link = entry_hash(9, last["hash"], last["at"], "message.sent", "RED", body_hash)
    appended["entries"].append(
        {"seq": 9, "at": last["at"], "kind": "message.sent", "actor": "RED", "body": body,
         "body_hash": body_hash, "prev": last["hash"], "hash": link}
    )  # fmt: skip
    assert [f.split(":")[0] for f in _findings(appended)] == ["seq 9"]
    duplicated = copy.deepcopy(doc)
    duplicated["entries"].insert(3, copy.deepcopy(duplicated["entries"][2]))
    assert _findings(duplicated) == ["seq 3: appears twice (positions 3 and 4): entry duplicated"]
