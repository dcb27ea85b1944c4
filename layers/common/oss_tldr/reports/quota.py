"""The daily quota of forced regenerations (``report_force_usage``, per user and UTC day)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from oss_tldr.db.engine import session_scope
from oss_tldr.db.models import ReportForceUsage
from oss_tldr.errors import RateLimited
from oss_tldr.settings import get_settings


def consume_force(user_id: int, day: dt.date, quota: int) -> bool:
    """Count one forced regeneration of ``user_id`` on ``day``; False (nothing counted) when the quota
    is used up. Atomic: concurrent requests cannot exceed the quota."""
    if quota <= 0:
        return False
    counted = (
        pg_insert(ReportForceUsage)
        .values(user_id=user_id, day=day, count=1)
        .on_conflict_do_update(
            index_elements=[ReportForceUsage.user_id, ReportForceUsage.day],
            set_={"count": ReportForceUsage.count + 1},
            where=ReportForceUsage.count < quota,
        )
        .returning(ReportForceUsage.count)
    )
    with session_scope() as session:
        return session.execute(counted).first() is not None


def refund_force(user_id: int, day: dt.date) -> None:
    """Give back a counted force whose request failed before anything was generated; a count back at
    zero leaves no row (a refused request changes nothing)."""
    where = (ReportForceUsage.user_id == user_id, ReportForceUsage.day == day)
    with session_scope() as session:
        session.execute(
            update(ReportForceUsage)
            .where(*where, ReportForceUsage.count > 0)
            .values(count=ReportForceUsage.count - 1)
        )
        session.execute(delete(ReportForceUsage).where(*where, ReportForceUsage.count <= 0))


def _seconds_to_utc_midnight() -> int:
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
                retry_after=_seconds_to_utc_midnight(),
                code="force_quota_exceeded",
            )
        self.counted += 1

    def give_back(self) -> None:
        if self.user_id is not None and self.counted:
            refund_force(self.user_id, self.day)
            self.counted -= 1
