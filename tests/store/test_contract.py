"""The store contract: one suite, run against every backend (see conftest.py)."""

from __future__ import annotations

import json
import math
import random
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deconfliction.engine.minima import EN_ROUTE, Minima, MinimaPolicy
from deconfliction.engine.operation import LIVE_STATES, Operation, OperationState
from deconfliction.engine.strategic import (
    Candidate,
    StrategicConflict,
    all_conflicts_brute_force,
    conflicts_with,
)
from deconfliction.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    StaleVersion,
    StoreError,
    StoreUnavailable,
)
from deconfliction.geo import (
    AltitudeBand,
    ArcSector,
    Circle,
    Corridor,
    Datum,
    Footprint,
    Polygon,
    Position,
    Racetrack,
    TimeWindow,
    Volume4D,
)
from deconfliction.store import Party, PartyKind, Store, open_store
from deconfliction.store.sql import migrations
from deconfliction.store.sqlite import SqliteStore

T0 = datetime(2025, 10, 1, 6, 0, tzinfo=UTC)
PARTIES = (
    Party("blue", "Blue Force"),
    Party("civil", "Civil ANSP", PartyKind.CIVIL),
    Party("red", "Red Force"),
)


def window(start_h: float = 0.0, hours: float = 2.0) -> TimeWindow:
    return TimeWindow(T0 + timedelta(hours=start_h), T0 + timedelta(hours=start_h + hours))


def band(lo_m: float = 3000.0, hi_m: float = 6000.0, datum: Datum = Datum.MSL) -> AltitudeBand:
    return AltitudeBand(lo_m, hi_m, datum)


def circle_at(lat: float, lon: float, radius_m: float = 5000.0) -> Footprint:
    return Circle(Position(lat, lon), radius_m)


def volume(
    fp: Footprint | None = None, b: AltitudeBand | None = None, w: TimeWindow | None = None
) -> Volume4D:
    return Volume4D(fp or circle_at(35.0, 40.0), b or band(), w or window())


def op(party: str, op_id: str, *volumes: Volume4D, **kw: Any) -> Operation:
    return Operation(party, op_id, tuple(volumes) or (volume(),), **kw)


def every_footprint(lat: float, lon: float) -> list[Footprint]:
    return [
        Polygon(
            (
                Position(lat, lon),
                Position(lat + 0.1, lon),
                Position(lat + 0.1, lon + 0.1),
                Position(lat, lon + 0.1),
            )
        ),
        Circle(Position(lat, lon), 4000.0),
        Corridor((Position(lat, lon), Position(lat + 0.2, lon + 0.1), Position(lat + 0.3, lon)), 2000.0),
        Racetrack(Position(lat, lon), Position(lat + 0.15, lon + 0.15), 6000.0),
        ArcSector(Position(lat, lon), 2000.0, 9000.0, 350.0, 80.0),
    ]


def every_band() -> list[AltitudeBand]:
    return [
        AltitudeBand(100.0, 900.0, Datum.W84),
        AltitudeBand(3000.0, 6000.0, Datum.MSL),
        AltitudeBand(0.0, 120.0, Datum.AGL),
        AltitudeBand(0.0, 150.0, Datum.AGL, (200.0, 450.0)),
        AltitudeBand(100 * 30.48, 240 * 30.48, Datum.STD),
    ]


def with_parties(store: Store, *parties: Party) -> None:
    with store.transaction() as tx:
        for party in parties or PARTIES:
            tx.add_party(party)


def keys(operations: Sequence[Operation | Candidate]) -> list[tuple[str, str]]:
    return [o.key for o in operations]


# --- parties and minima -----------------------------------------------------------


def test_party_crud(store: Store) -> None:
    with_parties(store)
    with store.transaction() as tx:
        assert tx.get_party("civil") == PARTIES[1]
        assert tx.list_parties() == sorted(PARTIES, key=lambda p: p.id)
        with pytest.raises(NotFound):
            tx.get_party("green")
    with pytest.raises(AlreadyExists), store.transaction() as tx:
        tx.add_party(Party("red", "Another Red"))
    with store.transaction() as tx:
        assert tx.get_party("red").name == "Red Force"


def test_pair_minima_are_per_unordered_pair_and_replaceable(store: Store) -> None:
    with_parties(store)
    tight = Minima(3 * 1852.0, 1000 * 0.3048, 120.0)
    with store.transaction() as tx:
        tx.set_pair_minima("red", "blue", EN_ROUTE)
        tx.set_pair_minima("blue", "red", tight)
        tx.set_pair_minima("civil", "red", EN_ROUTE)
    with store.transaction() as tx:
        assert tx.pair_minima() == {("blue", "red"): tight, ("civil", "red"): EN_ROUTE}
    with pytest.raises(NotFound), store.transaction() as tx:
        tx.set_pair_minima("red", "green", tight)


