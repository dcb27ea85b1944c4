"""Adversarial review of the worker (issue 10, item 3): SQS delivers at least once, so a message can reach a
second invocation while the first one is still generating its job; that must not be a second generation
of the key, nor fail the job the first invocation is running."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from fixtures_identity import Account, Cast
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


def generate(user: Any, repo: str = REPO) -> Any:
    return call_route(user, "POST", "/api/v1/reports/generate", body={"repo_url": repo})


def failures(answer: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in answer.get("batchItemFailures", [])]


def _adopted_by_another_invocation(job_id: str) -> None:
    """What a first invocation did with the job before generating: adopted the key's lease."""
    from oss_tldr.reports import handoff
    from oss_tldr.reports.service import current_fingerprint

    job = handoff.load_job(uuid.UUID(job_id))
    assert job is not None
    adoption = handoff.adopt(job, current_fingerprint(), lease=dt.timedelta(seconds=90))
    assert adoption.outcome == "adopted"


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
