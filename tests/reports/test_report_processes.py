"""Single flight across Lambda containers: separate processes, each with its own engine and handler,
ask for one cold key at the same moment; Postgres alone makes them share one generation."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from oss_tldr.db.models import Report, ReportGeneration, ReportJob
from tools.fakes.github_activity import seed_activity

ROOT = Path(__file__).resolve().parents[2]
CONTAINER = r"""
import json, sys, time
from tools.lambda_local import FakeLambdaContext, http_event, load_handler

start_at, requests = float(sys.argv[1]), json.loads(sys.argv[2])
handler = load_handler("ReportsFunction")  # cold start before the common start line
while time.time() < start_at:
    time.sleep(0.005)
statuses = []
for token, section in requests:
    event = http_event(
        "GET",
        f"/api/v1/reports/octo/hello/{section}",
        route_key="GET /api/v1/reports/{owner}/{repo}/{section}",
        path_parameters={"owner": "octo", "repo": "hello", "section": section},
        query="timeframe=last_week",
        headers={"authorization": f"Bearer {token}"},
    )
    statuses.append(handler(event, FakeLambdaContext("ReportsFunction"))["statusCode"])
print(json.dumps(statuses))
"""


@pytest.mark.slow
def test_containers_asking_at_once_share_one_generation(engine, db, fake_github, fake_openai, make_user):
    seed_activity(fake_github, "octo/hello", now=dt.datetime.now(dt.UTC), prs=12, issues=9, seed=4)
    users = [make_user(id=300 + n, login=f"crowd{n}", github_token=f"gho_fake_crowd{n}") for n in range(3)]
    for user in users:
        fake_github.add_user(user.login, user.github_token, id=user.id)
    sections = ("prs", "issues", "people", "tldr")
    start_at = time.time() + 4.0
    containers = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [
                sys.executable,
                "-c",
                CONTAINER,
                str(start_at),
                json.dumps([[users[(c + k) % 3].token, sections[(c + k) % 4]] for k in range(3)]),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in range(6)
    ]
    results = []
    for container in containers:
        out, err = container.communicate(timeout=120)
        assert container.returncode == 0, err[-2000:]
        results.extend(json.loads(out.strip().splitlines()[-1]))
    assert results == [200] * 18
    assert db.scalar(select(func.count()).select_from(Report)) == 1
    assert db.scalar(select(func.count()).select_from(ReportJob)) == 1
    assert db.scalar(select(func.count()).select_from(ReportGeneration)) == 0
    assert (
        fake_github.count() == fake_github.count("POST", r"^/graphql$") == 1
    )  # the one request, for everyone
    assert fake_github.graphql_errors == []
    assert 1 <= fake_openai.count() <= 4
