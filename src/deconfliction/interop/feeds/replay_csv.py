"""Timestamped track reports in CSV, replayed cycle by cycle.

The header is ``time_utc,id,party,lat_deg,lon_deg,alt_m,gs_mps,trk_deg,vs_mps`` (columns in
any order; extra columns are ignored; an optional ``datum`` column names each altitude's
datum, otherwise all are pressure altitudes, ``STD``). ``time_utc`` is an RFC 3339 time
with its offset (``2026-03-01T12:00:05Z``, fractions allowed); rows need not be sorted.
Units are those of STATES.csv: degrees, metres, m/s.

A row whose time or numbers cannot be read is refused here with its line number; range
checks (latitude, speeds, timestamps against the cycle time, ...) happen when the engine
ingests each batch (:mod:`deconfliction.engine.tactical.ingest`), and the CLI maps those
refusals back to line numbers too.

:func:`replay_batches` cuts the reports into cycles ``step_s`` apart, starting at the
first report: each cycle's batch holds, per track, the latest report heard since the
previous cycle (earlier ones in the same step are superseded, as a receiver would).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, TextIO

import numpy as np
from numpy.typing import NDArray

from deconfliction.engine.tactical.ingest import Rejection
from deconfliction.engine.tactical.state import ReportBatch
from deconfliction.errors import InvalidDocument, InvalidInput, InvalidTimeWindow
from deconfliction.geo.timewindow import parse_utc
from deconfliction.interop.feeds.states_csv import NUMBER_COLUMNS, STATE_COLUMNS

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

REPLAY_COLUMNS: Final = ("time_utc", *STATE_COLUMNS)


@dataclass(frozen=True, slots=True)
class TimedReports:
    """Readable rows, sorted by time (stable), as parallel columns.

    ``line`` is each row's line number in the file (the header is line 1).
    """

    line: IntArray
    time_s: FloatArray
    ids: tuple[str, ...]
    parties: tuple[str, ...]
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray
    gs_mps: FloatArray
    trk_deg: FloatArray
    vs_mps: FloatArray
    datums: tuple[str, ...] | None

    def __len__(self) -> int:
        return int(self.time_s.size)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_replay_rows(
    rows: Iterable[dict[str, str | None]], first_line: int = 2, with_datum: bool = False
) -> tuple[TimedReports, list[Rejection]]:
    """Rows keyed by :data:`REPLAY_COLUMNS` (and ``datum``) into sorted reports; rows whose
    time or numbers cannot be read are refused (``Rejection.index`` is the line number)."""
    kept: list[tuple[float, int, str, str, list[float], str]] = []
    refused: list[Rejection] = []
    for offset, row in enumerate(rows):
        line = first_line + offset
        track_id = (row.get("id") or "").strip()
        raw_time = (row.get("time_utc") or "").strip()
        try:
            time_s = parse_utc(raw_time, "time_utc").timestamp()
        except InvalidTimeWindow:
            reason = "missing value" if not raw_time else f"not an RFC 3339 UTC time: {raw_time!r}"
            refused.append(Rejection(line, track_id, "time_utc", reason))
            continue
        values: list[float] = []
        problem: Rejection | None = None
        for name in NUMBER_COLUMNS:
            raw = (row.get(name) or "").strip()
            value = _number(raw) if raw else None
            if value is None:
                reason = "missing value" if not raw else f"not a number: {raw!r}"
                problem = Rejection(line, track_id, name, reason)
                break
            values.append(value)
        if problem is not None:
            refused.append(problem)
            continue
        kept.append(
            (
                time_s,
                line,
                track_id,
                (row.get("party") or "").strip(),
                values,
                (row.get("datum") or "").strip() or "STD",
            )
        )
    kept.sort(key=lambda r: r[0])
    table = np.array([r[4] for r in kept], dtype=np.float64).reshape(len(kept), len(NUMBER_COLUMNS))
    lat, lon, alt, gs, trk, vs = (np.ascontiguousarray(table[:, k]) for k in range(len(NUMBER_COLUMNS)))
    reports = TimedReports(
        line=np.array([r[1] for r in kept], dtype=np.int64),
        time_s=np.array([r[0] for r in kept], dtype=np.float64),
        ids=tuple(r[2] for r in kept),
        parties=tuple(r[3] for r in kept),
        lat_deg=lat,
        lon_deg=lon,
        alt_m=alt,
        gs_mps=gs,
        trk_deg=trk,
        vs_mps=vs,
        datums=tuple(r[5] for r in kept) if with_datum else None,
    )
    return reports, refused


def read_replay_csv(stream: TextIO) -> tuple[TimedReports, list[Rejection]]:
    """Read a timestamped CSV; a missing column refuses the file (:class:`InvalidDocument`)."""
    reader = csv.DictReader(stream)
    header = reader.fieldnames
    if header is None:
        raise InvalidDocument("CSV", "empty file; expected the header " + ",".join(REPLAY_COLUMNS))
    names = {h.strip() for h in header}
    missing = [c for c in REPLAY_COLUMNS if c not in names]
    if missing:
        raise InvalidDocument(
            "CSV", f"missing column(s) {', '.join(missing)}; expected {','.join(REPLAY_COLUMNS)}"
        )
    rows = (
        {(k or "").strip(): v for k, v in row.items() if isinstance(v, str) or v is None} for row in reader
    )
    return parse_replay_rows(rows, with_datum="datum" in names)


def replay_batches(reports: TimedReports, step_s: float) -> Iterator[tuple[float, ReportBatch, IntArray]]:
    """``(cycle time, batch, line numbers of the batch's rows)`` every ``step_s`` seconds from
    the first report to the last; a batch holds each track's latest report since the
    previous cycle (possibly none)."""
    if not (math.isfinite(step_s) and step_s > 0):
        raise InvalidInput("step_s", f"must be a positive number of seconds, got {step_s!r}")
    if len(reports) == 0:
        return
    times = reports.time_s
    t = float(times[0])
    lo = 0
    while lo < times.size:
        hi = int(np.searchsorted(times, t, side="right"))
        latest: dict[str, int] = {}
        for row in range(lo, hi):
            latest[reports.ids[row]] = row  # rows are in time order: the last one wins
        rows = np.array(sorted(latest.values()), dtype=np.int64)
        yield t, _batch(reports, rows), reports.line[rows]
        lo = hi
        t += step_s


def _batch(reports: TimedReports, rows: IntArray) -> ReportBatch:
    picked = rows.tolist()
    return ReportBatch(
        ids=[reports.ids[k] for k in picked],
        parties=[reports.parties[k] for k in picked],
        time_s=reports.time_s[rows],
        lat_deg=reports.lat_deg[rows],
        lon_deg=reports.lon_deg[rows],
        alt_m=reports.alt_m[rows],
        gs_mps=reports.gs_mps[rows],
        trk_deg=reports.trk_deg[rows],
        vs_mps=reports.vs_mps[rows],
        datums=None if reports.datums is None else [reports.datums[k] for k in picked],
    )