# --- operations ---------------------------------------------------------------------


def test_operations_roundtrip_every_footprint_and_datum(store: Store) -> None:
    with_parties(store)
    stored = []
    for i, fp in enumerate(every_footprint(34.0, 39.0)):
        for j, b in enumerate(every_band()):
            stored.append(
                op(
                    "red" if (i + j) % 2 else "blue",
                    f"op-{i}.{j}",
                    volume(fp, b, window(i, 1.5)),
                    volume(fp, b, window(i + 3.25, 0.5)),
                    priority=(i * 7 + j) % 101,
                    affiliation="RED-AIR" if j == 2 else None,
                    state=list(OperationState)[(i + j) % 5],
                )
            )
    with store.transaction() as tx:
        for o in stored:
            tx.insert_operation(o)
    with store.transaction() as tx:
        for o in stored:
            assert tx.get_operation(o.party, o.id) == o
        assert tx.list_operations() == sorted(stored, key=lambda o: o.key)
        assert tx.list_operations("red") == sorted(
            (o for o in stored if o.party == "red"), key=lambda o: o.key
        )
        live = tx.list_operations(states=LIVE_STATES)
        assert live == sorted((o for o in stored if o.live), key=lambda o: o.key)
        assert tx.list_operations(states=frozenset()) == []
        assert tx.count_operations() == len(stored)
        with pytest.raises(NotFound):
            tx.get_operation("red", "nope")


def test_duplicate_operation_is_refused(store: Store) -> None:
    with_parties(store)
    first = op("red", "op-1")
    with store.transaction() as tx:
        tx.insert_operation(first)
    with pytest.raises(AlreadyExists), store.transaction() as tx:
        tx.insert_operation(op("red", "op-1", volume(circle_at(30.0, 30.0))))
    with store.transaction() as tx:
        tx.insert_operation(op("blue", "op-1"))  # ids are unique per party only
        assert tx.get_operation("red", "op-1") == first


def test_operation_of_unknown_party_is_refused(store: Store) -> None:
    with pytest.raises(NotFound), store.transaction() as tx:
        tx.insert_operation(op("red", "op-1"))
    with store.transaction() as tx:
        assert tx.count_operations() == 0


def test_stale_version_is_refused_and_changes_nothing(store: Store) -> None:
    with_parties(store)
    v1 = op("red", "op-1")
    v2 = replace(v1, version=2, state=OperationState.ACCEPTED, priority=5)
    with store.transaction() as tx:
        tx.insert_operation(v1)
        tx.update_operation(v2, expected_version=1)
    late = replace(v1, version=2, volumes=(volume(circle_at(36.0, 41.0)),))
    with pytest.raises(StaleVersion), store.transaction() as tx:
        tx.update_operation(late, expected_version=1)
    with store.transaction() as tx:
        assert tx.get_operation("red", "op-1") == v2
        # the index still answers for v2's volume, not for the stale attempt's
        assert keys(tx.find_candidates([volume()], EN_ROUTE, "blue")) == [("red", "op-1")]
        assert tx.find_candidates([volume(circle_at(36.0, 41.0))], EN_ROUTE, "blue") == []
        with pytest.raises(InvalidInput):
            tx.update_operation(replace(v2, version=4), expected_version=2)
    with pytest.raises(NotFound), store.transaction() as tx:
        tx.update_operation(op("red", "ghost", version=2), expected_version=1)


def test_update_reindexes_cells_time_and_altitude(store: Store) -> None:
    with_parties(store)
    here = volume(circle_at(35.0, 40.0))
    there = volume(circle_at(33.0, 43.0), band(9000, 10000), window(10))
    with store.transaction() as tx:
        tx.insert_operation(op("red", "op-1", here))
        assert keys(tx.find_candidates([here], EN_ROUTE, "blue")) == [("red", "op-1")]
        tx.update_operation(op("red", "op-1", there, version=2), expected_version=1)
    with store.transaction() as tx:
        assert tx.find_candidates([here], EN_ROUTE, "blue") == []
        assert keys(tx.find_candidates([there], EN_ROUTE, "blue")) == [("red", "op-1")]
        # moved in time or altitude only: no longer a candidate
        assert tx.find_candidates([replace(there, window=window(0))], EN_ROUTE, "blue") == []
        assert tx.find_candidates([replace(there, band=band(0, 3000))], EN_ROUTE, "blue") == []


