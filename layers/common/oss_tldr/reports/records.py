"""Report rows and who opened them: the one writer of ``reports`` rows (generation and import), loading a
report by id, the one rule of recording a user's access (``user_report_access``), and invalidation with
its audit. Every function that opens a transaction keeps it short; none is open across a GitHub or
OpenAI call.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Exists, delete, false, func, or_, select
from sqlalchemy.dialects.postgresql import Insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from oss_tldr.content_models import ReportStats
from oss_tldr.db.engine import session_scope
from oss_tldr.db.models import Report, Repository, UserReportAccess
from oss_tldr.identity.audit import REPORT_INVALIDATED, REPOSITORY_REPORTS_INVALIDATED, record_audit
from oss_tldr.reports.access import remembered
from oss_tldr.reports.models import (
    ACCESS_RECORD_INTERVAL,
    REPORT_VERSION,
    CacheKey,
    ReportPayload,
    ReportSlot,
    StoredReport,
)
from oss_tldr.repos.names import repository_id_for
from oss_tldr.text import pg_json, pg_text

# A report names its repository as GitHub displays it (``Octo/Hello``), like the repositories API does;
# ``repositories.full_name`` is the lower-case key.
DISPLAY_NAME = (Repository.owner + "/" + Repository.name).label("full_name")

# --------------------------------------------------------------------------------- access records
# At most once per ACCESS_RECORD_INTERVAL and user and report (the rule is stated with the constant, in
# reports.models, which the cache hit's statement reads without this module's ORM models).


def access_upsert(user_id: int, report_id: int, *, opened: bool = True) -> Insert:
    """The statement recording ``user_id``'s access to ``report_id`` (the one writer of
    ``user_report_access``). ``opened``: the user opens it now, and an access older than
    :data:`ACCESS_RECORD_INTERVAL` moves to now. Not opened (an import puts a report in the history): a
    row already there is kept as it is, so importing the same export again changes nothing."""
    stmt = pg_insert(UserReportAccess).values(user_id=user_id, report_id=report_id, accessed_at=func.now())
    target = [UserReportAccess.user_id, UserReportAccess.report_id]
    if not opened:
        return stmt.on_conflict_do_nothing(index_elements=target)
    return stmt.on_conflict_do_update(
        index_elements=target,
        set_={"accessed_at": stmt.excluded.accessed_at},
        where=UserReportAccess.accessed_at < func.now() - ACCESS_RECORD_INTERVAL,
    )


def record_access(user_id: int, report_id: int) -> None:
    """``user_id`` opens ``report_id`` (by id, or after a generation or a private check)."""
    with session_scope() as session:
        session.execute(access_upsert(user_id, report_id))


def has_opened(user_id: Any, report_id: Any) -> Exists:
    """The user has a record of opening the report (values or correlated column expressions)."""
    return (
        select(UserReportAccess.id)
        .where(UserReportAccess.user_id == user_id, UserReportAccess.report_id == report_id)
        .exists()
    )


# --------------------------------------------------------------------------------- the report-row writer
# A report made from a partial GitHub answer expires this soon at the latest (the next request asks again).
PARTIAL_REPORT_TTL = dt.timedelta(minutes=10)
_KEY_COLUMNS = (Report.repository_id, Report.timeframe, Report.timeframe_start, Report.timeframe_end)


def _json(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def write_report(
    session: Session,
    slot: ReportSlot,
    content: ReportPayload,
    *,
    expires_at: dt.datetime | None,
    generated_at: dt.datetime | None = None,
    version: int = REPORT_VERSION,
) -> int | None:
    """The one writer of ``reports`` rows; the row's id, or None when nothing was written.

    The shared row of a key (``slot.owner_user_id`` None, the generation's) is inserted or replaced in
    place (same id, so the history stays). A user's own copy (the import's) is inserted, or replaces that
    user's copy of the key only when newer. ``generated_at`` defaults to the transaction's ``now()``."""
    values: dict[str, Any] = {
        # Text from GitHub, the model or an import, cleaned of what Postgres cannot store (NUL, lone
        # surrogates).
        "tldr_text": pg_text(content.tldr),
        "prs": pg_json(_json(list(content.prs))),
        "issues": pg_json(_json(list(content.issues))),
        "people": pg_json(_json(list(content.people))),
        "generated_at": func.now() if generated_at is None else generated_at,
        "expires_at": expires_at,
        "version": version,
        "summariser": content.summariser,
        "prompt_version": content.prompt_version,
        "stats": content.stats.model_dump(),
        "partial": content.partial,
        "fallbacks": pg_json(dict(content.fallbacks)),
    }
    if content.partial and expires_at is not None:
        # GitHub answered part of the query: served, marked, and asked again within minutes.
        values["expires_at"] = func.least(expires_at, func.now() + PARTIAL_REPORT_TTL)
    stmt = pg_insert(Report).values(
        repository_id=slot.repository_id,
        timeframe=slot.timeframe,
        timeframe_start=slot.start,
        timeframe_end=slot.end,
        owner_user_id=slot.owner_user_id,
        **values,
    )
    replace = {k: stmt.excluded[k] for k in values}
    if slot.owner_user_id is None:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(_KEY_COLUMNS),
            index_where=Report.owner_user_id.is_(None),  # the shared row's partial unique index
            set_=replace,
        )
    else:
        stmt = stmt.on_conflict_do_update(
            index_elements=[Report.owner_user_id, *_KEY_COLUMNS],
            index_where=Report.owner_user_id.is_not(None),  # the owned rows' partial unique index
            set_=replace,
            where=Report.generated_at < stmt.excluded.generated_at,
        )
    report_id = session.execute(stmt.returning(Report.id)).scalar_one_or_none()
    return None if report_id is None else int(report_id)


# --------------------------------------------------------------------------------- loading
def _stored(row: Any, viewer_seen: bool = False) -> StoredReport:
    report: Report = row.Report
    return StoredReport(
        id=report.id,
        repository_id=report.repository_id,
        repo=row.full_name,
        is_private=row.is_private,
        timeframe=report.timeframe,
        timeframe_start=report.timeframe_start,
        timeframe_end=report.timeframe_end,
        tldr=report.tldr_text or "",
        prs=list(report.prs or []),
        issues=list(report.issues or []),
        people=list(report.people or []),
        generated_at=report.generated_at,
        expires_at=report.expires_at,
        version=report.version,
        stats=ReportStats.model_validate(report.stats or {}).model_dump(),
        partial=report.partial,
        owner_user_id=report.owner_user_id,
        viewer_seen=viewer_seen,
    )


def load_report(report_id: int, *, viewer: int | None = None) -> StoredReport | None:
    """A report by id (with its repository name). With ``viewer``, the same statement says whether that
    user has a record of seeing it (``StoredReport.viewer_seen``): a private report's id that the viewer
    never saw is refused without a GitHub call, at the cost of a missing id."""
    seen: Any = false()
    if viewer is not None:
        seen = or_(has_opened(viewer, Report.id), remembered(viewer, Report.repository_id))
    with session_scope() as session:
        row = session.execute(
            select(Report, DISPLAY_NAME, Repository.is_private, seen.label("viewer_seen"))
            .join(Repository, Repository.id == Report.repository_id)
            .where(Report.id == report_id)
        ).first()
        if row is None:
            return None
        return _stored(row, bool(row.viewer_seen))


def current_generated_at(key: CacheKey) -> dt.datetime | None:
    """When the report of ``key`` was generated (None without one): a forced regeneration waits for a
    report newer than this."""
    with session_scope() as session:
        return session.scalar(select(Report.generated_at).where(key.report_where()))


# --------------------------------------------------------------------------------- invalidation
def invalidate_report(report_id: int, *, actor_user_id: int) -> bool:
    """Delete one report and audit it, in one transaction; False when there is no such report."""
    with session_scope() as session:
        row = session.execute(
            delete(Report)
            .where(Report.id == report_id)
            .returning(Report.id, Report.repository_id, Report.timeframe)
        ).first()
        if row is None:
            return False
        record_audit(
            session,
            actor_user_id=actor_user_id,
            action=REPORT_INVALIDATED,
            target_type="report",
            target_id=report_id,
            details={"repository_id": row.repository_id, "timeframe": row.timeframe},
        )
    return True


def invalidate_repository(full_name: str, *, actor_user_id: int) -> int:
    """Delete every report of a repository and audit it, in one transaction; the number deleted. Deleting
    nothing changes nothing: no audit row."""
    repository_id = repository_id_for(full_name)
    with session_scope() as session:
        deleted = len(
            session.execute(
                delete(Report).where(Report.repository_id == repository_id).returning(Report.id)
            ).all()
        )
        if deleted == 0:
            return 0
        record_audit(
            session,
            actor_user_id=actor_user_id,
            action=REPOSITORY_REPORTS_INVALIDATED,
            target_type="repository",
            target_id=full_name.lower(),
            details={"deleted": deleted},
        )
    return deleted
