"""The scheduled cleanup on real Postgres: exactly what is expired or past retention goes, live rows stay,
overlapping runs delete each row once, small batches still finish, a run short of time stops early."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from typing import Any

import pytest
from helpers import load_event
from sqlalchemy import func, insert, select, text

from oss_tldr.db.models import (
    AuditLog,
    ItemSummary,
    OAuthState,
    Report,
    ReportForceUsage,
    ReportGeneration,
    ReportJob,
    Repository,
    RepositoryAccessCheck,
    User,
    UserReportAccess,
    UserSession,
    WebhookDelivery,
)
from oss_tldr.deadline import request_deadline
from oss_tldr.maintenance import cleanup
from oss_tldr.windows import REFRESH, TIMEFRAMES
from tools.lambda_local import functions, load_handler

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
M = dt.timedelta(minutes=1)


def db_now(db) -> dt.datetime:
    return db.scalar(select(func.now()))


def add_user(db, user_id: int = 1) -> int:
    db.execute(insert(User).values(id=user_id, login=f"user{user_id}"))
    return user_id


def add_repository(db, full_name: str = "octo/hello") -> int:
    owner, name = full_name.split("/")
    return db.scalar(
        insert(Repository)
        .values(full_name=full_name, owner=owner, name=name, html_url=f"https://github.com/{full_name}")
        .returning(Repository.id)
    )


def item(number: int) -> dict[str, Any]:
    return {"id": f"I_{number}", "number": number, "title": f"item {number}", "updated_at": "2026-01-01"}


def add_report(
    db,
    repository_id: int,
    expires_at: dt.datetime | None,
    *,
    timeframe: str = "last_week",
    slot: int,
    owner: int | None = None,
    prs: list[int] = (),
) -> int:
    """A report row; ``slot`` makes its window (and so its cache key) distinct."""
    end = dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + slot * H
    return db.scalar(
        insert(Report)
        .values(
            repository_id=repository_id,
            timeframe=timeframe,
            timeframe_start=end - D,
            timeframe_end=end,
            expires_at=expires_at,
            owner_user_id=owner,
            prs=[item(n) for n in prs],
        )
        .returning(Report.id)
    )


def add_job(db, status: str, finished_at: dt.datetime | None, *, slot: int = 0) -> uuid.UUID:
    end = dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + slot * H
    return db.scalar(
        insert(ReportJob)
        .values(
            repo="octo/hello",
            timeframe="last_week",
            timeframe_start=end - D,
            timeframe_end=end,
            status=status,
            finished_at=finished_at,
        )
        .returning(ReportJob.id)
    )


def add_lease(db, lease_expires_at: dt.datetime, *, slot: int) -> uuid.UUID:
    job = add_job(db, "in_progress", None, slot=slot)
    end = dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + slot * H
    db.execute(
        insert(ReportGeneration).values(
            repo="octo/hello",
            timeframe="last_week",
            timeframe_start=end - D,
            timeframe_end=end,
            job_id=job,
            lease_expires_at=lease_expires_at,
        )
    )
    return job


def ids(db, column) -> set[Any]:
    return set(db.scalars(select(column)).all())


def test_exactly_the_expired_and_finished_rows_go_and_the_live_ones_stay(engine, db):
    now = db_now(db)
    alice = add_user(db, 1)
    repo = add_repository(db)
    other = add_repository(db, "octo/other")

    # reports: per timeframe one live, one expired but within its grace (one refresh period), one past it
    keep, drop, slot = set(), set(), 0
    for timeframe in TIMEFRAMES:
        grace = REFRESH[timeframe]
        for expires_at, bucket in ((now + H, keep), (now - grace + M, keep), (now - grace - M, drop)):
            slot += 1
            bucket.add(add_report(db, repo, expires_at, timeframe=timeframe, slot=slot))
    keep.add(add_report(db, repo, None, slot=100))  # never expires
    keep.add(add_report(db, repo, now - 400 * D, slot=101, owner=alice))  # a user's own imported copy
    used_by_live = add_report(db, other, now + H, slot=102, prs=[7])
    used_by_expired = add_report(db, other, now - 30 * D, slot=103, prs=[8])
    keep.add(used_by_live)
    drop.add(used_by_expired)

    # the history: old access to a live report goes, recent stays; access to a deleted report goes with it
    db.execute(
        insert(UserReportAccess),
        [
            {"user_id": alice, "report_id": used_by_live, "accessed_at": now - 91 * D},
            {"user_id": alice, "report_id": min(keep - {used_by_live}), "accessed_at": now - 89 * D},
            {"user_id": alice, "report_id": used_by_expired, "accessed_at": now - H},
        ],
    )

    # jobs and leases
    done_old = add_job(db, "completed", now - 2 * H, slot=1)
    failed_old = add_job(db, "failed", now - 2 * H, slot=2)
    done_recent = add_job(db, "completed", now - 10 * M, slot=3)
    stale = add_lease(db, now - 20 * M, slot=4)  # its generator died long ago
    lapsing = add_lease(db, now - M, slot=5)  # lapsed just now: left to a takeover
    live = add_lease(db, now + M, slot=6)

    # sign-in states and sessions
    db.execute(
        insert(OAuthState),
        [
            {"state_hash": name, "code_verifier": "v", "expires_at": expires_at}
            for name, expires_at in (("old", now - 2 * H), ("late", now - 10 * M), ("live", now + 5 * M))
        ],
    )
    db.execute(
        insert(UserSession),
        [
            {"id": "expired", "user_id": alice, "expires_at": now - 2 * D},
            {"id": "revoked", "user_id": alice, "expires_at": now + 30 * D, "revoked_at": now - 2 * D},
            {"id": "just-revoked", "user_id": alice, "expires_at": now + D, "revoked_at": now - H},
            {"id": "just-expired", "user_id": alice, "expires_at": now - H},
            {"id": "live", "user_id": alice, "expires_at": now + D},
        ],
    )

    # audit, access checks, force quota
    db.execute(
        insert(AuditLog),
        [{"action": "old", "created_at": now - 91 * D}, {"action": "recent", "created_at": now - 89 * D}],
    )
    db.execute(
        insert(RepositoryAccessCheck),
        [
            {"user_id": alice, "repository_id": repo, "expires_at": now - M},
            {"user_id": alice, "repository_id": other, "expires_at": now + M},
        ],
    )
    today = now.astimezone(dt.UTC).date()
    db.execute(
        insert(ReportForceUsage),
        [{"user_id": alice, "day": today - dt.timedelta(days=n), "count": 1} for n in (0, 1, 3)],
    )

    # item summaries: old and unused goes; old but in a remaining report stays; recent stays
    summaries = [
        ("octo/hello", 1, now - 40 * D),  # unused, old: goes
        ("octo/other", 7, now - 40 * D),  # in a live report: stays
        ("octo/other", 8, now - 40 * D),  # only in a report the cleanup deletes: goes
        ("octo/hello", 2, now - 20 * D),  # recent: stays
    ]
    db.execute(
        insert(ItemSummary),
        [
            {
                "repository": r,
                "item_number": n,
                "item_updated_at": now,
                "summariser": "extractive",
                "prompt_version": "v1",
                "summary": "s",
                "created_at": created,
            }
            for r, n, created in summaries
        ],
    )

    # webhook deliveries: processed past 30 days goes; processed recently or never processed stays
    db.execute(
        insert(WebhookDelivery),
        [
            {
                "delivery_id": "old",
                "event": "issues",
                "received_at": now - 31 * D,
                "processed_at": now - 31 * D,
            },
            {
                "delivery_id": "recent",
                "event": "ping",
                "received_at": now - 29 * D,
                "processed_at": now - 29 * D,
            },
            {"delivery_id": "unprocessed", "event": "issues", "received_at": now - 40 * D},
        ],
    )
    db.commit()

    result = cleanup.run_cleanup()

    assert result.complete is True
    assert ids(db, Report.id) == keep
    assert result.deleted == {
        "reports": len(drop),
        "report_generations": 1,
        "report_jobs": 2,
        "oauth_states": 1,
        "sessions": 2,
        "user_report_access": 1,
        "audit_log": 1,
        "repository_access_checks": 1,
        "report_force_usage": 1,
        "item_summaries": 2,
        "webhook_deliveries": 1,
        **dict.fromkeys(
            cleanup.TABLES[-5:], 0
        ),  # the deep dive's (tests/maintenance/test_cleanup_deepdive.py)
    }
    assert db.scalars(select(UserReportAccess.accessed_at)).all() == [now - 89 * D]
    assert ids(db, ReportJob.id) == {done_recent, stale, lapsing, live}
    assert done_old not in ids(db, ReportJob.id) and failed_old not in ids(db, ReportJob.id)
    assert ids(db, ReportGeneration.job_id) == {lapsing, live}
    db.expire_all()
    jobs = {job.id: job for job in db.scalars(select(ReportJob)).all()}
    assert (jobs[stale].status, jobs[stale].error_code) == ("failed", "generation_interrupted")
    assert jobs[stale].finished_at is not None
    assert jobs[lapsing].status == jobs[live].status == "in_progress"
    assert ids(db, OAuthState.state_hash) == {"late", "live"}
    assert ids(db, UserSession.id) == {"just-revoked", "just-expired", "live"}
    assert ids(db, AuditLog.action) == {"recent"}
    assert ids(db, RepositoryAccessCheck.repository_id) == {other}
    assert ids(db, ReportForceUsage.day) == {today, today - dt.timedelta(days=1)}
    assert set(db.execute(select(ItemSummary.repository, ItemSummary.item_number)).all()) == {
        ("octo/other", 7),
        ("octo/hello", 2),
    }

    assert ids(db, WebhookDelivery.delivery_id) == {"recent", "unprocessed"}

    again = cleanup.run_cleanup()  # nothing left to do; the stale lease's failed job waits its hour
    assert again.complete is True and again.total == 0


def test_the_retention_is_configurable(engine, db, settings_env):
    now = db_now(db)
    db.execute(
        insert(AuditLog),
        [{"action": "a", "created_at": now - 40 * D}, {"action": "b", "created_at": now - 20 * D}],
    )
    db.commit()
    assert cleanup.run_cleanup().deleted["audit_log"] == 0  # 90 days by default
    settings_env(RETENTION_DAYS="30")
    assert cleanup.run_cleanup().deleted["audit_log"] == 1
    assert ids(db, AuditLog.action) == {"b"}
    assert cleanup.run_cleanup(retention_days=10).deleted["audit_log"] == 1


def seed_reports(db, expired: int, live: int) -> None:
    """``expired`` reports past every grace and ``live`` ones of one repository, in one statement."""
    repo = add_repository(db)
    db.execute(
        text(
            """
            INSERT INTO reports (repository_id, timeframe, timeframe_start, timeframe_end, expires_at)
            SELECT :repo, 'last_week', timestamptz '2020-01-01' + n * interval '1 hour' - interval '7 days',
                   timestamptz '2020-01-01' + n * interval '1 hour',
                   CASE WHEN n <= :expired THEN now() - interval '30 days' + n * interval '1 second'
                        ELSE now() + interval '1 hour' END
            FROM generate_series(1, :total) AS n
            """
        ),
        {"repo": repo, "expired": expired, "total": expired + live},
    )
    db.commit()


def test_a_batch_smaller_than_the_rows_still_finishes_in_several_batches(engine, db):
    seed_reports(db, expired=50, live=20)
    result = cleanup.run_cleanup(batch_size=7)
    assert result.complete is True
    assert result.deleted["reports"] == 50
    assert result.batches >= 8 + len(cleanup.TABLES) - 1  # 8 batches of reports, one of each other table
    assert db.scalar(select(func.count()).select_from(Report)) == 20
    assert db.scalar(select(func.count()).where(Report.expires_at < func.now())) == 0


def test_two_runs_at_once_delete_each_row_once_and_neither_fails(engine, db):
    seed_reports(db, expired=3000, live=1000)
    now = db_now(db)
    db.execute(insert(AuditLog), [{"action": f"a{n}", "created_at": now - 100 * D} for n in range(1500)])
    db.commit()
    start = threading.Barrier(2)
    results: list[cleanup.CleanupResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            results.append(cleanup.run_cleanup(batch_size=100))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 2 and all(r.complete for r in results)
    assert sum(r.deleted["reports"] for r in results) == 3000
    assert sum(r.deleted["audit_log"] for r in results) == 1500
    assert db.scalar(select(func.count()).select_from(Report)) == 1000
    assert db.scalar(select(func.count()).where(Report.expires_at > func.now())) == 1000
    assert db.scalar(select(func.count()).select_from(AuditLog)) == 0


def test_a_run_with_little_time_left_stops_early_and_reports_what_it_did(engine, db):
    seed_reports(db, expired=50, live=5)
    checks = iter([60.0, 60.0, 60.0])  # room for three batches, then the deadline is near

    result = cleanup.run_cleanup(batch_size=10, time_left=lambda: next(checks, 0.5))
    assert result.complete is False
    assert result.batches == 3
    assert result.deleted["reports"] == 30
    assert result.total == 30
    assert db.scalar(select(func.count()).select_from(Report)) == 25

    with request_deadline(cleanup.MIN_BATCH_SECONDS / 2):  # less than a batch needs: nothing is started
        nothing = cleanup.run_cleanup(batch_size=10)
    assert nothing.complete is False and nothing.batches == 0 and nothing.total == 0

    rest = cleanup.run_cleanup(batch_size=10)  # the next run goes on where that one stopped
    assert rest.complete is True and rest.deleted["reports"] == 20
    assert db.scalar(select(func.count()).select_from(Report)) == 5


def test_the_reports_batch_is_a_range_of_the_partial_expiry_index(engine, db):
    seed_reports(db, expired=2000, live=2000)
    db.execute(text("ANALYZE reports"))
    db.commit()
    statement = cleanup._Reports(db_now(db)).pick(1000).compile(engine)
    with engine.begin() as conn:
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", statement.params))
    assert "ix_reports_expires_at" in plan, plan


def test_the_function_runs_on_the_schedules_event_and_publishes_what_it_did(
    engine, db, lambda_context, capsys, powertools_output
):
    seed_reports(db, expired=3, live=2)
    response = load_handler("CleanupFunction")(load_event("cleanup_schedule.json"), lambda_context)
    assert response["complete"] is True
    assert response["deleted"]["reports"] == 3 and response["total"] == 3
    assert set(response["deleted"]) == set(cleanup.TABLES)

    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    per_table = {
        blob["table"]: int(blob["CleanupDeleted"][0])
        for blob in blobs
        if "CleanupDeleted" in blob and blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    }
    assert per_table == response["deleted"]
    names = {m["Name"] for blob in blobs for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"CleanupDeleted", "CleanupSeconds", "CleanupIncomplete"} <= names
    lines = [json.loads(line) for line in powertools_output.getvalue().splitlines()]
    finished = [line for line in lines if line["message"] == "cleanup finished"]
    assert len(finished) == 1 and finished[0]["cleanup"]["deleted"] == response["deleted"]


def test_the_template_schedules_the_function_hourly_with_the_events_shape():
    props = functions()["CleanupFunction"]
    assert props["CodeUri"] == "functions/cleanup/"
    assert props["Timeout"] == 300
    (schedule,) = props["Events"].values()
    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["ScheduleExpression"] == "rate(1 hour)"
    sent = json.loads(schedule["Properties"]["Input"]["Fn::Sub"])
    assert set(sent) == set(load_event("cleanup_schedule.json"))
    assert sent["source"] == "aws.scheduler"


@pytest.mark.parametrize("size", [0, -1])
def test_a_batch_size_below_one_is_refused(size):
    with pytest.raises(ValueError):
        cleanup.run_cleanup(batch_size=size)
