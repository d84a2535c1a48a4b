"""Recorded ADS-B: the samples shipped inside ``traffic`` (``traffic.data.samples``).

``traffic`` is optional (``pip install 'deconfliction[traffic]'``; it needs pandas < 3).
Its sample recordings (``quickstart``: three hours over Paris, ``switzerland``: a day
over Switzerland, ...) hold one row per decoded message with ``timestamp``, ``icao24``,
``latitude``, ``longitude``, ``altitude`` (barometric, ft), ``groundspeed`` (kt),
``track`` (degrees), ``vertical_rate`` (ft/min) and sometimes ``onground``; any of them may
be missing in a row. Here they become a :class:`Recording` of SI arrays (pressure
altitude, datum ``STD``), converted at this edge.

:class:`Relocation` moves replayed batches rigidly to another place and time (the demo flies
the Paris recording over eastern Syria), preserving the aircraft's relative geometry.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from deconfliction.engine.tactical.state import ReportBatch
from deconfliction.errors import InvalidDocument, InvalidInput
from deconfliction.geo.frame import GEOD, LocalFrame, mean_position
from deconfliction.units import FEET_PER_MINUTE_MPS, FOOT_M, KNOT_MPS

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Recording:
    """Reports sorted by time, as parallel arrays; NaN where a message lacked the field."""

    name: str
    time_s: FloatArray  # UTC, seconds since the epoch
    ids: tuple[str, ...]  # per row
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray  # pressure altitude (STD)
    gs_mps: FloatArray
    trk_deg: FloatArray
    vs_mps: FloatArray
    airborne: BoolArray

    def __len__(self) -> int:
        return int(self.time_s.size)

    @property
    def start_s(self) -> float:
        return float(self.time_s[0]) if self.time_s.size else 0.0

    @property
    def end_s(self) -> float:
        return float(self.time_s[-1]) if self.time_s.size else 0.0

    def complete(self) -> BoolArray:
        """Rows with every kinematic field present and finite, airborne."""
        fields = (self.lat_deg, self.lon_deg, self.alt_m, self.gs_mps, self.trk_deg, self.vs_mps)
        mask: BoolArray = np.logical_and.reduce([np.isfinite(f) for f in fields]) & self.airborne
        return mask


def _floats(columns: Mapping[str, Any], name: str, size: int, scale: float = 1.0) -> FloatArray:
    if name not in columns:
        return np.full(size, np.nan)
    values = np.asarray(columns[name], dtype=np.float64).reshape(size)
    return values * scale


def recording_from_columns(name: str, columns: Mapping[str, Any]) -> Recording:
    """A :class:`Recording` from ``traffic``'s column names (a DataFrame or a dict of arrays).

    ``timestamp`` is datetime64 (or anything numpy converts to it) or float epoch seconds.
    """
    for required in ("timestamp", "icao24", "latitude", "longitude"):
        if required not in columns:
            raise InvalidDocument(f"{name}.{required}", "column missing from the recording")
    raw_stamps = columns["timestamp"]
    if hasattr(raw_stamps, "dt") and raw_stamps.dt.tz is not None:  # pandas, timezone-aware
        raw_stamps = raw_stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    stamps = np.asarray(raw_stamps)
    if np.issubdtype(stamps.dtype, np.number):
        time_s = stamps.astype(np.float64)
    else:
        as_ns = np.asarray(stamps.astype("datetime64[ns]"), dtype="datetime64[ns]")
        time_s = as_ns.astype(np.int64).astype(np.float64) / 1e9
    size = time_s.size
    order = np.argsort(time_s, kind="stable")
    ids_raw = np.asarray(columns["icao24"]).reshape(size)
    onground = np.asarray(columns["onground"], dtype=object).reshape(size) if "onground" in columns else None
    airborne = (
        np.ones(size, dtype=np.bool_)
        if onground is None
        else np.array([v is not True and v is not np.True_ for v in onground], dtype=np.bool_)
    )
    arrays = {
        "lat_deg": _floats(columns, "latitude", size),
        "lon_deg": _floats(columns, "longitude", size),
        "alt_m": _floats(columns, "altitude", size, FOOT_M),
        "gs_mps": _floats(columns, "groundspeed", size, KNOT_MPS),
        "trk_deg": _floats(columns, "track", size),
        "vs_mps": _floats(columns, "vertical_rate", size, FEET_PER_MINUTE_MPS),
    }
    return Recording(
        name=name,
        time_s=time_s[order],
        ids=tuple(str(ids_raw[k]) for k in order.tolist()),
        airborne=airborne[order],
        **{key: value[order] for key, value in arrays.items()},
    )


#: Names of the recordings in ``traffic.data.samples`` that the CLI offers.
SAMPLES: Final = ("quickstart", "switzerland")
#: How to get the optional ``traffic`` package, for messages.
TRAFFIC_HINT: Final = "pip install 'deconfliction[traffic]' (in a checkout: pip install -e '.[traffic]')"


def traffic_available() -> bool:
    """Whether the optional ``traffic`` package (and so its sample recordings) is installed."""
    return importlib.util.find_spec("traffic") is not None


def load_sample(name: str) -> Recording:
    """One of ``traffic.data.samples`` (e.g. ``quickstart``, ``switzerland``) as a Recording."""
    try:
        samples = importlib.import_module("traffic.data.samples")
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise InvalidDocument("traffic", f"the 'traffic' package is not installed; {TRAFFIC_HINT}") from exc
    try:
        data = getattr(samples, name).data
    except (AttributeError, RuntimeError) as exc:
        raise InvalidDocument("sample", f"traffic has no sample recording named {name!r}") from exc
    return recording_from_columns(name, data)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What was last heard of every airborne aircraft within ``max_age_s`` before a time.

    ADS-B sends position, altitude and velocity in separate messages, so each group is
    the latest finite value of its own; ``report_time_s`` is when the position was heard.
    """

    time_s: float
    ids: tuple[str, ...]
    report_time_s: FloatArray
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray
    gs_mps: FloatArray
    trk_deg: FloatArray
    vs_mps: FloatArray

    def __len__(self) -> int:
        return len(self.ids)


