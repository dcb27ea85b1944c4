"""The scheduled warming on real Postgres, the fake GitHub and the fake OpenAI (both counting requests):
popular public reports are regenerated once each with the service token, private ones and fresh ones are
left alone without a GitHub call, the budget and the deadline are respected, overlapping runs share each
generation, and one failing repository does not stop the others."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from helpers import load_event
from sqlalchemy import insert, select, update

from oss_tldr.db.models import Report, User, UserReportAccess, UserRepository
from oss_tldr.maintenance import warming
from oss_tldr.reports import access
from oss_tldr.reports.visibility import Requester
from oss_tldr.windows import window_for
from tools.fakes.github_activity import seed_activity
from tools.lambda_local import context_for, functions, load_handler

SERVICE_TOKEN = "gho_fake_warming_service"  # a token only the fake GitHub knows
GRAPHQL = r"^/graphql$"


@pytest.fixture
def service_token(fake_github, settings_env):
    fake_github.add_user("oss-tldr-service", SERVICE_TOKEN)  # a token GitHub issued
    settings_env(GITHUB_TOKEN=SERVICE_TOKEN, GITHUB_MAX_RETRIES="0")
    return SERVICE_TOKEN


@pytest.fixture
def popular(engine, db, fake_github):
    """``popular(name, trackers=n, opened={timeframe: users}, private=False)``: a repository on the fake
    GitHub with a little activity, its row as its first lookup stored it, ``n`` users tracking it and
    report openings (of an older window's report) by as many users per timeframe."""
    users = iter(range(1000, 100_000))
    now = dt.datetime.now(dt.UTC)

    def add_user() -> int:
        user_id = next(users)
        db.execute(insert(User).values(id=user_id, login=f"user{user_id}"))
        return user_id

    def make(name: str, *, trackers: int = 0, opened: dict[str, int] | None = None, private: bool = False):
        repo = seed_activity(fake_github, name, now=now, prs=4, issues=3, bots=0, old=0, seed=len(name))
        repo.private = private
        if private:
            repo.visible_to = {SERVICE_TOKEN}  # even a token that sees it must not be used
        repository_id, _ = access.upsert_repository(repo.payload(), asked=name)
        for _ in range(trackers):
            db.execute(insert(UserRepository).values(user_id=add_user(), repository_id=repository_id))
        for timeframe, count in (opened or {}).items():
            old = window_for(timeframe, now - dt.timedelta(days=3))
            report_id = db.scalar(
                insert(Report)
                .values(
                    repository_id=repository_id,
                    timeframe=timeframe,
                    timeframe_start=old.start,
                    timeframe_end=old.end,
                    tldr_text="old",
                    expires_at=old.expires_at,
                )
                .returning(Report.id)
            )
            for _ in range(count):
                db.execute(insert(UserReportAccess).values(user_id=add_user(), report_id=report_id))
        db.commit()
        return repository_id

    return make


def outcomes(result: warming.WarmingResult) -> dict[tuple[str, str], tuple[str, str]]:
    return {(p.repo, p.timeframe): (p.outcome, p.reason) for p in result.pairs}


def current_reports(db) -> set[tuple[str, str]]:
    """(repository id, timeframe) of the live shared reports of the current windows."""
    rows = db.execute(select(Report.repository_id, Report.timeframe, Report.timeframe_end)).all()
    return {(rid, tf) for rid, tf, end in rows if end == window_for(tf).end}


def test_popular_public_reports_are_generated_once_each_with_the_service_token(
    db, fake_github, fake_openai, service_token, popular
):
    big = popular("octo/big", trackers=5)
    mixed = popular("octo/mixed", trackers=1, opened={"last_day": 2, "last_month": 1})
    result = warming.run_warming()

    assert outcomes(result) == {
        ("octo/big", "last_week"): ("warmed", "generated"),  # tracked only: the SPA's default timeframe
        ("octo/mixed", "last_day"): ("warmed", "generated"),  # the timeframes people open
        ("octo/mixed", "last_month"): ("warmed", "generated"),
    }
    assert next(p.repo for p in result.pairs) == "octo/big"  # five users' audience before four
    assert fake_github.count("POST", GRAPHQL) == 3 and fake_github.count() == 3  # one query each
    assert {h.get("authorization") for _, _, _, h in fake_github.requests} == {f"Bearer {service_token}"}
    assert fake_openai.count() == result.spent.llm_requests == 6  # two chat completions a report
    assert result.spent.github_requests == 3 and result.spent.github_points > 0
    assert current_reports(db) == {(big, "last_week"), (mixed, "last_day"), (mixed, "last_month")}
    assert result.complete and result.as_dict()["warmed"] == 3
    # The warming opens nothing: no access row of its own (it would make itself popular).
    assert db.scalar(select(UserReportAccess.id).where(UserReportAccess.accessed_at.is_(None))) is None
    assert len(db.execute(select(UserReportAccess.id)).all()) == 3


def test_a_private_repository_is_skipped_without_any_github_call(
    db, fake_github, fake_openai, service_token, popular
):
    popular("octo/secret", trackers=5, opened={"last_day": 2}, private=True)
    result = warming.run_warming()
    assert outcomes(result) == {("octo/secret", "last_day"): ("skipped", "private")}
    assert fake_github.count() == 0 and fake_openai.count() == 0
    assert current_reports(db) == set()


def test_without_a_service_token_everything_is_skipped_and_github_is_not_asked(
    db, fake_github, fake_openai, settings_env, popular
):
    settings_env(GITHUB_TOKEN=None, GITHUB_TOKEN_ARN=None)
    popular("octo/big", trackers=3)
    popular("octo/other", trackers=1, opened={"last_day": 1})
    result = warming.run_warming()
    assert {reason for _, reason in outcomes(result).values()} == {"no_token"}
    assert len(result.pairs) == 2 and not result.complete
    assert fake_github.count() == 0 and fake_openai.count() == 0


def test_the_github_points_budget_stops_before_a_generation_that_would_overrun_it(
    fake_github, fake_openai, service_token, settings_env, popular
):
    for n in range(3):
        popular(f"octo/repo{n}", trackers=3 - n)
    settings_env(WARMING_MAX_GITHUB_POINTS="1000")
    probe = warming.run_warming()  # what one generation costs under the fake's rule
    cost = probe.pairs[0].spent["github_points"]
    assert cost > 0

    fake_github.reset_counts()
    for n in range(3, 6):
        popular(f"octo/repo{n}", trackers=10)
    settings_env(WARMING_MAX_GITHUB_POINTS=str(2 * cost + cost // 2))  # room for two, not three
    result = warming.run_warming()
    reasons = [reason for _, reason in outcomes(result).values()]
    assert reasons.count("generated") == 2 and reasons.count("github_points_budget") == 1
    assert reasons.count("fresh") == 3  # the probe's reports: no cost, not refused
    assert result.spent.github_points == 2 * cost <= 2 * cost + cost // 2
    assert fake_github.count("POST", GRAPHQL) == 2 and not result.complete


def test_the_llm_requests_budget_stops_before_a_generation_that_would_overrun_it(
    fake_github, fake_openai, service_token, settings_env, popular
):
    for n in range(3):
        popular(f"octo/repo{n}", trackers=3 - n)
    # Before any measurement a generation is assumed to need the per-report ceiling (4); then the two
    # measured: 4 fits in 5, then 2 + 2 does, then 4 + 2 does not.
    settings_env(WARMING_MAX_LLM_REQUESTS="5")
    result = warming.run_warming()
    assert [reason for _, reason in outcomes(result).values()] == [
        "generated",
        "generated",
        "llm_requests_budget",
    ]
    assert fake_openai.count() == result.spent.llm_requests == 4
    assert fake_github.count("POST", GRAPHQL) == 2


def test_a_run_short_of_time_starts_no_generation(fake_github, fake_openai, service_token, popular):
    popular("octo/big", trackers=3)
    result = warming.run_warming(time_left=lambda: warming.MIN_GENERATION_SECONDS - 1)
    assert outcomes(result) == {("octo/big", "last_week"): ("skipped", "deadline")}
    assert not result.complete and fake_github.count() == 0


def test_a_live_report_that_outlives_the_next_run_is_not_regenerated_and_a_stale_one_is(
    db, fake_github, fake_openai, service_token, popular
):
    popular("octo/big", trackers=3)
    popular("octo/mixed", trackers=1, opened={"last_day": 2})
    assert warming.run_warming().count("warmed") == 2
    fake_github.reset_counts()
    fake_openai.reset_counts()

    again = warming.run_warming()
    assert {reason for _, reason in outcomes(again).values()} == {"fresh"}
    assert fake_github.count() == 0 and fake_openai.count() == 0

    # A webhook marks octo/big's report stale (expires_at = now); octo/mixed's came from a partial GitHub
    # answer (alive ten minutes, less than its window and than the hour until the next run).
    db.execute(
        update(Report).where(Report.timeframe == "last_week").values(expires_at=dt.datetime.now(dt.UTC))
    )
    # Ten minutes from now, but always before its window's own expiry: in the last ten minutes of an hour
    # "now + 10 min" outlives the last_day window, and the copy would not be cut short at all. (Within the
    # last 30 s it is already expired: generated either way.)
    soon = min(
        dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10),
        window_for("last_day").expires_at - dt.timedelta(seconds=30),
    )
    db.execute(
        update(Report)
        .where(Report.timeframe == "last_day", Report.tldr_text != "old")
        .values(expires_at=soon)
    )
    db.commit()
    third = warming.run_warming()
    assert outcomes(third) == {
        ("octo/big", "last_week"): ("warmed", "generated"),
        ("octo/mixed", "last_day"): ("warmed", "generated"),  # forced: the live copy is replaced
    }
    assert fake_github.count("POST", GRAPHQL) == 2
    expiries = db.execute(select(Report.timeframe, Report.expires_at).where(Report.tldr_text != "old")).all()
    assert {tf: at for tf, at in expiries} == {
        "last_week": window_for("last_week").expires_at,
        "last_day": window_for("last_day").expires_at,
    }


def test_two_overlapping_runs_generate_each_report_once(fake_github, fake_openai, service_token, popular):
    for n in range(3):
        popular(f"octo/repo{n}", trackers=3 - n)
    fake_github.delay("POST", GRAPHQL, seconds=0.4, times=3)  # both runs are inside the generations
    results: list[warming.WarmingResult] = []
    runs = [threading.Thread(target=lambda: results.append(warming.run_warming())) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=60)
    assert len(results) == 2
    assert fake_github.count("POST", GRAPHQL) == 3 and fake_openai.count() == 6
    assert sum(result.count("warmed") for result in results) == 3
    others = [p.reason for result in results for p in result.pairs if p.outcome != "warmed"]
    assert len(others) == 3 and set(others) <= {"followed", "fresh"}
    assert sum(result.spent.github_requests for result in results) == 3


def test_a_failing_repository_does_not_stop_the_others(fake_github, fake_openai, service_token, popular):
    popular("octo/first", trackers=3)
    popular("octo/second", trackers=2)
    popular("octo/third", trackers=1)
    fake_github.fail("POST", GRAPHQL, status=502, times=1)  # the first generation's query (no retries)
    result = warming.run_warming()
    assert outcomes(result) == {
        ("octo/first", "last_week"): ("failed", "upstream_unavailable"),
        ("octo/second", "last_week"): ("warmed", "generated"),
        ("octo/third", "last_week"): ("warmed", "generated"),
    }
    assert result.as_dict()["reasons"]["failed"] == {"upstream_unavailable": 1}


def test_a_rate_limit_stops_further_generations(fake_github, fake_openai, service_token, popular):
    popular("octo/first", trackers=3)
    popular("octo/second", trackers=2)
    fake_github.set_graphql_points(SERVICE_TOKEN, 0)  # spent for the hour
    result = warming.run_warming()
    assert outcomes(result) == {
        ("octo/first", "last_week"): ("failed", "github_rate_limited"),
        ("octo/second", "last_week"): ("skipped", "stopped"),
    }
    assert fake_github.count("POST", GRAPHQL) == 1 and not result.complete


def test_the_service_token_comes_from_secrets_manager_by_arn(settings_env):
    from moto import mock_aws

    with mock_aws():
        import boto3

        arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="oss-tldr-warming-token", SecretString="gho_from_secrets_manager"
        )["ARN"]
        settings_env(GITHUB_TOKEN=None, GITHUB_TOKEN_ARN=arn)
        assert Requester.service().token() == "gho_from_secrets_manager"
        settings_env(GITHUB_TOKEN="gho_local", GITHUB_TOKEN_ARN=arn)
        assert Requester.service().token() == "gho_local"  # the plain variable wins (local)


def test_the_function_runs_on_the_schedules_event_and_publishes_what_it_did(
    fake_github, fake_openai, service_token, popular, capsys, powertools_output
):
    popular("octo/big", trackers=3)
    popular("octo/secret", trackers=2, private=True)
    context = context_for("WarmingFunction")  # what `make invoke` gives it: the template's 600 s
    assert context.get_remaining_time_in_millis() > 590_000
    response = load_handler("WarmingFunction")(load_event("warming_schedule.json"), context)
    assert response["warmed"] == 1 and response["skipped"] == 1 and response["failed"] == 0, response
    assert response["reasons"]["skipped"] == {"private": 1}
    assert response["spent"]["github_requests"] == 1

    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    pairs = {
        (blob["outcome"], blob["reason"]): int(blob["WarmingPairs"][0])
        for blob in blobs
        if "WarmingPairs" in blob
    }
    assert pairs == {("warmed", "generated"): 1, ("skipped", "private"): 1}
    names = {m["Name"] for blob in blobs for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"WarmingGitHubPoints", "WarmingLLMRequests", "WarmingSeconds", "WarmingIncomplete"} <= names
    lines = [json.loads(line) for line in powertools_output.getvalue().splitlines()]
    finished = [line for line in lines if line["message"] == "warming finished"]
    assert len(finished) == 1 and finished[0]["warming"]["warmed"] == 1
    assert SERVICE_TOKEN not in powertools_output.getvalue() + json.dumps(response)


def test_the_template_schedules_the_warming_after_each_hour_with_retries_and_a_dead_letter_queue():
    template_functions = functions()
    props = template_functions["WarmingFunction"]
    assert props["CodeUri"] == "functions/warming/"
    (schedule,) = props["Events"].values()
    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["ScheduleExpression"] == "cron(2 * * * ? *)"  # warming.RUN_INTERVAL
    sent = json.loads(schedule["Properties"]["Input"]["Fn::Sub"])
    assert set(sent) == set(load_event("warming_schedule.json")) and sent["source"] == "aws.scheduler"
    assert props["Environment"]["Variables"]["GITHUB_TOKEN_ARN"] == {"Ref": "GitHubServiceTokenArn"}
    assert {"Ref": "IdentityAccessPolicy"} not in props["Policies"]  # never a user's token
    for name in ("WarmingFunction", "CleanupFunction"):
        (event,) = template_functions[name]["Events"].values()
        assert event["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        assert event["Properties"]["DeadLetterConfig"] == {
            "Arn": {"Fn::GetAtt": "SchedulerDeadLetterQueue.Arn"}
        }
