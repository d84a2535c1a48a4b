"""F3548 request bodies against the standard's models: nothing coerced, every field named."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from test_dss_http import oi_body

from deconfliction.errors import InvalidInput
from deconfliction.interop.f3548 import wire


def with_change(path: list[Any], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(oi_body())
    node: Any = body
    for step in path[:-1]:
        node = node[step]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


CIRCLE = ["extents", 0, "volume", "outline_circle"]


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["key"], "abcdefghijklmnopq", "key"),  # a string is not a list of one-letter OVNs
        (["key"], [1], "key[0]"),
        ([*CIRCLE, "center", "lat"], "46.5", "extents[0].volume.outline_circle.center.lat"),
        ([*CIRCLE, "center", "lat"], True, "extents[0].volume.outline_circle.center.lat"),
        ([*CIRCLE, "center", "lng"], KeyError, "extents[0].volume.outline_circle.center.lng"),
        (["new_subscription", "notify_for_constraints"], "yes", "new_subscription.notify_for_constraints"),
        (["new_subscription", "uss_base_url"], KeyError, "new_subscription.uss_base_url"),
        (["extents"], {"volume": {}}, "extents"),
        (["extents", 0], "x", "extents[0]"),
        (["extents", 0, "volume"], KeyError, "extents[0].volume"),
        (["extents", 0, "time_start", "format"], "ISO", "extents[0].time_start.format"),
        (["extents", 0, "volume", "altitude_lower", "units"], "FT", "extents[0].volume.altitude_lower.units"),
        (["extents", 0, "volume", "altitude_upper"], KeyError, "extents[0].volume.altitude_upper"),
        (["state"], "Ended", "state"),
        (["state"], None, "state"),
        (["uss_base_url"], KeyError, "uss_base_url"),
        (["uss_base_url"], "http://uss1.example", "uss_base_url"),
    ],
)
def test_wrong_types_and_values_are_named(path: list[Any], value: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        wire.intent_request(with_change(path, value))
    assert refused.value.field == field


def test_a_valid_body_becomes_a_request() -> None:
    request = wire.intent_request({**oi_body(), "key": ["o" * 16]})
    assert (request.state, request.uss_base_url, request.key) == (
        "Accepted",
        "https://uss1.example",
        frozenset({"o" * 16}),
    )
    assert request.new_subscription is not None
    assert request.new_subscription.notify_for_constraints is False
    assert request.extents[0].upper_m == 100.0


@pytest.mark.parametrize("body", [[], "x", 5, None])
def test_a_body_must_be_an_object(body: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        wire.intent_request(body)
    assert refused.value.field == "body"
