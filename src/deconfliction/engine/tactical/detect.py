"""State-based conflict detection on struct-of-arrays track state.

The model is the one BlueSky (``bluesky/traffic/asas/statebased.py``) and DAIDALUS
(CD3D) use: every track flies straight at its current velocity; a pair is in
*conflict* when the time interval in which it has lost horizontal separation overlaps
the interval in which it has lost vertical separation, that overlap ends after now
and begins within the look-ahead.

Units: latitudes and longitudes in radians inside (degrees only in
:func:`detect_conflicts`, the edge that mirrors the CSV columns), altitudes in
metres, velocities in m/s (east, north, up), times in seconds from the cycle time.

Geometry: the relative position of a pair is the equirectangular approximation at
the pair's mean latitude on a sphere of radius :data:`EARTH_RADIUS_M` —
``dx = R·Δλ·cos(φ̄)``, ``dy = R·Δφ`` — the same flat-earth model BlueSky's detectors
use, so results agree with it pair for pair. Δλ is wrapped to (−π, π] so tracks
either side of the antimeridian are neighbours.

Minima per pair of parties: :class:`PairMinima` holds a horizontal and a vertical minimum
for every pair of party codes (e.g. from the service's ``MinimaPolicy``); when
:func:`detect_enu` is given one, each pair is tested against its own minima and the
candidate search reaches for the widest. Without one, the scalar ``hsep_m``/``vsep_m``
hold for every pair.

Boundaries, exactly: separation is lost when the horizontal distance is ``< hsep_m``
and ``|Δalt| < vsep_m``, strictly. ``|Δalt|`` is compared against
``vertical_limit_m(vsep_m)`` (the minimum less one micrometre, the rule the strategic
engine uses too) so that two aircraft exactly 1000 ft apart, whose altitudes differ from
304.8 m by floating-point rounding only, are never in conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deconfliction.engine.tactical.grid import candidate_pairs
from deconfliction.errors import InvalidInput
from deconfliction.geo.altitude import vertical_limit_m

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Radius of the sphere used for the equirectangular pair geometry (metres); BlueSky's value.
EARTH_RADIUS_M: Final = 6_371_000.0
#: Relative speeds (horizontal or vertical) below this count as zero: the gap then stays
#: as it is (a loss of separation now never ends; no loss now never begins).
MIN_RELATIVE_SPEED_MPS: Final = 1e-6
DEFAULT_LOOKAHEAD_S: Final = 300.0
DEFAULT_HSEP_M: Final = 9260.0  # 5 NM
DEFAULT_VSEP_M: Final = 304.8  # 1000 ft


@dataclass(frozen=True, slots=True)
class ConflictPairs:
    """Pairs in conflict, one entry per unordered pair, as parallel arrays.

    ``i`` and ``j`` index the input arrays with ``i < j``. Per pair:

    - ``tcpa_s``: time of horizontal closest approach (s from now; negative when the
      pair is already diverging; 0 when their relative velocity is zero),
    - ``dcpa_m``: horizontal distance at that time (m),
    - ``t_in_s``: when loss of separation begins (s; 0 when it is already lost),
    - ``t_out_s``: when it ends (s; ``inf`` when it never ends on straight lines),
    - ``los``: separation is already lost now.

    Pairs are sorted by ``(i, j)``.
    """

    i: IntArray
    j: IntArray
    tcpa_s: FloatArray
    dcpa_m: FloatArray
    t_in_s: FloatArray
    t_out_s: FloatArray
    los: BoolArray

    def __len__(self) -> int:
        return int(self.i.size)


@dataclass(frozen=True, slots=True)
class PairMinima:
    """Separation minima per pair of party codes: ``hsep_m[p, q]`` and ``vsep_m[p, q]`` (metres).

    Both are square, symmetric arrays of positive finite numbers, indexed by the party
    codes given to :func:`detect_enu`; the diagonal holds the minima between tracks of
    the same party (used with ``all_pairs``).
    """

    hsep_m: FloatArray
    vsep_m: FloatArray

    def __post_init__(self) -> None:
        for name in ("hsep_m", "vsep_m"):
            table = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            if table.ndim != 2 or table.shape[0] != table.shape[1] or table.shape[0] == 0:
                raise InvalidInput(name, f"expected a non-empty square table, got shape {table.shape}")
            if not np.all(np.isfinite(table)) or np.any(table <= 0.0):
                raise InvalidInput(name, "every minimum must be a positive finite number")
            if not np.array_equal(table, table.T):
                raise InvalidInput(name, "the table must be symmetric: minima hold for a pair")
            object.__setattr__(self, name, table)
        if self.hsep_m.shape != self.vsep_m.shape:
            raise InvalidInput("vsep_m", "the horizontal and vertical tables differ in size")

    @property
    def parties(self) -> int:
        """How many party codes the tables cover."""
        return int(self.hsep_m.shape[0])

    @classmethod
    def build(cls, parties: Sequence[str], for_pair: Callable[[str, str], tuple[float, float]]) -> PairMinima:
        """Tables for ``parties`` (code ``k`` is ``parties[k]``) from a function of a pair of
        names returning ``(horizontal_m, vertical_m)``, e.g. ``MinimaPolicy.for_pair``."""
        size = len(parties)
        h = np.empty((size, size), dtype=np.float64)
        v = np.empty((size, size), dtype=np.float64)
        for p, a in enumerate(parties):
            for q in range(p, size):
                h[p, q], v[p, q] = for_pair(a, parties[q])
                h[q, p], v[q, p] = h[p, q], v[p, q]
        return cls(h, v)


def empty_pairs() -> ConflictPairs:
    """A result with no pairs."""
    none_i = np.zeros(0, dtype=np.int64)
    none_f = np.zeros(0, dtype=np.float64)
    return ConflictPairs(
        none_i,
        none_i.copy(),
        none_f,
        none_f.copy(),
        none_f.copy(),
        none_f.copy(),
        np.zeros(0, dtype=np.bool_),
    )


def _check_parameters(lookahead_s: float, hsep_m: float, vsep_m: float) -> None:
    for name, value in (("lookahead_s", lookahead_s), ("hsep_m", hsep_m), ("vsep_m", vsep_m)):
        if not np.isfinite(value) or value <= 0.0:
            raise InvalidInput(name, f"must be a positive finite number, got {value!r}")


def _column(values: ArrayLike, name: str, size: int | None) -> FloatArray:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise InvalidInput(name, f"expected a one-dimensional array, got shape {array.shape}")
    if size is not None and array.size != size:
        raise InvalidInput(name, f"expected {size} values, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise InvalidInput(name, "contains NaN or infinite values")
    return array


def pair_geometry(
    lat_rad: FloatArray, lon_rad: FloatArray, i: IntArray, j: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Position of ``j`` relative to ``i`` (east, north; metres) in the pair's local plane."""
    lat_i = lat_rad[i]
    lat_j = lat_rad[j]
    dlon = lon_rad[j] - lon_rad[i]
    # Wrap across the antimeridian; exact (no rounding) for |Δλ| <= π.
    dlon = np.where(dlon > np.pi, dlon - 2.0 * np.pi, dlon)
    dlon = np.where(dlon <= -np.pi, dlon + 2.0 * np.pi, dlon)
    dx = EARTH_RADIUS_M * dlon * np.cos(0.5 * (lat_i + lat_j))
    dy = EARTH_RADIUS_M * (lat_j - lat_i)
    return dx, dy


