"""Issue 10, items 3 and 4: generation on SQS and stale-while-revalidate, through the routes (in-process, as
API Gateway would call them) with moto's SQS server, the worker fed by the event source mapping's emulation
(tools/local_sqs.py, what ``make dev`` runs), real Postgres and the GitHub and OpenAI fakes.

* ``POST /reports/generate`` past its wait answers 202 with a queued job; the worker completes it; the job
  shows 100 and the report; it is shown only to the users who asked for it.
* A redelivered message of a finished job does nothing; a poisoned message ends in the dead-letter queue
  after ``REPORT_QUEUE_MAX_RECEIVES`` receives; a transient failure is retried, and fails the job on the
  last receive.
* A report a webhook marked stale (or the previous window's) is served at once with ``"stale": true`` while
  exactly one refresh is queued, whoever asks, and the refresh replaces it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fixtures_identity import Account, Cast
from fixtures_queue import failures, generate, job, section
from helpers import call_route
from sqlalchemy import func, select, update

from oss_tldr.db.models import Report, ReportGeneration, ReportJob
from oss_tldr.webhooks.signature import sign
from oss_tldr.windows import REFRESH
from tools.fakes.github_activity import seed_activity

REPO = "octo/hello"
GRAPHQL = r"^/graphql$"
SECRET = "webhook-test-secret"
SECTIONS = ("prs", "issues", "people", "tldr")
USERS = Cast(alice=Account(701, "gho_fake_alice_q"), bob=Account(702, "gho_fake_bob_q"))


@pytest.fixture
def world(fake_github, fake_openai, report_queue, settings_env):
    settings_env(REPORT_WAIT_SECONDS="1", GITHUB_WEBHOOK_SECRET=SECRET, GITHUB_WEBHOOK_SECRET_ARN=None)
    seed_activity(fake_github, REPO, now=dt.datetime.now(dt.UTC), prs=8, issues=6, seed=5)
    return fake_github


def open_report(user: Any) -> dict[str, Any]:
    """What the SPA does: the four section routes at the same moment."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(section, user, name) for name in SECTIONS}
        return {name: f.result() for name, f in futures.items()}


# --------------------------------------------------------------------------------- item 3: the worker
def test_a_generate_request_past_its_wait_is_202_and_the_worker_completes_the_job(
    engine, db, world, fake_openai, report_queue, alice, bob
):
    accepted = generate(alice)
    assert accepted.status == 202, accepted.body
    body = accepted.json()
    assert body["status"] == "queued" and body["progress"] == 0
    job_id = body["job_id"]
    assert report_queue.bodies() == [{"v": 1, "job_id": job_id}]
    assert world.count("POST", GRAPHQL) == 0  # the request did not generate: the worker will
    assert job(alice, job_id).json()["status"] == "queued"
    # A job is shown only to the users who asked for it: Bob did not.
    assert job(bob, job_id).status == 404

    answers = report_queue.drain()
    assert [failures(a) for a in answers] == [[]]
    done = job(alice, job_id).json()
    assert done["status"] == "completed" and done["progress"] == 100 and done["error"] is None
    report = call_route(alice, "GET", f"/api/v1/reports/{done['report_id']}")
    assert report.status == 200 and report.json()["prs"] and report.json()["stale"] is False
    # The asker's own lookup at the 202 (the worker had not looked the repository up yet) and the one
    # generation request.
    assert world.count("POST", GRAPHQL) == 1 and world.count() == 2
    assert fake_openai.count() == 2
    # The report is the cache's now: the next request is a hit, with no job and no message.
    again = generate(bob)
    assert (
        again.status == 200 and again.json()["cached"] is True and again.json()["id"] == report.json()["id"]
    )
    assert report_queue.visible() == 0 and db.scalar(select(func.count()).select_from(ReportJob)) == 1


def test_a_second_user_asking_while_the_job_is_queued_gets_the_same_job_and_may_see_it(
    engine, world, report_queue, alice, bob
):
    job_id = generate(alice).json()["job_id"]
    follower = generate(bob)
    assert follower.status == 202 and follower.json()["job_id"] == job_id
    assert job(bob, job_id).status == 200  # Bob asked for it too now
    assert report_queue.visible() == 1  # one generation queued, not two
    report_queue.drain()
    assert job(bob, job_id).json()["status"] == "completed"
    assert world.count("POST", GRAPHQL) == 1


def test_a_redelivered_message_of_a_finished_job_does_nothing(engine, db, world, report_queue, alice):
    job_id = generate(alice).json()["job_id"]
    report_queue.drain()
    before = db.execute(select(Report.id, Report.generated_at)).all()
    report_queue.send(json.dumps({"v": 1, "job_id": job_id}))  # SQS delivers at least once
    answers = report_queue.drain()
    assert [failures(a) for a in answers] == [[]]  # consumed, not retried
    assert world.count("POST", GRAPHQL) == 1  # no second generation
    assert db.execute(select(Report.id, Report.generated_at)).all() == before
    assert job(alice, job_id).json()["status"] == "completed"


