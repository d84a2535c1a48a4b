"""Who calls the F3548 use-cases: the USS and the F3548 scopes its token grants.

Tokens are verified at the edge (:mod:`deconfliction.interop.f3548.auth`); the use-cases
only ask whether the verified caller holds a scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from uas_standards.astm.f3548.v21.constants import Scope

from deconfliction.errors import Forbidden

#: Scopes of F3548-21 (as ``uas-standards`` names them).
STRATEGIC_COORDINATION: Final = Scope.StrategicCoordination.value
CONSTRAINT_MANAGEMENT: Final = Scope.ConstraintManagement.value
CONSTRAINT_PROCESSING: Final = Scope.ConstraintProcessing.value
CONFORMANCE_MONITORING_SA: Final = Scope.ConformanceMonitoringForSituationalAwareness.value
AVAILABILITY_ARBITRATION: Final = Scope.AvailabilityArbitration.value
ALL_SCOPES: Final = frozenset(
    {
        STRATEGIC_COORDINATION,
        CONSTRAINT_MANAGEMENT,
        CONSTRAINT_PROCESSING,
        CONFORMANCE_MONITORING_SA,
        AVAILABILITY_ARBITRATION,
    }
)


@dataclass(frozen=True, slots=True)
class F3548Principal:
    """Who is calling: the USS (the token's ``sub``, our party id) and its scopes."""

    manager: str
    scopes: frozenset[str]

    def require_any(self, *scopes: str) -> None:
        """:class:`Forbidden` unless the token grants one of ``scopes``."""
        if not self.scopes.intersection(scopes):
            raise Forbidden(f"this request needs one of the scopes {', '.join(scopes)}")