@dataclass(frozen=True, slots=True)
class PairTerms:
    """Every intermediate of the exact test, for each pair given (conflicting or not).

    ``t_in_s`` is not clipped at 0 here; empty intervals have ``t_in_s = inf`` or
    ``t_out_s = -inf``. ``dz_m`` is ``alt[j] − alt[i]``. Used to explain a decision,
    e.g. to tell a boundary case from a disagreement with another tool.
    """

    conflict: BoolArray
    tcpa_s: FloatArray
    dcpa_m: FloatArray
    t_in_s: FloatArray
    t_out_s: FloatArray
    los: BoolArray
    dz_m: FloatArray
    distance_m: FloatArray


def pair_terms(
    i: IntArray,
    j: IntArray,
    lat_rad: FloatArray,
    lon_rad: FloatArray,
    alt_m: FloatArray,
    east_mps: FloatArray,
    north_mps: FloatArray,
    up_mps: FloatArray,
    *,
    lookahead_s: float,
    hsep_m: float | FloatArray,
    vsep_m: float | FloatArray,
) -> PairTerms:
    """The exact test on the pairs ``(i[k], j[k])``, with all its terms.

    ``hsep_m`` and ``vsep_m`` are one value for every pair or one value per pair."""
    with np.errstate(over="ignore", under="ignore"):
        return _pair_terms(
            i, j, lat_rad, lon_rad, alt_m, east_mps, north_mps, up_mps, lookahead_s, hsep_m, vsep_m
        )


