"""Tactical deconfliction: live track state, conflict detection, intrusion, alerts.

The public API, by task (units: SI inside — radians or degrees as named, metres, m/s,
seconds; UTC epoch seconds for times):

- one detection cycle on arrays: :func:`detect_conflicts` (degrees, the function behind
  ``deconfliction tactical detect``), :func:`detect_enu` (radians, east/north/up), with
  :class:`ConflictPairs` out, :class:`PairMinima` for minima per pair of parties, and
  :func:`pair_terms` / :class:`PairTerms` to explain a decision;
- live state and the full cycle: :class:`TrackState`, :class:`ReportBatch`,
  :class:`TacticalEngine` with :class:`TacticalConfig`, :class:`CycleResult`, and
  :func:`replay` over timed batches;
- intrusion into active volumes: :class:`ActiveVolume`, :func:`detect_intrusions`;
- alerts: :class:`Alert`, :class:`AlertPolicy`, :class:`Tier`, :class:`Change`;
- bad input: :class:`Limits`, :class:`Rejection`, :func:`validate_records`.

Everything else in the submodules is an implementation detail and may change.
"""

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
from deconfliction.engine.tactical.replay import Alert, CycleResult, TacticalConfig, TacticalEngine, replay
from deconfliction.engine.tactical.state import IngestResult, ReportBatch, TrackState

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
    "replay",
    "validate_records",
]
