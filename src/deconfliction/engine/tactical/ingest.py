"""Per-record validation of track reports: bad records are refused with a reason.

A batch is checked column by column, vectorised; every record that breaks a rule is
refused with the first rule it breaks, and every other record goes on. Nothing here
touches track state: :class:`~deconfliction.engine.tactical.state.TrackState` only ever
sees records that passed.

The rules, with the limits of :class:`Limits`:

- ``id`` and ``party`` are non-empty; an ``id`` seen earlier in the same batch is a
  duplicate (the first record is kept, later ones are refused);
- numbers are finite; latitude in [-90, 90], longitude in [-180, 180], track in [0, 360];
- altitude within ``Limits.altitude_m``, ground speed within [0, ``max_ground_speed_mps``],
  ``|vertical rate| <= max_vertical_rate_mps``;
- the altitude datum is one we know and the one the state holds (altitudes in
  different datums are never compared raw);
- the report time is no more than ``max_future_s`` ahead of now and no more than
  ``max_age_s`` behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from deconfliction.geo.altitude import Datum

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

KNOWN_DATUMS: Final = frozenset(d.value for d in Datum)


@dataclass(frozen=True, slots=True)
class Limits:
    """Physical and temporal limits a report must respect (SI units)."""

    altitude_m: tuple[float, float] = (-1000.0, 30_000.0)
    max_ground_speed_mps: float = 1000.0  # about Mach 3 at altitude
    max_vertical_rate_mps: float = 200.0  # about 40,000 ft/min
    max_future_s: float = 5.0  # clock skew allowed for reports stamped after now
    max_age_s: float = 60.0  # older reports are history, not a live track


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused record: its position in the batch, id (if any), field and reason."""

    index: int
    track_id: str
    field: str
    reason: str

    def __str__(self) -> str:
        name = f" id={self.track_id!r}" if self.track_id else ""
        return f"record {self.index}{name}: {self.field}: {self.reason}"


@dataclass(slots=True)
class _Verdict:
    size: int
    ok: BoolArray = field(init=False)
    rejections: list[Rejection] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ok = np.ones(self.size, dtype=np.bool_)

    def refuse(self, bad: BoolArray, ids: Sequence[str], name: str, reason: str) -> None:
        fresh = np.flatnonzero(bad & self.ok)
        for index in fresh.tolist():
            self.rejections.append(Rejection(index, ids[index], name, reason))
        self.ok[fresh] = False


def _out_of(values: FloatArray, low: float, high: float) -> BoolArray:
    result: BoolArray = ~np.isfinite(values) | (values < low) | (values > high)
    return result


def validate_records(
    ids: Sequence[str],
    parties: Sequence[str],
    lat_deg: FloatArray,
    lon_deg: FloatArray,
    alt_m: FloatArray,
    gs_mps: FloatArray,
    trk_deg: FloatArray,
    vs_mps: FloatArray,
    *,
    time_s: FloatArray | None = None,
    now_s: float | None = None,
    datums: Sequence[str] | None = None,
    state_datum: str = Datum.STD.value,
    limits: Limits | None = None,
    refused: Sequence[Rejection] = (),
) -> tuple[BoolArray, list[Rejection]]:
    """Which records of a batch are accepted, and why each other one is refused.

    Number columns are float arrays in SI units (degrees for angles); a value that
    could not be parsed is NaN. ``refused`` lists records already refused upstream (a
    parse error), which keep their reason. ``time_s`` (UTC epoch seconds) is checked
    against ``now_s`` when both are given. Returns the accepted mask and the
    rejections ordered by record index.
    """
    limits = limits or Limits()
    size = len(ids)
    verdict = _Verdict(size)
    for prior in refused:
        if verdict.ok[prior.index]:
            verdict.ok[prior.index] = False
            verdict.rejections.append(prior)
    id_array = np.array([str(x).strip() for x in ids], dtype=object)
    party_array = np.array([str(x).strip() for x in parties], dtype=object)
    verdict.refuse(id_array == "", ids, "id", "empty id")
    verdict.refuse(party_array == "", ids, "party", "empty party")
    verdict.refuse(
        _out_of(lat_deg, -90.0, 90.0), ids, "lat_deg", "latitude must be a finite number in [-90, 90]"
    )
    verdict.refuse(
        _out_of(lon_deg, -180.0, 180.0), ids, "lon_deg", "longitude must be a finite number in [-180, 180]"
    )
    low, high = limits.altitude_m
    verdict.refuse(
        _out_of(alt_m, low, high), ids, "alt_m", f"altitude must be a finite number in [{low:g}, {high:g}] m"
    )
    verdict.refuse(
        _out_of(gs_mps, 0.0, limits.max_ground_speed_mps),
        ids,
        "gs_mps",
        f"ground speed must be in [0, {limits.max_ground_speed_mps:g}] m/s",
    )
    verdict.refuse(
        _out_of(trk_deg, 0.0, 360.0), ids, "trk_deg", "track must be a finite number in [0, 360] degrees"
    )
    rate = limits.max_vertical_rate_mps
    verdict.refuse(
        _out_of(vs_mps, -rate, rate), ids, "vs_mps", f"vertical rate must be in [-{rate:g}, {rate:g}] m/s"
    )
    if datums is not None:
        names = np.array([str(d).strip() for d in datums], dtype=object)
        unknown = np.array([d not in KNOWN_DATUMS for d in names], dtype=np.bool_)
        verdict.refuse(
            unknown, ids, "datum", f"unknown altitude datum; use one of {', '.join(sorted(KNOWN_DATUMS))}"
        )
        verdict.refuse(
            names != state_datum,
            ids,
            "datum",
            f"altitude datum differs from the track state's datum {state_datum}",
        )
    if time_s is not None and now_s is not None:
        verdict.refuse(~np.isfinite(time_s), ids, "time", "timestamp is not a number")
        verdict.refuse(
            time_s > now_s + limits.max_future_s,
            ids,
            "time",
            f"timestamp more than {limits.max_future_s:g} s in the future",
        )
        verdict.refuse(
            time_s < now_s - limits.max_age_s,
            ids,
            "time",
            f"timestamp more than {limits.max_age_s:g} s in the past",
        )
    # Duplicates last, among records that are otherwise good: the first one is kept.
    seen: dict[str, int] = {}
    duplicate = np.zeros(size, dtype=np.bool_)
    for index in np.flatnonzero(verdict.ok).tolist():
        key = id_array[index]
        if key in seen:
            duplicate[index] = True
        else:
            seen[key] = index
    verdict.refuse(duplicate, ids, "id", "duplicate id in this batch; the first record is kept")
    verdict.rejections.sort(key=lambda r: r.index)
    return verdict.ok, verdict.rejections
