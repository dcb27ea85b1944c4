"""Daily per-user quotas: the counting rule once (one row per user, UTC day and what is counted), and the
quota of forced regenerations (``report_force_usage``). The deep dive's quotas count with the same rule in
their own table (:mod:`oss_tldr.deepdive.quota`). Core statements on :mod:`oss_tldr.db.tables` (no ORM)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import TableClause, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from oss_tldr.db.engine import connection_scope
from oss_tldr.db.tables import report_force_usage
from oss_tldr.errors import RateLimited
from oss_tldr.settings import get_settings


def consume_daily(counter: TableClause, quota: int, **key: Any) -> bool:
    """Count one use in ``counter``'s row of ``key`` (its primary key: user, day and what else it has);
    False (nothing counted) when the count reached ``quota``. Atomic: concurrent requests cannot exceed it."""
    if quota <= 0:
        return False
    count = counter.c["count"]
    counted = (
        pg_insert(counter)
        .values(**key, count=1)
        .on_conflict_do_update(index_elements=list(key), set_={"count": count + 1}, where=count < quota)
        .returning(count)
    )
    with connection_scope() as conn:
        return conn.execute(counted).first() is not None


def refund_daily(counter: TableClause, **key: Any) -> None:
    """Give back a counted use whose request failed before anything was produced; a count back at zero
    leaves no row (a refused request changes nothing)."""
    where = [counter.c[name] == value for name, value in key.items()]
    count = counter.c["count"]
    with connection_scope() as conn:
        conn.execute(update(counter).where(*where, count > 0).values(count=count - 1))
        conn.execute(delete(counter).where(*where, count <= 0))


def consume_force(user_id: int, day: dt.date, quota: int) -> bool:
    """Count one forced regeneration of ``user_id`` on ``day`` (:func:`consume_daily`)."""
    return consume_daily(report_force_usage, quota, user_id=user_id, day=day)


def refund_force(user_id: int, day: dt.date) -> None:
    refund_daily(report_force_usage, user_id=user_id, day=day)


def seconds_to_utc_midnight() -> int:
    """The ``Retry-After`` of a used-up daily quota: until the UTC day ends."""
    now = dt.datetime.now(dt.UTC)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return max(1, int((midnight - now).total_seconds()))


class ForceQuota:
    """A forced regeneration counts against the user's daily quota (429 when used up) — only for the
    request that actually regenerates: forced requests that follow a generation already running (the
    SPA's other sections) pay nothing, and a count is given back when its request fails."""

    def __init__(self, user_id: int | None) -> None:
        self.user_id, self.day = user_id, dt.datetime.now(dt.UTC).date()
        self.counted = 0

    def take(self) -> None:
        if self.user_id is None:
            return  # the CLI / background service is not quota-bound
        if not consume_force(self.user_id, self.day, get_settings().force_daily_quota):
            raise RateLimited(
                "Daily rate limit for forced regenerations reached; cached reports are still served.",
                retry_after=seconds_to_utc_midnight(),
                code="force_quota_exceeded",
            )
        self.counted += 1

    def give_back(self) -> None:
        if self.user_id is not None and self.counted:
            refund_force(self.user_id, self.day)
            self.counted -= 1