def test_candidates_hold_their_matched_volumes_as_stored(store: Store) -> None:
    """A candidate names the stored operation at its version and holds the volumes of
    the pairs the index matched, equal to those stored; its other volumes are not read."""
    with_parties(store)
    far, near, later = volume(circle_at(38.0, 44.0)), volume(circle_at(35.0, 40.0)), volume(w=window(30))
    stored = op("red", "op-1", far, near, later, version=1)
    probes = [volume(circle_at(35.01, 40.01)), volume(circle_at(38.0, 44.0))]
    with store.transaction() as tx:
        tx.insert_operation(stored)
        (found,) = tx.find_candidates(probes, EN_ROUTE, "blue")
        (alone,) = tx.find_candidates(probes[:1], EN_ROUTE, "blue")
    assert (found.ref.party, found.ref.id, found.ref.version) == ("red", "op-1", 1)
    assert found.pairs == {(0, 1), (1, 0)}
    assert found.volumes == {0: far, 1: near}
    assert (alone.pairs, alone.volumes) == (frozenset({(0, 1)}), {1: near})


def test_failed_transaction_leaves_nothing_half_written(store: Store) -> None:
    with_parties(store)

    def crash_half_way() -> None:
        with store.transaction() as tx:
            tx.add_party(Party("green", "Green"))
            tx.insert_operation(op("red", "op-1"))
            tx.set_pair_minima("red", "blue", EN_ROUTE)
            raise RuntimeError("crash half-way")

    def refused_half_way() -> None:
        with store.transaction() as tx:
            tx.insert_operation(op("red", "op-2"))
            tx.insert_operation(op("red", "op-2"))

    with pytest.raises(RuntimeError):
        crash_half_way()
    with pytest.raises(AlreadyExists):
        refused_half_way()
    with store.transaction() as tx:
        assert [p.id for p in tx.list_parties()] == ["blue", "civil", "red"]
        assert tx.count_operations() == 0
        assert tx.pair_minima() == {}
        assert tx.find_candidates([volume()], EN_ROUTE, "blue") == []


# --- candidates -----------------------------------------------------------------------


def test_candidates_exclude_own_party_and_ended_operations(store: Store) -> None:
    with_parties(store)
    with store.transaction() as tx:
        for n, state in enumerate(OperationState):
            tx.insert_operation(op("red", f"red-{state}", state=state))
            tx.insert_operation(op("civil", f"civil-{n}", state=state))
        tx.insert_operation(op("blue", "mine"))
    with store.transaction() as tx:
        found = keys(tx.find_candidates([volume()], EN_ROUTE, "blue"))
    live = sorted(s.value for s in LIVE_STATES)
    assert found == sorted(
        [("red", f"red-{s}") for s in live]
        + [("civil", f"civil-{n}") for n, s in enumerate(OperationState) if s.value in live]
    )


def test_candidates_respect_the_reach_in_every_dimension(store: Store) -> None:
    with_parties(store)
    reach = Minima(10_000.0, 300.0, 600.0)
    base = volume(circle_at(35.0, 40.0, 5000.0), band(3000, 4000), window(0, 1))
    with store.transaction() as tx:
        tx.insert_operation(op("red", "near", base))
        # 1 degree of latitude is ~111 km: far outside a 10 km reach
        tx.insert_operation(op("red", "far", replace(base, footprint=circle_at(36.0, 40.0, 5000.0))))
        tx.insert_operation(op("red", "above", replace(base, band=band(4400, 5000))))
        tx.insert_operation(op("red", "later", replace(base, window=window(1.5, 1))))
        tx.insert_operation(op("red", "just-above", replace(base, band=band(4250, 5000))))
        tx.insert_operation(op("red", "just-later", replace(base, window=window(1.1, 1))))
    with store.transaction() as tx:
        found = keys(tx.find_candidates([base], reach, "blue"))
    assert ("red", "near") in found
    assert ("red", "just-above") in found
    assert ("red", "just-later") in found
    assert not {("red", "far"), ("red", "above"), ("red", "later")} & set(found)


@pytest.mark.parametrize("hours", [0.5, 6.0, 6.01, 30.0, 48.01, 240.0, 720.01, 24 * 365.0, 24 * 365 * 60.0])
def test_candidates_of_every_duration_class_are_found_at_both_ends(store: Store, hours: float) -> None:
    """The index reads each duration class only up to its longest duration past the
    searched window: a volume of each class is found by searches at its start and its
    end, and not by one that starts after it ended (plus the reach)."""
    with_parties(store)
    reach = Minima(10_000.0, 300.0, 600.0)
    with store.transaction() as tx:
        tx.insert_operation(op("red", "long", volume(w=window(0, hours))))
    for start_h, found in ((0.0, True), (hours - 0.25, True), (hours + 0.25, False)):
        probe = volume(w=window(start_h, 0.1))
        with store.transaction() as tx:
            assert keys(tx.find_candidates([probe], reach, "blue")) == ([("red", "long")] if found else [])


