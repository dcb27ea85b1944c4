"""The reports function in-process: real Postgres, fake GitHub and fake OpenAI over HTTP counting requests."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from fixtures_identity import Account, Cast
from helpers import STATS_KEYS, call_route, load_event
from sqlalchemy import func, select, update

from oss_tldr.db.models import (
    Report,
    ReportForceUsage,
    ReportGeneration,
    ReportJob,
    Repository,
    RepositoryAccessCheck,
    UserReportAccess,
)
from oss_tldr.reports.summarise import MAX_LLM_REQUESTS
from tools.fakes.github_activity import seed_activity
from tools.lambda_local import FakeLambdaContext, http_event, load_handler

REPO = "octo/hello"
GRAPHQL = r"^/graphql$"  # the one GitHub request of a cold report (oss_tldr.github.activity)
LOOKUP = r"^/repos/octo/hello$"
SECTIONS = ("prs", "issues", "people", "tldr")


def section(user, name, *, repo=REPO, timeframe="last_week", force=False):
    query = f"timeframe={timeframe}" + ("&force=true" if force else "")
    return call_route(user, "GET", f"/api/v1/reports/{repo}/{name}", query=query)


def count(db, model):
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def seeded(fake_github):
    return seed_activity(fake_github, REPO, now=dt.datetime.now(dt.UTC), prs=14, issues=10, seed=3)


USERS = Cast(alice=Account(101, "gho_fake_alice"), bob=Account(102, "gho_fake_bob"))


# --------------------------------------------------------------------------------- hit and miss
def test_cold_section_is_generated_in_the_same_request(engine, db, seeded, fake_github, alice):
    answer = section(alice, "prs")
    assert answer.status == 200
    body = answer.json()
    assert body["cached"] is False and 0 < len(body["prs"]) <= 10
    assert {"number", "title", "summary", "labels", "user", "assignees", "merged"} <= set(body["prs"][0])
    assert body["generated_at"] and body["expires_at"]
    # One GraphQL request and nothing else: no REST lookup, no REST search.
    assert fake_github.count("POST", GRAPHQL) == 1 and fake_github.count() == 1
    assert fake_github.graphql_errors == []
    assert count(db, Report) == 1 and count(db, ReportGeneration) == 0
    assert db.scalars(select(ReportJob.status)).one() == "completed"


def test_json_sections_carry_the_windows_exact_stats_stale_and_partial(engine, fake_github, alice, bob):
    """Each JSON section (generated or cached) carries GitHub's exact counts for the window (bots
    included, merged and closed *inside* the window), ``stale: false`` and ``partial``."""
    from oss_tldr.windows import window_for
    from tools.fakes.github_activity import add_item

    end = window_for("last_week").end
    day = dt.timedelta(days=1)
    add_item(fake_github, REPO, kind="pr", created_at=end - 3 * day, merged=True, closed_at=end - day)
    add_item(fake_github, REPO, kind="pr", login="dependabot[bot]", user_type="Bot", created_at=end - 2 * day)
    # Merged years ago, touched in the window: updated, neither opened nor merged in it.
    add_item(
        fake_github,
        REPO,
        kind="pr",
        created_at=end - 800 * day,
        merged=True,
        closed_at=end - 790 * day,
        updated_at=end - day,
    )
    add_item(fake_github, REPO, kind="issue", created_at=end - 4 * day, state="closed", closed_at=end - day)
    add_item(fake_github, REPO, kind="issue", ghost=True, created_at=end - 2 * day)
    add_item(fake_github, REPO, kind="issue", created_at=end - 100 * day, updated_at=end - 2 * day)
    # Last touched before the window: in no count.
    add_item(fake_github, REPO, kind="issue", created_at=end - 100 * day, updated_at=end - 30 * day)
    expected = {
        "pull_requests": 3,
        "pull_requests_opened": 2,
        "pull_requests_merged": 1,
        "issues": 3,
        "issues_opened": 2,
        "issues_closed": 1,
    }
    for user, cached in ((alice, False), (bob, True)):
        for name in ("prs", "issues", "people"):
            body = section(user, name).json()
            assert body["cached"] is (cached or name != "prs"), name
            assert set(body["stats"]) == STATS_KEYS
            assert body["stats"] == expected
            assert body["stale"] is False and body["partial"] is False
    assert fake_github.count("POST", GRAPHQL) == 1 and fake_github.graphql_errors == []


def test_a_partial_github_answer_is_served_marked_partial(engine, db, seeded, fake_github, alice):
    fake_github.graphql_partial("prsMerged")
    body = section(alice, "prs").json()
    assert body["partial"] is True and set(body["stats"]) == STATS_KEYS
    assert section(alice, "issues").json()["partial"] is True  # the cached copy says so too
    expires_at = db.scalars(select(Report.expires_at)).one()
    generated_at = db.scalars(select(Report.generated_at)).one()
    assert expires_at - generated_at <= dt.timedelta(minutes=10)


def test_second_user_gets_cached_report_without_github_calls(
    engine, db, seeded, fake_github, fake_openai, alice, bob
):
    assert section(alice, "issues").status == 200
    fake_github.reset_counts()
    fake_openai.reset_counts()
    for name in SECTIONS:
        answer = section(bob, name)
        assert answer.status == 200
        if name != "tldr":
            assert answer.json()["cached"] is True
    assert fake_github.count() == 0
    assert fake_openai.count() == 0
    accessed = db.scalars(select(UserReportAccess.user_id).order_by(UserReportAccess.user_id)).all()
    assert accessed == [alice.id, bob.id]


def test_tldr_section_is_plain_text(engine, seeded, alice):
    answer = section(alice, "tldr")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text and not answer.text.startswith("{")


def test_section_event_file_is_served(engine, seeded, alice, lambda_context):
    event = load_event("reports_section.json")
    event["headers"]["authorization"] = f"Bearer {alice.token}"
    response = load_handler("ReportsFunction")(event, lambda_context)
    assert response["statusCode"] == 200
    assert isinstance(json.loads(response["body"])["prs"], list)


@pytest.mark.slow
def test_hundred_concurrent_requests_for_a_cold_key_make_one_generation(
    engine, db, fake_github, fake_openai, make_user
):
    now = dt.datetime.now(dt.UTC)
    seed_activity(fake_github, REPO, now=now, prs=20, issues=15, seed=11)
    users = [make_user(id=200 + n, login=f"user{n}", github_token=f"gho_fake_user{n}") for n in range(5)]
    for user in users:
        fake_github.add_user(user.login, user.github_token, id=user.id)
    requests = [(users[n % 5], SECTIONS[n % 4]) for n in range(100)]
    with ThreadPoolExecutor(100) as pool:
        answers = list(pool.map(lambda req: section(req[0], req[1]), requests))
    assert [a.status for a in answers] == [200] * 100
    for (_, name), answer in zip(requests, answers, strict=True):
        if name == "tldr":
            assert answer.text
        else:
            assert isinstance(answer.json()[name], list)
    assert count(db, Report) == 1
    assert count(db, ReportJob) == 1
    assert count(db, ReportGeneration) == 0
    github_requests, openai_requests = fake_github.count(), fake_openai.count()
    assert github_requests == fake_github.count("POST", GRAPHQL) == 1
    assert fake_github.graphql_errors == []
    assert 1 <= openai_requests <= MAX_LLM_REQUESTS
    # Exactly what one cold report of the same activity costs.
    seed_activity(fake_github, "octo/twin", now=now, prs=20, issues=15, seed=11)
    fake_github.reset_counts()
    fake_openai.reset_counts()
    assert section(users[0], "prs", repo="octo/twin").status == 200
    assert (fake_github.count(), fake_openai.count()) == (github_requests, openai_requests)


# --------------------------------------------------------------------------------- failures
@pytest.mark.parametrize("status", [500, 502, 503])
def test_github_server_error_then_success_is_retried(engine, db, seeded, fake_github, alice, status):
    fake_github.fail("POST", GRAPHQL, status=status, times=1)
    answer = section(alice, "prs")
    assert answer.status == 200
    assert fake_github.count("POST", GRAPHQL) == 2  # the one request, retried once
    assert fake_github.count() == 2
    assert count(db, Report) == 1


RATE_LIMITED_BODY = {"message": "API rate limit exceeded for user."}


@pytest.mark.parametrize("how", ["rest_403", "rest_429", "graphql_points"])
def test_github_rate_limit_is_429_with_rate_limit_in_detail_and_caches_nothing(
    engine, db, seeded, fake_github, alice, how
):
    """GitHub's rate limit on the GraphQL request, as an HTTP 403 or 429 with the primary limit's headers,
    or as GraphQL's own HTTP 200 ``RATE_LIMITED`` (the token's points are spent): a 429 whose
    ``Retry-After`` is GitHub's reset time, and nothing cached."""
    reset_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=600)
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(reset_at.timestamp()))}
    if how == "graphql_points":
        fake_github.set_graphql_points(alice.github_token, 0, reset_at=reset_at)
    else:
        status = 403 if how == "rest_403" else 429
        fake_github.fail("POST", GRAPHQL, status=status, body=RATE_LIMITED_BODY, headers=headers, times=5)
    answer = section(alice, "prs")
    assert answer.status == 429
    assert answer.json()["code"] == "github_rate_limited"
    assert "rate limit" in answer.json()["detail"].lower()
    assert 590 <= int(answer.headers["retry-after"]) <= 601  # from GitHub's reset time, not a default
    assert fake_github.count("POST", GRAPHQL) == 1 and fake_github.count() == 1  # a reset 10 min away
    assert fake_github.graphql_errors == []
    assert count(db, Report) == 0 and count(db, ReportGeneration) == 0
    assert db.scalars(select(ReportJob.status)).one() == "failed"