def _pair_terms(
    i: IntArray,
    j: IntArray,
    lat_rad: FloatArray,
    lon_rad: FloatArray,
    alt_m: FloatArray,
    east_mps: FloatArray,
    north_mps: FloatArray,
    up_mps: FloatArray,
    lookahead_s: float,
    hsep_m: float | FloatArray,
    vsep_m: float | FloatArray,
) -> PairTerms:
    dx, dy = pair_geometry(lat_rad, lon_rad, i, j)
    du = east_mps[j] - east_mps[i]
    dv = north_mps[j] - north_mps[i]

    # Horizontal: |r + w t|^2 < R^2 on an open interval around tcpa.
    w2 = du * du + dv * dv
    rw = dx * du + dy * dv
    d2 = dx * dx + dy * dy
    moving = w2 > MIN_RELATIVE_SPEED_MPS * MIN_RELATIVE_SPEED_MPS
    safe_w2 = np.where(moving, w2, 1.0)
    tcpa = np.where(moving, -rw / safe_w2, 0.0)
    cross = dx * dv - dy * du
    dcpa2 = np.where(moving, cross * cross / safe_w2, d2)
    r2 = hsep_m * hsep_m
    hor = dcpa2 < r2
    half = np.sqrt(np.maximum(r2 - dcpa2, 0.0) / safe_w2)
    tin_h = np.where(hor, np.where(moving, tcpa - half, -np.inf), np.inf)
    tout_h = np.where(hor, np.where(moving, tcpa + half, np.inf), -np.inf)

    # Vertical: |dz + dw t| < H' on an open interval.
    vsep = vertical_limit_m(vsep_m)
    dz = alt_m[j] - alt_m[i]
    dw = up_mps[j] - up_mps[i]
    climbing = np.abs(dw) > MIN_RELATIVE_SPEED_MPS
    safe_dw = np.where(climbing, dw, 1.0)
    t_a = (-vsep - dz) / safe_dw
    t_b = (vsep - dz) / safe_dw
    inside_v = np.abs(dz) < vsep
    tin_v = np.where(climbing, np.minimum(t_a, t_b), np.where(inside_v, -np.inf, np.inf))
    tout_v = np.where(climbing, np.maximum(t_a, t_b), np.where(inside_v, np.inf, -np.inf))

    t_in = np.maximum(tin_h, tin_v)
    t_out = np.minimum(tout_h, tout_v)
    conflict = (t_in < t_out) & (t_out > 0.0) & (t_in <= lookahead_s)
    los = (d2 < r2) & inside_v
    return PairTerms(conflict, tcpa, np.sqrt(dcpa2), t_in, t_out, los, dz, np.sqrt(d2))