def test_candidates_far_apart_inside_shared_cells_are_dropped_by_the_bounding_box(store: Store) -> None:
    with_parties(store)
    reach = Minima(1_000.0, 300.0, 600.0)
    small = circle_at(35.0, 40.0, 100.0)
    with store.transaction() as tx:
        tx.insert_operation(op("red", "near", volume(circle_at(35.0, 40.015, 100.0))))  # 1.4 km away
        tx.insert_operation(op("red", "across-the-cell", volume(circle_at(35.0, 40.1, 100.0))))  # 9 km away
    with store.transaction() as tx:
        assert keys(tx.find_candidates([volume(small)], reach, "blue")) == [("red", "near")]


def test_candidates_of_the_same_datum_are_dropped_when_their_bands_as_filed_are_apart(store: Store) -> None:
    """Flight levels' MSL envelopes are widened by hundreds of metres, but two flight-level
    bands are compared as filed: the index compares them so too, and drops what the
    engine would separate. Bands of another datum (or AGL over other ground) still meet
    the envelopes' test only, as the engine compares them."""
    with_parties(store)
    reach = Minima(10_000.0, 300.0, 600.0)
    fl_probe = volume(b=AltitudeBand.parse(200, 220, "FL", None))
    agl_probe = volume(b=AltitudeBand(0.0, 120.0, Datum.AGL))
    stored = {
        "fl-apart": AltitudeBand.parse(300, 320, "FL", None),  # 2,438 m above the FL probe
        "fl-near": AltitudeBand.parse(225, 240, "FL", None),  # 152 m above it
        "msl-apart-as-filed": band(8200.0, 8300.0),  # 1,494 m above it, inside its envelope
        "agl-apart": AltitudeBand(500.0, 600.0, Datum.AGL),  # 380 m above the AGL probe
        "agl-other-ground": AltitudeBand(500.0, 600.0, Datum.AGL, (10.0, 20.0)),
    }
    everything = [op("red", name, volume(b=b)) for name, b in stored.items()]
    with store.transaction() as tx:
        for operation in everything:
            tx.insert_operation(operation)
    for probe, dropped, kept in (
        (fl_probe, "fl-apart", {"fl-near", "msl-apart-as-filed"}),
        (agl_probe, "agl-apart", {"agl-other-ground"}),
    ):
        with store.transaction() as tx:
            found = {c.ref.id for c in tx.find_candidates([probe], reach, "blue")}
        policy = MinimaPolicy(reach)
        conflicting = {c.b.id for c in conflicts_with(op("blue", "p", probe), everything, policy)}
        assert kept <= conflicting <= found
        assert dropped not in found
        # the envelopes alone would have kept it
        (p_lo, p_hi), (s_lo, s_hi) = probe.band.msl_envelope(), stored[dropped].msl_envelope()
        assert s_lo <= p_hi + reach.vertical_m
        assert s_hi >= p_lo - reach.vertical_m


def test_candidates_name_the_volume_pairs_that_matched(store: Store) -> None:
    """Each candidate carries the (searched volume, its volume) pairs the index matched; the
    exact check skips the others, so a pair the index knows to be apart is never listed."""
    with_parties(store)
    near, far = volume(circle_at(35.0, 40.0)), volume(circle_at(37.0, 43.0))
    with store.transaction() as tx:
        tx.insert_operation(op("red", "two", far, near))
    with store.transaction() as tx:
        (found,) = tx.find_candidates([near], EN_ROUTE, "blue")
        assert isinstance(found, Candidate)
        assert found.pairs == {(0, 1)}
        (found,) = tx.find_candidates([far, volume(circle_at(30.0, 30.0)), near], EN_ROUTE, "blue")
        assert found.pairs == {(0, 0), (2, 1)}


def test_stored_volumes_keep_their_bounding_caps_and_costly_outlines(store: Store) -> None:
    """A decoded operation knows its footprints' caps as they were computed when filed, so
    the pair tests need no outline; the outline itself is made on demand, from stored
    coordinates where making it costs geodesics (arcs, densified edges), the same numbers."""
    with_parties(store)
    filed = op("red", "caps", *(volume(fp) for fp in every_footprint(35.0, 40.0)))
    with store.transaction() as tx:
        tx.insert_operation(filed)
    with store.transaction() as tx:
        stored = tx.get_operation("red", "caps")
    kept = {}
    for was, now in zip(filed.volumes, stored.volumes, strict=True):
        assert "outline" not in now.footprint._memo
        kept[now.footprint.kind] = "coords" in now.footprint._memo
        assert now.footprint.cap == was.footprint.cap
        assert now.footprint.outline.center == was.footprint.outline.center
        assert now.footprint.outline.lats.tolist() == was.footprint.outline.lats.tolist()
        assert now.footprint.outline.lons.tolist() == was.footprint.outline.lons.tolist()
    # the polygon's 11 km edges and the circle's centre cost nothing to make again
    assert kept == {
        "polygon": False,
        "circle": False,
        "corridor": True,
        "racetrack": True,
        "arc_sector": True,
    }


