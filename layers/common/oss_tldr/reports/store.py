"""Data access of the report cache: the only report code that touches SQLAlchemy sessions.

Every function here is one short transaction (``session_scope``); none is ever open across a GitHub or
OpenAI call. The cache hit is a single statement: the report row found through the lower-case
``repositories.full_name`` and the cache-key unique index, with the caller's access recorded by a
data-modifying CTE of the same statement (see :func:`find_section`).

The cache is made of **shared** rows only (``owner_user_id IS NULL``): every lookup by cache key, the hit,
the generation's upsert and the admin listing see nothing else. A row with an owner is a user's own
imported copy (``oss_tldr.repos.importer``), reachable only by id and only by its owner.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import and_, delete, false, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from oss_tldr.db.engine import get_engine, session_scope
from oss_tldr.db.models import (
    Report,
    ReportForceUsage,
    ReportGeneration,
    ReportJob,
    Repository,
    RepositoryAccessCheck,
    UserReportAccess,
)
from oss_tldr.errors import BadRequest
from oss_tldr.identity.audit import REPORT_INVALIDATED, REPOSITORY_REPORTS_INVALIDATED, record_audit
from oss_tldr.text import pg_json, pg_text

SECTIONS = ("prs", "issues", "people", "tldr")
# Section name -> the hit statement's expression. A whitelist (it is interpolated into the statement). JSON
# sections come back as JSON text, spliced into the response as is: no parse and re-dump on a hit.
_SECTION_COLUMN = {
    "prs": "r.prs::text",
    "issues": "r.issues::text",
    "people": "r.people::text",
    "tldr": "coalesce(r.tldr_text, '')",
}
REPORT_VERSION = 2  # the shape version of the stored JSON (1 = the SPA's localStorage reports)


@dataclass(frozen=True)
class CacheKey:
    """``(repository, timeframe, window start, window end)``; the repository by its lower-case name,
    which every request knows before anyone has looked the repository up on GitHub."""

    repo: str
    timeframe: str
    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "repo", self.repo.lower())

    def lease_where(self) -> Any:
        return and_(
            ReportGeneration.repo == self.repo,
            ReportGeneration.timeframe == self.timeframe,
            ReportGeneration.timeframe_start == self.start,
            ReportGeneration.timeframe_end == self.end,
        )

    def report_where(self) -> Any:
        repository_id = select(Repository.id).where(Repository.full_name == self.repo).scalar_subquery()
        return and_(
            Report.repository_id == repository_id,
            Report.timeframe == self.timeframe,
            Report.timeframe_start == self.start,
            Report.timeframe_end == self.end,
            Report.owner_user_id.is_(None),  # shared rows only: an imported copy is never the cache
        )


@dataclass(frozen=True)
class Fingerprint:
    """What wrote a report's summaries; a report written by anything else is a miss."""

    summariser: str
    prompt_version: str


class ReportPayload(Protocol):
    """What a generation produces (``oss_tldr.reports.content.ReportContent`` satisfies it)."""

    @property
    def tldr(self) -> str: ...
    @property
    def prs(self) -> Sequence[Any]: ...
    @property
    def issues(self) -> Sequence[Any]: ...
    @property
    def people(self) -> Sequence[Any]: ...
    @property
    def summariser(self) -> str: ...
    @property
    def prompt_version(self) -> str: ...


@dataclass(frozen=True)
class SectionHit:
    report_id: int
    repository_id: int
    is_private: bool
    access_ok: bool  # a remembered positive access check of this user (only meaningful when private)
    session_ok: bool  # the caller's session is live (always true when no session was checked)
    data: str  # JSON text of the section's array, or the TL;DR text
    generated_at: dt.datetime
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class StoredReport:
    id: int
    repository_id: int
    repo: str
    is_private: bool
    timeframe: str
    timeframe_start: dt.datetime
    timeframe_end: dt.datetime
    tldr: str
    prs: list[Any]
    issues: list[Any]
    people: list[Any]
    generated_at: dt.datetime
    expires_at: dt.datetime | None
    version: int
    owner_user_id: int | None = None  # set: one user's own imported copy, served to that user only
    # The viewer asked about by ``load_report(viewer=)`` has a record of seeing this report: an access row
    # of it, or a remembered positive access check of its repository.
    viewer_seen: bool = False

    def section(self, name: str) -> Any:
        return self.tldr if name == "tldr" else getattr(self, name)


