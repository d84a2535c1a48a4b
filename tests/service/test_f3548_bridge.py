"""The bridge in the service layer, on both stores: what a native operation is published
as (never finer than the grid, always containing the operation), which grid, its OVN over
the operation's life, and USS links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconfliction.engine.operation import Operation, OperationState
from deconfliction.engine.policy import PairPolicy
from deconfliction.errors import InvalidInput, NotFound
from deconfliction.geo import AltitudeBand, Circle, Position, TimeWindow, Volume4D
from deconfliction.geo.altitude import Datum
from deconfliction.geo.grid import DEFAULT_GRID, DisclosureGrid
from deconfliction.service.access import AccessService
from deconfliction.service.clock import ManualClock
from deconfliction.service.f3548 import F3548Principal
from deconfliction.service.f3548.bridge import Bridge, bridge_grid, gridded
from deconfliction.store import Party, Store
from deconfliction.store.base import PartyKind
from deconfliction.store.events import AuditRepo
from deconfliction.store.f3548_bridge import BridgeRepo
from deconfliction.store.policy import PoliciesRepo
from deconfliction.units import FOOT_M

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _op(op_id: str = "op1", lat: float = 46.5, lon: float = 6.6, radius_m: float = 3000.0) -> Operation:
    volume = Volume4D(
        Circle(Position(lat, lon), radius_m),
        AltitudeBand(100.0, 900.0, Datum.MSL),
        TimeWindow(T0 + timedelta(minutes=7), T0 + timedelta(minutes=52)),
    )
    return Operation("RED", op_id, (volume,))


@given(
    lat=st.floats(-60, 60),
    lon=st.floats(-170, 170),  # (a constraint across the antimeridian is not covered here)
    radius_m=st.floats(50, 20_000),
    lower=st.floats(-500, 5000),
    height=st.floats(1, 5000),
    start_s=st.floats(0, 86_400),
    length_s=st.floats(1, 20_000),
    datum=st.sampled_from([Datum.W84, Datum.MSL]),
)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_gridded_volumes_contain_the_operation_and_stay_on_the_grid(
    lat: float,
    lon: float,
    radius_m: float,
    lower: float,
    height: float,
    start_s: float,
    length_s: float,
    datum: Datum,
) -> None:
    """Safety (a USS that keeps out of the constraint keeps out of the operation) and
    secrecy (nothing finer than the grid): every vertex a cell vertex, bands and slots whole."""
    start = T0 + timedelta(seconds=start_s)
    volume = Volume4D(
        Circle(Position(lat, lon), radius_m),
        AltitudeBand(lower, lower + height, datum),
        TimeWindow(start, start + timedelta(seconds=length_s)),
    )
    grid = DEFAULT_GRID
    out = gridded(Operation("RED", "x", (volume,)), grid)
    cells = grid.cells(volume.footprint, 0.0)
    vertices = {v for c in cells for v in grid.region(frozenset({c})).geoms[0].exterior.coords}
    union = shapely.union_all(
        [shapely.Polygon([(p.lon_deg, p.lat_deg) for p in g.footprint.vertices]) for g in out]
    )
    assert union.buffer(1e-9).contains(grid.region(cells))  # every touched cell, whole
    for g in out:
        assert {(p.lon_deg, p.lat_deg) for p in g.footprint.vertices} <= vertices
        lo, hi = volume.band.w84_envelope()
        assert g.band.datum is Datum.W84
        assert g.band.lower_m <= lo
        assert g.band.upper_m >= hi
        assert g.band.lower_m / grid.band_m == pytest.approx(round(g.band.lower_m / grid.band_m))
        assert g.band.upper_m / grid.band_m == pytest.approx(round(g.band.upper_m / grid.band_m))
        assert g.window.start <= volume.window.start
        assert g.window.end >= volume.window.end
        assert g.window.start_s % grid.slot_s == 0
        assert g.window.end_s % grid.slot_s == 0


def _parties(store: Store) -> None:
    with store.transaction() as tx:
        tx.add_party(Party("RED", "Red", PartyKind.MILITARY))
        tx.add_party(Party("BLUE", "Blue", PartyKind.MILITARY))
        tx.add_party(Party("DRONES", "Drones", PartyKind.UAS))
        tx.add_party(Party("CIVUSS", "A civil party with a USS", PartyKind.CIVIL))


def test_the_grid_is_the_coarsest_of_the_default_and_the_pairs_with_uss_parties(store: Store) -> None:
    _parties(store)
    with store.transaction() as tx:
        assert bridge_grid(tx, "RED") == DEFAULT_GRID
        policies = tx.repo(PoliciesRepo)
        # A pair with a non-USS party does not count; an exact pair counts as the default.
        policies.set(PairPolicy("RED", "BLUE", grid=DisclosureGrid(4, 5000 * FOOT_M, 3600.0)))
        policies.set(PairPolicy("RED", "DRONES", grid=None))
        assert bridge_grid(tx, "RED") == DEFAULT_GRID
        policies.set(PairPolicy("RED", "DRONES", grid=DisclosureGrid(7, 2000 * FOOT_M, 600.0)))
        policies.set(PairPolicy("RED", "CIVUSS", grid=DisclosureGrid(5, 500 * FOOT_M, 900.0)))
        # CIVUSS counts only once a USS is linked to it.
        assert bridge_grid(tx, "RED") == DisclosureGrid(6, 2000 * FOOT_M, 900.0)
        tx.repo(BridgeRepo).link("uss-c", "CIVUSS")
        assert bridge_grid(tx, "RED") == DisclosureGrid(5, 2000 * FOOT_M, 900.0)


def test_a_published_operation_changes_ovn_with_each_change_and_is_withdrawn(store: Store) -> None:
    _parties(store)
    clock = ManualClock(T0)
    access, bridge = AccessService(store, clock), Bridge(store, clock)

    def published() -> list[tuple[int, str]]:
        with store.transaction() as tx:
            found = tx.repo(BridgeRepo).of_operation("RED", "op1")
        return [(found.version, found.ovn)] if found is not None else []

    op = access.file(_op()).own.operation
    assert published() == []
    op = access.transition("RED", "op1", OperationState.ACCEPTED, op.version).own.operation
    [(v1, ovn1)] = published()
    op = access.update("RED", "op1", op.version, volumes=_op(radius_m=2000.0).volumes).own.operation
    [(v2, ovn2)] = published()
    assert (v1, v2) == (1, 2)
    assert ovn1 != ovn2
    access.transition("RED", "op1", OperationState.CANCELLED, op.version)
    assert published() == []
    with store.transaction() as tx:
        kinds = [e.kind for e in tx.repo(AuditRepo).entries("RED") if e.kind.startswith("f3548.bridge")]
    assert kinds == ["f3548.bridge.published", "f3548.bridge.published", "f3548.bridge.withdrawn"]
    # A proposed operation cancelled was never published: nothing to withdraw, nothing audited.
    other = access.file(_op("op2")).own.operation
    access.transition("RED", "op2", OperationState.CANCELLED, other.version)
    assert bridge.pending() == []  # no subscription: nothing to send


def test_uss_links(store: Store) -> None:
    _parties(store)
    bridge = Bridge(store, ManualClock(T0))
    with pytest.raises(NotFound):
        bridge.link("uss1", "NOBODY")
    with pytest.raises(InvalidInput) as exc:
        bridge.link("u" * 256, "DRONES")
    assert exc.value.field == "client_id"
    with pytest.raises(NotFound):
        bridge.unlink("uss1")
    who = F3548Principal("uss1", frozenset({"utm.strategic_coordination"}))
    assert bridge.resolve(who) == who
    bridge.link("uss1", "DRONES")
    assert bridge.resolve(who) == F3548Principal("DRONES", who.scopes)
    bridge.link("uss1", "CIVUSS")  # relinked: the last link holds
    assert bridge.links() == [("uss1", "CIVUSS")]
    bridge.unlink("uss1")
    assert bridge.resolve(who) == who
    assert bridge.links() == []