def _store_at_migration(
    path: Any, version: int, operation: Operation, volumes_json: str
) -> sqlite3.Connection:
    """A SQLite file with the migrations up to ``version`` applied, parties red and blue,
    and ``operation`` stored as op_key 1 with ``volumes_json`` (its tables of that time
    are for the caller to fill)."""
    from deconfliction.store.sqlite import SQLITE

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = ON")
    for migration in migrations()[:version]:
        for statement in migration.statements():
            conn.execute(SQLITE.ddl(statement))
    conn.execute(
        "CREATE TABLE schema_migrations"
        " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    conn.executemany(
        "INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00Z')",
        [(m.version, m.name) for m in migrations()[:version]],
    )
    conn.execute("INSERT INTO parties VALUES ('red', 'Red', 'military'), ('blue', 'Blue', 'military')")
    conn.execute(
        "INSERT INTO operations (op_key, party, id, version, state, priority, affiliation, volumes)"
        " VALUES (1, ?, ?, 1, ?, ?, NULL, ?)",
        (operation.party, operation.id, operation.state.value, operation.priority, volumes_json),
    )
    return conn


def test_migration_7_keeps_entries_indexed_before_it(tmp_path: Any) -> None:
    """A store at migration 6 holds index rows without duration class or bounding box; after
    reopening (which applies 0007) they are still found, and new rows sit beside them."""
    from deconfliction.geo.cells import covering
    from deconfliction.geo.codec import volume_to_dict

    path = tmp_path / "old.sqlite"
    old = op("red", "old")
    conn = _store_at_migration(path, 6, old, json.dumps([volume_to_dict(old.volumes[0])]))
    v = old.volumes[0]
    lo, hi = v.band.msl_envelope()
    conn.execute("INSERT INTO volumes VALUES (1, 0, ?, ?, ?, ?)", (v.window.start_s, v.window.end_s, lo, hi))
    conn.executemany(
        "INSERT INTO volume_cells VALUES (?, ?, 1, 0, ?, ?, ?)",
        [(cell, v.window.end_s, v.window.start_s, lo, hi) for cell in covering(v.footprint)],
    )
    conn.commit()
    conn.close()
    store = open_store(f"sqlite:///{path}")
    try:
        with store.transaction() as tx:
            tx.insert_operation(op("red", "new", volume(circle_at(35.01, 40.0))))
        with store.transaction() as tx:
            assert keys(tx.find_candidates([volume()], EN_ROUTE, "blue")) == [("red", "new"), ("red", "old")]
            stored = tx.get_operation("red", "old")
            assert stored == old
            # written before caps were stored with volumes: computed when first asked for
            assert stored.volumes[0].footprint.cap == old.volumes[0].footprint.cap
    finally:
        store.close()


def test_migration_9_drops_the_unread_volumes_table_and_keeps_the_index(tmp_path: Any) -> None:
    """A store at migration 8 has a volumes table under its cell index; after reopening
    (which applies 0009) the table is gone, the old entries are still found, and the
    index still refuses an entry of no stored operation."""
    from deconfliction.store.sql import _volumes_json, datum_key, span_class, volume_cells

    path = tmp_path / "old.sqlite"
    old = op("red", "old")
    conn = _store_at_migration(path, 8, old, _volumes_json(old))
    v = old.volumes[0]
    lo, hi = v.band.msl_envelope()
    t0, t1 = v.window.start_s, v.window.end_s
    conn.execute("INSERT INTO volumes VALUES (1, 0, ?, ?, ?, ?)", (t0, t1, lo, hi))
    filed = (*v.footprint.bbox(), datum_key(v.band), v.band.lower_m, v.band.upper_m)
    conn.executemany(
        "INSERT INTO volume_cells VALUES (?, ?, ?, 1, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(cell, span_class(t1 - t0), t1, t0, lo, hi, *filed) for cell in volume_cells(old)[0]],
    )
    conn.commit()
    conn.close()
    store = open_store(f"sqlite:///{path}")
    try:
        assert isinstance(store, SqliteStore)
        with store.transaction() as tx:
            tx.insert_operation(op("red", "new", volume(circle_at(35.01, 40.0))))
        with store.transaction() as tx:
            assert keys(tx.find_candidates([volume()], EN_ROUTE, "blue")) == [("red", "new"), ("red", "old")]
            assert tx.get_operation("red", "old") == old
        with pytest.raises(StoreError), store.transaction() as tx:
            tx._x("INSERT INTO volume_cells VALUES (1, 0, 1, 999, 0, 0, 0, 0, 0, 0, 0, 0, '', 0, 0)")
    finally:
        store.close()
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert "volumes" not in tables
    assert "volume_cells" in tables


