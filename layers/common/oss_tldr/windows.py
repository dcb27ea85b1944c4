"""Deterministic report windows: everyone asking in the same refresh period shares one cache key.

The window *end* is the current time floored to the timeframe's refresh period (1 h, 6 h, 24 h, 7 d,
in UTC; the 7-day grid starts on Monday 00:00 UTC); the start is the end minus the timeframe's length.
So a ``last_week`` report asked at 09:41 and at 11:58 covers the same ``[start, end)`` and is one row.
The report is superseded when the next period begins, which is its ``expires_at``: the refresh periods
(1 h / 6 h / 24 h / 7 d) read as "never serve data older than one refresh period" (docs/reports.md,
"Windows and expiry").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

Timeframe = Literal["last_day", "last_week", "last_month", "last_year"]
TIMEFRAMES: tuple[str, ...] = get_args(Timeframe)

LENGTH: dict[str, dt.timedelta] = {
    "last_day": dt.timedelta(days=1),
    "last_week": dt.timedelta(days=7),
    "last_month": dt.timedelta(days=30),
    "last_year": dt.timedelta(days=365),
}
REFRESH: dict[str, dt.timedelta] = {
    "last_day": dt.timedelta(hours=1),
    "last_week": dt.timedelta(hours=6),
    "last_month": dt.timedelta(days=1),
    "last_year": dt.timedelta(days=7),
}
# Monday 00:00 UTC: the 7-day grid is aligned to ISO weeks.
_EPOCH = dt.datetime(1970, 1, 5, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Window:
    timeframe: str
    start: dt.datetime
    end: dt.datetime

    @property
    def expires_at(self) -> dt.datetime:
        return self.end + REFRESH[self.timeframe]


def is_timeframe(value: str) -> bool:
    return value in LENGTH


def window_for(timeframe: str, now: dt.datetime | None = None) -> Window:
    """The window ``timeframe`` covers at ``now`` (UTC). Raises ``KeyError`` for an unknown timeframe."""
    length, period = LENGTH[timeframe], REFRESH[timeframe]
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    periods = (now - _EPOCH) // period
    end = _EPOCH + periods * period
    return Window(timeframe=timeframe, start=end - length, end=end)