def test_openai_failure_caches_nothing_and_the_next_request_succeeds(
    engine, db, seeded, fake_github, fake_openai, alice
):
    fake_openai.fail(status=500, times=20)
    answer = section(alice, "prs")
    assert answer.status in (502, 503)
    assert set(answer.json()) == {"detail", "code"}
    assert count(db, Report) == 0
    fake_openai.fail(status=500, times=0)
    fake_openai._failures.clear()
    answer = section(alice, "prs")
    assert answer.status == 200
    assert all(item["summary"].startswith("Fake AI summary") for item in answer.json()["prs"])


def test_crashed_generation_lease_expires_and_the_next_request_regenerates(
    engine, db, seeded, fake_github, alice, settings_env
):
    from oss_tldr.reports import jobs
    from oss_tldr.reports.models import CacheKey
    from oss_tldr.windows import window_for

    window = window_for("last_week")
    key = CacheKey(REPO, "last_week", window.start, window.end)
    crashed = jobs.claim(key, lease=dt.timedelta(seconds=90), requested_by=alice.id, force=False)
    settings_env(REPORT_WAIT_SECONDS="1")
    pending = call_route(alice, "POST", "/api/v1/reports/generate", body={"repo_url": REPO})
    assert pending.status == 202, pending.text
    assert pending.json() == {"job_id": str(crashed), "status": "in_progress", "progress": 0}
    db.execute(update(ReportGeneration).values(lease_expires_at=func.now() - dt.timedelta(seconds=1)))
    db.commit()
    answer = section(alice, "prs")
    assert answer.status == 200 and answer.json()["cached"] is False
    db.expire_all()
    assert db.get(ReportJob, crashed).status == "failed"
    assert count(db, Report) == 1