@dataclass(frozen=True)
class JobFailure:
    detail: str
    code: str
    status: int
    retry_after: int | None


@dataclass(frozen=True)
class PollState:
    report_id: int | None  # a usable report for the key (or the one the followed job produced)
    lease_job: uuid.UUID | None
    lease_stale: bool
    followed_failure: JobFailure | None  # the followed job failed
    followed_gone: bool = False  # the followed job no longer exists (its generator was refused: 401/403/404)


@dataclass(frozen=True)
class JobView:
    id: uuid.UUID
    status: str
    progress: int
    report_id: int | None
    error: str | None
    repo: str


def _json(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


# --------------------------------------------------------------------------------- repositories
def upsert_repository(payload: dict[str, Any]) -> tuple[int, bool]:
    """Insert or refresh the ``repositories`` row of a GitHub repository payload: ``(id, is_private)``."""
    # Deferred for cold start only (repos.store loads the repository payload models, ~20 ms, which the hit
    # path never needs); reports sits above repos in the layers contract, so this hides no cycle.
    from oss_tldr.repos.store import upsert_repository_row

    with session_scope() as session:
        known = upsert_repository_row(session, payload)
    return known.id, known.is_private


# --------------------------------------------------------------------------------- the cache hit
# With a session id, the caller's session row is checked by the same statement (the rules of
# ``identity.sessions.load_active_session``: not revoked, not expired): authentication and the cache hit
# share one round trip. The JWT signature was checked before, without the database.
_HIT_SQL = """
WITH hit AS (
    SELECT r.id, r.repository_id, repo.is_private, {column} AS data, r.generated_at, r.expires_at,
           (ac.user_id IS NOT NULL) AS access_ok, {session_ok} AS session_ok
    FROM repositories repo
    JOIN reports r
      ON r.repository_id = repo.id AND r.timeframe = :timeframe
     AND r.timeframe_start = :start AND r.timeframe_end = :end AND r.owner_user_id IS NULL
    LEFT JOIN repository_access_checks ac
      ON ac.user_id = :user_id AND ac.repository_id = repo.id AND ac.expires_at > now(){session_join}
    WHERE repo.full_name = :full_name
      AND (r.expires_at IS NULL OR r.expires_at > now())
      AND r.summariser = :summariser AND r.prompt_version = :prompt_version
){access_cte}
SELECT id, repository_id, is_private, data, generated_at, expires_at, access_ok, session_ok FROM hit
"""
_SESSION_JOIN = """
    LEFT JOIN sessions s
      ON s.id = :session_id AND s.user_id = :user_id AND s.revoked_at IS NULL AND s.expires_at > now()"""
# The access is written only when it was not already recorded in the last minute: the SPA's four section
# requests (and reloads) then cost one write, and a repeated hit is a read-only statement (no commit flush).
_ACCESS_CTE = """, seen AS (
    INSERT INTO user_report_access (user_id, report_id, accessed_at)
    SELECT :user_id, hit.id, now() FROM hit
    WHERE hit.session_ok AND (NOT hit.is_private OR hit.access_ok)
      AND NOT EXISTS (
          SELECT 1 FROM user_report_access a
          WHERE a.user_id = :user_id AND a.report_id = hit.id AND a.accessed_at > now() - interval '1 minute'
      )
    ON CONFLICT (user_id, report_id) DO UPDATE SET accessed_at = excluded.accessed_at
)"""
_HIT_STATEMENTS = {
    (section, with_user, with_session): text(
        _HIT_SQL.format(
            column=column,
            access_cte=_ACCESS_CTE if with_user else "",
            session_ok="(s.id IS NOT NULL)" if with_session else "true",
            session_join=_SESSION_JOIN if with_session else "",
        )
    )
    for section, column in _SECTION_COLUMN.items()
    for with_user in (True, False)
    for with_session in (True, False)
}


def find_section(
    full_name: str,
    timeframe: str,
    start: dt.datetime,
    end: dt.datetime,
    section: str,
    fingerprint: Fingerprint,
    user_id: int | None,
    session_id: str | None = None,
) -> SectionHit | None:
    """The cache hit: one statement, one round trip. Records ``user_id``'s access when it may be served
    (a live session when ``session_id`` is given; a public repository, or a remembered positive access
    check of that user)."""
    stmt = _HIT_STATEMENTS[(section, user_id is not None, session_id is not None)]
    params = {
        "full_name": full_name.lower(),
        "timeframe": timeframe,
        "start": start,
        "end": end,
        "summariser": fingerprint.summariser,
        "prompt_version": fingerprint.prompt_version,
        "user_id": user_id,
        "session_id": session_id,
    }
    # One statement, so autocommit: one round trip instead of BEGIN + statement + COMMIT. (psycopg's
    # autocommit is a client-side switch: no SET is sent, nothing pins an RDS Proxy connection.)
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        row = conn.execute(stmt, params).first()
    if row is None:
        return None
    return SectionHit(
        report_id=row.id,
        repository_id=row.repository_id,
        is_private=row.is_private,
        access_ok=row.access_ok,
        session_ok=row.session_ok,
        data=row.data,
        generated_at=row.generated_at,
        expires_at=row.expires_at,
    )


# A report names its repository as GitHub displays it (``Octo/Hello``), like the repositories API does;
# ``repositories.full_name`` is the lower-case key.
_DISPLAY_NAME = (Repository.owner + "/" + Repository.name).label("full_name")


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
        owner_user_id=report.owner_user_id,
        viewer_seen=viewer_seen,
    )


