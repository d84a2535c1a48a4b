"""Separation minima and the per-pair policy."""

from __future__ import annotations

import math

import pytest

from deconfliction.engine.minima import EN_ROUTE, Minima, MinimaPolicy, pair_key
from deconfliction.errors import InvalidInput
from deconfliction.units import FOOT_M, NAUTICAL_MILE_M


def test_en_route_defaults():
    assert EN_ROUTE.horizontal_m == 5 * NAUTICAL_MILE_M
    assert EN_ROUTE.vertical_m == pytest.approx(1000 * FOOT_M)
    assert MinimaPolicy().for_pair("a", "b") == EN_ROUTE


@pytest.mark.parametrize("field", ["horizontal_m", "vertical_m", "time_s"])
@pytest.mark.parametrize("value", [0, 0.0, -1.0, math.nan, math.inf, "5", True, None])
def test_bad_minima_name_the_field(field, value):
    values = {"horizontal_m": 1000.0, "vertical_m": 300.0, "time_s": 60.0, field: value}
    with pytest.raises(InvalidInput) as info:
        Minima(**values)
    assert info.value.field == field
    assert ("greater than 0" in info.value.rule) or ("finite number" in info.value.rule)


def test_ints_become_floats_and_widest():
    m = Minima(1000, 300, 60)
    assert isinstance(m.horizontal_m, float)
    assert m.widest(Minima(500, 600, 30)) == Minima(1000, 600, 60)


def test_policy_is_order_free_and_widest_for():
    wide = Minima(20_000, 600, 600)
    narrow = Minima(3_000, 150, 60)
    policy = MinimaPolicy(Minima(9_260, 300, 300), {("red", "civil"): wide, ("blue", "red"): narrow})
    assert pair_key("red", "civil") == pair_key("civil", "red") == ("civil", "red")
    assert policy.for_pair("civil", "red") == policy.for_pair("red", "civil") == wide
    assert policy.for_pair("red", "blue") == narrow
    assert policy.for_pair("blue", "civil") == policy.default
    assert policy.widest_for("red") == Minima(20_000, 600, 600)
    assert policy.widest_for("blue") == policy.default  # narrower pair minima never shrink it
    assert policy.widest_for("red", ["blue"]) == policy.default
    # ``others`` may be a one-shot iterator (regression: it was re-read for every pair)
    policy3 = MinimaPolicy(
        Minima(1_000, 100, 10), {("a", "b"): Minima(2_000, 100, 10), ("a", "c"): Minima(3_000, 100, 10)}
    )
    assert policy3.widest_for("a", iter(["b", "c"])).horizontal_m == 3_000
    assert hash(policy) == hash(
        MinimaPolicy(policy.default, {("civil", "red"): wide, ("red", "blue"): narrow})
    )
