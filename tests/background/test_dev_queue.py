"""``make dev``'s report queue (tools/devserver.start_local_queue): moto's SQS server, the queue with its
dead-letter queue, and the worker loop feeding ReportWorkerFunction — the same path as in AWS, over real
HTTP: ``POST /reports/generate`` hands the miss to the queue, the loop's worker completes the job."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest
from fixtures_identity import Account, Cast

from tools.fakes.github_activity import seed_activity

REPO = "octo/hello"
GRAPHQL = r"^/graphql$"
ORIGIN = "http://localhost:5173"
USERS = Cast(alice=Account(801, "gho_fake_alice_dev"), origin=ORIGIN)


@pytest.fixture
def dev_api(start_local_api, fake_github, fake_openai, settings_env, monkeypatch):
    from oss_tldr.reports import queue
    from tools.devserver import start_local_queue

    for key in ("REPORT_QUEUE_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        # start_local_queue sets these in os.environ itself: recorded here so that they are restored (to
        # unset) after the test (a delenv of an unset variable records nothing, and the queue would leak
        # into later tests of the same process)
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    settings_env(LOCAL_QUEUE=None)
    stop = start_local_queue()
    assert stop is not None
    try:
        with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as client:
            yield client
    finally:
        stop()
        queue.reset_client()
        settings_env()  # the settings re-read once the environment is restored


def _poll(api: httpx.Client, job_id: str, headers: dict[str, str]) -> dict[str, object]:
    for _ in range(600):  # a bounded wait for the loop's worker, not a timing assertion
        body = api.get(f"/reports/jobs/{job_id}", headers=headers).json()
        if body["status"] in ("completed", "failed"):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError("the worker loop did not finish the job")


def test_make_devs_worker_loop_completes_a_generation_handed_to_the_queue(
    dev_api, fake_github, settings_env, alice
):
    seed_activity(fake_github, REPO, now=dt.datetime.now(dt.UTC), prs=5, issues=4, seed=8)
    settings_env(REPORT_WAIT_SECONDS="1")
    fake_github.delay("POST", GRAPHQL, 2.5)  # longer than the request waits: 202, the loop finishes it
    accepted = dev_api.post("/reports/generate", json={"repo_url": REPO}, headers=alice)
    assert accepted.status_code == 202, accepted.text
    done = _poll(dev_api, accepted.json()["job_id"], alice)
    assert done["status"] == "completed" and done["progress"] == 100
    report = dev_api.get(f"/reports/{done['report_id']}", headers=alice)
    assert report.status_code == 200 and report.json()["prs"]
    assert fake_github.count("POST", GRAPHQL) == 1


def test_a_generation_the_worker_finishes_within_the_wait_is_a_200(dev_api, fake_github, settings_env, alice):
    seed_activity(fake_github, REPO, now=dt.datetime.now(dt.UTC), prs=5, issues=4, seed=9)
    settings_env(REPORT_WAIT_SECONDS="20")
    answer = dev_api.post("/reports/generate", json={"repo_url": REPO}, headers=alice)
    assert answer.status_code == 200 and answer.json()["cached"] is False
    assert fake_github.count("POST", GRAPHQL) == 1
