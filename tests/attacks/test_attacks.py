"""The attack suite: a hostile party against an honest one, on both stores, through the
service, each attack within a fixed allowance (``harness.py``; docs/disclosure.md,
"Attacks measured").

Under the default policy (the default grid and budget) no attack recovers more of the
plan than the units disclosed to it could place, no coordinate finer than the grid
reaches it, and every attack raises an alarm within a tenth of its allowance. Under the
exact rule the same attacks recover (nearly) the whole plan, and with a small budget set
by the owner they recover less than on the default one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from harness import ALLOWANCE, ATTACKS, COLLUDERS, OWNER, allowed_share, cell_vertex, play

from deconfliction.geo.grid import DEFAULT_GRID
from deconfliction.service.disclosure import DEFAULT_BUDGET
from deconfliction.store import Store
from deconfliction.store.events import AuditRepo, EventsRepo

#: The small budget of the comparison: under a quarter of what the wide filing is told.
SMALL_BUDGET = 2_000


def _coordinates(value: Any) -> list[tuple[float, float]]:
    """Every [lon, lat] pair anywhere in a JSON value."""
    if isinstance(value, dict):
        return [c for item in value.values() for c in _coordinates(item)]
    if isinstance(value, list):
        if len(value) == 2 and all(isinstance(x, float) for x in value):
            return [(value[0], value[1])]
        return [c for item in value for c in _coordinates(item)]
    return []


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_under_the_default_policy(store: Store, attack: str) -> None:
    result, arena = play(store, attack, exact=False)
    assert result.changes <= ALLOWANCE
    assert result.first_alarm is not None, f"{attack}: no alarm"
    assert result.first_alarm <= ALLOWANCE // 10, f"{attack}: first alarm at change {result.first_alarm}"
    charged = arena.charged()
    assert all(units <= DEFAULT_BUDGET for units in charged.values())
    allowed = allowed_share(sum(charged.values()))
    assert result.recovered.outline <= allowed + 1e-9
    assert result.recovered.area <= allowed + 1e-9
    # nothing finer than the grid reached the attackers
    told = json.loads(json.dumps(arena.told()))
    for lon, lat in _coordinates(told):
        assert cell_vertex(lon, lat, DEFAULT_GRID.resolution), f"{attack}: ({lon}, {lat}) is off the grid"
    for view in arena.views:
        for overlap in view.get("overlaps", []):
            assert overlap["altitude"]["lower_ft"] % 1000 == 0
            assert overlap["altitude"]["upper_ft"] % 1000 == 0
            for edge in (overlap["window"]["start"], overlap["window"]["end"]):
                assert edge.endswith(("00:00Z", "15:00Z", "30:00Z", "45:00Z"))
    # the alarm reached the owner's desk and both chains, and the owner's ledger
    alarms = arena.alarms()
    suspects = {a.suspect for a in alarms}
    assert suspects <= set(COLLUDERS)
    with store.transaction() as tx:
        events = [e for e in tx.repo(EventsRepo).after(OWNER, 0) if e.kind == "disclosure.alarm"]
        owner_chain = [e for e in tx.repo(AuditRepo).entries(OWNER) if e.kind == "disclosure.alarm"]
        suspect_chains = [
            e
            for p in suspects
            for e in tx.repo(AuditRepo).entries(p)
            if e.kind == "disclosure.alarm" and e.body["owner"] == OWNER
        ]
    assert len(events) == len(owner_chain) == len(suspect_chains) == len(alarms)
    assert {e.payload["suspect"] for e in events} == suspects


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_what_the_grid_and_budgets_buy(store: Store, attack: str) -> None:
    grid, _ = play(store, attack, exact=False, budget=SMALL_BUDGET)
    assert grid.first_alarm is not None
    assert grid.first_alarm <= ALLOWANCE // 10
    assert grid.charged <= SMALL_BUDGET * len(COLLUDERS)
    assert grid.recovered.outline <= allowed_share(grid.charged) + 1e-9
    assert grid.recovered.area <= allowed_share(grid.charged) + 1e-9


MAPPING = ["one wide filing", "grid of tiny probes", "probes split over 5 colluders"]


@pytest.mark.parametrize("attack", MAPPING)
def test_the_exact_rule_gives_the_plan_away(store: Store, attack: str) -> None:
    exact, arena = play(store, attack, exact=True)
    assert exact.recovered.outline > 0.95, "the exact rule tells a mapping attack the whole plan"
    assert exact.first_alarm is not None
    assert exact.first_alarm <= ALLOWANCE // 10
    assert arena.charged() == dict.fromkeys(COLLUDERS, 0), "exact pairs keep no ledger"


def test_the_grid_hides_the_outline_and_the_budget_the_rest(tmp_path: Any, open_url: Any) -> None:
    """The wide filing outlines the whole plan under the exact rule, next to none of it on
    the grid, where the cells still give away the inside of the plan's operations; a
    small budget takes most of that back."""
    found = []
    for n, (exact, budget) in enumerate([(True, None), (False, None), (False, SMALL_BUDGET)]):
        store = open_url(f"sqlite:///{tmp_path / f'{n}.sqlite'}")
        found.append(play(store, "one wide filing", exact, budget)[0].recovered)
    exact, grid, small = found
    assert exact.outline > 0.95
    assert grid.outline < 0.05
    assert grid.area > 0.5, "the cells tell the inside of a large operation"
    assert small.area < grid.area / 2
