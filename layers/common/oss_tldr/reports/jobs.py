"""Single flight's storage: the generation lease of a cache key (``report_generations``) and the jobs
(``report_jobs``) that :mod:`oss_tldr.reports.cache` claims, renews, completes, fails and polls.

Every function is one short transaction (``session_scope``); none is ever open across a GitHub or OpenAI
call. A completion writes the report through the one report-row writer (:func:`records.write_report`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Select, case, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from oss_tldr.db.engine import session_scope
from oss_tldr.db.models import Report, ReportGeneration, ReportJob, ReportJobRequester
from oss_tldr.reports.models import (
    CacheKey,
    Fingerprint,
    JobFailure,
    JobView,
    PollState,
    ReportPayload,
    ReportSlot,
)
from oss_tldr.reports.records import write_report

RUNNING = ("queued", "in_progress")
# What a job whose generator died is marked with (its lease taken over, or released by the cleanup).
_INTERRUPTED = {
    "status": "failed",
    "error_code": "generation_interrupted",
    "error_status": 503,
    "finished_at": func.now(),
}


def claim(
    key: CacheKey,
    *,
    lease: dt.timedelta,
    requested_by: int | None,
    force: bool,
    fingerprint: Fingerprint | None = None,
    newer_than: dt.datetime | None = None,
    queued: bool = False,
) -> uuid.UUID | None:
    """Claim the generation of ``key``: a new job and the key's lease, in one transaction.

    The lease row is inserted with ``ON CONFLICT DO NOTHING``; when a lease exists but has expired (its
    generator died) it is taken over with a conditional UPDATE, and the abandoned job is marked failed.
    Returns the new job id, or None when another generator holds a live lease (nothing is written).

    With ``fingerprint``, the claim also backs off when a usable report exists once the lease is held: a
    generator that finished between the caller's poll and this claim has deleted its lease and committed
    its report in one transaction, and that commit is visible to the statement after our lease insert
    (READ COMMITTED), so a finished generation is never followed by a second one.

    ``queued``: the generation is handed to the worker (:mod:`oss_tldr.reports.queue`): the job starts
    ``queued`` and the worker marks it ``in_progress`` when it adopts it. The claimer (``requested_by``) is
    the job's first requester (:func:`add_requester`)."""
    job_id = uuid.uuid4()
    with session_scope() as session:
        session.execute(
            insert(ReportJob).values(
                id=job_id,
                **key.columns(),
                status="queued" if queued else "in_progress",
                progress=0,
                message="queued" if queued else "starting",
                force=force,
                requested_by=requested_by,
                started_at=None if queued else func.now(),
            )
        )
        if requested_by is not None:
            session.execute(insert(ReportJobRequester).values(job_id=job_id, user_id=requested_by))
        claimed = session.execute(
            pg_insert(ReportGeneration)
            .values(**key.columns(), job_id=job_id, lease_expires_at=func.now() + lease)
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
                .where(ReportJob.id == stale.job_id, ReportJob.status.in_(RUNNING))
                .values(error="The generation was interrupted; it was restarted.", **_INTERRUPTED)
            )
        if fingerprint is not None and session.scalar(usable_report(key, fingerprint, newer_than)):
            session.rollback()  # somebody finished it meanwhile: serve theirs
            return None
    return job_id


def release_stale_leases(expired_before: dt.datetime, *, limit: int) -> int:
    """The scheduled cleanup's batch: delete up to ``limit`` leases that lapsed before ``expired_before``
    (their generator died long ago and nobody took the key over) and mark their jobs failed, like a
    takeover does, in one transaction. ``SKIP LOCKED``: a lease being taken over (or released by an
    overlapping cleanup) right now is left to that transaction. Returns the leases deleted."""
    columns = (
        ReportGeneration.repo,
        ReportGeneration.timeframe,
        ReportGeneration.timeframe_start,
        ReportGeneration.timeframe_end,
    )
    key = tuple_(*columns)
    stale = (
        select(*columns)
        .where(ReportGeneration.lease_expires_at < expired_before)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with session_scope() as session:
        job_ids = (
            session.execute(
                delete(ReportGeneration)
                .where(key.in_(stale))
                .returning(ReportGeneration.job_id)
                .execution_options(synchronize_session=False)
            )
            .scalars()
            .all()
        )
        if job_ids:
            session.execute(
                update(ReportJob)
                .where(ReportJob.id.in_(job_ids), ReportJob.status.in_(RUNNING))
                .values(error="The generation was interrupted.", **_INTERRUPTED)
                .execution_options(synchronize_session=False)
            )
    return len(job_ids)


def renew(key: CacheKey, job_id: uuid.UUID, *, lease: dt.timedelta, progress: int, message: str) -> bool:
    """Record progress and extend the lease; False when the lease is no longer this job's."""
    with session_scope() as session:
        session.execute(
            update(ReportJob)
            .where(ReportJob.id == job_id)
            .values(
                progress=func.greatest(ReportJob.progress, progress),
                message=message[:200],
                # a queued job generated in the request after all (its hand-off failed) is running now
                status=case((ReportJob.status == "queued", "in_progress"), else_=ReportJob.status),
                started_at=func.coalesce(ReportJob.started_at, func.now()),
            )
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
    slot = ReportSlot(repository_id, key.timeframe, key.start, key.end)
    with session_scope() as session:
        report_id = write_report(session, slot, payload, expires_at=expires_at)
        assert report_id is not None  # the shared row is always written
        session.execute(delete(ReportGeneration).where(key.lease_where(), ReportGeneration.job_id == job_id))
        session.execute(
            update(ReportJob)
            .where(ReportJob.id == job_id)
            .values(**completed(report_id), repository_id=repository_id)
        )
    return report_id


def completed(report_id: int) -> dict[str, Any]:
    """What a completed job's row says (its generation's, or the report another generation wrote)."""
    return {
        "status": "completed",
        "progress": 100,
        "message": "done",
        "report_id": report_id,
        "finished_at": func.now(),
    }


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


def usable_report(key: CacheKey, fingerprint: Fingerprint, newer_than: dt.datetime | None) -> Select[int]:
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
        report_id = session.scalar(usable_report(key, fingerprint, newer_than))
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


def add_requester(job_id: uuid.UUID, user_id: int) -> None:
    """``user_id`` asked for the job too (its request was answered with it): the job is shown to them."""
    with session_scope() as session:
        session.execute(
            pg_insert(ReportJobRequester).values(job_id=job_id, user_id=user_id).on_conflict_do_nothing()
        )


def job_view(job_id: uuid.UUID, *, visible_to: int | None = None) -> JobView | None:
    """A job's status. With ``visible_to``, only when that user asked for the job (its claimer, or a request
    answered with it: ``report_job_requesters``); None otherwise, the answer for an unknown job."""
    stmt = select(ReportJob).where(ReportJob.id == job_id)
    if visible_to is not None:
        asked = select(ReportJobRequester.job_id).where(
            ReportJobRequester.job_id == ReportJob.id, ReportJobRequester.user_id == visible_to
        )
        stmt = stmt.where(asked.exists())
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
