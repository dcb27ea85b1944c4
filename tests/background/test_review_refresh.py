"""Adversarial review of stale-while-revalidate (issue 10, item 4): one refresh is queued, once, whoever
asks, also while that refresh waits for its retry after a transient failure."""

from __future__ import annotations

import datetime as dt

import pytest
from fixtures_identity import Account, Cast
from fixtures_queue import failures, generate, section
from sqlalchemy import func, select, update

from oss_tldr.db.models import Report, ReportJob
from tools.fakes.github_activity import seed_activity

REPO = "octo/hello"
GRAPHQL = r"^/graphql$"
USERS = Cast(alice=Account(721, "gho_fake_alice_s"), bob=Account(722, "gho_fake_bob_s"))


@pytest.fixture
def world(fake_github, fake_openai, report_queue, settings_env):
    settings_env(REPORT_WAIT_SECONDS="1")
    seed_activity(fake_github, REPO, now=dt.datetime.now(dt.UTC), prs=4, issues=3, seed=11)
    return fake_github


def test_a_refresh_waiting_for_its_retry_is_not_queued_a_second_time(
    engine, db, world, report_queue, alice, bob
):
    generate(alice)
    report_queue.drain()
    db.execute(update(Report).values(expires_at=func.now()))  # a webhook marked it stale
    db.commit()
    world.fail("POST", GRAPHQL, status=502, times=10)  # GitHub away for the refresh's first receive
    assert section(alice, "prs").json()["stale"] is True
    assert report_queue.visible() == 1
    first = report_queue.deliver()
    assert first is not None and len(failures(first)) == 1  # the refresh comes back for its retry
    for user in (alice, bob, alice):
        assert section(user, "prs").json()["stale"] is True
    assert report_queue.visible() == 1  # still the one refresh
    queued = db.scalar(select(func.count()).select_from(ReportJob).where(ReportJob.status == "queued"))
    assert queued == 1
    world._failures.clear()
    report_queue.drain()
    assert section(bob, "prs").json()["stale"] is False
    jobs = db.execute(select(ReportJob.status)).scalars().all()
    assert sorted(jobs) == ["completed", "completed"]  # the first generation and the one refresh
