"""Overlap regions as the views send them: GeoJSON rounded to about 1 cm, rendered once per change."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import shape

from deconfliction.service.notices import RegionMemo, region_geojson

_DISC = shapely.Point(40.123456789, 35.98765432).buffer(0.05, quad_segs=16)
REGIONS = [
    _DISC.intersection(shapely.Point(40.16, 35.98).buffer(0.05)),  # a lens
    _DISC.difference(shapely.Point(40.12, 35.98).buffer(0.01)),  # with a hole
    shapely.MultiPolygon([_DISC, shapely.Point(41.0, 36.0).buffer(0.01)]),
    shapely.Point(40.1234567891, 35.1),  # the point reported when buffers just miss
    shapely.LineString([(40.0, 35.0), (41.0, 36.123456789)]),
    shapely.GeometryCollection([shapely.Point(40.0, 35.0), _DISC]),
]


@pytest.mark.parametrize("region", REGIONS, ids=lambda g: g.geom_type)
def test_region_geojson_is_the_region_rounded_to_seven_decimals(region: shapely.Geometry) -> None:
    rendered = region_geojson(region)
    assert rendered["type"] == region.geom_type
    back = shape(json.loads(json.dumps(rendered)))
    assert shapely.hausdorff_distance(back, region) <= 0.51e-7 * 2**0.5
    assert back.equals_exact(region, 1e-7)
    for x in json.dumps(rendered).replace("[", " ").replace("]", " ").replace(",", " ").split():
        if x[0].isdigit() or x[0] == "-":
            assert len(x.split(".")[-1]) <= 7


def test_a_region_is_rendered_once_per_memo() -> None:
    memo: RegionMemo = {}
    first = region_geojson(REGIONS[0], memo)
    assert region_geojson(REGIONS[0], memo) is first
    assert region_geojson(REGIONS[1], memo) is not first
    assert region_geojson(REGIONS[0]) == first
    assert region_geojson(REGIONS[0]) is not first
