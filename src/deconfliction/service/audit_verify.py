"""Offline verification of audit exports: no server, no database, only the document.

:func:`verify_export` re-derives every hash of one party's chain and checks every
signature in it; each finding names the entry (``seq``) and what is wrong with it, so an
altered, removed or reordered entry is pinpointed. :func:`cross_verify` compares two
parties' exports: an event that concerns both is recorded in both chains with the same
body, so entries with the same ``body_hash`` must agree, and an entry that names the other
party in ``body.parties`` must have its twin in the other chain ("two ledgers that never
agreed").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from deconfliction.errors import InvalidInput
from deconfliction.service.audit import CHECKPOINT_TYPE, EXPORT_FORMAT, checkpoint_message
from deconfliction.service.signing import SIGNATURE_FIELD, key_id, signature_valid, unb64u
from deconfliction.store.events import GENESIS, canonical_json, entry_hash, sha256_hex

_ENTRY_FIELDS = {
    "seq": int,
    "at": str,
    "kind": str,
    "actor": str,
    "body": object,
    "body_hash": str,
    "prev": str,
    "hash": str,
}
_CHECKPOINT_FIELDS = {
    "party": str,
    "seq": int,
    "hash": str,
    "at": str,
    "key_id": str,
    "public_key": str,
    "signature": str,
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong; ``seq`` is the entry it concerns (None: the document as a whole)."""

    seq: int | None
    message: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.message}" if self.seq is not None else self.message


@dataclass
class Report:
    """What verification found; ``ok`` when there are no findings."""

    party: str
    entries: int = 0
    checkpoints: int = 0
    signatures: int = 0
    unsigned_acknowledgements: list[int] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, seq: int | None, message: str) -> None:
        self.findings.append(Finding(seq, message))


def _typed(item: Any, fields: dict[str, type], where: str) -> str | None:
    if not isinstance(item, dict):
        return f"{where} is not an object"
    for name, kind in fields.items():
        value = item.get(name)
        if name not in item or (
            kind is not object and (not isinstance(value, kind) or isinstance(value, bool))
        ):
            return f"{where}: field {name!r} is missing or not a {kind.__name__}"
    return None


def _key_matches(public_key: str, claimed_id: str) -> bool:
    try:
        raw = unb64u(public_key, "public_key")
    except InvalidInput:
        return False
    return len(raw) == 32 and key_id(raw) == claimed_id


def _check_entries(doc_entries: list[Any], report: Report) -> dict[int, dict[str, Any]]:
    """Hash, link and order checks; returns the well-formed entries by seq."""
    by_seq: dict[int, dict[str, Any]] = {}
    order: list[int] = []
    for pos, entry in enumerate(doc_entries, 1):
        problem = _typed(entry, _ENTRY_FIELDS, f"entry at position {pos}")
        if problem:
            report.add(
                entry.get("seq") if isinstance(entry, dict) and isinstance(entry.get("seq"), int) else None,
                problem,
            )
            continue
        seq = entry["seq"]
        if seq in by_seq:
            report.add(seq, f"appears twice (positions {order.index(seq) + 1} and {pos}): entry duplicated")
            continue
        by_seq[seq] = entry
        order.append(seq)
    report.entries = len(by_seq)
    if not by_seq:
        return by_seq
    last = max(by_seq)
    for seq in range(1, last + 1):
        if seq not in by_seq:
            report.add(seq, "missing: the entry was removed (the chain numbers every entry)")
    present = sorted(by_seq)
    if order != present:
        for pos, seq in enumerate(order):
            if present[pos] != seq:
                report.add(
                    seq, f"out of order: found at position {pos + 1}, where seq {present[pos]} belongs"
                )
    for seq in present:
        entry = by_seq[seq]
        body_hash = sha256_hex(canonical_json(entry["body"]))
        if body_hash != entry["body_hash"]:
            report.add(
                seq,
                f"body altered: it hashes to {body_hash[:16]}…, the entry records {entry['body_hash'][:16]}…",
            )
        link = entry_hash(seq, entry["prev"], entry["at"], entry["kind"], entry["actor"], entry["body_hash"])
        if link != entry["hash"]:
            report.add(
                seq, "entry altered: its seq, time, kind, actor, prev or body_hash do not hash to its hash"
            )
        before = GENESIS if seq == 1 else by_seq.get(seq - 1, {}).get("hash")
        if before is not None and entry["prev"] != before:
            report.add(seq, f"broken link: prev is not the hash of seq {seq - 1}")
    return by_seq


