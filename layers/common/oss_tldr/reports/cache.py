"""Single-flight generation of a shared report: exactly one generation per cache key, however many
requests (sections, users, Lambda containers) arrive at once.

The protocol, all in Postgres and all in short transactions (no advisory locks, no session ``SET``):

1. Poll the key: a usable report (not expired, written by the current summariser and prompt) ends it.
2. No live lease: *claim* one — a job row and the key's lease row, inserted together with
   ``INSERT … ON CONFLICT DO NOTHING RETURNING``; an expired lease (its generator crashed or was killed)
   is taken over with ``UPDATE … WHERE lease_expires_at < now() RETURNING``. Holding the lease, the claim
   backs off if a usable report exists after all (a generation finished since the poll). The winner
   commits the claim.
3. The winner generates *outside any transaction*, renewing its lease with each progress report, then in
   one short transaction upserts the report, deletes the lease and completes the job. A failure — of the
   generation or of that final write (the database gone for a moment, a value it refuses) — always
   releases the lease and marks the job failed with a safe error, in a fresh transaction retried with a
   short backoff within the request's deadline (:func:`_release`): nothing is cached, the next request
   generates at once instead of waiting for the lease to expire. A generation refused by its caller's
   own token (401/403/404) leaves no job row at all.
4. Everyone else follows the lease's job, polling with short sleeps (growing backoff) until the report
   appears, the followed job fails (they raise the same class of error, except answers that depend on
   the generator's token — 401/403/404 and a GitHub rate limit — after which they try with their own;
   so do followers whose job was deleted) or its lease goes stale (they try to take it over), bounded
   by the caller's deadline (:class:`GenerationPending` past it).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from oss_tldr import deadline as request_deadline
from oss_tldr.db.errors import log_exception
from oss_tldr.deadline import FIRST_WAIT_SECONDS, MAX_WAIT_SECONDS
from oss_tldr.errors import DomainError, UpstreamUnavailable
from oss_tldr.observability import MetricUnit, logger, metrics
from oss_tldr.reports import jobs, records
from oss_tldr.reports.models import CacheKey, Fingerprint, JobFailure, ReportPayload

P = TypeVar("P", bound=ReportPayload)
Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class Generated(Generic[P]):
    """What a generator returns: the repository it looked up (its id) and the report content."""

    repository_id: int
    payload: P


Generate = Callable[[Progress], Generated[P]]

DEFAULT_LEASE = dt.timedelta(seconds=90)
# Answers that depend on whose GitHub token asked (not found / not allowed / token refused): a waiter
# does not inherit them; it runs the generation with its own token instead. Such a generation leaves no
# job row (an outsider's refused request writes nothing).
PER_CALLER_STATUSES = frozenset({401, 403, 404})
# A GitHub rate limit is per token too: a waiter tries its own; and a generation that ran out of its own
# request's time says nothing about the waiter's. (An OpenAI rate limit is the shared key's and is
# inherited like any other failure.)
PER_CALLER_CODES = frozenset({"github_rate_limited", "deadline_exceeded"})
# Releasing the lease of a failed generation: attempts and backoff (0.1, 0.2, 0.4, 0.8, 1.0 s: a database
# away for a couple of seconds is outlasted), never past the request's deadline.
RELEASE_ATTEMPTS = 6
RELEASE_FIRST_BACKOFF = 0.1
RELEASE_MAX_BACKOFF = 1.0


class GenerationPending(Exception):
    """The caller's deadline passed while another request's generation of the key was still running."""

    def __init__(self, job_id: uuid.UUID | None, *, own: bool = False) -> None:
        super().__init__(f"report generation {job_id} still running")
        self.job_id = job_id
        self.own = own  # the job this call claimed and handed to the worker


class GenerationFailed(DomainError):
    """A generation this request waited for failed: the same status, code and detail as its error."""

    def __init__(self, failure: JobFailure) -> None:
        super().__init__(failure.detail, code=failure.code)
        self.status = failure.status
        self.retry_after = failure.retry_after


@dataclass(frozen=True)
class Outcome(Generic[P]):
    report_id: int
    job_id: uuid.UUID | None
    payload: P | None  # set when this call ran the generation
    seconds: float = 0.0

    @property
    def generated_here(self) -> bool:
        return self.payload is not None


def is_per_caller(failure: JobFailure) -> bool:
    """A failure that says something about the generator's token, not about the report."""
    return failure.status in PER_CALLER_STATUSES or failure.code in PER_CALLER_CODES


