"""Live track state: a struct of preallocated numpy arrays in SI units.

One slot per track. Reports write the slot of their track (a free slot for a new
one; the arrays double when full); a cycle extrapolates every active slot in a
straight line to the cycle time and drops tracks whose last report is older than
``stale_after_s``. Nothing is global: the state is an object passed in.

Arrays (all of length ``capacity``; only ``active`` slots mean anything):

- ``report_time_s``: UTC seconds since the epoch of the last accepted report
- ``lat_rad``, ``lon_rad``: position at ``report_time_s`` (radians)
- ``alt_m``: altitude in the state's single datum (metres; ``datum``, default STD)
- ``east_mps``, ``north_mps``, ``up_mps``: velocity (m/s)
- ``party``: party code (index into ``party_names``)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from deconfliction.engine.tactical.detect import EARTH_RADIUS_M, velocity_enu
from deconfliction.engine.tactical.ingest import Limits, Rejection, validate_records
from deconfliction.errors import InvalidInput
from deconfliction.geo.altitude import Datum

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

DEFAULT_STALE_AFTER_S: Final = 20.0


@dataclass(frozen=True, slots=True)
class ReportBatch:
    """Track reports as parallel columns (degrees for angles, otherwise SI; UTC epoch seconds)."""

    ids: Sequence[str]
    parties: Sequence[str]
    time_s: FloatArray
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray
    gs_mps: FloatArray
    trk_deg: FloatArray
    vs_mps: FloatArray
    datums: Sequence[str] | None = None  # None: all in the state's datum

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    rejections: tuple[Rejection, ...]


@dataclass(frozen=True, slots=True)
class Positions:
    """Active tracks extrapolated to one time: ``slots`` index the state arrays."""

    time_s: float
    slots: IntArray
    lat_rad: FloatArray
    lon_rad: FloatArray
    alt_m: FloatArray
    east_mps: FloatArray
    north_mps: FloatArray
    up_mps: FloatArray
    party: IntArray


def _floats(size: int) -> FloatArray:
    return np.zeros(size, dtype=np.float64)


@dataclass(slots=True)
class TrackState:
    """Preallocated arrays for up to ``capacity`` tracks (grows by doubling)."""

    capacity: int = 1024
    stale_after_s: float = DEFAULT_STALE_AFTER_S
    datum: str = Datum.STD.value
    limits: Limits = field(default_factory=Limits)
    active: BoolArray = field(init=False)
    report_time_s: FloatArray = field(init=False)
    lat_rad: FloatArray = field(init=False)
    lon_rad: FloatArray = field(init=False)
    alt_m: FloatArray = field(init=False)
    east_mps: FloatArray = field(init=False)
    north_mps: FloatArray = field(init=False)
    up_mps: FloatArray = field(init=False)
    party: IntArray = field(init=False)
    ids: list[str] = field(init=False)
    slot_of: dict[str, int] = field(init=False)
    party_names: list[str] = field(init=False)
    _party_code: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise InvalidInput("capacity", "must be at least 1")
        if not self.stale_after_s > 0:
            raise InvalidInput("stale_after_s", "must be positive")
        if self.datum not in {d.value for d in Datum}:
            raise InvalidInput("datum", f"unknown altitude datum {self.datum!r}")
        self.active = np.zeros(self.capacity, dtype=np.bool_)
        self.report_time_s = _floats(self.capacity)
        self.lat_rad = _floats(self.capacity)
        self.lon_rad = _floats(self.capacity)
        self.alt_m = _floats(self.capacity)
        self.east_mps = _floats(self.capacity)
        self.north_mps = _floats(self.capacity)
        self.up_mps = _floats(self.capacity)
        self.party = np.zeros(self.capacity, dtype=np.int64)
        self.ids = [""] * self.capacity
        self.slot_of = {}
        self.party_names = []
        self._party_code = {}

    def __len__(self) -> int:
        return len(self.slot_of)

    def _grow(self, needed: int) -> None:
        size = self.capacity
        while size < needed:
            size *= 2
        if size == self.capacity:
            return
        extra = size - self.capacity
        self.active = np.concatenate((self.active, np.zeros(extra, dtype=np.bool_)))
        for name in ("report_time_s", "lat_rad", "lon_rad", "alt_m", "east_mps", "north_mps", "up_mps"):
            setattr(self, name, np.concatenate((getattr(self, name), _floats(extra))))
        self.party = np.concatenate((self.party, np.zeros(extra, dtype=np.int64)))
        self.ids.extend([""] * extra)
        self.capacity = size

    def party_code(self, name: str) -> int:
        code = self._party_code.get(name)
        if code is None:
            code = len(self.party_names)
            self._party_code[name] = code
            self.party_names.append(name)
        return code

    def ingest(self, batch: ReportBatch, now_s: float) -> IngestResult:
        """Validate a batch and write the good reports; bad ones are refused with a reason.

        A report older than the one already held for its track is refused too (feeds
        deliver out of order); the state arrays are written only for accepted records.
        """
        ok, rejections = validate_records(
            batch.ids,
            batch.parties,
            batch.lat_deg,
            batch.lon_deg,
            batch.alt_m,
            batch.gs_mps,
            batch.trk_deg,
            batch.vs_mps,
            time_s=batch.time_s,
            now_s=now_s,
            datums=batch.datums,
            state_datum=self.datum,
            limits=self.limits,
        )
        rows = np.flatnonzero(ok)
        slots = np.empty(rows.size, dtype=np.int64)
        wanted = [str(batch.ids[row]).strip() for row in rows.tolist()]
        slots[:] = [self.slot_of.get(track_id, -1) for track_id in wanted]
        new_ids = [wanted[k] for k in np.flatnonzero(slots < 0).tolist()]
        if new_ids:
            self._grow(len(self.slot_of) + len(new_ids))
            free = iter(np.flatnonzero(~self.active).tolist())
            for k in np.flatnonzero(slots < 0).tolist():
                slot = next(free)
                track_id = str(batch.ids[rows[k]]).strip()
                slots[k] = slot
                self.slot_of[track_id] = slot
                self.ids[slot] = track_id
                self.active[slot] = True
                self.report_time_s[slot] = -np.inf
        times = batch.time_s[rows]
        older = times < self.report_time_s[slots]
        for k in np.flatnonzero(older).tolist():
            row = int(rows[k])
            rejections.append(
                Rejection(
                    row, str(batch.ids[row]), "time", "older than the last report accepted for this track"
                )
            )
        rows, slots, times = rows[~older], slots[~older], times[~older]
        east, north = velocity_enu(batch.gs_mps[rows], batch.trk_deg[rows])
        self.report_time_s[slots] = times
        self.lat_rad[slots] = np.radians(batch.lat_deg[rows])
        self.lon_rad[slots] = np.radians(batch.lon_deg[rows])
        self.alt_m[slots] = batch.alt_m[rows]
        self.east_mps[slots] = east
        self.north_mps[slots] = north
        self.up_mps[slots] = batch.vs_mps[rows]
        names, inverse = np.unique(np.asarray(batch.parties, dtype=object)[rows], return_inverse=True)
        codes = np.array([self.party_code(str(name).strip()) for name in names.tolist()], dtype=np.int64)
        self.party[slots] = codes[inverse.reshape(rows.size)] if rows.size else codes[:0]
        rejections.sort(key=lambda r: r.index)
        return IngestResult(int(rows.size), tuple(rejections))

    def drop_stale(self, now_s: float) -> list[tuple[int, str]]:
        """Free the slots of tracks not heard for more than ``stale_after_s``; (slot, id) each."""
        stale = np.flatnonzero(self.active & (self.report_time_s < now_s - self.stale_after_s))
        dropped = [(int(s), self.ids[s]) for s in stale.tolist()]
        for slot, track_id in dropped:
            del self.slot_of[track_id]
            self.ids[slot] = ""
        self.active[stale] = False
        return dropped

    def positions_at(self, now_s: float) -> Positions:
        """Every active track flown straight from its last report to ``now_s``."""
        slots = np.flatnonzero(self.active).astype(np.int64)
        dt = now_s - self.report_time_s[slots]
        east, north, up = self.east_mps[slots], self.north_mps[slots], self.up_mps[slots]
        lat0 = self.lat_rad[slots]
        lat = lat0 + north * dt / EARTH_RADIUS_M
        lat = np.clip(lat, -0.5 * np.pi, 0.5 * np.pi)
        cos_lat = np.maximum(np.cos(0.5 * (lat0 + lat)), 1e-9)
        lon = self.lon_rad[slots] + east * dt / (EARTH_RADIUS_M * cos_lat)
        lon = np.mod(lon + np.pi, 2.0 * np.pi) - np.pi
        return Positions(
            now_s, slots, lat, lon, self.alt_m[slots] + up * dt, east, north, up, self.party[slots]
        )