def test_a_user_without_a_github_token_is_401_github_token_missing_with_no_github_request(
    engine, db, seeded, fake_github, make_user
):
    tokenless = make_user(id=300, login="tokenless", github_token=None)
    answer = section(tokenless, "prs")
    assert answer.status == 401
    assert answer.json()["code"] == "github_token_missing"
    assert fake_github.count() == 0  # never an anonymous call
    assert count(db, Report) == 0 and count(db, ReportGeneration) == 0


def test_the_service_without_github_token_is_401_github_token_missing_with_no_github_request(
    engine, db, seeded, fake_github, settings_env
):
    """The CLI and background jobs ask with ``GITHUB_TOKEN``: without it, a clear 401 naming it."""
    from oss_tldr.errors import DomainError
    from oss_tldr.reports import service

    settings_env(GITHUB_TOKEN=None)
    for ask in (
        lambda: service.get_section(service.Requester.service(), "octo", "hello", "last_week", "prs"),
        lambda: service.generate_report(service.Requester.service(), "octo", "hello", "last_week"),
    ):
        with pytest.raises(DomainError) as refused:
            ask()
        assert (refused.value.status, refused.value.code) == (401, "github_token_missing")
        assert "GITHUB_TOKEN" in refused.value.detail
    assert fake_github.count() == 0  # never an anonymous call
    assert count(db, Report) == 0 and count(db, ReportGeneration) == 0


