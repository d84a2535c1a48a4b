"""Proof of awareness: a party may not activate an operation that conflicts with another
party's current version until it has acknowledged that version.

As with ASTM F3548's OVNs, awareness is of a *version*: when the other side changes its
operation (volumes or state), the version and the conflict's reference change, and a
fresh acknowledgement is needed. Acknowledgements are made by reference (``CX-…``, what
both sides cite on the hotline), recorded as (party, other operation, version), and
appended to both parties' audit chains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deconfliction.engine.strategic import StrategicConflict, conflict_reference
from deconfliction.errors import AwarenessRequired, NotFound, StaleVersion
from deconfliction.service.notices import ChangeViews, acknowledged
from deconfliction.service.signing import SIGNATURE_FIELD, acknowledgement_signature
from deconfliction.store.base import Transaction
from deconfliction.store.events import AuditRepo, EventsRepo
from deconfliction.store.policy import Acknowledgement, AcknowledgementsRepo


@dataclass(frozen=True, slots=True)
class AcknowledgementResult:
    reference: str
    other_party: str
    operation_id: str
    at: datetime
    new: bool

    def to_dict(self) -> dict[str, Any]:
        from deconfliction.geo.timewindow import format_utc

        return {
            "reference": self.reference,
            "other_party": self.other_party,
            "operation_id": self.operation_id,
            "acknowledged_at": format_utc(self.at),
            "new": self.new,
        }


def awareness_payload(
    party: str, reference: str, operation_id: str, version: int, other: str
) -> dict[str, Any]:
    """What a party signs to acknowledge conflict ``reference`` (docs/audit.md): only what
    it may see — the reference (which names both versions), its own operation and version,
    and the other party."""
    return {
        "kind": "conflict.acknowledged",
        "reference": reference,
        "by": party,
        "operation_id": operation_id,
        "operation_version": version,
        "other_party": other,
    }


def acknowledge(
    tx: Transaction, party: str, reference: str, at: datetime, signature: str | None = None
) -> AcknowledgementResult:
    """Record that ``party`` is aware of the other side of its conflict ``reference``.

    NotFound unless ``reference`` is one of ``party``'s current conflicts (an old
    reference names a version that has since changed). A party with a registered key must
    sign :func:`awareness_payload` (``signature``; 422 otherwise, nothing stored)."""
    for conflict in tx.conflicts_of(party):
        if conflict_reference(conflict) != reference:
            continue
        other = conflict.b
        current = tx.get_operation(other.party, other.id)
        if current.version != other.version:
            raise StaleVersion(f"{reference} names a version that has changed; fetch the conflicts again")
        payload = awareness_payload(party, reference, conflict.a.id, conflict.a.version, other.party)
        signed = acknowledgement_signature(tx, party, payload, signature)
        new = tx.repo(AcknowledgementsRepo).add(
            Acknowledgement(party, other.party, other.id, other.version, reference, at)
        )
        if new:
            body: dict[str, Any] = {
                "reference": reference,
                "parties": sorted([party, other.party]),
                "acknowledged_by": party,
            }
            if signed is not None:
                body[SIGNATURE_FIELD] = signed
            for who in (party, other.party):
                tx.repo(AuditRepo).append(who, "conflict.acknowledged", party, body, at)
            tx.repo(EventsRepo).append(other.party, "conflict.acknowledged", body, at)
        return AcknowledgementResult(reference, other.party, conflict.a.id, at, new)
    raise NotFound(f"no current conflict {reference!r} of party {party!r}")


def require_awareness(
    tx: Transaction, party: str, conflicts: Sequence[StrategicConflict], at: datetime
) -> None:
    """Raise AwarenessRequired, listing them as ``party`` may see them, if any of
    ``conflicts`` (its operation against others' current versions) is unacknowledged."""
    missing = [c for c in conflicts if not acknowledged(tx, party, c)]
    if missing:
        refs = ", ".join(conflict_reference(c) for c in missing)
        raise AwarenessRequired(
            f"acknowledge the conflicting operations' current versions first: {refs}",
            ChangeViews(tx, at).views(party, missing),
        )
