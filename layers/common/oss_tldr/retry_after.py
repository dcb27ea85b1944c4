"""The one reader of an upstream's "wait this long" (GitHub and OpenAI alike), and the one rule that turns
it into the whole seconds of a :class:`~oss_tldr.errors.DomainError`'s ``retry_after``.

Whatever the header says, the outcome is a wait in ``[0, MAX_SECONDS]`` or None ("it did not say"), never
an exception: ``1e400`` and ``inf`` are the longest wait (a huge number means "a long time", like
``99999999999``), ``nan``, ``-inf``, text and an empty value say nothing, a negative delta or a date in
the past is no wait at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import math

# An upstream's wait is never taken to mean more than an hour, nor less than nothing.
MAX_SECONDS = 3600.0
# Beyond this many characters a header value is not a number of seconds or a date we need to read.
_MAX_CHARS = 32


def _number(raw: str | None) -> float | None:
    """A header's number, or None when it is not one; ``1e400``/``inf`` are ``inf``, ``nan`` is None."""
    if raw is None:
        return None
    try:
        value = float(raw.strip()[:_MAX_CHARS])
    except ValueError:
        return None
    return None if math.isnan(value) else value


def _clamped(wait: float | None) -> float | None:
    if wait is None or math.isnan(wait) or wait == -math.inf:
        return None
    return max(0.0, min(MAX_SECONDS, wait))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """The seconds a ``Retry-After`` value asks for — delta-seconds or an HTTP-date (``now`` is
    ``time.time()``) — within ``[0, MAX_SECONDS]``; None when absent, empty or neither."""
    if not value:
        return None
    seconds = _number(value)
    if seconds is not None:
        return _clamped(seconds)
    moment: dt.datetime | None = None
    with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
        moment = email.utils.parsedate_to_datetime(value.strip()[:64])
    if moment is None:
        return None
    if moment.tzinfo is None:  # "-0000": an HTTP-date is always UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return _clamped(moment.timestamp() - now)


def parse_reset_at(value: str | None, now: float) -> float | None:
    """The seconds until a reset given as a Unix time (GitHub's ``x-ratelimit-reset``), within
    ``[0, MAX_SECONDS]``; None when absent or not a finite number."""
    at = _number(value)
    if at is None or not math.isfinite(at):
        return None
    return _clamped(at - now)


def whole_seconds(wait: float | None, default: int) -> int:
    """A DomainError's ``retry_after`` for an upstream's wait: whole seconds rounded up, within
    ``1..MAX_SECONDS`` (the client must wait at least a second), ``default`` when the upstream did not
    say."""
    if wait is None:
        return default
    return max(1, min(int(MAX_SECONDS), math.ceil(wait)))