def evaluate_pairs(
    i: IntArray,
    j: IntArray,
    lat_rad: FloatArray,
    lon_rad: FloatArray,
    alt_m: FloatArray,
    east_mps: FloatArray,
    north_mps: FloatArray,
    up_mps: FloatArray,
    *,
    lookahead_s: float,
    hsep_m: float | FloatArray,
    vsep_m: float | FloatArray,
) -> tuple[BoolArray, ConflictPairs]:
    """The exact test on the given pairs: a mask of those in conflict, and their results.

    This is the per-pair arithmetic shared by the sub-quadratic path and any reference
    that enumerates pairs itself; ``i`` and ``j`` are index arrays of equal length, and
    the minima are scalars or one value per pair.
    """
    terms = pair_terms(
        i,
        j,
        lat_rad,
        lon_rad,
        alt_m,
        east_mps,
        north_mps,
        up_mps,
        lookahead_s=lookahead_s,
        hsep_m=hsep_m,
        vsep_m=vsep_m,
    )
    mask = terms.conflict
    pairs = ConflictPairs(
        i=i[mask],
        j=j[mask],
        tcpa_s=terms.tcpa_s[mask],
        dcpa_m=terms.dcpa_m[mask],
        t_in_s=np.maximum(terms.t_in_s[mask], 0.0),
        t_out_s=terms.t_out_s[mask],
        los=terms.los[mask],
    )
    return mask, pairs


def detect_enu(
    lat_rad: FloatArray,
    lon_rad: FloatArray,
    alt_m: FloatArray,
    east_mps: FloatArray,
    north_mps: FloatArray,
    up_mps: FloatArray,
    party: IntArray | None = None,
    *,
    lookahead_s: float = DEFAULT_LOOKAHEAD_S,
    hsep_m: float = DEFAULT_HSEP_M,
    vsep_m: float = DEFAULT_VSEP_M,
    minima: PairMinima | None = None,
    all_pairs: bool = False,
) -> ConflictPairs:
    """One detection cycle on SI arrays (radians, metres, m/s east/north/up).

    ``party`` holds an integer party code per track; when given, only pairs of
    different parties are tested (every pair with ``all_pairs``), when ``None`` every
    pair is. ``minima`` gives separation minima per pair of party codes (``party`` is
    then required, and ``hsep_m``/``vsep_m`` are not used); without it ``hsep_m`` and
    ``vsep_m`` hold for every pair. Inputs must be finite (the track state guarantees
    it). Sub-quadratic: a grid over the swept paths finds candidate pairs
    (:func:`~deconfliction.engine.tactical.grid.candidate_pairs`, with the widest
    minima), and :func:`evaluate_pairs` decides exactly.
    """
    _check_parameters(lookahead_s, hsep_m, vsep_m)
    if minima is not None:
        if party is None:
            raise InvalidInput("party", "per-pair minima need a party code per track")
        if party.size and (int(party.min()) < 0 or int(party.max()) >= minima.parties):
            raise InvalidInput("party", f"party codes must lie in [0, {minima.parties}) for these minima")
    if lat_rad.size < 2:
        return empty_pairs()
    reach_h = hsep_m if minima is None else float(minima.hsep_m.max())
    reach_v = vsep_m if minima is None else float(minima.vsep_m.max())
    i, j = candidate_pairs(
        lat_rad,
        lon_rad,
        alt_m,
        east_mps,
        north_mps,
        up_mps,
        None if all_pairs else party,
        lookahead_s=lookahead_s,
        hsep_m=reach_h,
        vsep_m=reach_v,
        earth_radius_m=EARTH_RADIUS_M,
    )
    pair_h: float | FloatArray = hsep_m
    pair_v: float | FloatArray = vsep_m
    if minima is not None and party is not None:
        pair_h = minima.hsep_m[party[i], party[j]]
        pair_v = minima.vsep_m[party[i], party[j]]
    _, pairs = evaluate_pairs(
        i,
        j,
        lat_rad,
        lon_rad,
        alt_m,
        east_mps,
        north_mps,
        up_mps,
        lookahead_s=lookahead_s,
        hsep_m=pair_h,
        vsep_m=pair_v,
    )
    order = np.lexsort((pairs.j, pairs.i))
    return ConflictPairs(
        pairs.i[order],
        pairs.j[order],
        pairs.tcpa_s[order],
        pairs.dcpa_m[order],
        pairs.t_in_s[order],
        pairs.t_out_s[order],
        pairs.los[order],
    )


