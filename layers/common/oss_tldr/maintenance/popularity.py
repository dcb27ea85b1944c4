"""What the scheduled warming reads: the most popular repositories, and where each (repository,
timeframe) report of the current window stands. Read-only, one short transaction per question.

Popularity is the repository's **audience**: the distinct users who track it (``user_repositories``) or
opened one of its reports (``user_report_access`` → ``reports``) since ``since``. The timeframes warmed are
the ones people actually open (the timeframes of the reports opened since ``since``, most openers first);
a repository that is only tracked gets ``last_week``, the SPA's default timeframe.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import desc, distinct, func, or_, select, union_all

from oss_tldr.db.engine import session_scope
from oss_tldr.db.models import Report, Repository, UserReportAccess, UserRepository
from oss_tldr.reports.models import Fingerprint, report_key_where
from oss_tldr.windows import Window

DEFAULT_TIMEFRAME = "last_week"  # what the SPA opens first: a tracked repository's likely next request


@dataclass(frozen=True)
class Candidate:
    repository_id: int
    full_name: str  # "owner/name" as stored (lower-case)
    is_private: bool
    audience: int  # distinct users tracking it or opening its reports recently
    timeframes: tuple[str, ...]  # most opened first; (DEFAULT_TIMEFRAME,) when only tracked


@dataclass(frozen=True)
class CurrentReport:
    """The current window's report of a key that may still be served (live, same summariser)."""

    expires_at: dt.datetime | None
    partial: bool


def popular_repositories(limit: int, since: dt.datetime) -> list[Candidate]:
    """Up to ``limit`` repositories, largest audience first (then by name), private ones included (the
    caller skips them): each with the timeframes its reports were opened in since ``since``."""
    if limit < 1:
        return []
    trackers = select(UserRepository.repository_id.label("rid"), UserRepository.user_id.label("uid"))
    openers = (
        select(Report.repository_id.label("rid"), UserReportAccess.user_id.label("uid"))
        .join(Report, Report.id == UserReportAccess.report_id)
        .where(UserReportAccess.accessed_at >= since)
    )
    audience = union_all(trackers, openers).subquery()
    size = func.count(distinct(audience.c.uid)).label("audience")
    ranked = (
        select(Repository.id, Repository.full_name, Repository.is_private, size)
        .join(audience, audience.c.rid == Repository.id)
        .group_by(Repository.id)
        .order_by(desc(size), Repository.full_name)
        .limit(limit)
    )
    with session_scope() as session:
        rows = session.execute(ranked).all()
        ids = [row.id for row in rows]
        users = func.count(distinct(UserReportAccess.user_id))
        opened = session.execute(
            select(Report.repository_id, Report.timeframe, users)
            .join(Report, Report.id == UserReportAccess.report_id)
            .where(UserReportAccess.accessed_at >= since, Report.repository_id.in_(ids))
            .group_by(Report.repository_id, Report.timeframe)
            .order_by(Report.repository_id, desc(users), Report.timeframe)
        ).all()
    timeframes: dict[int, list[str]] = defaultdict(list)
    for repository_id, timeframe, _ in opened:
        timeframes[repository_id].append(timeframe)
    return [
        Candidate(
            repository_id=row.id,
            full_name=row.full_name,
            is_private=row.is_private,
            audience=row.audience,
            timeframes=tuple(timeframes.get(row.id) or (DEFAULT_TIMEFRAME,)),
        )
        for row in rows
    ]


def current_report(repository_id: int, window: Window, fingerprint: Fingerprint) -> CurrentReport | None:
    """The shared report of ``window`` for the repository if it may still be served: not expired (an
    invalidated or webhook-staled report has ``expires_at`` now) and written by the current summariser."""
    key = report_key_where(repository_id, window.timeframe, window.start, window.end, owner_user_id=None)
    with session_scope() as session:
        row = session.execute(
            select(Report.expires_at, Report.partial).where(
                key,
                or_(Report.expires_at.is_(None), Report.expires_at > func.now()),
                Report.summariser == fingerprint.summariser,
                Report.prompt_version == fingerprint.prompt_version,
            )
        ).first()
    return None if row is None else CurrentReport(expires_at=row.expires_at, partial=row.partial)
