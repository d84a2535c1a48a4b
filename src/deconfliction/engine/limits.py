"""Plausibility limits: how much airspace one party may claim, per volume and in all.

A party that files to learn rather than to fly wants wide, tall, long volumes: one
polygon over a whole region, surface to 60,000 ft, all day, brings back every
operation under it. Real air operations are bounded: a large restricted operations
zone is a few thousand km², an orbit lasts a day at most, and a whole air force's busy
day holds a fraction of a country's area-hours. Each party has :class:`Limits` (the
operator sets them per party); a filing beyond one is refused whole.

The **claim** of an operation is its space-time: the sum over its volumes of footprint
area times duration (m²·s inside; km²·h at the edges). Altitude does not enter it: a
volume's span is limited on its own. What a party *holds* is the sum of the claims of
its live operations (proposed, accepted, activated), whether or not their windows have
passed: an operation counts until it is ended or cancelled.

Pure decisions: the caller passes what the party holds already (the store keeps it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Final

from deconfliction.engine.operation import MAX_VOLUMES, Operation
from deconfliction.errors import InvalidInput, LimitExceeded
from deconfliction.geo.footprint import MAX_AREA_M2
from deconfliction.geo.timewindow import MAX_WINDOW
from deconfliction.geo.volume import Volume4D
from deconfliction.units import FOOT_M

KM2_M2: Final = 1e6
HOUR_S: Final = 3600.0
#: One km²·h in m²·s.
KM2H_M2S: Final = KM2_M2 * HOUR_S


@dataclass(frozen=True, slots=True)
class Limits:
    """One party's plausibility limits, in SI units (docs/disclosure.md justifies the
    defaults with numbers)."""

    #: largest footprint area of one volume, m²
    max_volume_area_m2: float = 20_000 * KM2_M2
    #: largest altitude span (upper - lower) of one volume, m
    max_altitude_span_m: float = 60_000 * FOOT_M
    #: longest time window of one volume, s
    max_duration_s: float = 24 * HOUR_S
    #: most volumes of one operation
    max_volumes: int = MAX_VOLUMES
    #: most space-time the party may hold in live operations at once, m²·s
    max_claim_m2s: float = 1_500_000 * KM2H_M2S

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "max_volumes":
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VOLUMES:
                    raise InvalidInput(f.name, f"must be a whole number 1 .. {MAX_VOLUMES}, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
                raise InvalidInput(f.name, f"must be a positive finite number, got {value!r}")


#: The limits of a party the operator has set none for.
DEFAULT_LIMITS: Final = Limits()

#: Limits no filing the domain allows can reach: for load benchmarks and bulk loads,
#: which measure or move filings rather than plan them (the checks still run).
OUT_OF_REACH: Final = Limits(
    max_volume_area_m2=MAX_AREA_M2,
    max_altitude_span_m=1e6,
    max_duration_s=MAX_WINDOW.total_seconds(),
    max_volumes=MAX_VOLUMES,
    max_claim_m2s=1e300,
)

#: Names of the limits, as stored and as the API and CLI name them (SI).
LIMIT_NAMES: Final = tuple(f.name for f in fields(Limits))


def volume_claim_m2s(volume: Volume4D) -> float:
    """Footprint area times duration of one volume, m²·s."""
    return volume.footprint.area_m2() * (volume.window.end_s - volume.window.start_s)


def operation_claim_m2s(operation: Operation) -> float:
    """The space-time an operation claims: the sum of its volumes' claims, m²·s."""
    return sum(volume_claim_m2s(v) for v in operation.volumes)


def _km2(m2: float) -> str:
    return f"{m2 / KM2_M2:,.0f} km²"


def _km2h(m2s: float) -> str:
    return f"{m2s / KM2H_M2S:,.0f} km²·h"


def _hours(s: float) -> str:
    return f"{s / HOUR_S:,.2f} h".replace(".00 h", " h")


def _feet(m: float) -> str:
    return f"{m / FOOT_M:,.0f} ft"


def check_volumes(limits: Limits, volumes: Sequence[Volume4D]) -> float:
    """The claim of ``volumes`` (one operation's), m²·s, or :class:`LimitExceeded` naming
    the first volume and part of it beyond a per-volume or per-operation limit."""
    if len(volumes) > limits.max_volumes:
        raise LimitExceeded(
            "volumes",
            f"{len(volumes)} volumes exceed this party's limit of {limits.max_volumes} per operation",
        )
    claim = 0.0
    for i, volume in enumerate(volumes):
        area = volume.footprint.area_m2()
        duration = volume.window.end_s - volume.window.start_s
        parts = (
            ("footprint", "area", area, limits.max_volume_area_m2, _km2),
            (
                "altitude",
                "span",
                volume.band.upper_m - volume.band.lower_m,
                limits.max_altitude_span_m,
                _feet,
            ),
            ("time", "duration", duration, limits.max_duration_s, _hours),
        )
        for part, what, amount, limit, show in parts:
            if amount > limit:
                raise LimitExceeded(
                    f"volumes[{i}].{part}",
                    f"{what} {show(amount)} exceeds this party's limit of {show(limit)} per volume",
                )
        claim += area * duration
    return claim


def check_claim(limits: Limits, claim_m2s: float, held_m2s: float, released_m2s: float = 0.0) -> None:
    """:class:`LimitExceeded` (on ``volumes``) if a filing claiming ``claim_m2s`` would take
    what the party holds (``held_m2s``, less ``released_m2s`` that the filing gives back:
    an operation's old volumes when it changes) past its limit. A change that claims no
    more than it gives back always passes, so a party over a lowered limit can shrink."""
    if claim_m2s <= released_m2s:
        return
    after = held_m2s - released_m2s + claim_m2s
    if after > limits.max_claim_m2s:
        raise LimitExceeded(
            "volumes",
            f"space-time {_km2h(claim_m2s)} would bring this party's live operations to "
            f"{_km2h(after)}, over its limit of {_km2h(limits.max_claim_m2s)} held at once "
            f"({_km2h(held_m2s)} held now; end or cancel operations to free some)",
        )


def check_operation(
    limits: Limits, operation: Operation, held_m2s: float, released_m2s: float = 0.0
) -> float:
    """Check one operation against ``limits`` given what its party holds; its claim, m²·s."""
    claim = check_volumes(limits, operation.volumes)
    check_claim(limits, claim, held_m2s, released_m2s)
    return claim
