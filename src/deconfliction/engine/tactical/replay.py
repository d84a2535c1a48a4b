"""The tactical cycle: ingest, extrapolate, drop stale, detect, intrude, alert — and replays.

:class:`TacticalEngine` owns one :class:`~deconfliction.engine.tactical.state.TrackState`
and two alert trackers (pairs, intrusions). :meth:`TacticalEngine.cycle` runs one full
cycle at a given time (``now`` is a parameter, never read from a clock) and returns
the alerts that rose, changed or cleared. :func:`replay` drives an engine over a
sequence of timed batches, e.g. from a CSV replay or a recorded ADS-B sample.
Alerts are returned (and printed by the CLI); delivery to parties through the event
stream comes with the service layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from deconfliction.engine.minima import MinimaPolicy
from deconfliction.engine.tactical.alerts import (
    AlertPolicy,
    AlertTracker,
    Change,
    Tier,
    pair_key,
    split_pair_key,
)
from deconfliction.engine.tactical.detect import (
    DEFAULT_HSEP_M,
    DEFAULT_LOOKAHEAD_S,
    DEFAULT_VSEP_M,
    PairMinima,
    detect_enu,
)
from deconfliction.engine.tactical.ingest import Rejection
from deconfliction.engine.tactical.intrusion import ActiveVolume, detect_intrusions
from deconfliction.engine.tactical.state import ReportBatch, TrackState
from deconfliction.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class TacticalConfig:
    """Everything a cycle needs besides the data; SI units.

    ``pair_minima``, when given (the service's ``OperationService.policy()``), sets the
    horizontal and vertical minima of each pair of parties by name
    (``MinimaPolicy.for_pair``; its time buffer is strategic only) and ``hsep_m`` /
    ``vsep_m`` are not used; without it they hold for every pair.
    """

    lookahead_s: float = DEFAULT_LOOKAHEAD_S
    hsep_m: float = DEFAULT_HSEP_M
    vsep_m: float = DEFAULT_VSEP_M
    all_pairs: bool = False
    pair_minima: MinimaPolicy | None = None
    stale_after_s: float = 20.0
    volume_buffer_h_m: float = 0.0
    volume_buffer_v_m: float = 0.0
    policy: AlertPolicy = field(default_factory=AlertPolicy)

    def __post_init__(self) -> None:
        if self.policy.thresholds_s[0] > self.lookahead_s:
            raise InvalidInput("policy.thresholds_s", "the advisory threshold exceeds the look-ahead")


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert tier change for a pair of tracks (``conflict``) or a track and a volume
    (``intrusion``). Both parties named receive it. ``t_in_s`` is the time to loss of
    separation or to entry (NaN when cleared)."""

    time_s: float
    kind: str
    change: Change
    tier: Tier
    previous: Tier
    subject_a: str
    party_a: str
    subject_b: str
    party_b: str
    t_in_s: float
    tcpa_s: float = float("nan")
    dcpa_m: float = float("nan")

    def describe(self) -> str:
        what = "conflict" if self.kind == "conflict" else "intrusion into"
        timing = "" if self.change is Change.CLEARED else f" in {self.t_in_s:.0f} s"
        tier = self.previous.name if self.change is Change.CLEARED else self.tier.name
        return (
            f"{self.change.value.upper():10s} {tier:8s} {what} {self.subject_a} ({self.party_a})"
            f" / {self.subject_b} ({self.party_b}){timing}"
        )


@dataclass(frozen=True, slots=True)
class CycleResult:
    time_s: float
    tracks: int
    conflicts: int
    intrusions: int
    accepted: int
    rejections: tuple[Rejection, ...]
    dropped: tuple[str, ...]
    alerts: tuple[Alert, ...]


@dataclass(slots=True)
class TacticalEngine:
    """Track state plus alert persistence; one instance per airspace picture."""

    config: TacticalConfig = field(default_factory=TacticalConfig)
    volumes: Sequence[ActiveVolume] = ()
    state: TrackState = field(init=False)
    pairs: AlertTracker = field(init=False)
    intrusion_alerts: AlertTracker = field(init=False)
    _minima: PairMinima | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.state = TrackState(stale_after_s=self.config.stale_after_s)
        self.pairs = AlertTracker(self.config.policy)
        self.intrusion_alerts = AlertTracker(self.config.policy)

    def pair_minima(self) -> PairMinima | None:
        """The per-pair minima table for the parties seen so far (None: scalar minima)."""
        policy = self.config.pair_minima
        if policy is None:
            return None
        names = self.state.party_names
        if not names:
            return None
        if self._minima is None or self._minima.parties != len(names):

            def for_pair(a: str, b: str) -> tuple[float, float]:
                minima = policy.for_pair(a, b)
                return minima.horizontal_m, minima.vertical_m

            self._minima = PairMinima.build(names, for_pair)
        return self._minima

    def cycle(self, now_s: float, batch: ReportBatch | None = None) -> CycleResult:
        """Ingest ``batch`` (if any), then one detection cycle at ``now_s``."""
        state, cfg = self.state, self.config
        accepted, rejections = 0, tuple[Rejection, ...]()
        if batch is not None and len(batch):
            result = state.ingest(batch, now_s)
            accepted, rejections = result.accepted, result.rejections
        dropped = state.drop_stale(now_s)
        dropped_slots = np.array([s for s, _ in dropped], dtype=np.int64)
        dropped_ids = dict(dropped)
        pos = state.positions_at(now_s)
        found = detect_enu(
            pos.lat_rad,
            pos.lon_rad,
            pos.alt_m,
            pos.east_mps,
            pos.north_mps,
            pos.up_mps,
            pos.party,
            lookahead_s=cfg.lookahead_s,
            hsep_m=cfg.hsep_m,
            vsep_m=cfg.vsep_m,
            minima=self.pair_minima(),
            all_pairs=cfg.all_pairs,
        )
        slot_a, slot_b = pos.slots[found.i], pos.slots[found.j]
        keys = pair_key(slot_a, slot_b)
        vanished = self._vanished_pairs(dropped_slots)
        alerts: list[Alert] = []
        names = state.party_names
        for change in self.pairs.update(keys, cfg.policy.raw_tiers(found.t_in_s), vanished):
            a, b = split_pair_key(change.key)
            k = change.row
            alerts.append(
                Alert(
                    now_s,
                    "conflict",
                    change.change,
                    change.tier,
                    change.previous,
                    self._track_id(a, dropped_ids),
                    names[int(state.party[a])],
                    self._track_id(b, dropped_ids),
                    names[int(state.party[b])],
                    float(found.t_in_s[k]) if k >= 0 else float("nan"),
                    float(found.tcpa_s[k]) if k >= 0 else float("nan"),
                    float(found.dcpa_m[k]) if k >= 0 else float("nan"),
                )
            )
        intrusions = 0
        if self.volumes:
            hits = detect_intrusions(
                pos.lat_rad,
                pos.lon_rad,
                pos.alt_m,
                pos.east_mps,
                pos.north_mps,
                pos.up_mps,
                [names[int(p)] for p in pos.party],
                self.volumes,
                now_s=now_s,
                lookahead_s=cfg.lookahead_s,
                buffer_h_m=cfg.volume_buffer_h_m,
                buffer_v_m=cfg.volume_buffer_v_m,
                track_datum=state.datum,
            )
            intrusions = len(hits)
            slots = pos.slots[hits.track]
            ikeys = (slots << 32) | hits.volume
            gone = np.array(
                [k for k in self.intrusion_alerts.keys.tolist() if (k >> 32) in set(dropped_slots.tolist())],
                dtype=np.int64,
            )
            for change in self.intrusion_alerts.update(ikeys, cfg.policy.raw_tiers(hits.t_in_s), gone):
                slot, v_index = change.key >> 32, change.key & 0xFFFFFFFF
                volume = self.volumes[v_index]
                k = change.row
                alerts.append(
                    Alert(
                        now_s,
                        "intrusion",
                        change.change,
                        change.tier,
                        change.previous,
                        self._track_id(slot, dropped_ids),
                        names[int(state.party[slot])],
                        volume.ref,
                        volume.party,
                        float(hits.t_in_s[k]) if k >= 0 else float("nan"),
                    )
                )
        return CycleResult(
            now_s,
            int(pos.slots.size),
            len(found),
            intrusions,
            accepted,
            tuple(rejections),
            tuple(i for _, i in dropped),
            tuple(alerts),
        )

    def _track_id(self, slot: int, dropped: dict[int, str]) -> str:
        return dropped.get(slot) or self.state.ids[slot]

    def _vanished_pairs(self, dropped_slots: np.ndarray) -> np.ndarray:
        if dropped_slots.size == 0 or len(self.pairs) == 0:
            return np.zeros(0, dtype=np.int64)
        keys = self.pairs.keys
        lo, hi = keys >> 32, keys & 0xFFFFFFFF
        result: np.ndarray = keys[np.isin(lo, dropped_slots) | np.isin(hi, dropped_slots)]
        return result


def replay(
    batches: Iterable[tuple[float, ReportBatch]],
    *,
    volumes: Sequence[ActiveVolume] = (),
    config: TacticalConfig | None = None,
) -> Iterator[CycleResult]:
    """Run one cycle per ``(time_s, batch)``, in order; yields every cycle's result.

    This is the live phase's entry point: feed it batches from any feed
    (:func:`deconfliction.interop.feeds.recorded.recorded_batches`, a CSV replay, SBS-1)
    and print ``result.alerts`` as they come.
    """
    engine = TacticalEngine(config or TacticalConfig(), volumes)
    for time_s, batch in batches:
        yield engine.cycle(time_s, batch)
