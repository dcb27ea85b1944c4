"""The worker: runs the generations queued on SQS (:mod:`oss_tldr.reports.queue`), one job per message.

For each message (``ReportWorkerFunction``, through Powertools' batch utility):

1. the body names a job (anything else is a poisoned message: it fails, and after
   ``REPORT_QUEUE_MAX_RECEIVES`` receives SQS moves it to the dead-letter queue);
2. a job that no longer runs — completed, failed, or deleted by the cleanup — is done: a redelivered message
   does nothing (idempotent);
3. the worker adopts the key's lease (:func:`handoff.adopt`); a usable report written meanwhile completes
   the job without a generation (a private one only after the asker's own token reaches the repository),
   and another generation holding the live lease makes the message come back
   later (by then that one has written the report the job is completed with), and so does a duplicate
   delivery of a job another invocation is generating (its own live lease, ``in_progress``);
4. it generates with the token of the user who asked (the service token for a job nobody signed in asked
   for) through the same generation and store as a request (:func:`cache.run_claimed`), the job's progress
   moving at the generation's milestones (GitHub answered 1→3, summaries up to 99, the report stored 100).

A transient failure (GitHub or OpenAI unavailable or rate limited, the database away) releases the lease
and puts the job back to ``queued``; the message fails and comes back after the queue's visibility timeout.
On the last receive the job is marked failed instead (its error, as the requests that follow it see it)
and the message still fails, so SQS keeps it in the dead-letter queue. A permanent failure (the repository
not found for that token, the token refused) marks the job failed and consumes the message.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from oss_tldr.errors import DomainError, NotFound
from oss_tldr.observability import MetricUnit, logger, metrics
from oss_tldr.reports import cache, handoff, jobs
from oss_tldr.reports.models import JobFailure
from oss_tldr.reports.service import current_fingerprint, generator_for
from oss_tldr.reports.visibility import Requester, ensure_private_access, repository_not_found
from oss_tldr.settings import get_settings
from oss_tldr.windows import Window


class RetryLater(Exception):
    """The message should come back (SQS redelivers it after its visibility timeout, or ``retry_after``)."""

    def __init__(self, reason: str, *, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class JobRun:
    job_id: uuid.UUID
    outcome: str  # completed | served | finished | unknown | failed


def is_transient(failure: JobFailure) -> bool:
    """A failure a later attempt may not have: upstreams or the database away, a rate limit, time out."""
    return failure.status >= 500 or failure.status == 429 or failure.code == "deadline_exceeded"


def _may_see(
    job: handoff.QueuedJob,
    requester: Requester,
    owner: str,
    name: str,
    repository_id: int,
    *,
    last_receive: bool,
) -> bool:
    """Whether the asker's own token reaches the private repository whose report was written meanwhile;
    otherwise the job fails as a missing repository's does. A transient lookup failure retries the message
    (on the last receive it fails the job)."""
    try:
        ensure_private_access(requester, owner, name, repository_id)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            exc = repository_not_found()
        failure = JobFailure(exc.detail, exc.code, exc.status, exc.retry_after)
        if is_transient(failure) and not last_receive:
            raise
        jobs.fail(job.key, job.id, failure)
        if is_transient(failure):
            raise
        return False
    return True


def run_job(job_id: uuid.UUID, *, receive_count: int) -> JobRun:
    """Run one queued job (see the module docstring). Raises :class:`RetryLater` (or the generation's
    error) when the message must fail this receive."""
    settings = get_settings()
    last_receive = receive_count >= settings.report_queue_max_receives
    job = handoff.load_job(job_id)
    if job is None:
        logger.info("queued job no longer exists", extra={"job_id": str(job_id)})
        return JobRun(job_id, "unknown")
    if not job.running:
        return JobRun(job_id, "finished")
    lease = dt.timedelta(seconds=settings.report_lease_seconds)
    fingerprint = current_fingerprint(settings)
    owner, _, name = job.key.repo.partition("/")
    requester = Requester.user(job.requested_by) if job.requested_by is not None else Requester.service()
    adoption = handoff.adopt(job, fingerprint, lease=lease)
    if adoption.outcome == "check":
        assert adoption.repository_id is not None
        if not _may_see(job, requester, owner, name, adoption.repository_id, last_receive=last_receive):
            return JobRun(job_id, "failed")
        adoption = handoff.adopt(job, fingerprint, lease=lease)  # the asker's access is remembered now
    if adoption.outcome in ("finished", "served"):
        return JobRun(job_id, adoption.outcome)
    if adoption.outcome == "running":
        # Another invocation generates this job (its own message comes back if it dies). Not failed, even
        # on the last receive; back once its lease would have lapsed, so a dead run is taken over then.
        raise RetryLater("the job runs in another invocation", retry_after=settings.report_lease_seconds)
    if adoption.outcome == "busy":
        if last_receive:
            busy = JobFailure(
                "Another generation of this report is running; ask again shortly.",
                "report_generating",
                503,
                5,
            )
            jobs.fail(job.key, job_id, busy)
        raise RetryLater("another generation holds the key's lease")
    window = Window(job.key.timeframe, job.key.start, job.key.end)

    def record_failure(failure: JobFailure) -> None:
        if is_transient(failure) and not last_receive:
            handoff.requeue(job.key, job_id, failure)
        else:
            jobs.fail(job.key, job_id, failure)  # the asker sees why (a job is shown to its askers only)

    try:
        outcome = cache.run_claimed(
            job.key,
            job_id,
            generator_for(requester, owner, name, window),
            expires_at=window.expires_at,
            lease=lease,
            on_failure=record_failure,
        )
    except DomainError as exc:
        failure = JobFailure(exc.detail, exc.code, exc.status, exc.retry_after)
        if is_transient(failure):
            raise  # the message fails: retried, or kept in the dead-letter queue after the last receive
        return JobRun(job_id, "failed")
    metrics.add_metric(name="GenerationSeconds", unit=MetricUnit.Seconds, value=outcome.seconds)
    return JobRun(job_id, "completed")