def _record_access(session: Session, user_id: int, report_id: int) -> None:
    stmt = pg_insert(UserReportAccess).values(user_id=user_id, report_id=report_id, accessed_at=func.now())
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[UserReportAccess.user_id, UserReportAccess.report_id],
            set_={"accessed_at": stmt.excluded.accessed_at},
        )
    )


def load_report(report_id: int, *, viewer: int | None = None) -> StoredReport | None:
    """A report by id (with its repository name). With ``viewer``, the same statement says whether that
    user has a record of seeing it (``StoredReport.viewer_seen``): a private report's id that the viewer
    never saw is refused without a GitHub call, at the cost of a missing id."""
    seen: Any = false()
    if viewer is not None:
        seen = or_(
            select(UserReportAccess.id)
            .where(UserReportAccess.user_id == viewer, UserReportAccess.report_id == Report.id)
            .exists(),
            select(RepositoryAccessCheck.user_id)
            .where(
                RepositoryAccessCheck.user_id == viewer,
                RepositoryAccessCheck.repository_id == Report.repository_id,
                RepositoryAccessCheck.expires_at > func.now(),
            )
            .exists(),
        )
    with session_scope() as session:
        row = session.execute(
            select(Report, _DISPLAY_NAME, Repository.is_private, seen.label("viewer_seen"))
            .join(Repository, Repository.id == Report.repository_id)
            .where(Report.id == report_id)
        ).first()
        if row is None:
            return None
        return _stored(row, bool(row.viewer_seen))


def record_access(user_id: int, report_id: int) -> None:
    with session_scope() as session:
        _record_access(session, user_id, report_id)


def current_generated_at(key: CacheKey) -> dt.datetime | None:
    """When the report of ``key`` was generated (None without one): a forced regeneration waits for a
    report newer than this."""
    with session_scope() as session:
        return session.scalar(select(Report.generated_at).where(key.report_where()))


# --------------------------------------------------------------------------------- private access
def remember_access(user_id: int, repository_id: int, ttl: dt.timedelta) -> None:
    stmt = pg_insert(RepositoryAccessCheck).values(
        user_id=user_id,
        repository_id=repository_id,
        verified_at=func.now(),
        expires_at=func.now() + ttl,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[RepositoryAccessCheck.user_id, RepositoryAccessCheck.repository_id],
        set_={"verified_at": stmt.excluded.verified_at, "expires_at": stmt.excluded.expires_at},
    )
    with session_scope() as session:
        session.execute(stmt)


