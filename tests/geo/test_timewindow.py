"""UTC time windows: naive, inverted and too long windows are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from deconfliction.errors import InvalidTimeWindow
from deconfliction.geo.timewindow import MAX_WINDOW, TimeWindow, format_utc, parse_utc, time_gap_s

T0 = datetime(2025, 10, 1, 6, 0, tzinfo=UTC)


def test_offsets_are_normalised_to_utc():
    plus3 = timezone(timedelta(hours=3))
    w = TimeWindow(datetime(2025, 10, 1, 9, 0, tzinfo=plus3), datetime(2025, 10, 1, 10, 0, tzinfo=plus3))
    assert w.start == T0
    assert w.start.tzinfo is UTC
    assert w.end_s - w.start_s == 3600.0


@pytest.mark.parametrize(
    ("start", "end", "field", "words"),
    [
        (datetime(2025, 10, 1, 6, 0), T0 + timedelta(hours=1), "start", "no UTC offset"),  # noqa: DTZ001
        (T0, datetime(2025, 10, 1, 7, 0), "end", "no UTC offset"),  # noqa: DTZ001
        (T0, T0, "end", "at or before"),
        (T0, T0 - timedelta(seconds=1), "end", "at or before"),
        (T0, T0 + MAX_WINDOW + timedelta(seconds=1), "end", "longer than the limit"),
        ("2025-10-01T06:00:00Z", T0, "start", "expected a datetime"),
    ],
)
def test_bad_windows(start, end, field, words):
    with pytest.raises(InvalidTimeWindow) as info:
        TimeWindow(start, end)
    assert info.value.field == field
    assert words in info.value.rule


def test_exactly_max_window_is_allowed():
    assert TimeWindow(T0, T0 + MAX_WINDOW).end - T0 == MAX_WINDOW


def test_parse_and_format_round_trip():
    assert parse_utc("2025-10-01T06:00:00Z", "start") == T0
    assert parse_utc("2025-10-01T09:00:00+03:00", "start") == T0
    assert format_utc(T0) == "2025-10-01T06:00:00Z"
    t = T0 + timedelta(microseconds=250)
    assert parse_utc(format_utc(t), "t") == t


@pytest.mark.parametrize("text", ["2025-10-01T06:00:00", "yesterday", "", "2025-13-01T00:00:00Z", 5])
def test_parse_refuses_non_rfc3339(text):
    with pytest.raises(InvalidTimeWindow) as info:
        parse_utc(text, "window.start")
    assert info.value.field == "window.start"


def test_gap_and_shift():
    a = TimeWindow(T0, T0 + timedelta(hours=1))
    b = TimeWindow(T0 + timedelta(hours=2), T0 + timedelta(hours=3))
    assert time_gap_s(a, b) == time_gap_s(b, a) == 3600.0
    assert time_gap_s(a, a.shifted(timedelta(minutes=30))) == 0.0
    assert time_gap_s(a, a.shifted(timedelta(hours=1))) == 0.0  # touching
    assert a.shifted(timedelta(days=3)).start == T0 + timedelta(days=3)
    assert TimeWindow.from_epoch(a.start_s, a.end_s) == a