# --------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/reports/octo/hello/commits", "timeframe=last_week"),
        ("/api/v1/reports/octo/hello/prs", "timeframe=last_decade"),
        ("/api/v1/reports/-octo/hello/prs", "timeframe=last_week"),
        ("/api/v1/reports/octo/..%2F/prs", "timeframe=last_week"),
        ("/api/v1/reports/octo/hello/prs", "timeframe=last_week&force=maybe"),
    ],
)
def test_bad_section_timeframe_or_name_is_a_json_4xx_and_writes_nothing(
    engine, db, fake_github, alice, path, query
):
    answer = call_route(alice, "GET", path, query=query)
    assert 400 <= answer.status < 500
    assert set(answer.json()) == {"detail", "code"}
    assert fake_github.count() == 0
    for model in (Repository, Report, ReportJob, ReportGeneration, UserReportAccess):
        assert count(db, model) == 0


def test_sections_need_a_session(engine, seeded):
    answer = section(None, "prs")
    assert answer.status == 401
    assert answer.json()["code"]


def test_revoked_session_is_401_even_on_a_cache_hit_and_records_nothing(engine, db, seeded, alice, bob):
    from oss_tldr.db import session_scope
    from oss_tldr.identity.sessions import revoke_session

    assert section(alice, "prs").status == 200
    with session_scope() as session:
        revoke_session(session, bob.session_id)
    answer = section(bob, "prs")
    assert answer.status == 401
    assert answer.json()["code"] == "session_revoked"
    assert db.scalars(select(UserReportAccess.user_id)).all() == [alice.id]


def test_tampered_token_is_401_before_any_database_work(engine, seeded, fake_github, alice):
    forged = type(alice)(**{**alice.__dict__, "headers": {"authorization": f"Bearer {alice.token}x"}})
    answer = section(forged, "prs")
    assert answer.status == 401
    assert fake_github.count() == 0


def test_missing_repository_is_404(engine, db, fake_github, alice):
    answer = section(alice, "prs", repo="octo/nothing")
    assert answer.status == 404
    # Exactly what an outsider of a private repository gets (test below): which it is must not show.
    assert answer.json() == {"detail": "Repository not found.", "code": "not_found"}
    assert fake_github.count("POST", GRAPHQL) == 1 and fake_github.count() == 1
    assert fake_github.graphql_errors == []
    assert count(db, Report) == 0 and count(db, Repository) == 0


# --------------------------------------------------------------------------------- private repositories
@pytest.fixture
def private_repo(fake_github, alice):
    repo = seed_activity(fake_github, "octo/secret", now=dt.datetime.now(dt.UTC), prs=6, issues=4, seed=5)
    repo.private = True
    repo.visible_to = {alice.github_token}
    return repo


def test_private_report_is_served_to_a_user_whose_token_reaches_it(
    engine, db, fake_github, private_repo, alice
):
    assert section(alice, "prs", repo="octo/secret").status == 200
    fake_github.reset_counts()
    assert section(alice, "issues", repo="octo/secret").status == 200
    assert fake_github.count() == 0  # the positive check is remembered for a few minutes
    assert count(db, RepositoryAccessCheck) == 1


def test_private_report_is_404_for_a_user_whose_token_does_not_reach_it(
    engine, db, fake_github, private_repo, alice, bob
):
    assert section(alice, "prs", repo="octo/secret").status == 200
    for name in SECTIONS:
        answer = section(bob, name, repo="octo/secret")
        assert answer.status == 404
        assert answer.json() == {"detail": "Repository not found.", "code": "not_found"}
    report_id = db.scalars(select(Report.id)).one()
    assert call_route(bob, "GET", f"/api/v1/reports/{report_id}").status == 404
    accessed = db.scalars(select(UserReportAccess.user_id)).all()
    assert accessed == [alice.id]


def test_private_access_check_failing_upstream_fails_closed(engine, db, fake_github, private_repo, alice):
    assert section(alice, "prs", repo="octo/secret").status == 200
    db.execute(update(RepositoryAccessCheck).values(expires_at=func.now() - dt.timedelta(seconds=1)))
    db.commit()
    fake_github.fail("GET", r"^/repos/octo/secret$", status=500, times=10)
    answer = section(alice, "prs", repo="octo/secret")
    assert answer.status >= 500 and answer.status != 500
    fake_github.fail("GET", r"^/repos/octo/secret$", status=403, body={"message": "Forbidden"}, times=1)
    fake_github._failures = fake_github._failures[-1:]
    assert section(alice, "prs", repo="octo/secret").status == 403


def test_public_report_row_needs_no_access_check(engine, seeded, fake_github, alice, bob):
    section(alice, "prs")
    fake_github.reset_counts()
    assert section(bob, "people").status == 200
    assert fake_github.count("GET", LOOKUP) == 0