def test_a_message_naming_a_job_that_no_longer_exists_is_consumed(engine, db, world, report_queue):
    report_queue.send(json.dumps({"v": 1, "job_id": str(uuid.uuid4())}))
    assert [failures(a) for a in report_queue.drain()] == [[]]
    assert report_queue.dead_letters() == [] and world.count() == 0


@pytest.mark.parametrize("body", ["not json", "{}", '{"job_id": "not-a-uuid"}', '["x"]'])
def test_a_poisoned_message_ends_in_the_dead_letter_queue_after_n_receives(engine, world, report_queue, body):
    report_queue.send(body)
    answers = report_queue.drain()
    assert len(answers) == report_queue.max_receives  # received N times, failed each time
    assert all(len(failures(a)) == 1 for a in answers)
    dead = report_queue.dead_letters()
    assert [m["Body"] for m in dead] == [body]
    assert report_queue.visible() == 0 and world.count() == 0


def test_a_transient_failure_is_retried_on_the_next_receive_and_the_job_completes(
    engine, db, world, report_queue, alice
):
    job_id = generate(alice).json()["job_id"]
    world.fail("POST", GRAPHQL, status=502, times=10)  # more than the client's own retries
    first = report_queue.deliver()
    assert first is not None and len(failures(first)) == 1  # the message comes back
    waiting = job(alice, job_id).json()
    assert waiting["status"] == "queued" and waiting["error"] is None
    assert db.scalar(select(func.count()).select_from(Report)) == 0  # nothing cached
    assert db.scalar(select(func.count()).select_from(ReportGeneration)) == 0  # the lease released
    world._failures.clear()  # GitHub is back
    answers = report_queue.drain()
    assert [failures(a) for a in answers][-1] == []
    done = job(alice, job_id).json()
    assert done["status"] == "completed" and done["progress"] == 100


def test_a_generation_failing_on_every_receive_fails_the_job_and_ends_in_the_dead_letter_queue(
    engine, db, world, report_queue, alice
):
    job_id = generate(alice).json()["job_id"]
    world.fail("POST", GRAPHQL, status=502, times=1000)
    answers = report_queue.drain()
    assert len(answers) == report_queue.max_receives
    failed = job(alice, job_id).json()
    assert failed["status"] == "failed" and failed["error"]
    assert [json.loads(m["Body"])["job_id"] for m in report_queue.dead_letters()] == [job_id]
    assert db.scalar(select(func.count()).select_from(Report)) == 0
    assert db.scalar(select(func.count()).select_from(ReportGeneration)) == 0


def test_a_generate_request_for_a_repository_that_does_not_exist_is_404_and_its_job_withdrawn(
    engine, db, world, report_queue, alice
):
    """Not a 202: a private repository someone else is generating answers its outsider 404, so must this."""
    answer = generate(alice, "octo/missing")
    assert answer.status == 404
    assert answer.json() == {"detail": "Repository not found.", "code": "not_found"}
    assert db.scalar(select(func.count()).select_from(ReportJob)) == 0
    assert db.scalar(select(func.count()).select_from(ReportGeneration)) == 0
    assert [failures(a) for a in report_queue.drain()] == [[]]  # its message does nothing
    assert report_queue.dead_letters() == [] and world.count("POST", GRAPHQL) == 0


def test_without_a_reachable_queue_the_request_generates_itself(engine, world, settings_env, alice):
    settings_env(
        REPORT_QUEUE_URL="http://127.0.0.1:9/123456789012/nowhere", AWS_ENDPOINT_URL_SQS="http://127.0.0.1:9"
    )
    from oss_tldr.reports import queue

    queue.reset_client()
    answer = generate(alice)
    assert answer.status == 200 and answer.json()["cached"] is False
    assert world.count("POST", GRAPHQL) == 1


# --------------------------------------------------------------------------------- item 4: stale reports
def _webhook(event: str, payload: dict[str, Any]) -> Any:
    raw = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(SECRET, raw),
    }
    return call_route(None, "POST", "/webhooks/github", raw_body=raw, headers=headers)


def _fresh_report(user: Any, report_queue: Any) -> dict[str, Any]:
    """The report generated through the queue, as the SPA's first visit would leave it."""
    generate(user)
    report_queue.drain()
    return generate(user).json()


def test_a_webhook_invalidated_report_is_served_stale_at_once_and_refreshed_once(
    engine, db, world, fake_openai, report_queue, alice, bob
):
    report = _fresh_report(alice, report_queue)
    world.reset_counts()
    fake_openai.reset_counts()
    payload = {"action": "created", "repository": {"id": report_github_id(db), "full_name": REPO}}
    assert _webhook("issue_comment", payload).json()["stale_reports"] == 1

    first = open_report(alice)
    second = open_report(bob)  # another user, the same moment: still the one refresh
    for answers in (first, second):
        assert {name: a.status for name, a in answers.items()} == dict.fromkeys(SECTIONS, 200)
        for name in ("prs", "issues", "people"):
            body = answers[name].json()
            assert body["stale"] is True and body["cached"] is True and body[name] == report[name]
        assert answers["tldr"].body == report["tldr"]
    assert world.count() == 0 and fake_openai.count() == 0  # served without asking anyone
    assert report_queue.visible() == 1  # exactly one refresh queued

    answers = report_queue.drain()
    assert [failures(a) for a in answers] == [[]]
    assert world.count("POST", GRAPHQL) == 1 and world.count() == 1  # refreshed once
    fresh = section(alice, "prs").json()
    assert fresh["stale"] is False and fresh["cached"] is True
    assert fresh["report_id"] == report["id"]  # the key's row, replaced in place
    assert db.scalar(select(Report.generated_at)) > dt.datetime.fromisoformat(report["generated_at"])
    assert report_queue.visible() == 0