def random_footprint(rng: random.Random, lat0: float, lon0: float) -> Footprint:
    lat = lat0 + rng.uniform(-0.6, 0.6)
    lon = lon0 + rng.uniform(-0.6, 0.6)
    kind = rng.randrange(5)
    if kind == 0:
        n = rng.randint(3, 7)
        radius = rng.uniform(0.02, 0.15)
        angles = sorted(rng.uniform(0, 2 * math.pi) for _ in range(n))
        if max(b - a for a, b in zip(angles, [*angles[1:], angles[0] + 2 * math.pi], strict=True)) > 3:
            angles = [2 * math.pi * k / n for k in range(n)]
        return Polygon(
            tuple(Position(lat + radius * math.sin(a), lon + radius * math.cos(a)) for a in angles)
        )
    if kind == 1:
        return Circle(Position(lat, lon), rng.uniform(500.0, 15_000.0))
    if kind == 2:
        points = [Position(lat, lon)]
        for _ in range(rng.randint(1, 3)):
            points.append(
                Position(
                    points[-1].lat_deg + rng.uniform(0.05, 0.2), points[-1].lon_deg + rng.uniform(-0.2, 0.2)
                )
            )
        return Corridor(tuple(points), rng.uniform(500.0, 10_000.0))
    if kind == 3:
        return Racetrack(
            Position(lat, lon),
            Position(lat + rng.uniform(-0.2, 0.2), lon + rng.uniform(0.01, 0.2)),
            rng.uniform(1000.0, 12_000.0),
        )
    start = rng.uniform(0.0, 360.0)
    inner = rng.uniform(0.0, 5000.0)
    return ArcSector(
        Position(lat, lon),
        inner,
        inner + rng.uniform(1000.0, 20_000.0),
        start,
        (start + rng.uniform(10.0, 300.0)) % 360.0,
    )


def random_band(rng: random.Random) -> AltitudeBand:
    datum = rng.choice(list(Datum))
    lo = rng.uniform(0.0, 9000.0)
    hi = lo + rng.uniform(10.0, 3000.0)
    ground = (100.0, rng.uniform(100.0, 800.0)) if datum is Datum.AGL and rng.random() < 0.5 else None
    return AltitudeBand(lo, hi, datum, ground)


def random_operation(rng: random.Random, party: str, n: int) -> Operation:
    volumes = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        start = rng.uniform(0.0, 20.0)
        volumes.append(
            Volume4D(
                random_footprint(rng, 35.0, 40.0), random_band(rng), window(start, rng.uniform(0.1, 4.0))
            )
        )
    state = rng.choice([*LIVE_STATES, *LIVE_STATES, OperationState.ENDED, OperationState.CANCELLED])
    return Operation(party, f"{party}-{n}", tuple(volumes), state=state)