def failure_of(exc: Exception) -> tuple[DomainError, JobFailure]:
    """The error to raise and to record for a failed generation (details are safe by construction)."""
    error = (
        exc
        if isinstance(exc, DomainError)
        else UpstreamUnavailable(
            "The report could not be generated; try again shortly.", code="generation_failed"
        )
    )
    return error, JobFailure(
        detail=error.detail, code=error.code, status=error.status, retry_after=error.retry_after
    )


class _LeaseKeeper:
    """The progress callback handed to the generator: job progress + lease renewal, one short
    transaction per change of percentage."""

    def __init__(self, key: CacheKey, job_id: uuid.UUID, lease: dt.timedelta) -> None:
        self.key, self.job_id, self.lease = key, job_id, lease
        self.last = -1

    def __call__(self, pct: int, message: str) -> None:
        pct = max(0, min(99, int(pct)))  # 100 is written with the report
        if pct == self.last:
            return
        self.last = pct
        if not jobs.renew(self.key, self.job_id, lease=self.lease, progress=pct, message=message):
            logger.warning("generation lease lost", extra={"job_id": str(self.job_id)})


def get_or_generate(
    key: CacheKey,
    fingerprint: Fingerprint,
    generate: Generate[P],
    *,
    expires_at: dt.datetime,
    deadline: float,
    requested_by: int | None = None,
    force: bool = False,
    lease: dt.timedelta = DEFAULT_LEASE,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    before_claim: Callable[[], None] | None = None,
    claim_lost: Callable[[], None] | None = None,
    while_following: Callable[[float, uuid.UUID], None] | None = None,
    hand_off: Callable[[uuid.UUID], None] | None = None,
) -> Outcome[P]:
    """The report of ``key``: an existing one, the one this call generates, or the one another request
    is generating. ``deadline`` is a ``clock()`` value; past it a waiter raises :class:`GenerationPending`
    (a generator always finishes). ``force`` ignores the report existing now and waits for a newer one.

    ``before_claim`` runs right before this call tries to claim the generation (it may raise: nothing is
    claimed) and ``claim_lost`` when that claim lost to another request's; so only the request that
    actually generates pays for it (the force quota), not the ones following its generation.

    ``while_following`` runs before each wait for another request's generation, with the seconds this call
    has been waiting and the followed job; it may raise to stop waiting (the caller's own access check: an
    outsider must not learn that a private repository's generation is running).

    ``hand_off``: a claimed generation is queued for the worker (``hand_off(job_id)`` sends it) and this
    call follows that job like any other until ``deadline``; when the hand-off fails the generation runs
    here after all (a queue that is down costs latency, not the report).
    """
    newer_than = records.current_generated_at(key) if force else None
    followed: uuid.UUID | None = None
    handed_off: uuid.UUID | None = None
    wait = FIRST_WAIT_SECONDS
    started = clock()
    while True:
        state = jobs.poll(key, fingerprint, newer_than=newer_than, followed_job=followed)
        if state.report_id is not None:
            return Outcome(report_id=state.report_id, job_id=followed, payload=None)
        if state.lease_job is not None and not state.lease_stale and state.lease_job != followed:
            followed, wait = state.lease_job, FIRST_WAIT_SECONDS  # a (new) live generation: follow it
            continue
        if state.followed_gone and state.lease_job in (None, followed):
            followed = None  # its generator was refused by its own token: try with ours
            continue
        if state.followed_failure is not None and (state.lease_job is None or state.lease_job == followed):
            if is_per_caller(state.followed_failure):
                followed = None
                continue
            raise GenerationFailed(state.followed_failure)
        if state.lease_job is None or state.lease_stale:
            if before_claim is not None:
                before_claim()
            job_id = jobs.claim(
                key,
                lease=lease,
                requested_by=requested_by,
                force=force,
                fingerprint=fingerprint,
                newer_than=newer_than,
                queued=hand_off is not None,
            )
            if job_id is not None and hand_off is not None and _handed_off(hand_off, job_id):
                followed = handed_off = job_id
                wait = FIRST_WAIT_SECONDS
                continue
            if job_id is not None:
                return _generate(
                    key, job_id, generate, expires_at=expires_at, lease=lease, clock=clock, sleep=sleep
                )
            if claim_lost is not None:
                claim_lost()
            continue  # somebody else claimed or finished it between our poll and our claim: follow them
        if while_following is not None and followed is not None:
            while_following(clock() - started, followed)
        if clock() + wait > deadline:
            raise GenerationPending(followed, own=followed is not None and followed == handed_off)
        sleep(wait)
        wait = min(wait * 1.5, MAX_WAIT_SECONDS)


