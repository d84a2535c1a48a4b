"""Pair policies: normalised pairs, visibility per side, lead time given and to whom it was late."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import T0, circle_op
from deconfliction.engine.policy import PairPolicy, Visibility, default_policy, notice_given
from deconfliction.errors import InvalidInput


def test_pair_is_stored_smaller_id_first_with_sides_swapped() -> None:
    policy = PairPolicy("RED", "BLUE", 600, a_sees="reference", b_sees="overlap")  # type: ignore[arg-type]
    assert (policy.party_a, policy.party_b) == ("BLUE", "RED")
    assert policy.sees("RED") is Visibility.REFERENCE
    assert policy.sees("BLUE") is Visibility.OVERLAP
    with pytest.raises(InvalidInput):
        policy.sees("CIV")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"min_lead_s": -1}, "min_lead_s"),
        ({"min_lead_s": float("nan")}, "min_lead_s"),
        ({"min_lead_s": True}, "min_lead_s"),
        ({"min_lead_s": 31 * 86_400}, "min_lead_s"),
        ({"a_sees": "all"}, "a_sees"),
    ],
)
def test_bad_policies_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        PairPolicy("A", "B", **kwargs)  # type: ignore[arg-type]
    assert bad.value.field == field


def test_a_policy_is_between_two_parties() -> None:
    with pytest.raises(InvalidInput):
        PairPolicy("A", "A")


def test_levels_show_less_and_less() -> None:
    assert [(v.shows_window(), v.shows_region()) for v in Visibility] == [
        (True, True),
        (True, False),
        (False, False),
    ]


def test_notice_given_and_late_only_to_parties_that_asked_for_more() -> None:
    op = circle_op("RED", "R1")  # starts at T0
    policies = {
        ("BLUE", "RED"): PairPolicy("BLUE", "RED", min_lead_s=3600),
        ("CIV", "RED"): PairPolicy("CIV", "RED", min_lead_s=600),
        ("BLUE", "CIV"): PairPolicy("BLUE", "CIV", min_lead_s=86_400),  # not RED's pair
    }
    notice = notice_given(op, T0 - timedelta(minutes=30), ["BLUE", "CIV", "RED", "UAS"], policies)
    assert notice.lead_s == 1800
    assert notice.late_for == ("BLUE",)
    assert notice.late
    on_time = notice_given(op, T0 - timedelta(hours=2), ["BLUE", "CIV"], policies)
    assert on_time.late_for == ()
    # after the start the lead is negative, and late to anyone who asked for any notice
    after = notice_given(op, T0 + timedelta(minutes=1), ["BLUE", "CIV"], policies)
    assert after.lead_s == -60
    assert after.late_for == ("BLUE", "CIV")
    assert default_policy("Z", "A").min_lead_s == 0
