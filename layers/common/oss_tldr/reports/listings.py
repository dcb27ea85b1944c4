"""The report listings: a user's history and the admin's list of the cache, as keyset pages, and the
admin's invalidation entry points. Positions are :data:`Keyset` values; the API encodes them as opaque
cursors (``oss_tldr.api.pagination``) and decodes a cursor back, range-checked against the range of
the keyset's id column (``reports.models.MAX_ACCESS_ID``, ``MAX_REPORT_ID``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Row

from oss_tldr.db.engine import session_scope
from oss_tldr.db.models import Report, Repository, UserReportAccess
from oss_tldr.errors import BadRequest, NotFound
from oss_tldr.repo_refs import parse_repo_ref
from oss_tldr.reports import records
from oss_tldr.reports.models import Keyset, SummaryRow
from oss_tldr.repos.names import repository_id_for
from oss_tldr.windows import TIMEFRAMES, is_timeframe

Page = tuple[list[SummaryRow], Keyset | None]  # the rows and the position after them (None: the last page)


def _summary_columns() -> list[Any]:
    """What a listing shows of a report: its key, moments and section sizes."""
    return [
        Report.id,
        records.DISPLAY_NAME,
        Report.timeframe,
        Report.timeframe_start,
        Report.timeframe_end,
        Report.generated_at,
        Report.expires_at,
        func.jsonb_array_length(Report.prs).label("pr_count"),
        func.jsonb_array_length(Report.issues).label("issue_count"),
        func.jsonb_array_length(Report.people).label("people_count"),
    ]


def _summary(row: Row[Any], accessed_at: Any) -> SummaryRow:
    return SummaryRow(
        id=row.id,
        repo=row.full_name,
        timeframe=row.timeframe,
        timeframe_start=row.timeframe_start,
        timeframe_end=row.timeframe_end,
        generated_at=row.generated_at,
        expires_at=row.expires_at,
        accessed_at=accessed_at,
        pr_count=row.pr_count or 0,
        issue_count=row.issue_count or 0,
        people_count=row.people_count or 0,
    )


def my_reports(user_id: int, *, limit: int, after: Keyset | None) -> Page:
    """The reports ``user_id`` opened, newest access first (keyset on ``(accessed_at, access id)``)."""
    stmt = (
        select(
            UserReportAccess.id.label("access_id"),
            UserReportAccess.accessed_at,
            *_summary_columns(),
        )
        .join(Report, Report.id == UserReportAccess.report_id)
        .join(Repository, Repository.id == Report.repository_id)
        .where(UserReportAccess.user_id == user_id)
        .order_by(UserReportAccess.accessed_at.desc(), UserReportAccess.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        moment, access_id = after
        stmt = stmt.where(
            or_(
                UserReportAccess.accessed_at < moment,
                and_(UserReportAccess.accessed_at == moment, UserReportAccess.id < access_id),
            )
        )
    with session_scope() as session:
        rows = session.execute(stmt).all()
    page = rows[:limit]
    next_after = (page[-1].accessed_at, page[-1].access_id) if len(rows) > limit else None
    return [_summary(row, row.accessed_at) for row in page], next_after


def admin_filter(repo: str | None, timeframe: str | None) -> tuple[str | None, str | None]:
    """The admin listing's filters, checked: ``(lower-case full name, timeframe)``, or :class:`BadRequest`
    (400 ``invalid_repo`` / ``invalid_timeframe``)."""
    full_name = _repo_name(repo) if repo else None
    if timeframe is not None and not is_timeframe(timeframe):
        raise BadRequest(f"Unknown timeframe: use one of {', '.join(TIMEFRAMES)}.", code="invalid_timeframe")
    return full_name, timeframe


def all_reports(*, full_name: str | None, timeframe: str | None, limit: int, after: Keyset | None) -> Page:
    """Every cached (shared) report (admin), newest first (keyset on ``(generated_at, id)``), optionally of
    one repository and timeframe (as :func:`admin_filter` checked them); users' own imported copies are
    not the cache and are not listed."""
    stmt = (
        select(*_summary_columns())
        .join(Repository, Repository.id == Report.repository_id)
        .where(Report.owner_user_id.is_(None))
        .order_by(Report.generated_at.desc(), Report.id.desc())
        .limit(limit + 1)
    )
    if full_name is not None:
        stmt = stmt.where(Repository.id == repository_id_for(full_name))
    if timeframe is not None:
        stmt = stmt.where(Report.timeframe == timeframe)
    if after is not None:
        moment, report_id = after
        stmt = stmt.where(
            or_(Report.generated_at < moment, and_(Report.generated_at == moment, Report.id < report_id))
        )
    with session_scope() as session:
        rows = session.execute(stmt).all()
    page = rows[:limit]
    next_after = (page[-1].generated_at, page[-1].id) if len(rows) > limit else None
    return [_summary(row, None) for row in page], next_after


def _repo_name(ref: str) -> str:
    owner, name = parse_repo_ref(ref)
    return f"{owner}/{name}".lower()


def invalidate_report(actor_user_id: int, report_id: int) -> int:
    if not records.invalidate_report(report_id, actor_user_id=actor_user_id):
        raise NotFound("Report not found.", code="not_found")
    return 1


def invalidate_repository(actor_user_id: int, repo: str) -> int:
    return records.invalidate_repository(_repo_name(repo), actor_user_id=actor_user_id)