def _handed_off(hand_off: Callable[[uuid.UUID], None], job_id: uuid.UUID) -> bool:
    try:
        hand_off(job_id)
    except Exception as exc:  # the queue is unreachable: this request generates instead
        log_exception("queueing the generation failed; generating in the request", exc, job_id=str(job_id))
        return False
    return True


def _generate(
    key: CacheKey,
    job_id: uuid.UUID,
    generate: Generate[P],
    *,
    expires_at: dt.datetime,
    lease: dt.timedelta,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> Outcome[P]:
    return run_claimed(
        key,
        job_id,
        generate,
        expires_at=expires_at,
        lease=lease,
        clock=clock,
        on_failure=lambda failure: _release(key, job_id, failure, sleep=sleep),
    )


def run_claimed(
    key: CacheKey,
    job_id: uuid.UUID,
    generate: Generate[P],
    *,
    expires_at: dt.datetime,
    lease: dt.timedelta,
    on_failure: Callable[[JobFailure], None],
    clock: Callable[[], float] = time.monotonic,
) -> Outcome[P]:
    """Run the generation of a claimed key (its lease is ``job_id``'s) and store it; on any failure
    ``on_failure`` records it (releasing the lease: :func:`_release` for a request, the worker's own rule
    for a queued job) and the generation's safe error is raised."""
    started = clock()
    try:
        generated = generate(_LeaseKeeper(key, job_id, lease))
        report_id = jobs.complete(key, job_id, generated.repository_id, generated.payload, expires_at)
    except Exception as exc:
        error, failure = failure_of(exc)
        metrics.add_metric(name="GenerationFailed", unit=MetricUnit.Count, value=1)  # the alarm's metric
        if not isinstance(exc, DomainError):
            log_exception("report generation failed", exc, job_id=str(job_id))
        else:
            logger.warning("report generation failed", extra={"job_id": str(job_id), "code": error.code})
        on_failure(failure)
        if error is exc:
            raise
        raise error from exc
    return Outcome(report_id=report_id, job_id=job_id, payload=generated.payload, seconds=clock() - started)


def _release(
    key: CacheKey, job_id: uuid.UUID, failure: JobFailure, *, sleep: Callable[[float], None]
) -> None:
    """Release the lease of a failed generation and record the failure (or, for a per-caller refusal,
    delete the job): each attempt a fresh transaction, retried with a short backoff while the request's
    deadline allows. Never raises: the caller answers the generation's own error. If every attempt fails
    the lease expires by itself (``REPORT_LEASE_SECONDS``) and is taken over."""
    refused = failure.status in PER_CALLER_STATUSES
    wait = RELEASE_FIRST_BACKOFF
    for attempt in range(1, RELEASE_ATTEMPTS + 1):
        try:
            if refused:
                jobs.abandon(key, job_id)
            else:
                jobs.fail(key, job_id, failure)
            return
        except Exception as exc:  # the database is away: try again shortly, in a new transaction
            left = request_deadline.remaining()
            out_of_time = left is not None and left - wait < request_deadline.MIN_CALL_SECONDS
            if attempt == RELEASE_ATTEMPTS or out_of_time:
                log_exception("generation lease not released", exc, job_id=str(job_id))
                return
            logger.warning("releasing the generation lease failed; retrying", extra={"attempt": attempt})
            sleep(wait)
            wait = min(wait * 2, RELEASE_MAX_BACKOFF)
