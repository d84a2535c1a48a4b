"""Intrusion: a track inside, or about to enter, another party's active volume.

A volume is tested in the local frame of its footprint (``Footprint.frame()``), grown
by the horizontal buffer; tracks fly straight in that plane. Each track of another
party that could reach the volume within the look-ahead (a coarse distance test from
the footprint's bounding cap) is sampled every ``step_s`` seconds over
``[0, lookahead_s]``; the first sample inside the buffered footprint, inside the
buffered altitude band and inside the volume's time window is the entry time (0 when
the track is inside now). Entry times are thus exact to ``step_s``.

Altitudes: when the band's datum is the track state's datum they are compared
directly; otherwise both become MSL intervals with their conversion uncertainty
(:func:`deconfliction.geo.altitude.to_msl_interval`) and any overlap counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from deconfliction.engine.tactical.detect import EARTH_RADIUS_M
from deconfliction.geo.altitude import (
    Datum,
    to_msl_interval,
)
from deconfliction.geo.volume import Volume4D

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ActiveVolume:
    """A volume of an activated operation: who owns it and how to cite it."""

    ref: str
    party: str
    volume: Volume4D


@dataclass(frozen=True, slots=True)
class Intrusions:
    """Track ``track[k]`` (index into the positions) enters volume ``volume[k]`` at ``t_in_s[k]``."""

    track: IntArray
    volume: IntArray
    t_in_s: FloatArray
    inside: BoolArray

    def __len__(self) -> int:
        return int(self.track.size)


def _vertical_ok(
    alt: FloatArray, band_lo: float, band_hi: float, band_datum: Datum, track_datum: str, buffer_v_m: float
) -> BoolArray:
    if band_datum.value == track_datum:
        result: BoolArray = (alt > band_lo - buffer_v_m) & (alt < band_hi + buffer_v_m)
        return result
    lo, hi = to_msl_interval(band_lo, band_datum)[0], to_msl_interval(band_hi, band_datum)[1]
    t_lo, t_hi = to_msl_interval(alt, Datum(track_datum))
    overlap: BoolArray = (t_hi > lo - buffer_v_m) & (t_lo < hi + buffer_v_m)
    return overlap


def detect_intrusions(
    lat_rad: FloatArray,
    lon_rad: FloatArray,
    alt_m: FloatArray,
    east_mps: FloatArray,
    north_mps: FloatArray,
    up_mps: FloatArray,
    parties: Sequence[str],
    volumes: Sequence[ActiveVolume],
    *,
    now_s: float,
    lookahead_s: float = 300.0,
    buffer_h_m: float = 0.0,
    buffer_v_m: float = 0.0,
    track_datum: str = Datum.STD.value,
    step_s: float = 1.0,
) -> Intrusions:
    """Tracks (SI arrays, ``parties`` by name) inside or entering others' volumes within the look-ahead."""
    tracks: list[IntArray] = []
    vols: list[IntArray] = []
    times: list[FloatArray] = []
    party_array = np.asarray(list(parties), dtype=object)
    samples = np.arange(0.0, lookahead_s + 0.5 * step_s, step_s)
    speed = np.hypot(east_mps, north_mps)
    for v_index, active in enumerate(volumes):
        volume = active.volume
        start = volume.window.start_s - now_s
        end = volume.window.end_s - now_s
        if end < 0.0 or start > lookahead_s:
            continue
        footprint = volume.footprint
        c_lat, c_lon = footprint.center
        reach = footprint.cap_radius_m + buffer_h_m
        dlat = lat_rad - np.radians(c_lat)
        dlon = np.mod(lon_rad - np.radians(c_lon) + np.pi, 2 * np.pi) - np.pi
        dist = EARTH_RADIUS_M * np.hypot(dlat, dlon * np.cos(0.5 * (lat_rad + np.radians(c_lat))))
        near = np.flatnonzero(
            (dist <= 1.01 * reach + speed * lookahead_s + 1000.0) & (party_array != active.party)
        )
        if near.size == 0:
            continue
        frame = footprint.frame()
        shape = footprint.shape_in(frame, buffer_h_m)
        shapely.prepare(shape)
        x0, y0 = frame.forward(np.degrees(lon_rad[near]), np.degrees(lat_rad[near]))
        t = samples[None, :]
        x = x0[:, None] + east_mps[near, None] * t
        y = y0[:, None] + north_mps[near, None] * t
        z = alt_m[near, None] + up_mps[near, None] * t
        inside_h = shapely.contains_xy(shape, x, y)
        inside_v = _vertical_ok(
            z, volume.band.lower_m, volume.band.upper_m, volume.band.datum, track_datum, buffer_v_m
        )
        inside_t = (t >= start) & (t <= end)
        hit = inside_h & inside_v & inside_t
        any_hit = hit.any(axis=1)
        rows = np.flatnonzero(any_hit)
        first = np.argmax(hit[rows], axis=1)
        tracks.append(near[rows].astype(np.int64))
        vols.append(np.full(rows.size, v_index, dtype=np.int64))
        times.append(samples[first])
    if not tracks:
        none = np.zeros(0, dtype=np.int64)
        return Intrusions(none, none.copy(), np.zeros(0), np.zeros(0, dtype=np.bool_))
    t_in = np.concatenate(times)
    return Intrusions(np.concatenate(tracks), np.concatenate(vols), t_in, t_in == 0.0)
