"""Generations handed to the worker: a miss of ``POST /reports/generate`` (:func:`hand_off`) and the one
refresh of a stale report (:func:`queue_refresh`), both over :mod:`oss_tldr.reports.queue`.

Stale-while-revalidate: with a queue configured, a report that expired less than one refresh period of its
timeframe ago (``windows.REFRESH``: the previous window's report during the whole current period, or this
window's report a webhook marked stale) is served at once with ``"stale": true``, and one refresh of the
current key is queued — once, whoever asks: the key's lease is the single flight (a live lease means the
refresh runs; the hit statement says so, so a stale hit that finds one writes nothing). A refresh that
failed is not queued again for :data:`RETRY_AFTER_FAILURE` (no storm of refreshes while GitHub is down: the
stale report is served meanwhile), nor while one waits in the queue for its retry (its lease released).
Without a queue nothing expired is served: a miss generates in the request, as before.
"""

from __future__ import annotations

import datetime as dt
import uuid

from oss_tldr.observability import MetricUnit, logger, metrics
from oss_tldr.reports import queue
from oss_tldr.reports.models import CacheKey, Fingerprint, JobFailure
from oss_tldr.settings import get_settings
from oss_tldr.windows import REFRESH, Window

RETRY_AFTER_FAILURE = dt.timedelta(seconds=60)


def stale_for(timeframe: str) -> dt.timedelta | None:
    """How long past its expiry a report of ``timeframe`` may be served stale; None without a queue."""
    return REFRESH[timeframe] if queue.configured() else None


def hand_off(job_id: uuid.UUID) -> None:
    """Queue a claimed generation for the worker (``cache.get_or_generate``'s ``hand_off``)."""
    queue.send(job_id)
    metrics.add_metric(name="GenerationQueued", unit=MetricUnit.Count, value=1)


def queue_refresh(
    full_name: str, window: Window, fingerprint: Fingerprint, *, requested_by: int | None
) -> uuid.UUID | None:
    """Queue the one refresh of the current key of a stale report; the job, or None when a refresh already
    runs (another request claimed it), failed a moment ago, waits for its retry, or could not be queued."""
    # Imported when a refresh is queued, not with the stale hit's module: the leases and jobs are ORM
    # statements, which a cold start serving a hit does not load (docs/performance.md, cold start).
    from oss_tldr.reports import handoff, jobs

    key = CacheKey(full_name, window.timeframe, window.start, window.end)
    retry_within = dt.timedelta(seconds=queue.MAX_RETRY_SECONDS)  # a queued job's message comes back by then
    if handoff.failed_or_retrying(key, failed_within=RETRY_AFTER_FAILURE, retry_within=retry_within):
        return None
    lease = dt.timedelta(seconds=get_settings().report_lease_seconds)
    job_id = jobs.claim(
        key, lease=lease, requested_by=requested_by, force=False, fingerprint=fingerprint, queued=True
    )
    if job_id is None:
        return None
    try:
        hand_off(job_id)
    except queue.QueueUnavailable as exc:
        logger.warning("queueing a stale report's refresh failed", extra={"job_id": str(job_id)})
        jobs.fail(key, job_id, JobFailure(exc.detail, exc.code, exc.status, exc.retry_after))
        return None
    metrics.add_metric(name="StaleRefreshQueued", unit=MetricUnit.Count, value=1)
    return job_id