def report_github_id(db) -> int:
    from oss_tldr.db.models import Repository

    return int(db.scalar(select(Repository.github_id).where(Repository.full_name == REPO)))


def test_the_previous_windows_report_is_served_stale_in_the_next_period_and_refreshed(
    engine, db, world, report_queue, alice
):
    report = _fresh_report(alice, report_queue)
    world.reset_counts()
    period = REFRESH["last_week"]
    # As if a period had passed: the report is the previous window's, expired a minute ago.
    db.execute(
        update(Report).values(
            timeframe_start=Report.timeframe_start - period,
            timeframe_end=Report.timeframe_end - period,
            expires_at=func.now() - dt.timedelta(minutes=1),
        )
    )
    db.commit()
    stale = generate(alice)
    assert stale.status == 200 and stale.json()["stale"] is True and stale.json()["id"] == report["id"]
    assert report_queue.visible() == 1 and world.count() == 0
    report_queue.drain()
    fresh = generate(alice).json()
    assert fresh["stale"] is False and fresh["id"] != report["id"]  # the current window's own row
    assert world.count("POST", GRAPHQL) == 1


def test_a_report_expired_longer_than_a_refresh_period_ago_is_not_served(
    engine, db, world, report_queue, alice
):
    _fresh_report(alice, report_queue)
    db.execute(update(Report).values(expires_at=func.now() - REFRESH["last_week"] - dt.timedelta(minutes=1)))
    db.commit()
    answer = generate(alice)
    assert answer.status == 202  # a miss: queued, and nothing expired that long is served


def test_a_stale_private_report_is_not_served_or_refreshed_for_an_outsider(
    engine, db, fake_github, fake_openai, report_queue, settings_env, alice, bob
):
    settings_env(REPORT_WAIT_SECONDS="1")
    fake_github.add_repo("acme/secret", private=True, visible_to={"gho_fake_alice_q"})
    seed_activity(fake_github, "acme/secret", now=dt.datetime.now(dt.UTC), prs=3, issues=2, seed=6)
    generate(alice, "acme/secret")
    report_queue.drain()
    db.execute(update(Report).values(expires_at=func.now()))
    db.commit()
    outsider = section(bob, "prs", "acme/secret")
    missing = section(bob, "prs", "acme/nothing-here")
    assert outsider.status == missing.status == 404
    assert outsider.json() == missing.json()
    assert report_queue.visible() == 0  # no refresh for someone who cannot see it
    owner = section(alice, "prs", "acme/secret")
    assert owner.status == 200 and owner.json()["stale"] is True
    assert report_queue.visible() == 1


def test_a_refresh_that_failed_is_not_queued_again_at_once(engine, db, world, report_queue, alice):
    _fresh_report(alice, report_queue)
    db.execute(update(Report).values(expires_at=func.now()))
    db.commit()
    world.fail("POST", GRAPHQL, status=502, times=1000)
    assert section(alice, "prs").json()["stale"] is True
    report_queue.drain()  # fails on every receive: the job is failed, the message dead-lettered
    for _ in range(3):
        assert section(alice, "prs").json()["stale"] is True  # still served
    assert report_queue.visible() == 0  # and no storm of refreshes while GitHub is down


def test_a_refresh_that_cannot_be_queued_still_serves_the_stale_report(
    engine, db, world, report_queue, alice, monkeypatch
):
    from oss_tldr.reports import refresh

    _fresh_report(alice, report_queue)
    db.execute(update(Report).values(expires_at=func.now()))
    db.commit()

    def database_away(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("connection refused")

    monkeypatch.setattr(refresh, "queue_refresh", database_away)
    answer = section(alice, "prs")
    assert answer.status == 200 and answer.json()["stale"] is True  # the refresh's failure costs no answer


def test_an_unexpected_worker_error_fails_the_record_and_the_next_receive_runs_the_job(
    engine, db, world, report_queue, alice, monkeypatch
):
    from oss_tldr.reports import handoff

    job_id = generate(alice).json()["job_id"]
    real = handoff.load_job
    calls = []

    def flaky(job: Any) -> Any:
        calls.append(job)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return real(job)

    monkeypatch.setattr(handoff, "load_job", flaky)
    first = report_queue.deliver()
    assert first is not None and len(failures(first)) == 1
    assert [failures(a) for a in report_queue.drain()] == [[]]
    assert job(alice, job_id).json()["status"] == "completed"
