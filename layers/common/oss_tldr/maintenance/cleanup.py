"""The scheduled cleanup (``CleanupFunction``, hourly): deletes what is expired or past retention.

Every table is emptied in **bounded batches**: one short transaction per batch deleting at most
``batch_size`` rows picked with ``SELECT … LIMIT n FOR UPDATE SKIP LOCKED`` (so two overlapping runs never
wait for each other nor delete a row twice, and no lock is held across batches), until a batch finds fewer
rows than it may take. Before each batch the run checks what is left of the invocation
(:mod:`oss_tldr.deadline`) and stops early — reporting ``complete=False`` and what it did — when less than
:data:`MIN_BATCH_SECONDS` (or twice its slowest batch) is left; the next run goes on where it stopped.

What goes (docs/operations.md, "Scheduled cleanup"), all relative to the database's ``now()`` at the start
of the run:

* shared **reports** whose ``expires_at`` passed more than one refresh period of their timeframe ago
  (1 h / 6 h / 24 h / 7 d, :data:`oss_tldr.windows.REFRESH`): that period is kept for stale-while-revalidate
  (a report that expired less than one refresh period ago may still be served stale while it refreshes).
  Through the partial ``ix_reports_expires_at`` index, oldest first, each batch starting where the last one
  ended (keyset), so the batches do not rescan what they skipped. A report without ``expires_at``, a live
  one and a user's own imported copy (``owner_user_id`` set: theirs, not a cache row) are never deleted;
- **report_generations** leases that lapsed more than :data:`STALE_LEASE_AGE` ago (their generator died and
  nobody asked for the key since); their jobs are marked failed like a takeover marks them;
- finished (``completed`` / ``failed``) **report_jobs** finished more than :data:`FINISHED_JOB_AGE` ago;
- **oauth_states** expired more than :data:`OAUTH_STATE_GRACE` ago (a used state is deleted when used);
- **sessions** expired or revoked more than :data:`SESSION_RETENTION` ago;
- **user_report_access** and **audit_log** rows older than ``RETENTION_DAYS`` (90);
- **repository_access_checks** that expired;
- **report_force_usage** counts of UTC days before yesterday (the quota counts today only);
- **item_summaries** older than :data:`SUMMARY_AGE` that no remaining report uses
  (:func:`oss_tldr.reports.item_cache.prune_summaries`), after the reports;
- **webhook_deliveries** processed more than :data:`WEBHOOK_DELIVERY_AGE` ago (GitHub redelivers a delivery
  only on request, within days: the row is what makes that redelivery a no-op);
- the deep dive's **pr_patch_sets** (with their ``pr_patches``) and **deep_dives** not checked against GitHub
  for :data:`DEEP_DIVE_AGE`, **patch_explanations** older than that, **deep_dive_claims** whose lease lapsed
  more than :data:`STALE_LEASE_AGE` ago, and **deep_dive_usage** counts of days before yesterday.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import single_metric
from sqlalchemy import ColumnElement, Select, case, delete, func, or_, select, tuple_

from oss_tldr import deadline
from oss_tldr.db.engine import session_scope
from oss_tldr.db.models import (
    AuditLog,
    DeepDive,
    DeepDiveClaim,
    DeepDiveUsage,
    OAuthState,
    PatchExplanation,
    PatchSet,
    Report,
    ReportForceUsage,
    ReportJob,
    RepositoryAccessCheck,
    UserReportAccess,
    UserSession,
    WebhookDelivery,
)
from oss_tldr.observability import MetricUnit, logger, metrics
from oss_tldr.reports import item_cache, jobs
from oss_tldr.settings import get_settings
from oss_tldr.windows import REFRESH

BATCH_SIZE = 1000
FINISHED_JOB_AGE = dt.timedelta(hours=1)  # GET /reports/jobs/{id} answers for a finished job this long
STALE_LEASE_AGE = dt.timedelta(minutes=10)  # the report function's timeout is 90 s: its generator is dead
OAUTH_STATE_GRACE = dt.timedelta(hours=1)  # a late callback still hears "expired", not "unknown"
SESSION_RETENTION = dt.timedelta(days=1)  # an ended session is kept a day for support, then deleted
SUMMARY_AGE = dt.timedelta(days=30)
WEBHOOK_DELIVERY_AGE = dt.timedelta(days=30)
DEEP_DIVE_AGE = dt.timedelta(days=30)  # patch sets, explanations and deep dives nobody asked for since
FORCE_USAGE_DAYS = 2  # today's count is the quota; yesterday's is kept for a request around midnight
MIN_BATCH_SECONDS = 2.0  # stop when less is left (a batch of 1,000 rows takes a fraction of a second)

TimeLeft = Callable[[], float | None]
"""Seconds left of the invocation (None: no limit): :func:`oss_tldr.deadline.remaining` by default."""


@dataclass
class CleanupResult:
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows deleted by this run
    seconds: float = 0.0
    batches: int = 0
    complete: bool = True  # False: stopped before the deadline with work left for the next run

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "deleted": dict(self.deleted),
            "total": self.total,
            "seconds": round(self.seconds, 3),
            "batches": self.batches,
            "complete": self.complete,
        }


def _delete_batch(model: Any, *conditions: ColumnElement[bool], limit: int, order_by: Any = None) -> int:
    """One transaction: delete at most ``limit`` rows of ``model`` matching ``conditions``, picked with
    ``FOR UPDATE SKIP LOCKED`` (by primary key, which may be composite)."""
    keys = list(model.__table__.primary_key.columns)
    pick = select(*keys).where(*conditions)
    if order_by is not None:
        pick = pick.order_by(order_by)
    pick = pick.limit(limit).with_for_update(skip_locked=True)
    target = keys[0] if len(keys) == 1 else tuple_(*keys)
    with session_scope() as session:
        result = session.execute(
            delete(model).where(target.in_(pick)).execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class _Reports:
    """Expired shared reports past their grace, oldest expiry first, each batch after the last one's end."""

    def __init__(self, now: dt.datetime) -> None:
        self.cutoffs = {timeframe: now - period for timeframe, period in REFRESH.items()}
        self.after: dt.datetime | None = None

    def pick(self, limit: int) -> Select[int]:
        """The ids of the next batch, locked (``SKIP LOCKED``): a range of the partial expiry index."""
        conditions = [
            Report.owner_user_id.is_(None),
            Report.expires_at < max(self.cutoffs.values()),  # the index range: the shortest grace
            Report.expires_at < case(self.cutoffs, value=Report.timeframe),  # each timeframe's own
        ]
        if self.after is not None:
            conditions.append(Report.expires_at >= self.after)
        return (
            select(Report.id)
            .where(*conditions)
            .order_by(Report.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )

    def __call__(self, limit: int) -> int:
        with session_scope() as session:
            expiries = (
                session.execute(
                    delete(Report)
                    .where(Report.id.in_(self.pick(limit)))
                    .returning(Report.expires_at)
                    .execution_options(synchronize_session=False)
                )
                .scalars()
                .all()
            )
        if expiries:
            self.after = max(e for e in expiries if e is not None)
        return len(expiries)


def _tasks(now: dt.datetime, retention: dt.timedelta) -> list[tuple[str, Callable[[int], int]]]:
    """(table, one batch) in the order a run works through them."""
    today = now.astimezone(dt.UTC).date()
    return [
        ("reports", _Reports(now)),
        ("report_generations", lambda n: jobs.release_stale_leases(now - STALE_LEASE_AGE, limit=n)),
        (
            "report_jobs",
            lambda n: _delete_batch(
                ReportJob,
                ReportJob.status.in_(("completed", "failed")),
                ReportJob.finished_at < now - FINISHED_JOB_AGE,
                limit=n,
            ),
        ),
        (
            "oauth_states",
            lambda n: _delete_batch(
                OAuthState,
                OAuthState.expires_at < now - OAUTH_STATE_GRACE,
                limit=n,
                order_by=OAuthState.expires_at,
            ),
        ),
        (
            "sessions",
            lambda n: _delete_batch(
                UserSession,
                or_(
                    UserSession.expires_at < now - SESSION_RETENTION,
                    UserSession.revoked_at < now - SESSION_RETENTION,
                ),
                limit=n,
            ),
        ),
        (
            "user_report_access",
            lambda n: _delete_batch(
                UserReportAccess, UserReportAccess.accessed_at < now - retention, limit=n
            ),
        ),
        (
            "audit_log",
            lambda n: _delete_batch(
                AuditLog, AuditLog.created_at < now - retention, limit=n, order_by=AuditLog.created_at
            ),
        ),
        (
            "repository_access_checks",
            lambda n: _delete_batch(RepositoryAccessCheck, RepositoryAccessCheck.expires_at < now, limit=n),
        ),
        (
            "report_force_usage",
            lambda n: _delete_batch(
                ReportForceUsage,
                ReportForceUsage.day < today - dt.timedelta(days=FORCE_USAGE_DAYS - 1),
                limit=n,
            ),
        ),
        ("item_summaries", lambda n: item_cache.prune_summaries(now - SUMMARY_AGE, limit=n)),
        (
            "webhook_deliveries",
            lambda n: _delete_batch(
                WebhookDelivery,
                WebhookDelivery.processed_at < now - WEBHOOK_DELIVERY_AGE,
                limit=n,
                order_by=WebhookDelivery.processed_at,
            ),
        ),
        *_deep_dive_tasks(now, today),
    ]


def _deep_dive_tasks(now: dt.datetime, today: dt.date) -> list[tuple[str, Callable[[int], int]]]:
    """The deep dive's tables (:mod:`oss_tldr.deepdive`): what nobody asked GitHub about for
    :data:`DEEP_DIVE_AGE` (a patch set's rows go with it), lapsed claims, and past days' quota counts."""
    old = now - DEEP_DIVE_AGE
    return [
        ("pr_patch_sets", lambda n: _delete_batch(PatchSet, PatchSet.checked_at < old, limit=n)),
        (
            "patch_explanations",
            lambda n: _delete_batch(PatchExplanation, PatchExplanation.created_at < old, limit=n),
        ),
        ("deep_dives", lambda n: _delete_batch(DeepDive, DeepDive.checked_at < old, limit=n)),
        (
            "deep_dive_claims",
            lambda n: _delete_batch(
                DeepDiveClaim, DeepDiveClaim.lease_expires_at < now - STALE_LEASE_AGE, limit=n
            ),
        ),
        (
            "deep_dive_usage",
            lambda n: _delete_batch(
                DeepDiveUsage, DeepDiveUsage.day < today - dt.timedelta(days=FORCE_USAGE_DAYS - 1), limit=n
            ),
        ),
    ]


TABLES = (
    "reports",
    "report_generations",
    "report_jobs",
    "oauth_states",
    "sessions",
    "user_report_access",
    "audit_log",
    "repository_access_checks",
    "report_force_usage",
    "item_summaries",
    "webhook_deliveries",
    "pr_patch_sets",
    "patch_explanations",
    "deep_dives",
    "deep_dive_claims",
    "deep_dive_usage",
)  # what a run deletes from, in its order (the keys of CleanupResult.deleted)


def run_cleanup(
    *,
    batch_size: int = BATCH_SIZE,
    retention_days: int | None = None,
    time_left: TimeLeft = deadline.remaining,
) -> CleanupResult:
    """Delete what is expired or past retention, table by table in bounded batches, until done or until
    too little time is left (see the module's docstring). Safe to run while another run is going."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    started = time.monotonic()
    retention = dt.timedelta(days=retention_days or get_settings().retention_days)
    with session_scope() as session:
        now: dt.datetime = session.execute(select(func.now())).scalar_one()
    result = CleanupResult(deleted=dict.fromkeys(TABLES, 0))
    tasks = _tasks(now, retention)
    assert tuple(table for table, _ in tasks) == TABLES
    slowest = 0.0
    for table, batch in tasks:
        while True:
            left = time_left()
            if left is not None and left < max(MIN_BATCH_SECONDS, 2 * slowest):
                result.complete = False
                break
            batch_started = time.monotonic()
            deleted = batch(batch_size)
            slowest = max(slowest, time.monotonic() - batch_started)
            result.batches += 1
            result.deleted[table] += deleted
            if deleted < batch_size:
                break
        if not result.complete:
            break
    result.seconds = time.monotonic() - started
    return result


def publish(result: CleanupResult) -> None:
    """One log line with the counts and the duration; ``CleanupDeleted`` per table (dimension ``table``,
    each its own EMF record), ``CleanupSeconds`` and ``CleanupIncomplete`` (1 when the run stopped early)
    through the function's metrics (flushed by its ``log_metrics``)."""
    logger.info("cleanup finished", extra={"cleanup": result.as_dict()})
    for table, count in result.deleted.items():
        with single_metric(
            name="CleanupDeleted",
            unit=MetricUnit.Count,
            value=count,
            namespace=metrics.namespace,
            default_dimensions={"service": metrics.service or "oss-tldr", "table": table},
        ):
            pass
    metrics.add_metric(name="CleanupSeconds", unit=MetricUnit.Seconds, value=result.seconds)
    metrics.add_metric(name="CleanupIncomplete", unit=MetricUnit.Count, value=0 if result.complete else 1)
