"""GitHub's timestamps (``2026-11-20T10:00:00Z``): the one parser and the one formatter.

Used by the GitHub payload boundary (which refuses what does not parse), the activity window filter, the
report content and the ``repositories`` row. The importer keeps its own stricter reading of the old
client's ``generatedAt`` (a year before GitHub existed is a 422 there, not a missing value).
"""

from __future__ import annotations

import datetime as dt

MAX_CHARS = 40  # "2026-11-20T10:00:00.123456+00:00" is 32


def parse_timestamp(value: object) -> dt.datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime (no offset means UTC); None for anything else: not a
    string, too long, not a time, or not representable in UTC (year 1 with a positive offset)."""
    if not isinstance(value, str) or not value or len(value) > MAX_CHARS:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None


def github_stamp(moment: dt.datetime) -> str:
    """``moment`` the way GitHub writes it (and its search qualifiers take it): UTC, seconds, ``Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
