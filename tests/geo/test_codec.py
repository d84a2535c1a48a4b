"""The canonical storage dictionaries round-trip exactly and refuse malformed data."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime, timedelta

import pytest

from deconfliction.errors import InvalidDocument, InvalidGeometry, InvalidInput
from deconfliction.geo import (
    AltitudeBand,
    ArcSector,
    Circle,
    Corridor,
    Datum,
    Polygon,
    Position,
    Racetrack,
    TimeWindow,
    Volume4D,
)
from deconfliction.geo.codec import (
    footprint_from_dict,
    footprint_to_dict,
    stored_footprint,
    volume_from_dict,
    volume_to_dict,
)

T0 = datetime(2025, 10, 1, 6, 0, 0, 123456, tzinfo=UTC)

FOOTPRINTS = [
    Polygon((Position(35.1, 40.1), Position(35.2, 40.3), Position(35.0, 40.4))),
    Circle(Position(-10.5, 179.99), 12_345.678),
    Corridor((Position(35, 40), Position(35.5, 40.5), Position(35.2, 41)), 9260.0),
    Racetrack(Position(60, -179.9), Position(60.2, 179.8), 5000),
    ArcSector(Position(35, 40), 1000, 20_000, -30, 400),
]


@pytest.mark.parametrize("footprint", FOOTPRINTS, ids=lambda f: f.kind)
def test_footprint_round_trip_through_json(footprint):
    data = json.loads(json.dumps(footprint_to_dict(footprint)))
    assert data["kind"] == footprint.kind
    assert footprint_from_dict(data) == footprint


@pytest.mark.parametrize("footprint", FOOTPRINTS, ids=lambda f: f.kind)
def test_stored_footprints_decode_to_the_same_value_and_geometry(footprint):
    data = json.loads(json.dumps(footprint_to_dict(footprint)))
    decoded = stored_footprint(data)
    assert type(decoded) is type(footprint)
    assert decoded == footprint
    assert hash(decoded) == hash(footprint)
    assert decoded.center == footprint.center
    assert decoded.cap_radius_m == footprint.cap_radius_m
    assert decoded.area_m2() == pytest.approx(footprint.area_m2(), rel=1e-12)


@pytest.mark.parametrize("footprint", FOOTPRINTS, ids=lambda f: f.kind)
def test_footprints_pickle_without_their_derived_shapes(footprint):
    footprint.shape_in(footprint.frame(), 1000.0)  # fills the memo with geometries
    loaded = pickle.loads(pickle.dumps(footprint))
    assert loaded == footprint
    assert loaded._memo == {}
    assert loaded.area_m2() == footprint.area_m2()


def test_stored_footprint_of_unknown_kind_is_a_document_error():
    with pytest.raises(InvalidDocument, match="kind"):
        stored_footprint({"kind": "hexagon"})
    with pytest.raises(InvalidDocument, match="malformed"):
        stored_footprint({"kind": "circle", "center": [1.0]})


@pytest.mark.parametrize("ground", [None, (120.0, 180.5)])
def test_volume_round_trip_through_json(ground):
    datum = Datum.AGL if ground else Datum.STD
    volume = Volume4D(
        FOOTPRINTS[2], AltitudeBand(30.5, 1200.0, datum, ground), TimeWindow(T0, T0 + timedelta(hours=2))
    )
    data = json.loads(json.dumps(volume_to_dict(volume)))
    assert data["window"]["start"].endswith("Z")
    assert volume_from_dict(data) == volume
    stored = volume_from_dict(data, stored=True)
    assert stored == volume
    # the epoch seconds are not part of equality: check the stored ones directly
    assert (stored.window.start_s, stored.window.end_s) == (volume.window.start_s, volume.window.end_s)
    assert stored.window.end_s - stored.window.start_s == 7200.0


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "hexagon"},
        {"kind": "circle", "center": [0, 0]},
        {"kind": "circle", "center": [0], "radius_m": 5},
        {"kind": "polygon", "vertices": None},
        {},
    ],
)
def test_malformed_footprints(data):
    with pytest.raises(InvalidDocument) as info:
        footprint_from_dict(data)
    assert info.value.field.startswith("footprint")


def test_invalid_values_keep_their_specific_error():
    with pytest.raises(InvalidGeometry) as info:
        footprint_from_dict({"kind": "circle", "center": [95, 0], "radius_m": 5})
    assert info.value.field == "lat"


def test_malformed_volume_is_a_document_error():
    good = volume_to_dict(
        Volume4D(FOOTPRINTS[1], AltitudeBand(0, 10, Datum.MSL), TimeWindow(T0, T0 + timedelta(1)))
    )
    for broken in (
        {k: v for k, v in good.items() if k != "band"},
        {**good, "band": {**good["band"], "datum": "QFE"}},
        {**good, "window": {"start": good["window"]["start"]}},
    ):
        with pytest.raises(InvalidDocument):
            volume_from_dict(broken)
    with pytest.raises(InvalidInput) as info:
        volume_from_dict({**good, "window": {"start": good["window"]["start"], "end": "2025-10-01T06:00:00"}})
    assert info.value.field == "end"


def test_volume_checks_its_parts_types():
    w = TimeWindow(T0, T0 + timedelta(hours=1))
    band = AltitudeBand(0, 10, Datum.MSL)
    with pytest.raises(InvalidInput) as info:
        Volume4D({"kind": "circle"}, band, w)  # type: ignore[arg-type]
    assert info.value.field == "footprint"
    with pytest.raises(InvalidInput) as info:
        Volume4D(FOOTPRINTS[1], (0, 10), w)  # type: ignore[arg-type]
    assert info.value.field == "band"
    with pytest.raises(InvalidInput) as info:
        Volume4D(FOOTPRINTS[1], band, (T0, T0))  # type: ignore[arg-type]
    assert info.value.field == "window"