def has_remembered_access(user_id: int, repository_id: int) -> bool:
    with session_scope() as session:
        found = session.scalar(
            select(RepositoryAccessCheck.user_id).where(
                RepositoryAccessCheck.user_id == user_id,
                RepositoryAccessCheck.repository_id == repository_id,
                RepositoryAccessCheck.expires_at > func.now(),
            )
        )
    return found is not None


# --------------------------------------------------------------------------------- force quota
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


# --------------------------------------------------------------------------------- single flight
def claim(
    key: CacheKey,
    *,
    lease: dt.timedelta,
    requested_by: int | None,
    force: bool,
    fingerprint: Fingerprint | None = None,
    newer_than: dt.datetime | None = None,
) -> uuid.UUID | None:
    """Claim the generation of ``key``: a new job and the key's lease, in one transaction.

    The lease row is inserted with ``ON CONFLICT DO NOTHING``; when a lease exists but has expired (its
    generator died) it is taken over with a conditional UPDATE, and the abandoned job is marked failed.
    Returns the new job id, or None when another generator holds a live lease (nothing is written).

    With ``fingerprint``, the claim also backs off when a usable report exists once the lease is held: a
    generator that finished between the caller's poll and this claim has deleted its lease and committed
    its report in one transaction, and that commit is visible to the statement after our lease insert
    (READ COMMITTED), so a finished generation is never followed by a second one."""
    job_id = uuid.uuid4()
    with session_scope() as session:
        session.execute(
            insert(ReportJob).values(
                id=job_id,
                repo=key.repo,
                timeframe=key.timeframe,
                timeframe_start=key.start,
                timeframe_end=key.end,
                status="in_progress",
                progress=0,
                message="starting",
                force=force,
                requested_by=requested_by,
                started_at=func.now(),
            )
        )
        claimed = session.execute(
            pg_insert(ReportGeneration)
            .values(
                repo=key.repo,
                timeframe=key.timeframe,
                timeframe_start=key.start,
                timeframe_end=key.end,
                job_id=job_id,
                lease_expires_at=func.now() + lease,
            )
            .on_conflict_do_nothing()
            .returning(ReportGeneration.job_id)
        ).first()
        if claimed is None:
            stale = session.execute(
                select(ReportGeneration.job_id)
                .where(key.lease_where(), ReportGeneration.lease_expires_at < func.now())
                .with_for_update(skip_locked=True)
            ).first()
            taken = None
            if stale is not None:
                taken = session.execute(
                    update(ReportGeneration)
                    .where(
                        key.lease_where(),
                        ReportGeneration.job_id == stale.job_id,
                        ReportGeneration.lease_expires_at < func.now(),
                    )
                    .values(job_id=job_id, lease_expires_at=func.now() + lease, claimed_at=func.now())
                    .returning(ReportGeneration.job_id)
                ).first()
            if stale is None or taken is None:
                session.rollback()  # the job row goes too: a failed claim writes nothing
                return None
            session.execute(
                update(ReportJob)
                .where(ReportJob.id == stale.job_id, ReportJob.status.in_(("queued", "in_progress")))
                .values(
                    status="failed",
                    error="The generation was interrupted; it was restarted.",
                    error_code="generation_interrupted",
                    error_status=503,
                    finished_at=func.now(),
                )
            )
        if fingerprint is not None and session.scalar(_usable_report(key, fingerprint, newer_than)):
            session.rollback()  # somebody finished it meanwhile: serve theirs
            return None
    return job_id


