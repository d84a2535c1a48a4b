"""Alert tiers: thresholds, M-of-N persistence, hysteresis, cleared events."""

from __future__ import annotations

import numpy as np
import pytest

from deconfliction.engine.tactical.alerts import AlertPolicy, AlertTracker, Change, Tier
from deconfliction.errors import InvalidInput


def step(tracker: AlertTracker, tier: int | None, key: int = 7) -> list[tuple[Change, Tier]]:
    if tier is None or tier == 0:
        changes = tracker.update(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8))
    else:
        changes = tracker.update(np.array([key]), np.array([tier], dtype=np.int8))
    return [(c.change, c.tier) for c in changes]


def test_raw_tiers_follow_thresholds() -> None:
    policy = AlertPolicy()
    tiers = policy.raw_tiers(np.array([0.0, 25.0, 25.1, 60.0, 60.1, 300.0, 300.1]))
    assert tiers.tolist() == [3, 3, 2, 2, 1, 1, 0]


def test_one_cycle_raises_nothing_two_of_three_raise() -> None:
    tracker = AlertTracker(AlertPolicy(m=2, n=3))
    assert step(tracker, 1) == []
    assert step(tracker, 0) == []
    assert step(tracker, 1) == [(Change.RAISED, Tier.ADVISORY)]


def test_a_single_spike_does_not_flicker() -> None:
    tracker = AlertTracker(AlertPolicy(m=2, n=3, clear_cycles=3))
    for tier in (1, 1):
        step(tracker, tier)
    assert tracker.tier_of(7) == Tier.ADVISORY
    # One noisy cycle at warning: not enough to escalate.
    assert step(tracker, 3) == []
    # One noisy cycle without the conflict: not enough to clear.
    assert step(tracker, 0) == []
    assert tracker.tier_of(7) == Tier.ADVISORY


def test_escalation_and_hysteresis_on_the_way_down() -> None:
    tracker = AlertTracker(AlertPolicy(m=2, n=3, clear_cycles=2))
    events = [step(tracker, t) for t in (1, 1, 2, 2, 3, 3)]
    flat = [e for cycle in events for e in cycle]
    assert flat == [
        (Change.RAISED, Tier.ADVISORY),
        (Change.ESCALATED, Tier.CAUTION),
        (Change.ESCALATED, Tier.WARNING),
    ]
    # Down only after two cycles below warning, to what the last three support.
    assert step(tracker, 2) == []
    assert step(tracker, 2) == [(Change.DOWNGRADED, Tier.CAUTION)]
    assert step(tracker, 0) == []
    assert step(tracker, 0) == [(Change.CLEARED, Tier.NONE)]
    # Its history is kept until no cycle of the last n saw it, then it is forgotten.
    assert len(tracker) == 1
    assert step(tracker, 0) == []
    assert len(tracker) == 0


def test_vanished_subject_is_cleared_at_once() -> None:
    tracker = AlertTracker(AlertPolicy(m=1, n=1))
    assert step(tracker, 2) == [(Change.RAISED, Tier.CAUTION)]
    changes = tracker.update(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8), np.array([7]))
    assert [(c.change, c.previous) for c in changes] == [(Change.CLEARED, Tier.CAUTION)]
    assert changes[0].row == -1


def test_subjects_are_independent() -> None:
    tracker = AlertTracker(AlertPolicy(m=1, n=1))
    changes = tracker.update(np.array([1, 2, 3]), np.array([1, 0, 3], dtype=np.int8))
    assert sorted((c.key, c.tier) for c in changes) == [(1, Tier.ADVISORY), (3, Tier.WARNING)]
    assert [c.row for c in sorted(changes, key=lambda c: c.key)] == [0, 2]


@pytest.mark.parametrize(
    "kwargs",
    [{"thresholds_s": (60.0, 300.0, 25.0)}, {"m": 4, "n": 3}, {"m": 0}, {"clear_cycles": 0}],
)
def test_bad_policies_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        AlertPolicy(**kwargs)  # type: ignore[arg-type]
