"""`deconfliction check`: conflicts from a GeoJSON file, JSON output, exit codes, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from builders import circle_op
from deconfliction.cli import cli
from deconfliction.cli.errors import EXIT_CONFLICTS_FOUND, EXIT_INVALID_INPUT, EXIT_OK
from deconfliction.cli.report import lead_text
from deconfliction.cli.wording import plural
from deconfliction.geo.altitude import Datum
from deconfliction.interop.geojson import document
from deconfliction.interop.quantities import band_text
from deconfliction.service import OperationService
from deconfliction.store import open_store
from deconfliction.store.base import Party
from deconfliction.units import FOOT_M


def _write(tmp_path: Path, data: Any, name: str = "ops.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def _pair_document(lon_b: float) -> dict[str, Any]:
    return document([circle_op("BLUE", "B1"), circle_op("RED", "R1", lon=lon_b)])


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    for command in ("demo", "check", "tactical"):
        assert command in result.output


def test_conflict_found_exits_1_and_prints_json(tmp_path: Path) -> None:
    path = _write(tmp_path, _pair_document(40.05))
    result = CliRunner().invoke(cli, ["check", str(path), "--json"])
    assert result.exit_code == EXIT_CONFLICTS_FOUND, result.output
    payload = json.loads(result.output)
    assert payload["count"] == 1
    conflict = payload["conflicts"][0]
    assert {conflict["a"]["operation_id"], conflict["b"]["operation_id"]} == {"B1", "R1"}
    # regions are opt-in: the default output is pairs, distances, bands and windows
    overlap = conflict["overlaps"][0]
    assert "region" not in overlap
    assert set(overlap) >= {"altitude", "time", "horizontal_distance_m", "vertical_gap_m", "time_gap_s"}
    assert conflict["start"].endswith("Z")
    assert conflict["reference"].startswith("CX-")


def test_regions_on_demand_in_json_and_as_a_geojson_layer(tmp_path: Path) -> None:
    path = _write(tmp_path, _pair_document(40.05))
    plain = json.loads(CliRunner().invoke(cli, ["check", str(path), "--json"]).output)
    result = CliRunner().invoke(cli, ["check", str(path), "--json", "--regions"])
    assert result.exit_code == EXIT_CONFLICTS_FOUND, result.output
    with_regions = json.loads(result.output)
    region = with_regions["conflicts"][0]["overlaps"][0].pop("region")
    assert region["type"] == "Polygon"
    assert with_regions == plain  # the same conflicts, with the regions added

    layer_path = tmp_path / "regions.geojson"
    result = CliRunner().invoke(cli, ["check", str(path), "--geojson", str(layer_path)])
    assert result.exit_code == EXIT_CONFLICTS_FOUND, result.output
    layer = json.loads(layer_path.read_text(encoding="utf-8"))
    assert layer["type"] == "FeatureCollection"
    (feature,) = layer["features"]
    assert feature["geometry"]["type"] == "Polygon"
    assert feature["properties"]["feature"] == "conflict"
    assert feature["properties"]["reference"] == plain["conflicts"][0]["reference"]


def test_the_table_speaks_plainly(tmp_path: Path) -> None:
    path = _write(tmp_path, _pair_document(40.05))
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == EXIT_CONFLICTS_FOUND, result.output
    assert "; 1 conflict\n" in result.output
    assert "The most urgent 1 conflict " in result.output
    assert "starts in" in result.output
    assert "FL095 to FL205" in result.output  # the bands grown by half the 1,000 ft minimum


def test_bands_and_lead_times_read_plainly() -> None:
    assert band_text(-500 * FOOT_M, 15_500 * FOOT_M, Datum.MSL) == "-500 to 15,500 ft MSL"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert lead_text(now, now - timedelta(minutes=5)) == "now"
    assert lead_text(now, now + timedelta(minutes=25)) == "25 min"
    assert lead_text(now, now + timedelta(hours=3, minutes=5)) == "3 h 05"
    assert lead_text(now, now + timedelta(hours=805, minutes=37)) == "33 d 13 h"
    assert plural(1, "conflict") == "1 conflict"
    assert plural(1000, "conflict") == "1,000 conflicts"


def test_no_conflict_exits_0(tmp_path: Path) -> None:
    path = _write(tmp_path, _pair_document(42.0))
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == EXIT_OK, result.output
    assert "No conflicts" in result.output


def test_check_against_a_store_reads_but_never_writes(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    store = open_store(str(db))
    service = OperationService(store)
    service.add_party(Party("BLUE", "Blue"))
    service.file(circle_op("BLUE", "B1"))
    store.close()
    path = _write(tmp_path, document([circle_op("RED", "R9", lon=40.05)]))
    result = CliRunner().invoke(cli, ["check", str(path), "--db", str(db), "--json"])
    assert result.exit_code == EXIT_CONFLICTS_FOUND, result.output
    assert json.loads(result.output)["count"] == 1
    store = open_store(str(db))
    assert [op.id for op in OperationService(store).operations()] == ["B1"]
    store.close()


def test_a_file_already_filed_lists_each_conflict_once(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    store = open_store(str(db))
    service = OperationService(store)
    for party in ("BLUE", "RED"):
        service.add_party(Party(party, party))
    operations = [circle_op("BLUE", "B1"), circle_op("RED", "R1", lon=40.05)]
    for operation in operations:
        service.file(operation)
    store.close()
    path = _write(tmp_path, document(operations))
    result = CliRunner().invoke(cli, ["check", str(path), "--db", str(db), "--json"])
    assert result.exit_code == EXIT_CONFLICTS_FOUND, result.output
    payload = json.loads(result.output)
    assert payload["count"] == 1
    assert len({c["reference"] for c in payload["conflicts"]}) == 1


def _feature(**props: Any) -> dict[str, Any]:
    doc = _pair_document(42.0)
    feature: dict[str, Any] = doc["features"][0]
    for key, value in props.items():
        if key == "geometry":
            feature["geometry"] = value
        else:
            feature["properties"][key] = value
    return doc


BAD_INPUTS = [
    ("units", _feature(altitude={"lower": 1, "upper": 2, "units": "yd", "datum": "MSL"}), "altitude.units"),
    ("datum", _feature(altitude={"lower": 1, "upper": 2, "units": "m", "datum": "QNH"}), "altitude.datum"),
    ("inverted band", _feature(altitude={"lower": 300, "upper": 200, "units": "FL"}), "altitude.lower"),
    (
        "inverted window",
        _feature(time={"start": "2026-01-01T08:00:00Z", "end": "2026-01-01T07:00:00Z"}),
        "time.end",
    ),
    (
        "naive time",
        _feature(time={"start": "2026-01-01T08:00:00", "end": "2026-01-01T09:00:00Z"}),
        "time.start",
    ),
    ("too long", _feature(time={"start": "2026-01-01T00:00:00Z", "end": "2200-01-01T00:00:00Z"}), "time.end"),
    ("latitude", _feature(geometry={"type": "Point", "coordinates": [40.0, 95.0]}), "coordinates[1]"),
    (
        "bow tie",
        _feature(
            geometry={"type": "Polygon", "coordinates": [[[40, 35], [41, 36], [41, 35], [40, 36], [40, 35]]]},
            footprint={"kind": "polygon"},
        ),
        "self-intersection",
    ),
    (
        "two vertices",
        _feature(
            geometry={"type": "Polygon", "coordinates": [[[40, 35], [41, 36], [40, 35]]]},
            footprint={"kind": "polygon"},
        ),
        "at least 3 distinct vertices",
    ),
    ("unknown field", _feature(colour="red"), "colour"),
    (
        "huge circle",
        _feature(footprint={"kind": "circle", "radius": {"value": 400, "units": "km"}}),
        "limit is 300 km",
    ),
    ("radius units", _feature(footprint={"kind": "circle", "radius": {"value": 4, "units": "mi"}}), "units"),
]


@pytest.mark.parametrize(("case", "data", "needle"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_names_the_field_and_exits_3(tmp_path: Path, case: str, data: Any, needle: str) -> None:
    path = _write(tmp_path, data)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == EXIT_INVALID_INPUT, (case, result.output)
    assert needle in result.output
    assert result.output.startswith("error: features[0]")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{not json", "not valid JSON"),
        ('{"type": "Feature"}', "FeatureCollection"),
        (
            '{"type": "FeatureCollection", "features": [], "deconfliction": {"format_version": 2}}',
            "format_version",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", '
            '"coordinates": [NaN, 35]}, "properties": {}}]}',
            "features[0]",
        ),
    ],
)
def test_malformed_documents(tmp_path: Path, text: str, needle: str) -> None:
    path = _write(tmp_path, text)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == EXIT_INVALID_INPUT, result.output
    assert needle in result.output


def test_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "nope.geojson")])
    assert result.exit_code == EXIT_INVALID_INPUT
    assert "cannot read" in result.output


def test_every_bad_feature_is_reported_in_one_run_with_its_path(tmp_path: Path) -> None:
    doc = document(
        [circle_op("BLUE", "B1"), circle_op("RED", "R1"), circle_op("RED", "R2"), circle_op("CIV", "C1")]
    )
    features = doc["features"]
    bowtie = [[40, 35], [40.1, 35], [40, 35.1], [40.1, 35.1], [40, 35]]
    repeated = [[40, 35], [40.1, 35], [40.1, 35], [40, 35.1], [40, 35]]
    for n, ring in ((0, bowtie), (3, repeated)):
        features[n]["geometry"] = {"type": "Polygon", "coordinates": [ring]}
        features[n]["properties"]["footprint"] = {"kind": "polygon"}
    features[1]["properties"]["footprint"]["radius"] = {"value": -5, "units": "km"}
    features[2]["properties"]["altitude"]["units"] = "furlong"
    result = CliRunner().invoke(cli, ["check", str(_write(tmp_path, doc))])
    assert result.exit_code == EXIT_INVALID_INPUT
    lines = [line for line in result.stderr.splitlines() if line]
    assert lines[0].startswith("error: features[0].geometry.coordinates[0]: polygon is not simple")
    assert lines[1].startswith("features[1].properties.footprint.radius: must be greater than 0")
    assert lines[2].startswith("features[2].properties.altitude.units: unknown altitude unit")
    assert lines[3] == "features[3].geometry.coordinates[0][2]: repeats the previous vertex"


def test_no_command_exits_1_for_an_error() -> None:
    # click.ClickException exits 1, which docs/cli.md reserves for "conflicts found": every
    # error goes through cli.errors (one exit code per class of the exception tree).
    cli_dir = Path(__file__).resolve().parents[2] / "src" / "deconfliction" / "cli"
    users = [p.name for p in cli_dir.glob("*.py") if "ClickException" in p.read_text(encoding="utf-8")]
    assert users == []


def test_a_check_shows_its_progress_on_a_terminal(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    path = _write(tmp_path, _pair_document(40.05))
    leader, follower = pty.openpty()
    code = (
        "import sys; from deconfliction.cli import main; sys.argv = ['deconfliction', *sys.argv[1:]]; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "check", str(path), "--json"],
        stdout=subprocess.PIPE,
        stderr=follower,
        check=False,
        timeout=120,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert done.returncode == EXIT_CONFLICTS_FOUND
    assert json.loads(done.stdout)["count"] == 1  # stdout stays clean JSON
    assert b"checking pairs of the file" in shown
