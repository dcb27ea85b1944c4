"""The storage side of a generation handed to the worker (:mod:`oss_tldr.reports.worker`): reading a queued
job, the worker adopting its key's lease, and a transient failure putting the job back in the queue.

Like :mod:`oss_tldr.reports.jobs`, every function is one short transaction, never open across a GitHub or
OpenAI call; the lease rules (one live lease per key, a lapsed one taken over) are the same.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from oss_tldr.db.engine import session_scope
from oss_tldr.db.models import Report, ReportGeneration, ReportJob, Repository
from oss_tldr.reports import access
from oss_tldr.reports.jobs import RUNNING, completed, usable_report
from oss_tldr.reports.models import CacheKey, Fingerprint, JobFailure


@dataclass(frozen=True)
class QueuedJob:
    id: uuid.UUID
    key: CacheKey
    status: str
    force: bool
    requested_by: int | None
    created_at: dt.datetime

    @property
    def running(self) -> bool:
        return self.status in RUNNING


@dataclass(frozen=True)
class Adoption:
    """What the worker found for a job: ``adopted`` (the lease is the job's now: generate), ``served`` (a
    usable report exists: the job was completed with it), ``busy`` (another job holds the key's live lease:
    ask again later), ``running`` (this job already runs, its live lease held by another invocation that
    received the same message: SQS delivers at least once; ask again later), ``finished`` (the job is no
    longer running: nothing to do), ``check`` (a usable report of a private repository the asker is not
    known to see: nothing was written; the worker looks the repository up with the asker's token first)."""

    outcome: str
    report_id: int | None = None
    repository_id: int | None = None  # ``check``: the private repository the asker's token must reach


def load_job(job_id: uuid.UUID) -> QueuedJob | None:
    with session_scope() as session:
        job = session.get(ReportJob, job_id)
        if job is None:
            return None
        return QueuedJob(
            id=job.id,
            key=CacheKey(job.repo, job.timeframe, job.timeframe_start, job.timeframe_end),
            status=job.status,
            force=job.force,
            requested_by=job.requested_by,
            created_at=job.created_at,
        )


def adopt(job: QueuedJob, fingerprint: Fingerprint, *, lease: dt.timedelta) -> Adoption:
    """Make the key's lease the job's, in one transaction: the lease the claim took (still the job's, live
    or lapsed; live and ``in_progress`` is another invocation running it: ``running``), a free key (its
    lease released after a transient failure), or another job's lapsed lease
    (taken over). A usable report (for a forced job: one written after the job was asked for) completes the
    job at once instead; another job's live lease is ``busy``."""
    key = job.key
    with session_scope() as session:
        status = session.scalar(select(ReportJob.status).where(ReportJob.id == job.id).with_for_update())
        if status not in RUNNING:
            return Adoption("finished")
        newer_than = job.created_at if job.force else None
        usable = usable_report(key, fingerprint, newer_than).subquery()
        found = session.execute(
            select(usable.c.id, Report.repository_id, Repository.is_private)
            .join(Report, Report.id == usable.c.id)
            .join(Repository, Repository.id == Report.repository_id)
        ).first()
        report_id = found.id if found is not None else None
        if found is not None and found.is_private and not _seen_by(session, job, found.repository_id):
            # A private report another request wrote: the asker's own token must reach the repository
            # first (the worker looks it up), or the job would tell an outsider that it exists.
            return Adoption("check", report_id, found.repository_id)
        if report_id is not None:
            session.execute(
                delete(ReportGeneration).where(key.lease_where(), ReportGeneration.job_id == job.id)
            )
            _finish(session, job.id, report_id)
            return Adoption("served", report_id)
        lease_row = session.execute(
            select(ReportGeneration.job_id, (ReportGeneration.lease_expires_at < func.now()).label("lapsed"))
            .where(key.lease_where())
            .with_for_update()
        ).first()
        if lease_row is None:
            session.execute(
                insert(ReportGeneration).values(
                    **key.columns(), job_id=job.id, lease_expires_at=func.now() + lease
                )
            )
        elif lease_row.job_id == job.id and status == "in_progress" and not lease_row.lapsed:
            return Adoption("running")  # a duplicate delivery: the invocation that adopted it generates
        elif lease_row.job_id == job.id or lease_row.lapsed:
            session.execute(
                update(ReportGeneration)
                .where(key.lease_where())
                .values(job_id=job.id, lease_expires_at=func.now() + lease, claimed_at=func.now())
            )
        else:
            return Adoption("busy")
        session.execute(
            update(ReportJob)
            .where(ReportJob.id == job.id)
            .values(status="in_progress", message="starting", started_at=func.now())
        )
    return Adoption("adopted")


def _seen_by(session: Session, job: QueuedJob, repository_id: int) -> bool:
    if job.requested_by is None:
        return False
    return bool(session.scalar(select(access.remembered(job.requested_by, repository_id))))


def _finish(session: Session, job_id: uuid.UUID, report_id: int) -> None:
    session.execute(
        update(ReportJob)
        .where(ReportJob.id == job_id, ReportJob.status.in_(RUNNING))
        .values(**completed(report_id))
    )


def requeue(key: CacheKey, job_id: uuid.UUID, failure: JobFailure) -> None:
    """A transient failure with receives left: release the lease (the next request may generate at once)
    and put the job back to ``queued`` for the message's next receive. Nothing is cached."""
    with session_scope() as session:
        session.execute(delete(ReportGeneration).where(key.lease_where(), ReportGeneration.job_id == job_id))
        session.execute(
            update(ReportJob)
            .where(ReportJob.id == job_id, ReportJob.status.in_(RUNNING))
            .values(status="queued", message=f"retrying: {failure.detail}"[:200])
        )


def failed_or_retrying(key: CacheKey, *, failed_within: dt.timedelta, retry_within: dt.timedelta) -> bool:
    """Whether a generation of ``key`` failed within ``failed_within``, or waits in the queue for its retry
    (put back to ``queued`` by :func:`requeue` within ``retry_within``, its lease released meanwhile): a
    stale report's refresh is not queued again on every request while GitHub or OpenAI are down, nor a
    second time while the first one's message is coming back."""
    with session_scope() as session:
        found = session.scalar(
            select(ReportJob.id)
            .where(
                key.job_where(),
                or_(
                    and_(ReportJob.status == "failed", ReportJob.finished_at > func.now() - failed_within),
                    and_(ReportJob.status == "queued", ReportJob.updated_at > func.now() - retry_within),
                ),
            )
            .limit(1)
        )
    return found is not None
