"""Adversarial review of the worker (issue 10, item 3): SQS delivers at least once, so a message can reach a
second invocation while the first one is still generating its job; that must not be a second generation
of the key, nor fail the job the first invocation is running."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from fixtures_identity import Account, Cast
from fixtures_queue import failures, generate
from helpers import call_route
from sqlalchemy import func, select

from oss_tldr.db.models import ReportGeneration, ReportJob
from tools.fakes.github_activity import seed_activity

REPO = "octo/hello"
GRAPHQL = r"^/graphql$"
USERS = Cast(alice=Account(711, "gho_fake_alice_r"), bob=Account(712, "gho_fake_bob_r"))


@pytest.fixture
def world(fake_github, fake_openai, report_queue, settings_env):
    settings_env(REPORT_WAIT_SECONDS="1")
    seed_activity(fake_github, REPO, now=dt.datetime.now(dt.UTC), prs=4, issues=3, seed=9)
    return fake_github


def _adopted_by_another_invocation(job_id: str) -> None:
    """What a first invocation did with the job before generating: adopted the key's lease."""
    from oss_tldr.reports import handoff
    from oss_tldr.reports.service import current_fingerprint

    job = handoff.load_job(uuid.UUID(job_id))
    assert job is not None
    adoption = handoff.adopt(job, current_fingerprint(), lease=dt.timedelta(seconds=90))
    assert adoption.outcome == "adopted"


def _queued_job(user_id: int, repo: str) -> uuid.UUID:
    from oss_tldr.reports import jobs, refresh
    from oss_tldr.reports.models import CacheKey
    from oss_tldr.windows import window_for

    window = window_for("last_week")
    key = CacheKey(repo, window.timeframe, window.start, window.end)
    job_id = jobs.claim(key, lease=dt.timedelta(seconds=90), requested_by=user_id, force=False, queued=True)
    assert job_id is not None
    refresh.hand_off(job_id)
    return job_id


@pytest.mark.parametrize("receive_count", [1, 3])
def test_a_duplicate_delivery_while_the_job_runs_is_not_a_second_generation(
    engine, db, world, report_queue, alice, receive_count
):
    job_id = generate(alice).json()["job_id"]
    _adopted_by_another_invocation(job_id)  # invocation 1 is generating it right now
    from oss_tldr.reports.worker import RetryLater, run_job

    with pytest.raises(RetryLater):  # the duplicate comes back later (by then the job is done)
        run_job(uuid.UUID(job_id), receive_count=receive_count)
    assert world.count("POST", GRAPHQL) == 0  # no second generation of the key
    # The running job is neither failed nor stripped of its lease, even on the duplicate's last receive.
    assert db.scalar(select(ReportJob.status).where(ReportJob.id == uuid.UUID(job_id))) == "in_progress"
    assert db.scalar(select(func.count()).select_from(ReportGeneration)) == 1


def test_a_duplicate_message_through_the_queue_is_retried_not_run(engine, db, world, report_queue, alice):
    job_id = generate(alice).json()["job_id"]
    _adopted_by_another_invocation(job_id)
    report_queue.send(json.dumps({"v": 1, "job_id": job_id}))  # the duplicate
    answer = report_queue.deliver()  # both messages reach this invocation
    assert answer is not None and len(failures(answer)) == 2
    assert world.count("POST", GRAPHQL) == 0


def test_a_redelivery_after_the_running_invocation_died_takes_the_job_over(
    engine, db, world, report_queue, alice
):
    from sqlalchemy import update

    job_id = generate(alice).json()["job_id"]
    _adopted_by_another_invocation(job_id)
    # That invocation died: its lease lapsed, nobody renews it.
    db.execute(update(ReportGeneration).values(lease_expires_at=func.now() - dt.timedelta(seconds=1)))
    db.commit()
    from oss_tldr.reports.worker import run_job

    assert run_job(uuid.UUID(job_id), receive_count=2).outcome == "completed"
    assert world.count("POST", GRAPHQL) == 1
    assert db.scalar(select(ReportJob.status).where(ReportJob.id == uuid.UUID(job_id))) == "completed"


