"""UTC time windows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from deconfliction.errors import InvalidTimeWindow

#: The longest window one volume may span: a century. F3548 USSs file
#: operational intents and constraints for decades (the InterUSS prober files 2020..2080),
#: so the limit only refuses nonsense; short volumes keep their index entries tight.
MAX_WINDOW: Final = timedelta(days=36525)
#: Every time given to the system lies in ``[EARLIEST, LATEST]``. Windows are widened by
#: time buffers and compared as epoch seconds; at the edges of ``datetime``'s range
#: (years 1 and 9999) that arithmetic overflows, so such times are refused where they
#: enter rather than failing every later filing that meets them. 1900 rather than the
#: epoch: the InterUSS prober files an intent at 1969-12-31 and expects it accepted.
EARLIEST: Final = datetime(1900, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2300, 1, 1, tzinfo=UTC)


def require_utc(value: datetime, field: str) -> datetime:
    """``value`` as an aware UTC datetime; naive datetimes are refused, offsets normalised."""
    if not isinstance(value, datetime):
        raise InvalidTimeWindow(field, f"expected a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidTimeWindow(field, "time has no UTC offset; give it in UTC with a trailing Z")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None  # an offset that pushes the time out of datetime's range
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise InvalidTimeWindow(
            field, f"time must lie between {format_utc(EARLIEST)} and {format_utc(LATEST)}, got {value}"
        )
    return utc


def parse_utc(text: str, field: str) -> datetime:
    """An RFC 3339 time with an explicit offset (``2025-10-01T06:00:00Z``) as UTC."""
    if not isinstance(text, str):
        raise InvalidTimeWindow(field, f"expected an RFC 3339 string, got {text!r}")
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidTimeWindow(
            field, f"{text!r} is not an RFC 3339 time such as 2025-10-01T06:00:00Z"
        ) from None
    return require_utc(value, field)


def format_utc(value: datetime) -> str:
    """RFC 3339 with ``Z``, to the second unless there are fractions."""
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """The half-open-in-spirit interval ``[start, end]`` in UTC; ``end`` is after ``start``."""

    start: datetime
    end: datetime
    #: ``start`` and ``end`` as seconds since the Unix epoch, kept beside them: the exact
    #: check and the index compare windows in seconds, dozens of times a filing.
    start_s: float = field(init=False, repr=False, compare=False)
    end_s: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        start = require_utc(self.start, "start")
        end = require_utc(self.end, "end")
        if end <= start:
            raise InvalidTimeWindow(
                "end", f"window ends ({format_utc(end)}) at or before it starts ({format_utc(start)})"
            )
        if end - start > MAX_WINDOW:
            raise InvalidTimeWindow(
                "end", f"window lasts {end - start}, longer than the limit of {MAX_WINDOW}"
            )
        _set(self, start, end)

    @staticmethod
    def stored(start: datetime, end: datetime) -> TimeWindow:
        """A window this package validated before and stored itself (UTC ``start`` before
        ``end``), rebuilt without the checks."""
        window: TimeWindow = object.__new__(TimeWindow)
        _set(window, start, end)
        return window

    def shifted(self, delta: timedelta) -> TimeWindow:
        """The same window moved by ``delta``."""
        return TimeWindow(self.start + delta, self.end + delta)

    @staticmethod
    def from_epoch(start_s: float, end_s: float) -> TimeWindow:
        """A window from Unix-epoch seconds."""
        return TimeWindow(datetime.fromtimestamp(start_s, UTC), datetime.fromtimestamp(end_s, UTC))


def _set(window: TimeWindow, start: datetime, end: datetime) -> None:
    object.__setattr__(window, "start", start)
    object.__setattr__(window, "end", end)
    object.__setattr__(window, "start_s", start.timestamp())
    object.__setattr__(window, "end_s", end.timestamp())


def time_gap_s(a: TimeWindow, b: TimeWindow) -> float:
    """Seconds between the windows; 0 when they overlap or touch."""
    return max(0.0, b.start_s - a.end_s, a.start_s - b.end_s)