def renew(key: CacheKey, job_id: uuid.UUID, *, lease: dt.timedelta, progress: int, message: str) -> bool:
    """Record progress and extend the lease; False when the lease is no longer this job's."""
    with session_scope() as session:
        session.execute(
            update(ReportJob)
            .where(ReportJob.id == job_id)
            .values(progress=func.greatest(ReportJob.progress, progress), message=message[:200])
        )
        renewed = session.execute(
            update(ReportGeneration)
            .where(key.lease_where(), ReportGeneration.job_id == job_id)
            .values(lease_expires_at=func.now() + lease)
            .returning(ReportGeneration.job_id)
        ).first()
    return renewed is not None


def complete(
    key: CacheKey, job_id: uuid.UUID, repository_id: int, payload: ReportPayload, expires_at: dt.datetime
) -> int:
    """Store the generated report (replacing the key's stale row, keeping its id), release the lease and
    complete the job: one short transaction. Returns the report id."""
    values = {
        "repository_id": repository_id,
        "timeframe": key.timeframe,
        "timeframe_start": key.start,
        "timeframe_end": key.end,
        # Text from GitHub and the model, cleaned of what Postgres cannot store (NUL, lone surrogates).
        "tldr_text": pg_text(payload.tldr),
        "prs": pg_json(_json(list(payload.prs))),
        "issues": pg_json(_json(list(payload.issues))),
        "people": pg_json(_json(list(payload.people))),
        "generated_at": func.now(),
        "expires_at": expires_at,
        "version": REPORT_VERSION,
        "summariser": payload.summariser,
        "prompt_version": payload.prompt_version,
    }
    stmt = pg_insert(Report).values(**values)
    upsert = stmt.on_conflict_do_update(
        index_elements=[Report.repository_id, Report.timeframe, Report.timeframe_start, Report.timeframe_end],
        index_where=Report.owner_user_id.is_(None),  # the shared row's partial unique index
        set_={
            k: stmt.excluded[k]
            for k in values
            if k not in ("repository_id", "timeframe", "timeframe_start", "timeframe_end")
        },
    ).returning(Report.id)
    with session_scope() as session:
        report_id = int(session.execute(upsert).scalar_one())
        session.execute(delete(ReportGeneration).where(key.lease_where(), ReportGeneration.job_id == job_id))
        session.execute(
            update(ReportJob)
            .where(ReportJob.id == job_id)
            .values(
                status="completed",
                progress=100,
                message="done",
                repository_id=repository_id,
                report_id=report_id,
                finished_at=func.now(),
            )
        )
    return report_id


def fail(key: CacheKey, job_id: uuid.UUID, failure: JobFailure) -> None:
    """Release the lease and mark the job failed; nothing is cached. A job that completed after all (its
    completion committed but the answer was lost with the connection) stays completed."""
    with session_scope() as session:
        session.execute(delete(ReportGeneration).where(key.lease_where(), ReportGeneration.job_id == job_id))
        session.execute(
            update(ReportJob)
            .where(ReportJob.id == job_id, ReportJob.status.in_(("queued", "in_progress")))
            .values(
                status="failed",
                message="failed",
                error=failure.detail,
                error_code=failure.code,
                error_status=failure.status,
                retry_after=failure.retry_after,
                finished_at=func.now(),
            )
        )


def abandon(key: CacheKey, job_id: uuid.UUID) -> None:
    """Release the lease and delete the job: a generation refused by its caller's own token (401/403/404)
    leaves nothing behind; its followers find the job gone and try with their own token."""
    with session_scope() as session:
        session.execute(delete(ReportGeneration).where(key.lease_where(), ReportGeneration.job_id == job_id))
        session.execute(
            delete(ReportJob).where(ReportJob.id == job_id, ReportJob.status.in_(("queued", "in_progress")))
        )


def _usable_report(key: CacheKey, fingerprint: Fingerprint, newer_than: dt.datetime | None) -> Any:
    """The id of the key's report that may be served: not expired, written by the current summariser and
    prompt, and (for a forced regeneration) newer than the report it replaces."""
    conditions = [
        key.report_where(),
        or_(Report.expires_at.is_(None), Report.expires_at > func.now()),
        Report.summariser == fingerprint.summariser,
        Report.prompt_version == fingerprint.prompt_version,
    ]
    if newer_than is not None:
        conditions.append(Report.generated_at > newer_than)
    return select(Report.id).where(*conditions)