# --------------------------------------------------------------------------------- generate, jobs, force
def test_generate_answers_the_whole_report_and_the_job_shows_completion(engine, db, seeded, alice):
    answer = call_route(
        alice, "POST", "/api/v1/reports/generate", body={"repo_url": f"https://github.com/{REPO}"}
    )
    assert answer.status == 200
    report = answer.json()
    assert report["repo"] == REPO and report["timeframe"] == "last_week" and report["cached"] is False
    assert {"tldr", "prs", "issues", "people", "timeframe_start", "timeframe_end", "version"} <= set(report)
    job_id = db.scalars(select(ReportJob.id)).one()
    job = call_route(alice, "GET", f"/api/v1/reports/jobs/{job_id}").json()
    assert job == {
        "job_id": str(job_id),
        "status": "completed",
        "progress": 100,
        "report_id": report["id"],
        "error": None,
    }
    again = call_route(alice, "POST", "/api/v1/reports/generate", body={"repo_url": REPO})
    assert again.json()["cached"] is True and again.json()["id"] == report["id"]
    assert call_route(alice, "GET", f"/api/v1/reports/{report['id']}").json()["tldr"] == report["tldr"]


def test_unknown_job_is_404(engine, alice):
    assert call_route(alice, "GET", "/api/v1/reports/jobs/not-a-uuid").status == 404
    answer = call_route(alice, "GET", "/api/v1/reports/jobs/00000000-0000-4000-8000-000000000000")
    assert answer.status == 404


def test_generate_with_bad_repo_url_or_timeframe_is_4xx_and_writes_nothing(engine, db, fake_github, alice):
    for body in (
        {"repo_url": "https://gitlab.com/octo/hello"},
        {"repo_url": REPO, "timeframe": "yesterday"},
        {"repo_url": REPO, "force": "sometimes"},
        {},
    ):
        answer = call_route(alice, "POST", "/api/v1/reports/generate", body=body)
        assert 400 <= answer.status < 500, body
        assert set(answer.json()) == {"detail", "code"}
    assert fake_github.count() == 0
    assert count(db, ReportJob) == 0 and count(db, Repository) == 0


def test_force_regenerates_and_is_limited_by_a_daily_quota(
    engine, db, seeded, fake_github, alice, settings_env
):
    settings_env(FORCE_DAILY_QUOTA="2")
    first = section(alice, "prs").json()
    for _ in range(2):
        forced = section(alice, "prs", force=True)
        assert forced.status == 200 and forced.json()["cached"] is False
    assert forced.json()["generated_at"] > first["generated_at"]
    over = section(alice, "prs", force=True)
    assert over.status == 429
    assert "rate limit" in over.json()["detail"].lower()
    assert 0 < int(over.headers["retry-after"]) <= 86400
    assert db.scalars(select(ReportForceUsage.count)).one() == 2
    assert count(db, ReportJob) == 3
    assert section(alice, "prs").status == 200  # unforced requests still served


# --------------------------------------------------------------------------------- listings and admin
def test_my_reports_lists_opened_reports_newest_first_with_a_cursor(engine, fake_github, alice):
    for name in ("octo/a", "octo/b", "octo/c"):
        seed_activity(fake_github, name, now=dt.datetime.now(dt.UTC), prs=2, issues=1, seed=2)
        assert section(alice, "prs", repo=name).status == 200
    page = call_route(alice, "GET", "/api/v1/users/me/reports", query="limit=2").json()
    assert [r["repo"] for r in page["reports"]] == ["octo/c", "octo/b"]
    assert page["next_cursor"]
    rest = call_route(alice, "GET", "/api/v1/users/me/reports", query=f"limit=2&cursor={page['next_cursor']}")
    assert [r["repo"] for r in rest.json()["reports"]] == ["octo/a"]
    assert rest.json()["next_cursor"] is None
    assert call_route(alice, "GET", "/api/v1/users/me/reports", query="cursor=garbage").status == 400
    assert call_route(alice, "GET", "/api/v1/users/me/reports", query="limit=0").status == 422


def test_admin_routes_are_forbidden_to_non_admins(engine, db, seeded, alice):
    section(alice, "prs")
    report_id = db.scalars(select(Report.id)).one()
    for method, path, query in (
        ("GET", "/api/v1/reports", ""),
        ("DELETE", f"/api/v1/reports/{report_id}", ""),
        ("DELETE", "/api/v1/reports", f"repo={REPO}"),
    ):
        answer = call_route(alice, method, path, query=query)
        assert answer.status == 403, path
    assert count(db, Report) == 1


