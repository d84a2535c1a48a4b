"""STATES.csv (tracks at one instant) in, PAIRS.csv (conflicting pairs) out.

STATES.csv has the header ``id,party,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps``
(columns in any order; extra columns are ignored). PAIRS.csv has the header
``id_a,id_b,tcpa_s,dcpa_m,t_in_s,t_out_s,los`` with ``id_a < id_b`` (string order),
one row per unordered pair, rows sorted by ``(id_a, id_b)``; floats are written in
their shortest exact form, ``inf`` for a loss of separation that never ends, and
``los`` is ``true`` or ``false``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, TextIO

import numpy as np
from numpy.typing import NDArray

from deconfliction.engine.tactical.detect import ConflictPairs
from deconfliction.engine.tactical.ingest import Limits, Rejection, validate_records
from deconfliction.errors import InvalidDocument

FloatArray = NDArray[np.float64]

STATE_COLUMNS: Final = ("id", "party", "lat_deg", "lon_deg", "alt_m", "gs_mps", "trk_deg", "vs_mps")
NUMBER_COLUMNS: Final = STATE_COLUMNS[2:]
PAIR_COLUMNS: Final = ("id_a", "id_b", "tcpa_s", "dcpa_m", "t_in_s", "t_out_s", "los")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Accepted tracks at one instant, as parallel arrays (degrees, metres, m/s)."""

    ids: tuple[str, ...]
    parties: tuple[str, ...]
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray
    gs_mps: FloatArray
    trk_deg: FloatArray
    vs_mps: FloatArray

    def __len__(self) -> int:
        return len(self.ids)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def parse_states(
    rows: Iterable[dict[str, str | None]], limits: Limits | None = None
) -> tuple[Snapshot, list[Rejection]]:
    """Validate state records (dicts keyed by :data:`STATE_COLUMNS`), refusing bad ones."""
    ids: list[str] = []
    parties: list[str] = []
    numbers: list[list[float]] = []
    refused: list[Rejection] = []
    for index, row in enumerate(rows):
        track_id = (row.get("id") or "").strip()
        ids.append(track_id)
        parties.append((row.get("party") or "").strip())
        values: list[float] = []
        for name in NUMBER_COLUMNS:
            raw = row.get(name)
            value = _number(raw.strip()) if raw is not None else float("nan")
            if raw is None or (raw.strip() == ""):
                refused.append(Rejection(index, track_id, name, "missing value"))
            elif value != value and raw.strip().lower() != "nan":
                refused.append(Rejection(index, track_id, name, f"not a number: {raw.strip()!r}"))
            values.append(value)
        numbers.append(values)
    table = np.array(numbers, dtype=np.float64).reshape(len(ids), len(NUMBER_COLUMNS))
    columns = [np.ascontiguousarray(table[:, k]) for k in range(len(NUMBER_COLUMNS))]
    ok, rejections = validate_records(ids, parties, *columns, limits=limits, refused=refused)
    keep = np.flatnonzero(ok)
    snapshot = Snapshot(
        tuple(ids[k] for k in keep.tolist()),
        tuple(parties[k] for k in keep.tolist()),
        *(c[keep] for c in columns),
    )
    return snapshot, rejections


def read_states_csv(stream: TextIO, limits: Limits | None = None) -> tuple[Snapshot, list[Rejection]]:
    """Read STATES.csv; a missing column is an :class:`InvalidDocument`, a bad row a rejection."""
    reader = csv.DictReader(stream)
    header = reader.fieldnames
    if header is None:
        raise InvalidDocument("STATES.csv", "empty file; expected the header " + ",".join(STATE_COLUMNS))
    missing = [c for c in STATE_COLUMNS if c not in {h.strip() for h in header}]
    if missing:
        raise InvalidDocument(
            "STATES.csv", f"missing column(s) {', '.join(missing)}; expected {','.join(STATE_COLUMNS)}"
        )
    rows = (
        {(k or "").strip(): v for k, v in row.items() if isinstance(v, str) or v is None} for row in reader
    )
    return parse_states(rows, limits)


def _fmt(value: float) -> str:
    if value == float("inf"):
        return "inf"
    return repr(float(value))


def pair_rows(snapshot: Snapshot, pairs: ConflictPairs) -> list[tuple[str, ...]]:
    """PAIRS.csv rows (without header), ``id_a < id_b``, sorted."""
    rows: list[tuple[str, ...]] = []
    for i, j, tcpa, dcpa, t_in, t_out, los in zip(
        pairs.i.tolist(),
        pairs.j.tolist(),
        pairs.tcpa_s.tolist(),
        pairs.dcpa_m.tolist(),
        pairs.t_in_s.tolist(),
        pairs.t_out_s.tolist(),
        pairs.los.tolist(),
        strict=True,
    ):
        a, b = snapshot.ids[i], snapshot.ids[j]
        if b < a:
            a, b = b, a
        rows.append((a, b, _fmt(tcpa), _fmt(dcpa), _fmt(t_in), _fmt(t_out), "true" if los else "false"))
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def write_pairs_csv(stream: TextIO, snapshot: Snapshot, pairs: ConflictPairs) -> int:
    """Write PAIRS.csv; returns the number of pairs written."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(PAIR_COLUMNS)
    rows = pair_rows(snapshot, pairs)
    writer.writerows(rows)
    return len(rows)