def poll(
    key: CacheKey,
    fingerprint: Fingerprint,
    *,
    newer_than: dt.datetime | None,
    followed_job: uuid.UUID | None,
) -> PollState:
    """Where the key stands: a usable report, the live lease, the outcome of the followed job."""
    with session_scope() as session:
        report_id = session.scalar(_usable_report(key, fingerprint, newer_than))
        lease = session.execute(
            select(
                ReportGeneration.job_id, (ReportGeneration.lease_expires_at < func.now()).label("stale")
            ).where(key.lease_where())
        ).first()
        failure, gone = None, False
        if followed_job is not None and report_id is None:
            job = session.execute(
                select(
                    ReportJob.status,
                    ReportJob.report_id,
                    ReportJob.error,
                    ReportJob.error_code,
                    ReportJob.error_status,
                    ReportJob.retry_after,
                ).where(ReportJob.id == followed_job)
            ).first()
            if job is None:
                gone = True
            elif job.status == "completed" and job.report_id is not None:
                report_id = job.report_id
            elif job.status == "failed":
                failure = JobFailure(
                    detail=job.error or "The report could not be generated.",
                    code=job.error_code or "generation_failed",
                    status=job.error_status or 502,
                    retry_after=job.retry_after,
                )
    return PollState(
        report_id=report_id,
        lease_job=lease.job_id if lease else None,
        lease_stale=bool(lease.stale) if lease else False,
        followed_failure=failure,
        followed_gone=gone,
    )


def job_progress(job_id: uuid.UUID) -> int:
    """A job's progress (0-100); 100 for a job that no longer runs or does not exist (nothing to wait for)."""
    with session_scope() as session:
        row = session.execute(
            select(ReportJob.status, ReportJob.progress).where(ReportJob.id == job_id)
        ).first()
    if row is None or row.status not in ("queued", "in_progress"):
        return 100
    return int(row.progress)


def job_view(job_id: uuid.UUID, *, visible_to: int | None = None) -> JobView | None:
    """A job's status. With ``visible_to``, only when that user may see the job's report (None otherwise,
    the answer for an unknown job): the user asked for it, or the repository row is public, or private
    with the user's access shown (a remembered positive check, or the job's report in their history)."""
    stmt = select(ReportJob).where(ReportJob.id == job_id)
    if visible_to is not None:
        access_shown = or_(
            select(RepositoryAccessCheck.user_id)
            .where(
                RepositoryAccessCheck.user_id == visible_to,
                RepositoryAccessCheck.repository_id == Repository.id,
                RepositoryAccessCheck.expires_at > func.now(),
            )
            .exists(),
            select(UserReportAccess.id)
            .where(UserReportAccess.user_id == visible_to, UserReportAccess.report_id == ReportJob.report_id)
            .exists(),
        )
        stmt = stmt.outerjoin(Repository, Repository.full_name == ReportJob.repo).where(
            or_(
                ReportJob.requested_by == visible_to,
                and_(Repository.id.is_not(None), or_(Repository.is_private.is_(False), access_shown)),
            )
        )
    with session_scope() as session:
        job = session.scalars(stmt).first()
        if job is None:
            return None
        return JobView(
            id=job.id,
            status=job.status,
            progress=job.progress,
            report_id=job.report_id,
            error=job.error,
            repo=job.repo,
        )


@dataclass(frozen=True)
class Visibility:
    """What the database knows of a repository for one user, before anything is asked of GitHub."""

    is_private: bool
    access_ok: bool  # a remembered positive access check of this user


def repository_visibility(full_name: str, user_id: int | None) -> Visibility | None:
    """The known ``repositories`` row of ``full_name`` and the user's remembered access; None when the
    repository was never looked up. One statement."""
    check = (
        select(RepositoryAccessCheck.user_id)
        .where(
            RepositoryAccessCheck.user_id == user_id,
            RepositoryAccessCheck.repository_id == Repository.id,
            RepositoryAccessCheck.expires_at > func.now(),
        )
        .exists()
    )
    with session_scope() as session:
        row = session.execute(
            select(Repository.is_private, check.label("access_ok")).where(
                Repository.full_name == full_name.lower()
            )
        ).first()
    if row is None:
        return None
    return Visibility(is_private=bool(row.is_private), access_ok=bool(row.access_ok) and user_id is not None)