def test_an_outsiders_queued_job_is_not_completed_with_a_private_report_written_meanwhile(
    engine, db, fake_github, fake_openai, report_queue, settings_env, alice, bob
):
    """Bob's token cannot see acme/secret. His job must end as a missing repository's does (failed,
    "Repository not found."), even when Alice's request wrote the private report while his job waited
    for its retry: "completed" with a report id would tell him the repository exists."""
    settings_env(REPORT_WAIT_SECONDS="1")
    fake_github.add_repo("acme/secret", private=True, visible_to={"gho_fake_alice_r"})
    seed_activity(fake_github, "acme/secret", now=dt.datetime.now(dt.UTC), prs=3, issues=2, seed=6)
    missing = {"status": "failed", "report_id": None, "error": "Repository not found."}
    # Bob's job, claimed and queued before anyone looked the repository up (as his request does when its
    # own lookup at the 202 failed for a moment, or the repository was public then).
    job_id = str(_queued_job(bob.id, "acme/secret"))
    fake_github.fail("POST", GRAPHQL, status=502, times=10)
    first = report_queue.deliver()  # a transient failure: back to queued, the lease released
    assert first is not None and len(failures(first)) == 1
    fake_github._failures.clear()
    owner = call_route(alice, "GET", "/api/v1/reports/acme/secret/prs", query="timeframe=last_week")
    assert owner.status == 200  # Alice's request generated the private report meanwhile
    report_queue.drain()
    answer = call_route(bob, "GET", f"/api/v1/reports/jobs/{job_id}").json()
    assert {k: answer[k] for k in ("status", "report_id", "error")} == {
        k: missing[k] for k in ("status", "report_id", "error")
    }


def test_an_insiders_queued_job_is_completed_with_the_private_report_after_her_own_lookup(
    engine, db, fake_github, fake_openai, report_queue, settings_env, alice
):
    from oss_tldr.db.models import RepositoryAccessCheck

    settings_env(REPORT_WAIT_SECONDS="1")
    fake_github.add_repo("acme/secret", private=True, visible_to={"gho_fake_alice_r"})
    seed_activity(fake_github, "acme/secret", now=dt.datetime.now(dt.UTC), prs=3, issues=2, seed=6)
    job_id = generate(alice, "acme/secret").json()["job_id"]
    fake_github.fail("POST", GRAPHQL, status=502, times=10)
    report_queue.deliver()
    fake_github._failures.clear()
    owner = call_route(alice, "GET", "/api/v1/reports/acme/secret/prs", query="timeframe=last_week")
    assert owner.status == 200
    db.execute(RepositoryAccessCheck.__table__.delete())  # her remembered access lapsed
    db.commit()
    fake_github.reset_counts()
    report_queue.drain()
    answer = call_route(alice, "GET", f"/api/v1/reports/jobs/{job_id}").json()
    assert answer["status"] == "completed" and answer["report_id"] is not None
    assert fake_github.count("POST", GRAPHQL) == 0 and fake_github.count() == 1  # her lookup, no generation


def test_an_outsider_cannot_tell_a_private_repository_being_generated_from_a_missing_one(
    engine, db, fake_github, fake_openai, report_queue, settings_env, alice, bob
):
    """While Alice's job of acme/secret (never looked up before) is queued, Bob's generate of it must get the
    same answer as his generate of a repository that does not exist."""
    settings_env(REPORT_WAIT_SECONDS="1")
    fake_github.add_repo("acme/secret", private=True, visible_to={"gho_fake_alice_r"})
    seed_activity(fake_github, "acme/secret", now=dt.datetime.now(dt.UTC), prs=3, issues=2, seed=6)
    assert generate(alice, "acme/secret").status == 202  # queued, the worker has not run it yet
    private = generate(bob, "acme/secret")
    missing = generate(bob, "acme/nothing-here")
    assert private.status == missing.status
    if missing.status == 202:  # then both are Bob's own jobs, and end alike
        report_queue.drain()
        ends = [
            call_route(bob, "GET", f"/api/v1/reports/jobs/{a.json()['job_id']}").json()
            for a in (private, missing)
        ]
        assert ends[0]["status"] == ends[1]["status"] and ends[0]["error"] == ends[1]["error"]
    else:
        assert private.json() == missing.json()
