"""The single flight under real concurrency in one process: the report service (below the handler, which
runs one invocation at a time like a Lambda container) called from 100 threads for one cold key."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from oss_tldr.db.models import Report, ReportGeneration, ReportJob
from oss_tldr.reports import service
from oss_tldr.reports.summarise import MAX_LLM_REQUESTS
from tools.fakes.github_activity import seed_activity

SECTIONS = ("prs", "issues", "people", "tldr")


@pytest.mark.slow
def test_hundred_threads_on_one_cold_key_make_one_generation(engine, db, fake_github, fake_openai, make_user):
    seed_activity(fake_github, "octo/hello", now=dt.datetime.now(dt.UTC), prs=20, issues=15, seed=5)
    users = [make_user(id=300 + n, login=f"t{n}", github_token=f"gho_fake_thread{n}") for n in range(7)]
    for user in users:
        fake_github.add_user(user.login, user.github_token, id=user.id)

    def ask(n: int) -> service.SectionResult:
        requester = service.Requester.user(users[n % len(users)].id)
        return service.get_section(requester, "octo", "hello", "last_week", SECTIONS[n % 4])

    with ThreadPoolExecutor(100) as pool:
        results = list(pool.map(ask, range(100)))

    assert len({r.report_id for r in results}) == 1
    for n, result in enumerate(results):
        if result.section == "tldr":
            assert result.body.strip()
        else:
            assert isinstance(json.loads(result.body), list), SECTIONS[n % 4]
    assert sum(not r.cached for r in results) >= 1
    assert db.scalar(select(func.count()).select_from(Report)) == 1
    assert db.scalar(select(func.count()).select_from(ReportJob)) == 1
    assert db.scalar(select(func.count()).select_from(ReportGeneration)) == 0
    assert fake_github.count("POST", r"^/graphql$") == 1  # the one GitHub request, for everyone
    assert fake_github.count() == 1
    assert fake_github.graphql_errors == []
    assert 1 <= fake_openai.count() <= MAX_LLM_REQUESTS