# --------------------------------------------------------------------------------- listings
@dataclass(frozen=True)
class SummaryRow:
    id: int
    repo: str
    timeframe: str
    timeframe_start: dt.datetime
    timeframe_end: dt.datetime
    generated_at: dt.datetime
    expires_at: dt.datetime | None
    accessed_at: dt.datetime | None
    pr_count: int
    issue_count: int
    people_count: int


def encode_cursor(moment: dt.datetime, row_id: int) -> str:
    raw = json.dumps([moment.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# The moments a cursor can name (in UTC): anything outside these years was not issued by us, and year 1 or
# 9999 in another time zone is out of Python's range once converted to UTC.
CURSOR_YEARS = (1970, 9999)
MAX_CURSOR_CHARS = 200


def decode_cursor(cursor: str, *, max_id: int) -> tuple[dt.datetime, int]:
    """The keyset position of an opaque cursor; :class:`BadRequest` (400 ``invalid_cursor``) for anything
    we did not issue: not our encoding, a moment outside :data:`CURSOR_YEARS`, or an id outside
    ``1..max_id`` (the range of the keyset's id column: bigint for accesses, integer for reports)."""
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("cursor too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment_text, row_id = json.loads(raw)
        moment = dt.datetime.fromisoformat(moment_text)
        if moment.tzinfo is None or not isinstance(row_id, int) or isinstance(row_id, bool):
            raise ValueError("bad cursor")
        moment = moment.astimezone(dt.UTC)
        if not CURSOR_YEARS[0] <= moment.year <= CURSOR_YEARS[1] or not 1 <= row_id <= max_id:
            raise ValueError("cursor out of range")
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor") from exc
    return moment, row_id


def _counts() -> list[Any]:
    return [
        func.jsonb_array_length(Report.prs).label("pr_count"),
        func.jsonb_array_length(Report.issues).label("issue_count"),
        func.jsonb_array_length(Report.people).label("people_count"),
    ]


def list_user_reports(
    user_id: int, *, limit: int, after: tuple[dt.datetime, int] | None
) -> tuple[list[SummaryRow], tuple[dt.datetime, int] | None]:
    """The reports ``user_id`` opened, newest access first (keyset on ``(accessed_at, access id)``)."""
    stmt = (
        select(
            UserReportAccess.id.label("access_id"),
            UserReportAccess.accessed_at,
            Report.id,
            _DISPLAY_NAME,
            Report.timeframe,
            Report.timeframe_start,
            Report.timeframe_end,
            Report.generated_at,
            Report.expires_at,
            *_counts(),
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


def list_reports(
    *, full_name: str | None, timeframe: str | None, limit: int, after: tuple[dt.datetime, int] | None
) -> tuple[list[SummaryRow], tuple[dt.datetime, int] | None]:
    """Every cached (shared) report (admin), newest first (keyset on ``(generated_at, id)``); users' own
    imported copies are not the cache and are not listed."""
    stmt = (
        select(
            Report.id,
            _DISPLAY_NAME,
            Report.timeframe,
            Report.timeframe_start,
            Report.timeframe_end,
            Report.generated_at,
            Report.expires_at,
            *_counts(),
        )
        .join(Repository, Repository.id == Report.repository_id)
        .where(Report.owner_user_id.is_(None))
        .order_by(Report.generated_at.desc(), Report.id.desc())
        .limit(limit + 1)
    )
    if full_name is not None:
        stmt = stmt.where(Repository.full_name == full_name.lower())
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


def _summary(row: Row[Any], accessed_at: dt.datetime | None) -> SummaryRow:
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

    repository_id = select(Repository.id).where(Repository.full_name == full_name.lower()).scalar_subquery()
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
