"""Operations: identifiers, limits, lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deconfliction.engine.operation import (
    LIVE_STATES,
    MAX_VOLUMES,
    Operation,
    OperationState,
    check_identifier,
    check_transition,
)
from deconfliction.errors import InvalidInput, InvalidTransition
from deconfliction.geo import AltitudeBand, Circle, Datum, Position, TimeWindow, Volume4D

T0 = datetime(2025, 10, 1, tzinfo=UTC)
V = Volume4D(
    Circle(Position(0, 0), 100), AltitudeBand(0, 10, Datum.MSL), TimeWindow(T0, T0 + timedelta(hours=1))
)


def test_defaults_and_key():
    o = Operation("red", "op-1", [V])
    assert o.volumes == (V,)
    assert o.state is OperationState.PROPOSED
    assert o.version == 1
    assert o.key == ("red", "op-1")
    assert o.live


@pytest.mark.parametrize("good", ["a", "A9", "op-1.2:x_y", "x" * 128])
def test_good_identifiers(good):
    assert check_identifier(good, "id") == good


@pytest.mark.parametrize("bad", ["", "-a", ".a", "a b", "x" * 129, "a/b", "op\n", "op-1\n", "é", 5, None])
def test_bad_identifiers(bad):
    with pytest.raises(InvalidInput) as info:
        check_identifier(bad, "party")
    assert info.value.field == "party"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"volumes": ()}, "volumes"),
        ({"volumes": (V,) * (MAX_VOLUMES + 1)}, "volumes"),
        ({"volumes": (V, "nope")}, "volumes[1]"),
        ({"state": "proposed"}, "state"),
        ({"priority": -1}, "priority"),
        ({"priority": 101}, "priority"),
        ({"priority": True}, "priority"),
        ({"priority": 1.5}, "priority"),
        ({"version": 0}, "version"),
        ({"version": True}, "version"),
        ({"party": "bad party"}, "party"),
        ({"id": ""}, "id"),
    ],
)
def test_bad_operations(kwargs, field):
    args = {"party": "red", "id": "op", "volumes": (V,), **kwargs}
    with pytest.raises(InvalidInput) as info:
        Operation(**args)
    assert info.value.field == field


def test_max_volumes_is_allowed():
    assert len(Operation("red", "op", (V,) * MAX_VOLUMES).volumes) == MAX_VOLUMES


def test_lifecycle():
    s = OperationState
    for a, b in [
        (s.PROPOSED, s.ACCEPTED),
        (s.ACCEPTED, s.ACTIVATED),
        (s.ACTIVATED, s.ENDED),
        (s.PROPOSED, s.CANCELLED),
    ]:
        check_transition(a, b)
    for a, b in [
        (s.PROPOSED, s.ACTIVATED),
        (s.ENDED, s.ACTIVATED),
        (s.CANCELLED, s.PROPOSED),
        (s.ACTIVATED, s.PROPOSED),
    ]:
        with pytest.raises(InvalidTransition):
            check_transition(a, b)
    with pytest.raises(InvalidTransition, match="final state"):
        check_transition(s.ENDED, s.CANCELLED)
    assert s.ENDED not in LIVE_STATES
    assert s.CANCELLED not in LIVE_STATES
    assert not Operation("r", "o", (V,), state=s.ENDED).live