def _check_checkpoints(
    doc: dict[str, Any], by_seq: dict[int, dict[str, Any]], trusted: set[str] | None, report: Report
) -> None:
    party = doc["party"]
    published = {k.get("public_key") for k in doc.get("server_keys", []) if isinstance(k, dict)}
    covered = 0
    for n, cp in enumerate(doc["checkpoints"]):
        problem = _typed(cp, _CHECKPOINT_FIELDS, f"checkpoint {n}")
        if problem:
            report.add(None, problem)
            continue
        seq = cp["seq"]
        where = f"checkpoint at seq {seq}"
        message = checkpoint_message(cp["party"], seq, cp["hash"], cp["at"])
        if not signature_valid(cp["public_key"], message, cp["signature"]):
            report.add(seq, f"{where}: the server signature is invalid (forged or altered checkpoint)")
            continue
        if not _key_matches(cp["public_key"], cp["key_id"]):
            report.add(seq, f"{where}: key_id {cp['key_id']} is not the id of its public key")
        if trusted is not None and cp["public_key"] not in trusted:
            report.add(seq, f"{where}: signed by key {cp['key_id']}, which is not a trusted server key")
            continue
        if cp["public_key"] not in published:
            report.add(seq, f"{where}: signed by key {cp['key_id']}, which the export does not publish")
            continue
        if cp["party"] != party:
            report.add(seq, f"{where}: signed for party {cp['party']!r}, not {party!r}")
            continue
        report.checkpoints += 1
        entry = by_seq.get(seq)
        if entry is None:
            last = max(by_seq, default=0)
            report.add(
                seq, f"{where}: the server signed seq {seq} but the export ends at {last}: entries removed"
            )
        elif entry["hash"] != cp["hash"]:
            report.add(
                seq,
                f"{where}: the server signed another hash for this entry:"
                f" the chain up to seq {seq} was rewritten",
            )
        else:
            covered = max(covered, seq)
    last = max(by_seq, default=0)
    if last > covered:
        report.add(
            last,
            f"not covered by a valid signed checkpoint (the last one covers seq {covered}; "
            "an export always signs its head): entries appended or checkpoints removed",
        )


def _check_party_signatures(doc: dict[str, Any], by_seq: dict[int, dict[str, Any]], report: Report) -> None:
    party = doc["party"]
    own_keys = {k.get("public_key") for k in doc.get("party_keys", []) if isinstance(k, dict)}
    for seq in sorted(by_seq):
        entry = by_seq[seq]
        body = entry["body"]
        record = body.get(SIGNATURE_FIELD) if isinstance(body, dict) else None
        if record is None:
            if "ack" in entry["kind"].lower():
                report.unsigned_acknowledgements.append(seq)
            continue
        if not isinstance(record, dict) or not all(
            isinstance(record.get(f), str) for f in ("party", "key_id", "public_key", "signature")
        ):
            report.add(seq, f"{SIGNATURE_FIELD} is malformed")
            continue
        if not _key_matches(record["public_key"], record["key_id"]):
            report.add(seq, f"party signature: key_id {record['key_id']} is not the id of its public key")
        elif not signature_valid(record["public_key"], record.get("payload"), record["signature"]):
            report.add(
                seq, f"party signature of {record['party']!r} does not verify over its payload (altered)"
            )
        elif record["party"] == party and record["public_key"] not in own_keys:
            report.add(
                seq, f"signed with key {record['key_id']}, which is not one of {party!r}'s registered keys"
            )
        else:
            report.signatures += 1


