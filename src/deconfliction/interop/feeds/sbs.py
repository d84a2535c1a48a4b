"""SBS-1 (BaseStation) text feed, as dump1090 and similar receivers serve on port 30003.

Each line is ``MSG,<type>,<session>,<aircraft>,<hexident>,<flight>,<date gen>,<time gen>,
<date log>,<time log>,<callsign>,<altitude ft>,<ground speed kt>,<track deg>,<lat>,<lon>,
<vertical rate ft/min>,<squawk>,<alert>,<emergency>,<spi>,<is on ground>``. Message types
carry different fields (3: position and altitude; 4: velocity; 5/7: altitude; 2: surface
position). :class:`SbsAssembler` merges them per aircraft and yields complete reports;
altitudes are barometric (datum ``STD``), converted to SI here. Lines that are not
valid SBS-1 are refused with a reason and the rest go on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from deconfliction.engine.tactical.ingest import Rejection
from deconfliction.engine.tactical.state import ReportBatch
from deconfliction.units import FEET_PER_MINUTE_MPS, FOOT_M, KNOT_MPS


def _float(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _time(date: str, clock: str) -> float | None:
    # BaseStation writes the receiver's clock; dump1090 writes UTC. We read UTC ("+0000").
    text = f"{date.strip()} {clock.strip()}"
    for pattern in ("%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


@dataclass(slots=True)
class _Aircraft:
    time_s: float = -math.inf  # last message heard
    position_time_s: float = -math.inf  # last position heard: the report's time
    lat: float | None = None
    lon: float | None = None
    alt_ft: float | None = None
    gs_kt: float | None = None
    trk: float | None = None
    vs_fpm: float | None = None
    on_ground: bool = False

    def complete(self) -> bool:
        return None not in (self.lat, self.lon, self.alt_ft, self.gs_kt, self.trk, self.vs_fpm)


@dataclass(slots=True)
class SbsAssembler:
    """Merges SBS-1 messages per aircraft into complete track reports."""

    party_of: Callable[[str], str]
    aircraft: dict[str, _Aircraft] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    _line: int = 0

    def feed(self, lines: Iterable[str]) -> None:
        """Read lines; a malformed line becomes a :class:`Rejection` (index = line number)."""
        for raw in lines:
            index = self._line
            self._line += 1
            line = raw.strip()
            if not line:
                continue
            parts = line.split(",")
            if parts[0] != "MSG" or len(parts) < 22:
                self.rejections.append(Rejection(index, "", "line", "not an SBS-1 MSG line with 22 fields"))
                continue
            hexident = parts[4].strip().lower()
            if len(hexident) != 6 or any(c not in "0123456789abcdef" for c in hexident):
                self.rejections.append(Rejection(index, hexident, "hexident", "not a 24-bit hex address"))
                continue
            stamp = _time(parts[6], parts[7])
            if stamp is None:
                self.rejections.append(Rejection(index, hexident, "time", "unreadable date/time"))
                continue
            ac = self.aircraft.setdefault(hexident, _Aircraft())
            ac.time_s = max(ac.time_s, stamp)
            fields = {
                "alt_ft": _float(parts[11]),
                "gs_kt": _float(parts[12]),
                "trk": _float(parts[13]),
                "lat": _float(parts[14]),
                "lon": _float(parts[15]),
                "vs_fpm": _float(parts[16]),
            }
            for name, value in fields.items():
                if value is not None:
                    setattr(ac, name, value)
            if fields["lat"] is not None and fields["lon"] is not None:
                ac.position_time_s = max(ac.position_time_s, stamp)
            ground = parts[21].strip()
            if ground:
                ac.on_ground = ground not in ("0", "")

    def batch(self, since_s: float | None = None) -> ReportBatch:
        """The latest complete report of every airborne aircraft heard so far, or only of
        those heard after ``since_s`` (UTC epoch seconds), e.g. since the previous cycle.

        A report's time is when its position was heard (velocity and altitude come in
        other messages; the engine flies the track on from that time)."""
        ready = [
            (k, a)
            for k, a in self.aircraft.items()
            if a.complete() and not a.on_ground and (since_s is None or a.time_s > since_s)
        ]
        ids = [k for k, _ in ready]

        def col(get: Callable[[_Aircraft], float | None], scale: float = 1.0) -> np.ndarray:
            return np.array([float(get(a) or 0.0) * scale for _, a in ready], dtype=np.float64)

        return ReportBatch(
            ids=ids,
            parties=[self.party_of(k) for k in ids],
            time_s=np.array([a.position_time_s for _, a in ready], dtype=np.float64),
            lat_deg=col(lambda a: a.lat),
            lon_deg=col(lambda a: a.lon),
            alt_m=col(lambda a: a.alt_ft, FOOT_M),
            gs_mps=col(lambda a: a.gs_kt, KNOT_MPS),
            trk_deg=col(lambda a: a.trk),
            vs_mps=col(lambda a: a.vs_fpm, FEET_PER_MINUTE_MPS),
        )