def _last_per_id(codes: IntArray, rows: IntArray, ok: BoolArray, n_ids: int) -> IntArray:
    """Per id code, the last row (in time order) where ``ok``; -1 when none."""
    last = np.full(n_ids, -1, dtype=np.int64)
    chosen = rows[ok]
    # Rows are in time order, so a plain assignment keeps the last one per code.
    last[codes[ok]] = chosen
    return last


def snapshot_at(recording: Recording, time_s: float, max_age_s: float = 20.0) -> Snapshot:
    """The latest position, altitude and velocity of each airborne aircraft heard recently."""
    lo = int(np.searchsorted(recording.time_s, time_s - max_age_s, side="left"))
    hi = int(np.searchsorted(recording.time_s, time_s, side="right"))
    rows = np.arange(lo, hi, dtype=np.int64)
    names, codes = np.unique(np.array(recording.ids[lo:hi], dtype=object), return_inverse=True)
    codes = codes.astype(np.int64).reshape(rows.size)
    n_ids = len(names)
    sl = slice(lo, hi)
    pos = _last_per_id(
        codes, rows, np.isfinite(recording.lat_deg[sl]) & np.isfinite(recording.lon_deg[sl]), n_ids
    )
    alt = _last_per_id(codes, rows, np.isfinite(recording.alt_m[sl]), n_ids)
    vel = _last_per_id(
        codes,
        rows,
        np.isfinite(recording.gs_mps[sl])
        & np.isfinite(recording.trk_deg[sl])
        & np.isfinite(recording.vs_mps[sl]),
        n_ids,
    )
    grounded = ~recording.airborne[sl]
    last_ground = _last_per_id(codes, rows, grounded, n_ids)
    last_any = _last_per_id(codes, rows, ~grounded, n_ids)
    keep = (pos >= 0) & (alt >= 0) & (vel >= 0) & (last_any > last_ground)
    pos, alt, vel = pos[keep], alt[keep], vel[keep]
    return Snapshot(
        time_s=time_s,
        ids=tuple(str(x) for x in names[keep].tolist()),
        report_time_s=recording.time_s[pos],
        lat_deg=recording.lat_deg[pos],
        lon_deg=recording.lon_deg[pos],
        alt_m=recording.alt_m[alt],
        gs_mps=recording.gs_mps[vel],
        trk_deg=recording.trk_deg[vel],
        vs_mps=recording.vs_mps[vel],
    )


def recorded_batches(
    recording: Recording,
    party_of: Callable[[str], str],
    *,
    step_s: float = 5.0,
    start_s: float | None = None,
    end_s: float | None = None,
    max_age_s: float = 20.0,
) -> Iterator[tuple[float, ReportBatch]]:
    """Timed batches for :func:`deconfliction.engine.tactical.replay.replay`.

    Every ``step_s`` seconds of the recording, the latest position, altitude and velocity
    of each airborne aircraft heard in the previous ``max_age_s`` (altitudes are
    barometric: datum STD). ``party_of`` assigns each aircraft (icao24) to a party.
    """
    t = recording.start_s if start_s is None else start_s
    stop = recording.end_s if end_s is None else end_s
    while t <= stop:
        snap = snapshot_at(recording, t, max_age_s)
        batch = ReportBatch(
            ids=snap.ids,
            parties=[party_of(i) for i in snap.ids],
            time_s=snap.report_time_s,
            lat_deg=snap.lat_deg,
            lon_deg=snap.lon_deg,
            alt_m=snap.alt_m,
            gs_mps=snap.gs_mps,
            trk_deg=snap.trk_deg,
            vs_mps=snap.vs_mps,
        )
        yield t, batch
        t += step_s


