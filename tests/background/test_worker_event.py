"""events/worker_sqs.json through ReportWorkerFunction's handler (what ``make invoke`` and ``sam local
invoke`` run): the sample names a job that does not exist, a no-op; the same event naming a queued job
completes it."""

from __future__ import annotations

import copy
import datetime as dt
import json

from fixtures_identity import Account, Cast
from helpers import load_event
from sqlalchemy import select

from oss_tldr.db.models import ReportJob
from tools.fakes.github_activity import seed_activity
from tools.lambda_local import FakeLambdaContext, load_handler

GRAPHQL = r"^/graphql$"
USERS = Cast(alice=Account(901, "gho_fake_alice_worker"))


def _run(event: dict[str, object]) -> dict[str, object]:
    handler = load_handler("ReportWorkerFunction")
    return dict(handler(event, FakeLambdaContext("ReportWorkerFunction", timeout_ms=300_000)))


def test_the_sample_event_is_consumed_as_a_job_that_no_longer_exists(engine, fake_github):
    assert _run(load_event("worker_sqs.json")) == {"batchItemFailures": []}
    assert fake_github.count() == 0


def test_the_event_naming_a_queued_job_completes_it_with_the_askers_token(
    engine, db, fake_github, fake_openai, alice
):
    from oss_tldr.reports import jobs
    from oss_tldr.reports.models import CacheKey
    from oss_tldr.windows import window_for

    seed_activity(fake_github, "octo/hello", now=dt.datetime.now(dt.UTC), prs=4, issues=3, seed=2)
    window = window_for("last_week")
    key = CacheKey("octo/hello", "last_week", window.start, window.end)
    job_id = jobs.claim(key, lease=dt.timedelta(seconds=90), requested_by=alice.id, force=False, queued=True)
    event = copy.deepcopy(load_event("worker_sqs.json"))
    event["Records"][0]["body"] = json.dumps({"v": 1, "job_id": str(job_id)})
    two = copy.deepcopy(event["Records"][0])
    two["messageId"], two["body"] = "poisoned-1", "not a job"
    event["Records"].append(two)
    # One batch, two records: the job runs, the poisoned record alone is reported failed.
    assert _run(event) == {"batchItemFailures": [{"itemIdentifier": "poisoned-1"}]}
    job = db.scalars(select(ReportJob).where(ReportJob.id == job_id)).one()
    assert job.status == "completed" and job.progress == 100 and job.report_id is not None
    assert fake_github.count("POST", GRAPHQL) == 1
    authorizations = [
        {k.lower(): v for k, v in headers.items()}.get("authorization")
        for method, path, _, headers in fake_github.requests
        if path == "/graphql"
    ]
    assert authorizations == ["Bearer gho_fake_alice_worker"]  # the asker's own token
