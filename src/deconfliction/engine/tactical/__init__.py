"""Tactical deconfliction: live track state, conflict detection, intrusion, alerts.

The public API, by task (units: SI inside — radians or degrees as named, metres, m/s,
seconds; UTC epoch seconds for times):

- one detection cycle on arrays: :func:`detect_conflicts` (degrees, the function behind
  ``deconfliction tactical detect``), :func:`detect_enu` (radians, east/north/up), with
  :class:`ConflictPairs` out, :class:`PairMinima` for minima per pair of parties, and
  :func:`pair_terms` / :class:`PairTerms` to explain a decision;
- live state and the full cycle: :class:`TrackState`, :class:`ReportBatch`,
  :class:`TacticalEngine` with :class:`TacticalConfig`, :class:`CycleResult`, and
  :func:`deconfliction.engine.tactical.replay.replay` over timed batches (imported from
  its module: the package's ``replay`` is that module);
- intrusion into active volumes: :class:`ActiveVolume`, :func:`detect_intrusions`;
- alerts: :class:`Alert`, :class:`AlertPolicy`, :class:`Tier`, :class:`Change`;
- bad input: :class:`Limits`, :class:`Rejection`, :func:`validate_records`.

Everything else in the submodules is an implementation detail and may change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from deconfliction.lazy import exports

#: Public name -> the module that defines it; each loads on first use (see deconfliction.lazy).
_HOMES: Final[dict[str, str]] = {
    "AlertPolicy": "deconfliction.engine.tactical.alerts",
    "Change": "deconfliction.engine.tactical.alerts",
    "Tier": "deconfliction.engine.tactical.alerts",
    "DEFAULT_HSEP_M": "deconfliction.engine.tactical.detect",
    "DEFAULT_LOOKAHEAD_S": "deconfliction.engine.tactical.detect",
    "DEFAULT_VSEP_M": "deconfliction.engine.tactical.detect",
    "EARTH_RADIUS_M": "deconfliction.engine.tactical.detect",
    "ConflictPairs": "deconfliction.engine.tactical.detect",
    "PairMinima": "deconfliction.engine.tactical.detect",
    "PairTerms": "deconfliction.engine.tactical.detect",
    "detect_conflicts": "deconfliction.engine.tactical.detect",
    "detect_enu": "deconfliction.engine.tactical.detect",
    "pair_terms": "deconfliction.engine.tactical.detect",
    "Limits": "deconfliction.engine.tactical.ingest",
    "Rejection": "deconfliction.engine.tactical.ingest",
    "validate_records": "deconfliction.engine.tactical.ingest",
    "ActiveVolume": "deconfliction.engine.tactical.intrusion",
    "Intrusions": "deconfliction.engine.tactical.intrusion",
    "detect_intrusions": "deconfliction.engine.tactical.intrusion",
    "Alert": "deconfliction.engine.tactical.replay",
    "CycleResult": "deconfliction.engine.tactical.replay",
    "TacticalConfig": "deconfliction.engine.tactical.replay",
    "TacticalEngine": "deconfliction.engine.tactical.replay",
    "IngestResult": "deconfliction.engine.tactical.state",
    "ReportBatch": "deconfliction.engine.tactical.state",
    "TrackState": "deconfliction.engine.tactical.state",
}

__all__ = [
    "DEFAULT_HSEP_M",
    "DEFAULT_LOOKAHEAD_S",
    "DEFAULT_VSEP_M",
    "EARTH_RADIUS_M",
    "ActiveVolume",
    "Alert",
    "AlertPolicy",
    "Change",
    "ConflictPairs",
    "CycleResult",
    "IngestResult",
    "Intrusions",
    "Limits",
    "PairMinima",
    "PairTerms",
    "Rejection",
    "ReportBatch",
    "TacticalConfig",
    "TacticalEngine",
    "Tier",
    "TrackState",
    "detect_conflicts",
    "detect_enu",
    "detect_intrusions",
    "pair_terms",
    "validate_records",
]

__getattr__, __dir__ = exports(__name__, _HOMES)

if TYPE_CHECKING:
    from deconfliction.engine.tactical.alerts import AlertPolicy, Change, Tier
    from deconfliction.engine.tactical.detect import (
        DEFAULT_HSEP_M,
        DEFAULT_LOOKAHEAD_S,
        DEFAULT_VSEP_M,
        EARTH_RADIUS_M,
        ConflictPairs,
        PairMinima,
        PairTerms,
        detect_conflicts,
        detect_enu,
        pair_terms,
    )
    from deconfliction.engine.tactical.ingest import Limits, Rejection, validate_records
    from deconfliction.engine.tactical.intrusion import ActiveVolume, Intrusions, detect_intrusions
    from deconfliction.engine.tactical.replay import (
        Alert,
        CycleResult,
        TacticalConfig,
        TacticalEngine,
    )
    from deconfliction.engine.tactical.state import IngestResult, ReportBatch, TrackState