def test_admin_lists_and_invalidates_reports_with_an_audit_trail(
    engine, db, seeded, make_user, settings_env, alice
):
    from oss_tldr.db.models import AuditLog

    settings_env(ADMIN_LOGINS="root")
    admin = make_user(id=900, login="root", github_token="gho_fake_root")
    section(alice, "prs")
    section(alice, "prs", timeframe="last_month")
    listing = call_route(admin, "GET", "/api/v1/reports", query=f"repo={REPO}&timeframe=last_week").json()
    assert [r["timeframe"] for r in listing["reports"]] == ["last_week"]
    one = listing["reports"][0]["id"]
    assert call_route(admin, "DELETE", f"/api/v1/reports/{one}").json() == {"deleted": 1}
    assert call_route(admin, "DELETE", f"/api/v1/reports/{one}").status == 404
    assert call_route(admin, "DELETE", "/api/v1/reports", query=f"repo={REPO}").json() == {"deleted": 1}
    assert count(db, Report) == 0
    actions = db.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["admin.report_invalidated", "admin.repository_reports_invalidated"]


def test_item_summaries_are_reused_by_an_overlapping_window(engine, fake_github, fake_openai, alice):
    from tools.fakes.github_activity import add_item

    now = dt.datetime.now(dt.UTC)
    for i in range(8):  # active 2-4 days ago: inside both the last_week and the last_month windows
        add_item(
            fake_github,
            REPO,
            kind="pr" if i < 5 else "issue",
            login=["alice", "bob"][i % 2],
            comments=i,
            created_at=now - dt.timedelta(days=4) + dt.timedelta(hours=i),
            updated_at=now - dt.timedelta(days=2) + dt.timedelta(hours=i),
        )
    assert section(alice, "prs", timeframe="last_month").status == 200
    assert fake_openai.count("item_summaries") >= 1
    fake_openai.reset_counts()
    week = section(alice, "prs", timeframe="last_week")
    assert week.status == 200 and week.json()["cached"] is False
    assert fake_openai.count("item_summaries") == 0  # every item summary came from the item cache
    assert fake_openai.count("digest") == 1


def test_a_failed_forced_regeneration_does_not_use_up_the_quota(engine, db, seeded, fake_github, alice):
    assert section(alice, "prs").status == 200
    fake_github.reset_counts()
    fake_github.fail("POST", GRAPHQL, status=500, times=10)
    assert section(alice, "prs", force=True).status == 502
    assert fake_github.count("POST", GRAPHQL) >= 1  # the forced generation did ask GitHub, and failed
    assert db.scalars(select(ReportForceUsage.count)).all() in ([], [0])
    assert section(alice, "prs").json()["cached"] is True  # the old report is still served


def test_hits_and_misses_are_published_as_metrics(engine, seeded, alice, capsys):
    section(alice, "prs")
    section(alice, "issues")
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    names = {m["Name"] for blob in emitted for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"CacheMiss", "CacheHit", "GenerationSeconds", "GitHubRequests", "LLMRequests"} <= names


def test_section_that_cannot_wait_longer_is_a_503_with_retry_after(engine, db, seeded, alice, settings_env):
    from oss_tldr.reports import jobs
    from oss_tldr.reports.models import CacheKey
    from oss_tldr.windows import window_for

    window = window_for("last_week")
    key = CacheKey(REPO, "last_week", window.start, window.end)
    jobs.claim(key, lease=dt.timedelta(seconds=90), requested_by=None, force=False)
    settings_env(REPORT_WAIT_SECONDS="1")
    answer = section(alice, "prs")
    assert answer.status == 503
    assert answer.json()["code"] == "report_generating"
    assert answer.headers["retry-after"] == "5"
    assert count(db, Report) == 0


def test_cors_preflight_of_a_section_needs_no_session(engine):
    event = http_event(
        "OPTIONS",
        "/api/v1/reports/octo/hello/prs",
        headers={"origin": "http://localhost:5173", "access-control-request-method": "GET"},
    )
    response = load_handler("ReportsFunction")(event, FakeLambdaContext("ReportsFunction"))
    assert response["statusCode"] in (200, 204)
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers["access-control-allow-origin"] == "http://localhost:5173"