def verify_export(doc: Any, trusted_server_keys: Iterable[str] | None = None) -> Report:
    """Check one export; ``trusted_server_keys`` (base64url public keys, as GET
    /v1/audit/keys publishes them) pins the server key instead of trusting the document's."""
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise InvalidInput("format", f"not an audit export (format must be {EXPORT_FORMAT!r})")
    if not isinstance(doc.get("party"), str):
        raise InvalidInput("party", "the export names no party")
    for name in ("entries", "checkpoints"):
        if not isinstance(doc.get(name), list):
            raise InvalidInput(name, "must be a list")
    report = Report(doc["party"])
    by_seq = _check_entries(doc["entries"], report)
    trusted = set(trusted_server_keys) if trusted_server_keys is not None else None
    _check_checkpoints(doc, by_seq, trusted, report)
    _check_party_signatures(doc, by_seq, report)
    report.findings.sort(key=lambda f: f.seq if f.seq is not None else -1)
    return report


def _parties(entry: dict[str, Any]) -> set[str]:
    body = entry.get("body")
    named = body.get("parties") if isinstance(body, dict) else None
    return {p for p in named if isinstance(p, str)} if isinstance(named, list) else set()


def _rehashed(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "body_hash": sha256_hex(canonical_json(entry["body"]))}


def cross_verify(a: dict[str, Any], b: dict[str, Any]) -> list[Finding]:
    """Disagreements between two parties' exports (each should pass :func:`verify_export`
    first); findings name seqs of ``a``'s chain."""
    pa, pb = a["party"], b["party"]
    # Matched on the hash of the body as it is now, not as recorded: an altered body
    # then shows here too, not only in its own chain's check.
    a_entries = [_rehashed(e) for e in a["entries"] if _typed(e, _ENTRY_FIELDS, "entry") is None]
    b_entries = [_rehashed(e) for e in b["entries"] if _typed(e, _ENTRY_FIELDS, "entry") is None]
    findings: list[Finding] = []
    b_by_hash: dict[str, list[dict[str, Any]]] = {}
    for e in b_entries:
        b_by_hash.setdefault(e["body_hash"], []).append(e)
    a_hashes = {e["body_hash"] for e in a_entries}
    shared: list[tuple[int, int]] = []
    for e in a_entries:
        twins = b_by_hash.get(e["body_hash"], [])
        if twins:
            twin = twins[0]
            shared.append((e["seq"], twin["seq"]))
            # kind may differ (message.sent / message.received): it is each side's view.
            for name in ("actor", "at"):
                if e[name] != twin[name]:
                    findings.append(
                        Finding(
                            e["seq"],
                            f"{pb} seq {twin['seq']} has the same body"
                            f" but {name} {twin[name]!r}, not {e[name]!r}",
                        )
                    )
        elif pb in _parties(e):
            findings.append(Finding(e["seq"], f"concerns {pb} but {pb}'s export has no entry with this body"))
    for e in b_entries:
        if pa in _parties(e) and e["body_hash"] not in a_hashes:
            findings.append(
                Finding(
                    None, f"{pb} seq {e['seq']} concerns {pa} but {pa}'s export has no entry with its body"
                )
            )
    last_b = 0
    for seq_a, seq_b in shared:
        if seq_b < last_b:
            findings.append(
                Finding(
                    seq_a,
                    f"recorded in a different order by {pb} (its seq {seq_b} comes before seq {last_b})",
                )
            )
        last_b = max(last_b, seq_b)
    return findings


__all__ = ["CHECKPOINT_TYPE", "Finding", "Report", "cross_verify", "verify_export"]