def velocity_enu(gs_mps: FloatArray, trk_deg: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Ground speed and true track (degrees clockwise from north) as east and north m/s."""
    trk = np.radians(trk_deg)
    return gs_mps * np.sin(trk), gs_mps * np.cos(trk)


def detect_conflicts(
    lat_deg: ArrayLike,
    lon_deg: ArrayLike,
    alt_m: ArrayLike,
    gs_mps: ArrayLike,
    trk_deg: ArrayLike,
    vs_mps: ArrayLike,
    party: ArrayLike | None = None,
    *,
    lookahead_s: float = DEFAULT_LOOKAHEAD_S,
    hsep_m: float = DEFAULT_HSEP_M,
    vsep_m: float = DEFAULT_VSEP_M,
) -> ConflictPairs:
    """One detection cycle over tracks at one instant; the function behind ``tactical detect``.

    Parameters
    ----------
    lat_deg, lon_deg : array_like
        Positions, WGS84 degrees; latitude in [-90, 90].
    alt_m : array_like
        Altitudes in metres, all in the same datum.
    gs_mps, trk_deg, vs_mps : array_like
        Ground speed (m/s), true track (degrees clockwise from north), vertical rate (m/s,
        up positive).
    party : array_like, optional
        One label per track (any hashable values). When given, only pairs of different
        parties are reported; when ``None``, every pair is.
    lookahead_s, hsep_m, vsep_m : float
        Look-ahead (s), horizontal and vertical separation minima (m).

    Returns
    -------
    ConflictPairs
        Index arrays ``i < j`` into the inputs and per-pair ``tcpa_s``, ``dcpa_m``,
        ``t_in_s``, ``t_out_s`` (seconds from now, metres) and ``los``.

    Examples
    --------
    Two aircraft at the same level, 20 km apart, closing head-on at 200 m/s each:

    >>> pairs = detect_conflicts([0.0, 0.0], [0.0, 0.18], [3000.0, 3000.0],
    ...                          [200.0, 200.0], [90.0, 270.0], [0.0, 0.0])
    >>> pairs.i.tolist(), pairs.j.tolist(), bool(pairs.los[0])
    ([0], [1], False)
    >>> round(float(pairs.t_in_s[0]), 1), round(float(pairs.tcpa_s[0]), 1)
    (26.9, 50.0)

    Exactly 1000 ft apart vertically is never a conflict:

    >>> len(detect_conflicts([0.0, 0.0], [0.0, 0.0], [3048.0, 3352.8],
    ...                      [200.0, 200.0], [90.0, 270.0], [0.0, 0.0]))
    0
    """
    lat = _column(lat_deg, "lat_deg", None)
    size = lat.size
    lon = _column(lon_deg, "lon_deg", size)
    alt = _column(alt_m, "alt_m", size)
    gs = _column(gs_mps, "gs_mps", size)
    trk = _column(trk_deg, "trk_deg", size)
    vs = _column(vs_mps, "vs_mps", size)
    if np.any(np.abs(lat) > 90.0):
        raise InvalidInput("lat_deg", "latitudes must lie in [-90, 90]")
    codes: IntArray | None = None
    if party is not None:
        labels = np.asarray(party)
        if labels.shape != (size,):
            raise InvalidInput("party", f"expected {size} labels, got shape {labels.shape}")
        codes = np.unique(labels, return_inverse=True)[1].astype(np.int64).reshape(size)
    east, north = velocity_enu(gs, trk)
    return detect_enu(
        np.radians(lat),
        np.radians(lon),
        alt,
        east,
        north,
        vs,
        codes,
        lookahead_s=lookahead_s,
        hsep_m=hsep_m,
        vsep_m=vsep_m,
    )
