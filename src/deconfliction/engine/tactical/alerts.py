"""Alert tiers with M-of-N persistence, hysteresis, and cleared events.

Each cycle gives every subject (a pair of tracks, or a track and a volume) a *raw*
tier from its time to loss of separation (or to entry): ``WARNING`` when it is at
most ``thresholds_s[2]`` (default 25 s), ``CAUTION`` at most ``thresholds_s[1]``
(60 s), ``ADVISORY`` at most ``thresholds_s[0]`` (300 s), else none. The *alert* tier
that parties see moves only with persistence:

- it rises to the highest tier reached in at least ``m`` of the last ``n`` cycles
  (default 2 of 3), at once — a single noisy cycle raises nothing;
- it falls only after the raw tier has stayed below it for ``clear_cycles``
  consecutive cycles (default 3), to the tier the last ``n`` cycles then support;
- falling to none is a ``cleared`` event. A subject that disappears (a track dropped
  as stale) is cleared at once.

State is held as arrays keyed by an integer subject key (sorted), updated vectorised;
events are produced only for subjects whose alert tier changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

import numpy as np
from numpy.typing import NDArray

from deconfliction.errors import InvalidInput

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class Tier(IntEnum):
    NONE = 0
    ADVISORY = 1
    CAUTION = 2
    WARNING = 3


class Change(StrEnum):
    RAISED = "raised"  # from none
    ESCALATED = "escalated"
    DOWNGRADED = "downgraded"
    CLEARED = "cleared"  # to none


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Tier thresholds (seconds to loss, for advisory, caution, warning) and persistence."""

    thresholds_s: tuple[float, float, float] = (300.0, 60.0, 25.0)
    m: int = 2
    n: int = 3
    clear_cycles: int = 3

    def __post_init__(self) -> None:
        a, c, w = self.thresholds_s
        if not (a >= c >= w >= 0.0):
            raise InvalidInput("thresholds_s", "need advisory >= caution >= warning >= 0 seconds")
        if not (1 <= self.m <= self.n <= 32):
            raise InvalidInput("m", "need 1 <= m <= n <= 32")
        if self.clear_cycles < 1:
            raise InvalidInput("clear_cycles", "must be at least 1")

    def raw_tiers(self, time_to_loss_s: FloatArray) -> NDArray[np.int8]:
        """Raw tier per subject from its time to loss of separation (0 when already lost)."""
        a, c, w = self.thresholds_s
        t = np.asarray(time_to_loss_s, dtype=np.float64)
        tiers = np.where(t <= w, 3, np.where(t <= c, 2, np.where(t <= a, 1, 0)))
        return tiers.astype(np.int8)


@dataclass(frozen=True, slots=True)
class TierChange:
    """One subject's alert tier changed this cycle."""

    key: int
    change: Change
    tier: Tier
    previous: Tier
    row: int  # index into this cycle's input arrays, or -1 when the subject vanished


@dataclass(slots=True)
class AlertTracker:
    """Persistence state for one kind of subject (pairs, or track-volume intrusions)."""

    policy: AlertPolicy = field(default_factory=AlertPolicy)
    keys: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    history: NDArray[np.int8] = field(init=False)  # (subjects, n): raw tiers, newest last
    level: NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    below: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, dtype=np.int32))

    def __post_init__(self) -> None:
        self.history = np.zeros((0, self.policy.n), dtype=np.int8)

    def __len__(self) -> int:
        return int(self.keys.size)

    def tier_of(self, key: int) -> Tier:
        k = int(np.searchsorted(self.keys, key))
        if k < self.keys.size and self.keys[k] == key:
            return Tier(int(self.level[k]))
        return Tier.NONE

    def update(
        self, keys: IntArray, raw: NDArray[np.int8], vanished: IntArray | None = None
    ) -> list[TierChange]:
        """One cycle: ``raw`` tiers of the subjects seen (unique ``keys``); absent ones get none.

        ``vanished`` keys (e.g. pairs with a dropped track) are cleared at once.
        """
        policy = self.policy
        keys = np.asarray(keys, dtype=np.int64)
        raw = np.asarray(raw, dtype=np.int8)
        union = np.union1d(self.keys, keys[raw > 0])
        size = union.size
        old_rows = np.searchsorted(union, self.keys)
        history = np.zeros((size, policy.n), dtype=np.int8)
        level = np.zeros(size, dtype=np.int8)
        below = np.zeros(size, dtype=np.int32)
        history[old_rows, :-1] = self.history[:, 1:]
        level[old_rows] = self.level
        below[old_rows] = self.below
        # Raw tier this cycle per subject (0 when not seen), and the input row it came from.
        current = np.zeros(size, dtype=np.int8)
        row_of = np.full(size, -1, dtype=np.int64)
        seen = np.flatnonzero(raw > 0)
        at = np.searchsorted(union, keys[seen])
        current[at] = raw[seen]
        row_of[at] = seen
        history[:, -1] = current

        supported = np.zeros(size, dtype=np.int8)
        for tier in (Tier.ADVISORY, Tier.CAUTION, Tier.WARNING):
            enough = (history >= tier).sum(axis=1) >= policy.m
            supported = np.where(enough, np.int8(tier), supported)
        below = np.where(current < level, below + 1, 0).astype(np.int32)
        new_level = level.copy()
        up = supported > level
        new_level[up] = supported[up]
        below[up] = 0
        down = ~up & (below >= policy.clear_cycles)
        new_level[down] = np.minimum(supported[down], level[down])
        below[down] = 0
        if vanished is not None and vanished.size:
            gone = np.isin(union, vanished)
            new_level[gone] = 0
            history[gone] = 0

        changes: list[TierChange] = []
        for k in np.flatnonzero(new_level != level).tolist():
            before, after = Tier(int(level[k])), Tier(int(new_level[k]))
            if before == Tier.NONE:
                change = Change.RAISED
            elif after == Tier.NONE:
                change = Change.CLEARED
            else:
                change = Change.ESCALATED if after > before else Change.DOWNGRADED
            changes.append(TierChange(int(union[k]), change, after, before, int(row_of[k])))

        keep = (new_level > 0) | history.any(axis=1)
        self.keys = union[keep]
        self.history = history[keep]
        self.level = new_level[keep]
        self.below = below[keep]
        return changes


def pair_key(a: IntArray, b: IntArray) -> IntArray:
    """An integer key for unordered pairs of slots (< 2**31 each)."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    result: IntArray = (lo.astype(np.int64) << 32) | hi.astype(np.int64)
    return result


def split_pair_key(key: int) -> tuple[int, int]:
    return key >> 32, key & 0xFFFFFFFF
