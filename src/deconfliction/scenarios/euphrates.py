"""One day of operations over eastern Syria along the Euphrates deconfliction line.

Three parties share the airspace, as they did from 2015: a US-led coalition
(``COALITION``) east of the river, the Russian and Syrian forces (``RUSAF``) west of
it, and the civil air navigation service (``SYCAA``) routing overflights and the
airports' traffic. Positions of towns, bases and the river are approximate public
geography; the operations are invented but typical of each side: ISR orbits,
close-air-support boxes, tanker tracks, helicopter corridors and artillery arcs on
the military side; airway segments and terminal areas on the civil side. The
scenario is deterministic for a seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np

from deconfliction.engine.minima import Minima
from deconfliction.engine.operation import Operation
from deconfliction.geo.altitude import AltitudeBand
from deconfliction.geo.footprint import ArcSector, Circle, Corridor, Footprint, Polygon, Position, Racetrack
from deconfliction.geo.frame import GEOD
from deconfliction.geo.timewindow import TimeWindow
from deconfliction.geo.volume import Volume4D
from deconfliction.store.base import Party, PartyKind
from deconfliction.units import NAUTICAL_MILE_M

#: Places named in the scenario (lat, lon), approximate.
PLACES: Final[dict[str, tuple[float, float]]] = {
    "Tabqa": (35.83, 38.55),
    "Raqqa": (35.95, 39.01),
    "Maadan": (35.73, 39.62),
    "Deir ez-Zor": (35.34, 40.14),
    "Deir ez-Zor airport": (35.285, 40.176),
    "Conoco field": (35.37, 40.31),
    "Busayrah": (35.16, 40.43),
    "Mayadin": (35.02, 40.45),
    "Omar field": (34.94, 40.64),
    "Hajin": (34.69, 40.83),
    "Abu Kamal": (34.45, 40.92),
    "Hasakah": (36.50, 40.75),
    "Qamishli airport": (37.02, 41.19),
    "Palmyra": (34.55, 38.27),
    "T4 airbase": (34.52, 37.63),
    "Shaddadi": (36.06, 40.73),
    "Al-Tanf": (33.50, 38.63),
}

#: The Euphrates from Tabqa to the Iraqi border, the line each side stays on its own bank of.
RIVER: Final[tuple[tuple[float, float], ...]] = (
    (35.83, 38.55),
    (35.95, 39.01),
    (35.82, 39.35),
    (35.73, 39.62),
    (35.55, 39.85),
    (35.34, 40.14),
    (35.16, 40.43),
    (35.02, 40.45),
    (34.92, 40.56),
    (34.69, 40.83),
    (34.45, 40.92),
)

COALITION: Final = Party(
    "COALITION", "Combined Joint Task Force (coalition air operations centre)", PartyKind.MILITARY
)
RUSAF: Final = Party("RUSAF", "Russian Aerospace Forces group, Hmeimim", PartyKind.MILITARY)
SYCAA: Final = Party("SYCAA", "Civil air navigation service, Damascus FIR", PartyKind.CIVIL)
PARTIES: Final = (COALITION, RUSAF, SYCAA)

#: The rivals practised 3 NM in the 2015 drill; civil traffic keeps 5 NM / 1000 ft.
PAIR_MINIMA: Final = {
    (COALITION.id, RUSAF.id): Minima(3 * NAUTICAL_MILE_M, 1000 * 0.3048, 300.0),
}


@dataclass(frozen=True, slots=True)
class Scenario:
    """Parties, their operations and the pair minima of one scenario day."""

    parties: tuple[Party, ...]
    operations: tuple[Operation, ...]
    pair_minima: dict[tuple[str, str], Minima]
    start: datetime


class _Builder:
    def __init__(self, seed: int, start: datetime) -> None:
        self.rng = np.random.default_rng(seed)
        self.start = start
        self.counts: dict[str, int] = {}

    def jitter(self, place: tuple[float, float], km: float) -> Position:
        bearing = float(self.rng.uniform(0, 360))
        dist = float(self.rng.uniform(0, km * 1000))
        lon, lat, _ = GEOD.fwd(place[1], place[0], bearing, dist)
        return Position(round(float(lat), 5), round(float(lon), 5))

    def offset(self, p: Position, bearing: float, km: float) -> Position:
        lon, lat, _ = GEOD.fwd(p.lon_deg, p.lat_deg, bearing, km * 1000)
        return Position(round(float(lat), 5), round(float(lon), 5))

    def window(self, earliest_h: float, latest_h: float, min_h: float, max_h: float) -> TimeWindow:
        begin = float(self.rng.uniform(earliest_h, latest_h))
        length = float(self.rng.uniform(min_h, max_h))
        start = self.start + timedelta(minutes=round(begin * 60 / 5) * 5)
        return TimeWindow(start, start + timedelta(minutes=max(5, round(length * 60 / 5) * 5)))

    def band_fl(self, low: int, high: int, min_depth: int) -> AltitudeBand:
        lower = int(self.rng.integers(low, high - min_depth) // 10 * 10)
        upper = min(high, lower + min_depth + int(self.rng.integers(0, 4)) * 10)
        return AltitudeBand.parse(lower, upper, "FL", "STD")

    def band_ft(self, low: int, high: int) -> AltitudeBand:
        return AltitudeBand.parse(low, high, "ft", "MSL")

    def op(
        self, party: Party, tag: str, volumes: list[tuple[Footprint, AltitudeBand, TimeWindow]], priority: int
    ) -> Operation:
        n = self.counts.get(f"{party.id}-{tag}", 0) + 1
        self.counts[f"{party.id}-{tag}"] = n
        prefix = {"COALITION": "CJ", "RUSAF": "RU", "SYCAA": "SY"}[party.id]
        return Operation(
            party=party.id,
            id=f"{prefix}-{tag}-{n:03d}",
            volumes=tuple(Volume4D(f, b, w) for f, b, w in volumes),
            priority=priority,
        )


def _east_of_river(b: _Builder, km: float) -> tuple[float, float]:
    i = int(b.rng.integers(3, len(RIVER)))
    lat, lon = RIVER[i]
    lon2, lat2, _ = GEOD.fwd(lon, lat, 60.0 + float(b.rng.uniform(-30, 30)), km * 1000)
    return float(lat2), float(lon2)


def _west_of_river(b: _Builder, km: float) -> tuple[float, float]:
    i = int(b.rng.integers(3, len(RIVER)))
    lat, lon = RIVER[i]
    lon2, lat2, _ = GEOD.fwd(lon, lat, 240.0 + float(b.rng.uniform(-30, 30)), km * 1000)
    return float(lat2), float(lon2)


def _coalition(b: _Builder) -> Iterator[Operation]:
    party = COALITION
    for _ in range(40):  # ISR orbits east of the river, medium level
        centre = b.jitter(_east_of_river(b, float(b.rng.uniform(10, 45))), 8)
        axis = float(b.rng.uniform(0, 180))
        length = float(b.rng.uniform(25, 50))
        track = Racetrack(
            b.offset(centre, axis, length / 2), b.offset(centre, axis + 180, length / 2), 10_000
        )
        yield b.op(party, "ISR", [(track, b.band_fl(150, 260, 30), b.window(0, 20, 2, 5))], 30)
    for _ in range(45):  # close air support boxes along the east bank
        centre = b.jitter(_east_of_river(b, float(b.rng.uniform(2, 15))), 5)
        half = float(b.rng.uniform(5, 12))
        box = Polygon(
            tuple(b.offset(centre, bearing, half * math.sqrt(2)) for bearing in (45, 135, 225, 315))
        )
        yield b.op(party, "CAS", [(box, b.band_fl(80, 250, 40), b.window(0, 22, 1, 3))], 60)
    for _ in range(12):  # tanker tracks far east and north
        centre = b.jitter(PLACES["Shaddadi"], 60)
        track = Racetrack(b.offset(centre, 0, 40), b.offset(centre, 180, 40), 18_000)
        yield b.op(party, "AAR", [(track, b.band_fl(240, 300, 20), b.window(0, 20, 3, 4))], 20)
    for _ in range(25):  # helicopter corridors, low level, with a return leg later
        origin = b.jitter(PLACES["Shaddadi"], 20)
        target = b.jitter(_east_of_river(b, float(b.rng.uniform(3, 12))), 5)
        out_window = b.window(0, 21, 0.5, 1.5)
        back_start = out_window.end + timedelta(minutes=int(b.rng.integers(6, 24)) * 5)
        back = TimeWindow(back_start, back_start + (out_window.end - out_window.start))
        leg = Corridor((origin, target), 4 * NAUTICAL_MILE_M)
        yield b.op(party, "HEL", [(leg, b.band_ft(0, 1500), out_window), (leg, b.band_ft(0, 1500), back)], 50)
    for _ in range(18):  # rocket artillery arcs firing west over the river
        gun = b.jitter(_east_of_river(b, float(b.rng.uniform(15, 30))), 5)
        heading = float(b.rng.uniform(200, 300))
        arc = ArcSector(gun, 5_000, float(b.rng.uniform(30_000, 60_000)), heading - 15, heading + 15)
        yield b.op(party, "ART", [(arc, b.band_ft(0, 30_000), b.window(0, 23, 0.25, 1))], 80)


def _russian(b: _Builder) -> Iterator[Operation]:
    party = RUSAF
    for _ in range(35):  # strike boxes along the west bank, some reaching the river
        centre = b.jitter(_west_of_river(b, float(b.rng.uniform(1, 15))), 6)
        half = float(b.rng.uniform(6, 14))
        box = Polygon(
            tuple(b.offset(centre, bearing, half * math.sqrt(2)) for bearing in (30, 120, 210, 300))
        )
        yield b.op(party, "STK", [(box, b.band_fl(100, 300, 50), b.window(0, 22, 1, 2.5))], 70)
    for _ in range(30):  # ISR and fighter cover orbits west of the river
        centre = b.jitter(_west_of_river(b, float(b.rng.uniform(10, 50))), 10)
        axis = float(b.rng.uniform(0, 180))
        length = float(b.rng.uniform(30, 60))
        track = Racetrack(
            b.offset(centre, axis, length / 2), b.offset(centre, axis + 180, length / 2), 12_000
        )
        yield b.op(party, "CAP", [(track, b.band_fl(180, 330, 40), b.window(0, 20, 2, 4))], 40)
    for _ in range(30):  # transport corridor Palmyra / T4 -> Deir ez-Zor airport
        origin = b.jitter(PLACES["T4 airbase" if b.rng.random() < 0.5 else "Palmyra"], 5)
        dest = b.jitter(PLACES["Deir ez-Zor airport"], 3)
        leg = Corridor((origin, b.offset(dest, 250, 15), dest), 8_000)
        yield b.op(party, "TRN", [(leg, b.band_fl(150, 260, 20), b.window(0, 22, 1, 1.5))], 30)
    for _ in range(25):  # helicopter corridors along the west-bank road
        a = b.jitter(PLACES["Deir ez-Zor"], 8)
        c = b.jitter(PLACES["Mayadin" if b.rng.random() < 0.6 else "Abu Kamal"], 8)
        leg = Corridor((a, c), 3 * NAUTICAL_MILE_M)
        yield b.op(party, "HEL", [(leg, b.band_ft(0, 2000), b.window(0, 23, 0.5, 1.5))], 50)
    for _ in range(20):  # artillery and air-defence engagement arcs from the west bank
        gun = b.jitter(_west_of_river(b, float(b.rng.uniform(8, 25))), 5)
        heading = float(b.rng.uniform(30, 120))
        arc = ArcSector(gun, 3_000, float(b.rng.uniform(20_000, 45_000)), heading - 20, heading + 20)
        yield b.op(party, "ART", [(arc, b.band_ft(0, 25_000), b.window(0, 23, 0.25, 1))], 80)


def _civil(b: _Builder) -> Iterator[Operation]:
    party = SYCAA
    routes = (  # airway segments crossing the region (entry, exit)
        ((36.9, 37.2), (33.9, 41.6)),  # north-west to the Iraqi border near Al-Qaim
        ((34.3, 36.9), (37.2, 42.2)),  # Damascus area to the north-east corner
        ((35.2, 37.0), (35.5, 42.3)),  # east-west across Deir ez-Zor
    )
    for _ in range(60):  # overflights, one operation per flight along its airway
        (lat1, lon1), (lat2, lon2) = routes[int(b.rng.integers(0, len(routes)))]
        line = Corridor((Position(lat1, lon1), Position(lat2, lon2)), 10 * NAUTICAL_MILE_M)
        yield b.op(party, "OVF", [(line, b.band_fl(250, 390, 20), b.window(0, 23, 0.75, 1))], 10)
    for airport in ("Deir ez-Zor airport", "Qamishli airport"):
        lat, lon = PLACES[airport]
        for _ in range(18):  # arrivals and departures, terminal area
            area = Circle(Position(lat, lon), 25 * NAUTICAL_MILE_M)
            yield b.op(party, "TMA", [(area, b.band_ft(0, 15_000), b.window(0, 23.5, 0.25, 0.5))], 20)


def build(start: datetime, seed: int = 2015) -> Scenario:
    """The scenario day beginning at ``start`` (UTC)."""
    b = _Builder(seed, start)
    operations = (*_coalition(b), *_russian(b), *_civil(b))
    return Scenario(PARTIES, operations, dict(PAIR_MINIMA), start)