@pytest.mark.parametrize("seed", range(4))
def test_candidates_are_a_superset_of_brute_force_conflicts(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    with_parties(store)
    policy = MinimaPolicy(
        EN_ROUTE,
        {
            ("blue", "red"): Minima(3 * 1852.0, 500 * 0.3048, 120.0),
            ("civil", "red"): Minima(20_000.0, 600.0, 1800.0),
        },
    )
    operations = [random_operation(rng, rng.choice(PARTIES).id, n) for n in range(60)]
    with store.transaction() as tx:
        for (a, b), minima in policy.pairs.items():
            tx.set_pair_minima(a, b, minima)
        for o in operations:
            tx.insert_operation(o)
    live = [o for o in operations if o.live]
    live_keys = {o.key for o in live}
    expected = all_conflicts_brute_force(live, policy)
    assert expected, "the scenario should produce conflicts"
    found: list[StrategicConflict] = []
    with store.transaction() as tx:
        stored_policy = MinimaPolicy(EN_ROUTE, tx.pair_minima())
        for o in operations:
            candidates = tx.find_candidates(o.volumes, stored_policy.widest_for(o.party), o.party)
            assert all(c.party != o.party and c.key in live_keys for c in candidates)
            assert keys(candidates) == sorted(keys(candidates))
            if o.live:
                found.extend(
                    c for c in conflicts_with(o, candidates, stored_policy) if o.key < (c.b.party, c.b.id)
                )
    # every brute-force conflict is found through the index, and nothing else
    assert sorted((c.a.party, c.a.id, c.b.party, c.b.id) for c in found) == [
        (c.a.party, c.a.id, c.b.party, c.b.id) for c in expected
    ]


# --- conflicts ------------------------------------------------------------------------


def _three_ops(store: Store) -> tuple[Operation, Operation, Operation]:
    with_parties(store)
    red = op("red", "r1", volume(circle_at(35.0, 40.0)), volume(circle_at(35.0, 40.0), w=window(5)))
    blue = op("blue", "b1", volume(circle_at(35.05, 40.0)), volume(circle_at(35.05, 40.0), w=window(5.5)))
    civil = op("civil", "c1", volume(circle_at(35.0, 40.05), w=window(1)))
    return red, blue, civil


def _three_way(store: Store) -> tuple[Operation, Operation, Operation]:
    red, blue, civil = _three_ops(store)
    with store.transaction() as tx:
        for o in (red, blue, civil):
            tx.insert_operation(o)
    return red, blue, civil


def test_conflicts_roundtrip_seen_by_each_party(store: Store) -> None:
    red, blue, civil = _three_way(store)
    policy = MinimaPolicy()
    red_conflicts = conflicts_with(red, [blue, civil], policy)
    assert [c.b.party for c in red_conflicts] == ["blue", "civil"]
    blue_conflicts = conflicts_with(blue, [red, civil], policy)
    blue_civil = blue_conflicts[1:]
    with store.transaction() as tx:
        tx.replace_conflicts("red", "r1", red_conflicts)
        # blue files after red: it sees red's operation too, and replaces that pair's row
        tx.replace_conflicts("blue", "b1", blue_conflicts)
    with store.transaction() as tx:
        mine = tx.conflicts_of("red")
        # the red-blue row is the one blue stored last, turned to face red
        assert sorted(mine, key=lambda c: c.b.party) == [blue_conflicts[0].swapped(), red_conflicts[1]]
        assert all(c.a.party == "red" for c in mine)
        assert [c.start for c in mine] == sorted(c.start for c in mine)
        theirs = tx.conflicts_of("blue")
        assert sorted(theirs, key=lambda c: c.b.party) == sorted(blue_conflicts, key=lambda c: c.b.party)
        civil_view = tx.conflicts_of("civil", "c1")
        assert [c.a.party for c in civil_view] == ["civil", "civil"]
        assert sorted(civil_view, key=lambda c: c.b.party) == [
            blue_civil[0].seen_by("civil"),
            red_conflicts[1].seen_by("civil"),
        ]
        assert tx.conflicts_of("blue", "b1")[0].a == blue_civil[0].a
        assert tx.conflicts_of("civil", "other") == []


def test_replace_conflicts_drops_both_directions(store: Store) -> None:
    red, blue, civil = _three_way(store)
    policy = MinimaPolicy()
    with store.transaction() as tx:
        tx.replace_conflicts("red", "r1", conflicts_with(red, [blue, civil], policy))
        tx.replace_conflicts("blue", "b1", conflicts_with(blue, [red, civil], policy))
    with store.transaction() as tx:
        assert sorted(c.b.party for c in tx.conflicts_of("blue", "b1")) == ["civil", "red"]
    with store.transaction() as tx:
        # blue's operation is re-filed clear of everyone: its conflicts with red (stored
        # when red filed, blue as side b) and with civil both go
        tx.replace_conflicts("blue", "b1", [])
    with store.transaction() as tx:
        assert tx.conflicts_of("blue") == []
        assert [c.b.party for c in tx.conflicts_of("red")] == ["civil"]
        with pytest.raises(InvalidInput):
            tx.replace_conflicts("civil", "c1", conflicts_with(red, [civil], policy))


def test_replace_conflicts_in_the_transaction_that_inserted_the_operations(store: Store) -> None:
    # A store may skip the DELETE for an operation it inserted in this transaction, but only
    # while no conflict row written since names it.
    red, blue, civil = _three_ops(store)
    policy = MinimaPolicy()
    with store.transaction() as tx:
        for o in (red, blue, civil):
            tx.insert_operation(o)
        tx.replace_conflicts("red", "r1", conflicts_with(red, [blue, civil], policy))
        # red's conflicts, stored once already in this transaction, are replaced the second time
        tx.replace_conflicts("red", "r1", conflicts_with(red, [civil], policy))
        assert tx.conflicts_of("blue") == []
        # civil is named by red's row: storing its conflict with red replaces that row
        tx.replace_conflicts("civil", "c1", conflicts_with(civil, [red], policy))
        assert [c.b.id for c in tx.conflicts_of("red")] == ["c1"]
        tx.replace_conflicts("civil", "c1", [])
    with store.transaction() as tx:
        assert tx.conflicts_of("red") == tx.conflicts_of("blue") == tx.conflicts_of("civil") == []


# --- files, migrations, URLs -----------------------------------------------------------


def _migration_rows(url: str) -> list[tuple[int, str]]:
    sql = "SELECT version, name FROM schema_migrations ORDER BY version"
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            rows = conn.execute(sql).fetchall()
        conn.close()
        return [(int(r[0]), str(r[1])) for r in rows]
    import psycopg

    with psycopg.connect(url) as conn:
        return [(int(r[0]), str(r[1])) for r in conn.execute(sql).fetchall()]


def test_migrations_are_idempotent_and_reopening_keeps_data(
    store_url: str, open_url: Callable[[str], Store]
) -> None:
    first = open_url(store_url)
    with_parties(first)
    with first.transaction() as tx:
        tx.insert_operation(op("red", "op-1"))
    first.close()
    second = open_url(store_url)
    third = open_url(store_url)
    expected = [(m.version, m.name) for m in migrations()]
    assert expected[0] == (1, "core")
    assert _migration_rows(store_url) == expected
    for reopened in (second, third):
        with reopened.transaction() as tx:
            assert tx.get_operation("red", "op-1") == op("red", "op-1")
            assert keys(tx.find_candidates([volume()], EN_ROUTE, "blue")) == [("red", "op-1")]


def test_sqlite_is_wal_with_durable_commits_and_foreign_keys(tmp_path: Any) -> None:
    store = open_store(str(tmp_path / "bare-path.sqlite"))
    try:
        assert isinstance(store, SqliteStore)
        assert store.pragma("journal_mode") == "wal"
        assert store.pragma("synchronous") == 2  # FULL
        assert store.pragma("foreign_keys") == 1
        assert store.pragma("wal_autocheckpoint") == 0  # the store's own thread checkpoints
        assert store.pragma("mmap_size") >= 1 << 30  # read through a map, up to SQLite's limit
    finally:
        store.close()
    assert (tmp_path / "bare-path.sqlite").exists()


@pytest.mark.postgres
def test_postgres_sessions_run_no_parallel_query(
    pg_schema_url: str, open_url: Callable[[str], Store]
) -> None:
    """Short OLTP queries must not start parallel workers (7-8 ms each at 1,000,000 stored),
    on the store's connection or on the stream reader's."""
    from deconfliction.store.reader import ReadConnection

    store = open_url(pg_schema_url)
    with store.transaction() as tx:
        assert tx._x("SHOW max_parallel_workers_per_gather").fetchone()[0] == "0"  # type: ignore[attr-defined]
    reader = ReadConnection(pg_schema_url)
    try:
        with reader.transaction() as tx:
            assert tx._x("SHOW max_parallel_workers_per_gather").fetchone()[0] == "0"  # type: ignore[attr-defined]
    finally:
        reader.close()


def test_sqlite_checkpoints_the_wal_on_its_own_thread(tmp_path: Any) -> None:
    """Commits only append to the WAL; the checkpointer copies them into the database
    file soon after, without waiting for a commit to cross a threshold or for close."""
    import time

    path = tmp_path / "checkpointed.sqlite"
    store = open_store(str(path))
    try:
        with_parties(store)
        empty = path.stat().st_size
        with store.transaction() as tx:
            for n in range(200):
                tx.insert_operation(op("red", f"op-{n}", *(volume(fp) for fp in every_footprint(35.0, 40.0))))
        deadline = time.monotonic() + 30.0
        while path.stat().st_size <= empty and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size > empty
    finally:
        store.close()


def _wal_restarts(path: Any) -> int:
    """The WAL header's checkpoint sequence number, which goes up by one each time the log
    starts over from its first frame (https://sqlite.org/fileformat2.html#walformat)."""
    with open(f"{path}-wal", "rb") as wal:
        return int.from_bytes(wal.read(16)[12:16], "big")


def test_sqlite_wal_starts_over_under_a_steady_stream_of_commits(tmp_path: Any) -> None:
    """Commits back to back never leave a passive checkpoint the last frame, so on its own
    the WAL would grow for as long as they keep coming; past its limit the checkpointer
    copies the rest with the writer held back, and the log starts over each round it is
    past the limit (decision 0014)."""
    path = tmp_path / "steady.sqlite"
    limit = 64 << 10  # a few of these commits: past it every round
    store = SqliteStore(path, wal_limit_bytes=limit, checkpoint_interval_s=0.05)
    try:
        with_parties(store)
        assert store.pragma("journal_size_limit") == limit
        template = op("red", "op", *(volume(fp) for fp in every_footprint(35.0, 40.0)))
        first, committed = _wal_restarts(path), 0
        rounds = store.checkpoints + 10
        while store.checkpoints < rounds and committed < 100_000:
            with store.transaction() as tx:
                tx.insert_operation(replace(template, id=f"op-{committed}"))
            committed += 1
        restarts = _wal_restarts(path) - first
        assert restarts >= 5, f"{restarts} restarts in 10 rounds over {committed} commits"
        with store.transaction() as tx:
            assert tx.count_operations() == committed
    finally:
        store.close()


@pytest.mark.parametrize("url", ["mysql://localhost/db", "sqlite://relative.db", "", "http://x"])
def test_unknown_store_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="store"):
        open_store(url)


def test_unreachable_postgres_is_store_unavailable() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(StoreUnavailable):
        open_store("postgresql://nobody@127.0.0.1:9/nowhere?connect_timeout=2")


@pytest.mark.parametrize("url", ["postgresql:/db", "mysql://u@h/db", "sqlite:relative.db", "redis:"])
def test_mistyped_or_unsupported_urls_are_refused_not_taken_for_files(url: str) -> None:
    with pytest.raises(InvalidInput, match="unknown store scheme"):
        open_store(url)