#: Distance (m) of the second point that carries a track direction through the frames.
_DIRECTION_STEP_M = 1000.0


@dataclass(frozen=True, slots=True)
class Relocation:
    """Moves tracks rigidly from around ``source`` to around ``target``, ``shift_s`` later.

    Positions go through two azimuthal equidistant frames (WGS84): a point ``x`` metres
    east and ``y`` metres north of ``source`` in the source frame is put ``x`` east and
    ``y`` north of ``target`` in the target frame. Distances and bearings from the centre
    are kept exactly; distances between any two aircraft change only by the frames' scale
    error, about ``(d/R)**2 / 6`` (0.03 % at 250 km from the centre). A track angle is
    carried by a second point 1 km ahead along it, so each aircraft keeps its direction
    relative to the others (the two frames' meridians converge differently). Ground
    speed, vertical rate and altitude are unchanged; times move by ``shift_s``.
    """

    source_lat: float
    source_lon: float
    target_lat: float
    target_lon: float
    shift_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("source_lat", "target_lat"):
            value = getattr(self, name)
            if not (math.isfinite(value) and abs(value) < 89.0):
                raise InvalidInput(name, f"must be a latitude within 89 degrees of the equator: {value!r}")
        for name in ("source_lon", "target_lon", "shift_s"):
            if not math.isfinite(getattr(self, name)):
                raise InvalidInput(name, f"must be finite, got {getattr(self, name)!r}")

    @classmethod
    def centred(
        cls,
        lat_deg: FloatArray,
        lon_deg: FloatArray,
        target_lat: float,
        target_lon: float,
        shift_s: float = 0.0,
    ) -> Relocation:
        """A relocation whose source is the centre of the given (finite) positions."""
        ok = np.isfinite(lat_deg) & np.isfinite(lon_deg)
        if not ok.any():
            raise InvalidInput("positions", "no finite position to take the centre of")
        lat, lon = mean_position(lat_deg[ok], lon_deg[ok])
        return cls(lat, lon, target_lat, target_lon, shift_s)

    @property
    def _frames(self) -> tuple[LocalFrame, LocalFrame]:
        return LocalFrame(self.source_lat, self.source_lon), LocalFrame(self.target_lat, self.target_lon)

    def positions(self, lat_deg: FloatArray, lon_deg: FloatArray) -> tuple[FloatArray, FloatArray]:
        """New (latitudes, longitudes) in degrees."""
        source, target = self._frames
        x, y = source.forward(np.asarray(lon_deg, dtype=np.float64), np.asarray(lat_deg, dtype=np.float64))
        lon, lat = target.inverse(x, y)
        return lat, lon

    def tracks(self, lat_deg: FloatArray, lon_deg: FloatArray, trk_deg: FloatArray) -> FloatArray:
        """New true tracks (degrees in [0, 360)) of aircraft at the given old positions."""
        lat = np.asarray(lat_deg, dtype=np.float64)
        lon = np.asarray(lon_deg, dtype=np.float64)
        ahead_lon, ahead_lat, _ = GEOD.fwd(
            lon, lat, np.asarray(trk_deg, dtype=np.float64), np.full(lat.shape, _DIRECTION_STEP_M)
        )
        new_lat, new_lon = self.positions(lat, lon)
        new_ahead_lat, new_ahead_lon = self.positions(np.asarray(ahead_lat), np.asarray(ahead_lon))
        azimuth, _, _ = GEOD.inv(new_lon, new_lat, new_ahead_lon, new_ahead_lat)
        result: FloatArray = np.mod(np.asarray(azimuth, dtype=np.float64), 360.0)
        return result

    def batch(self, batch: ReportBatch) -> ReportBatch:
        """The same reports, moved in space and time."""
        if len(batch) == 0:
            return replace(batch, time_s=batch.time_s + self.shift_s)
        lat, lon = self.positions(batch.lat_deg, batch.lon_deg)
        return replace(
            batch,
            time_s=batch.time_s + self.shift_s,
            lat_deg=lat,
            lon_deg=lon,
            trk_deg=self.tracks(batch.lat_deg, batch.lon_deg, batch.trk_deg),
        )


def relocated(
    batches: Iterable[tuple[float, ReportBatch]], relocation: Relocation
) -> Iterator[tuple[float, ReportBatch]]:
    """Timed batches (e.g. :func:`recorded_batches`) moved by ``relocation``."""
    for time_s, batch in batches:
        yield time_s + relocation.shift_s, relocation.batch(batch)
