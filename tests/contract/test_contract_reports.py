"""docs/api.md "Reports" (and "Other": health), seen from outside: real HTTP through the local API
(`tools.devserver`, what `make dev` serves) against the fake GitHub and the fake OpenAI.

Each test reads like a sentence of the contract: the shapes the SPA reads, the status codes, and that a
failed or refused request leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fixtures_identity import Account, Cast
from helpers import ROOT, STATS_KEYS
from helpers import assert_error as _assert_error
from sqlalchemy import func, select, update

from oss_tldr.db.models import Report, ReportGeneration, ReportJob, Repository, UserReportAccess
from tools.fakes.github_activity import add_item, seed_activity

ORIGIN = "http://localhost:5173"
REPO = "octo/hello"
SECTIONS = ("prs", "issues", "people", "tldr")
ITEM_KEYS = {
    "id",
    "number",
    "title",
    "state",
    "summary",
    "html_url",
    "created_at",
    "updated_at",
    "comments",
    "reactions",
    "labels",
    "user",
    "assignees",
    "is_pull_request",
    "merged",
}
USER_KEYS = {"login", "avatar_url", "profile_url"}
PERSON_KEYS = {"username", "avatar_url", "profile_url", "tldr", "prs", "issues", "total_items"}
REPORT_KEYS = {
    "id",
    "repo",
    "timeframe",
    "timeframe_start",
    "timeframe_end",
    "tldr",
    "prs",
    "issues",
    "people",
    "generated_at",
    "expires_at",
    "version",
    "cached",
    "stats",
    "stale",
    "partial",
}
GRAPHQL = r"^/graphql$"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


USERS = Cast(
    alice=Account(301, "gho_fake_alice_contract"),
    bob=Account(302, "gho_fake_bob_contract"),
    admin=Account(303, "gho_fake_root_contract", login="root"),
    origin=ORIGIN,
)


@pytest.fixture
def api(start_local_api, fake_github, fake_openai, settings_env):
    settings_env(ADMIN_LOGINS="root")
    with httpx.Client(base_url=f"{start_local_api()}/api/v1", timeout=60) as client:
        yield client


@pytest.fixture
def seeded(fake_github):
    return seed_activity(fake_github, REPO, now=dt.datetime.now(dt.UTC), prs=14, issues=11, bots=2, seed=4)


def _open_report(api: httpx.Client, headers: dict[str, str], repo: str = REPO, **params: str):
    """What the SPA does: the four section routes at the same moment."""
    query = {"timeframe": "last_week", **params}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            s: pool.submit(api.get, f"/reports/{repo}/{s}", params=query, headers=headers) for s in SECTIONS
        }
        return {s: f.result() for s, f in futures.items()}


def _count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


def _assert_user_ref(ref: Any) -> None:
    assert isinstance(ref, dict) and set(ref) == USER_KEYS, ref
    assert isinstance(ref["login"], str) and ref["login"]
    assert ref["profile_url"] == f"https://github.com/{ref['login']}"


def _assert_item(item: Any, *, pull_request: bool) -> None:
    assert isinstance(item, dict) and set(item) == ITEM_KEYS, sorted(item)
    assert isinstance(item["id"], str) and item["id"]
    assert isinstance(item["number"], int) and not isinstance(item["number"], bool)
    for key in ("title", "state", "summary", "html_url", "created_at", "updated_at"):
        assert isinstance(item[key], str), key
    assert ISO.match(item["created_at"]) and ISO.match(item["updated_at"])
    assert item["html_url"].startswith("https://github.com/")
    for key in ("comments", "reactions"):
        assert isinstance(item[key], int) and not isinstance(item[key], bool), key
    assert isinstance(item["labels"], list) and all(isinstance(label, str) for label in item["labels"])
    _assert_user_ref(item["user"])
    assert isinstance(item["assignees"], list)
    for assignee in item["assignees"]:
        _assert_user_ref(assignee)
    assert item["is_pull_request"] is pull_request
    assert isinstance(item["merged"], bool) and (pull_request or item["merged"] is False)


def _assert_person(person: Any) -> None:
    assert isinstance(person, dict) and set(person) == PERSON_KEYS, sorted(person)
    assert isinstance(person["username"], str) and person["username"]
    assert isinstance(person["tldr"], str)
    assert isinstance(person["prs"], list) and isinstance(person["issues"], list)
    for item in person["prs"]:
        _assert_item(item, pull_request=True)
    for item in person["issues"]:
        _assert_item(item, pull_request=False)
    assert isinstance(person["total_items"], int) and person["total_items"] >= 1


def _assert_stats(body: dict[str, Any]) -> None:
    """``stats``, ``stale`` and ``partial`` as docs/api.md gives them (a complete, fresh answer here)."""
    stats = body["stats"]
    assert isinstance(stats, dict) and set(stats) == STATS_KEYS, stats
    assert all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in stats.values()), stats
    assert stats["pull_requests_merged"] <= stats["pull_requests"] + stats["pull_requests_opened"]
    assert body["stale"] is False and body["partial"] is False


def _assert_report(report: Any) -> None:
    assert isinstance(report, dict) and set(report) == REPORT_KEYS, sorted(report)
    assert isinstance(report["id"], int) and report["repo"] == REPO and report["timeframe"] == "last_week"
    for key in ("timeframe_start", "timeframe_end", "generated_at", "expires_at"):
        assert isinstance(report[key], str) and ISO.match(report[key]), key
    assert report["timeframe_start"] < report["timeframe_end"]
    assert isinstance(report["tldr"], str) and report["tldr"].strip()
    assert isinstance(report["version"], int) and isinstance(report["cached"], bool)
    for item in report["prs"]:
        _assert_item(item, pull_request=True)
    for item in report["issues"]:
        _assert_item(item, pull_request=False)
    for person in report["people"]:
        _assert_person(person)
    _assert_stats(report)
    # GitHub's exact counts (bots included) are never fewer than the items the report lists.
    assert report["stats"]["pull_requests"] >= len(report["prs"])
    assert report["stats"]["issues"] >= len(report["issues"])


# --------------------------------------------------------------------------------- section routes
def test_four_sections_of_a_cold_report_answer_200_with_the_contract_shapes(api, seeded, alice, db):
    answers = _open_report(api, alice)
    for name, response in answers.items():
        assert response.status_code == 200, (name, response.text)
        assert response.headers.get("access-control-allow-origin") == ORIGIN
    tldr = answers["tldr"]
    assert tldr.headers["content-type"].startswith("text/plain")
    assert tldr.text.strip() and not tldr.text.lstrip().startswith(("{", '"'))
    for name in ("prs", "issues", "people"):
        body = answers[name].json()
        assert {name, "cached", "generated_at", "expires_at"} <= set(body), sorted(body)
        assert isinstance(body["cached"], bool)
        assert ISO.match(body["generated_at"]) and ISO.match(body["expires_at"])
        assert body["generated_at"] < body["expires_at"]
        assert isinstance(body[name], list) and body[name], name
        _assert_stats(body)
        assert body["stats"] == answers["prs"].json()["stats"]  # one report behind the four answers
    for item in answers["prs"].json()["prs"]:
        _assert_item(item, pull_request=True)
    for item in answers["issues"].json()["issues"]:
        _assert_item(item, pull_request=False)
    for person in answers["people"].json()["people"]:
        _assert_person(person)
    # One report for the four requests, and a second look is a cache hit with the same data.
    assert _count(db, Report) == 1
    again = api.get(f"/reports/{REPO}/prs", params={"timeframe": "last_week"}, headers=alice)
    assert again.json()["cached"] is True and again.json()["prs"] == answers["prs"].json()["prs"]


def test_arrays_are_never_null_for_a_repository_with_no_activity(api, fake_github, alice):
    fake_github.add_repo("octo/quiet")
    answers = _open_report(api, alice, repo="octo/quiet")
    assert all(r.status_code == 200 for r in answers.values()), {s: r.text for s, r in answers.items()}
    for name in ("prs", "issues", "people"):
        assert answers[name].json()[name] == []
    assert answers["tldr"].headers["content-type"].startswith("text/plain")
    report = api.post(
        "/reports/generate", json={"repo_url": "octo/quiet", "timeframe": "last_week"}, headers=alice
    )
    assert report.status_code == 200
    assert (report.json()["prs"], report.json()["issues"], report.json()["people"]) == ([], [], [])


def test_items_without_labels_or_assignees_have_empty_arrays_not_null(api, seeded, alice):
    items = [
        *api.get(f"/reports/{REPO}/prs", headers=alice).json()["prs"],
        *api.get(f"/reports/{REPO}/issues", headers=alice).json()["issues"],
    ]
    assert any(item["labels"] == [] for item in items)
    assert any(item["assignees"] == [] for item in items)
    assert all(isinstance(item["labels"], list) and isinstance(item["assignees"], list) for item in items)


def test_every_timeframe_is_accepted_and_defaults_to_last_week(api, seeded, alice):
    for timeframe in ("last_day", "last_week", "last_month", "last_year"):
        response = api.get(f"/reports/{REPO}/prs", params={"timeframe": timeframe}, headers=alice)
        assert response.status_code == 200, (timeframe, response.text)
    default = api.post("/reports/generate", json={"repo_url": REPO}, headers=alice)
    assert default.status_code == 200 and default.json()["timeframe"] == "last_week"


# --------------------------------------------------------------------------------- generate, jobs, by id
def test_generate_answers_a_whole_report_and_the_job_and_id_routes_agree(api, seeded, alice, db):
    response = api.post(
        "/reports/generate",
        json={"repo_url": f"https://github.com/{REPO}", "timeframe": "last_week"},
        headers=alice,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    _assert_report(report)
    assert report["cached"] is False

    job_id = str(db.scalars(select(ReportJob.id)).one())
    job = api.get(f"/reports/jobs/{job_id}", headers=alice)
    assert job.status_code == 200
    assert job.json() == {
        "job_id": job_id,
        "status": "completed",
        "progress": 100,
        "report_id": report["id"],
        "error": None,
    }

    by_id = api.get(f"/reports/{report['id']}", headers=alice)
    assert by_id.status_code == 200
    _assert_report(by_id.json())
    assert {k: v for k, v in by_id.json().items() if k != "cached"} == {
        k: v for k, v in report.items() if k != "cached"
    }
    cached = api.post("/reports/generate", json={"repo_url": REPO, "timeframe": "last_week"}, headers=alice)
    assert (
        cached.status_code == 200 and cached.json()["cached"] is True and cached.json()["id"] == report["id"]
    )
    # The sections serve the same report.
    section = api.get(f"/reports/{REPO}/prs", params={"timeframe": "last_week"}, headers=alice).json()
    assert section["prs"] == report["prs"]


def test_generate_is_202_with_a_job_while_another_generation_runs_and_the_job_shows_it(
    api, seeded, alice, db, settings_env
):
    from oss_tldr.reports import jobs
    from oss_tldr.reports.models import CacheKey
    from oss_tldr.windows import window_for

    window = window_for("last_week")
    key = CacheKey(REPO, "last_week", window.start, window.end)
    running = jobs.claim(key, lease=dt.timedelta(seconds=90), requested_by=None, force=False)
    settings_env(REPORT_WAIT_SECONDS="1")

    pending = api.post("/reports/generate", json={"repo_url": REPO, "timeframe": "last_week"}, headers=alice)
    assert pending.status_code == 202, pending.text
    assert pending.json() == {"job_id": str(running), "status": "in_progress", "progress": 0}
    job = api.get(f"/reports/jobs/{running}", headers=alice).json()
    assert set(job) == {"job_id", "status", "progress", "report_id", "error"}
    assert job["status"] in ("queued", "in_progress") and 0 <= job["progress"] <= 100
    assert _count(db, Report) == 0

    # Its generator died: the lease expires, the next request regenerates and the old job is failed.
    db.execute(update(ReportGeneration).values(lease_expires_at=func.now() - dt.timedelta(seconds=1)))
    db.commit()
    done = api.post("/reports/generate", json={"repo_url": REPO, "timeframe": "last_week"}, headers=alice)
    assert done.status_code == 200
    _assert_report(done.json())
    failed = api.get(f"/reports/jobs/{running}", headers=alice).json()
    assert "status" in failed, failed
    assert failed["status"] == "failed" and isinstance(failed["error"], str) and failed["error"]


def test_job_and_report_routes_need_a_session_and_unknown_ids_are_404(api, alice):
    anonymous = {"Origin": ORIGIN}
    _assert_error(api.get("/reports/jobs/00000000-0000-4000-8000-000000000000", headers=anonymous), 401)
    _assert_error(api.get("/reports/jobs/00000000-0000-4000-8000-000000000000", headers=alice), 404)
    _assert_error(api.get("/reports/jobs/not-a-job", headers=alice), 404)
    _assert_error(api.get("/reports/1", headers=anonymous), 401)
    _assert_error(api.get("/reports/1", headers=alice), 404)
    _assert_error(api.get("/users/me/reports", headers=anonymous), 401)
    for name in SECTIONS:
        _assert_error(api.get(f"/reports/{REPO}/{name}", headers=anonymous), 401)
    _assert_error(api.post("/reports/generate", json={"repo_url": REPO}, headers=anonymous), 401)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_report_id_beyond_the_database_range_is_a_4xx_not_a_500(api, admin, method, db):
    for report_id in ("2147483648", "99999999999999999999999", "0", "-1"):
        _assert_error(api.request(method, f"/reports/{report_id}", headers=admin), (404, 422))
    assert _count(db, Report) == 0


# --------------------------------------------------------------------------------- listings
def test_my_reports_lists_the_reports_i_opened_newest_first_with_an_opaque_cursor(
    api, fake_github, alice, bob, db
):
    now = dt.datetime.now(dt.UTC)
    for name in ("octo/a", "octo/b", "octo/c"):
        seed_activity(fake_github, name, now=now, prs=2, issues=1, bots=0, old=0, seed=2)
        assert api.get(f"/reports/{name}/prs", headers=alice).status_code == 200
    empty = api.get("/users/me/reports", headers=bob)
    assert empty.status_code == 200 and empty.json() == {"reports": [], "next_cursor": None}

    first = api.get("/users/me/reports", params={"limit": 2}, headers=alice)
    assert first.status_code == 200 and set(first.json()) == {"reports", "next_cursor"}
    assert [r["repo"] for r in first.json()["reports"]] == ["octo/c", "octo/b"]
    cursor = first.json()["next_cursor"]
    assert isinstance(cursor, str) and cursor
    rest = api.get("/users/me/reports", params={"limit": 2, "cursor": cursor}, headers=alice).json()
    assert [r["repo"] for r in rest["reports"]] == ["octo/a"] and rest["next_cursor"] is None
    summary = rest["reports"][0]
    assert {"id", "repo", "timeframe", "generated_at"} <= set(summary)
    assert isinstance(summary["id"], int) and summary["timeframe"] == "last_week"
    # Opening a report again (accesses are recorded to the minute) moves it to the front.
    db.execute(
        update(UserReportAccess).values(accessed_at=UserReportAccess.accessed_at - dt.timedelta(minutes=2))
    )
    db.commit()
    assert api.get("/reports/octo/a/issues", headers=alice).status_code == 200
    again = api.get("/users/me/reports", headers=alice).json()["reports"]
    assert [r["repo"] for r in again] == ["octo/a", "octo/c", "octo/b"]


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=-1",
        "limit=abc",
        "limit=1.5",
        "limit=99999999999999999999999",
        "cursor=garbage",
        "cursor=%00",
        "cursor=" + "A" * 300,
        "cursor=eyJ4IjoxfQ",
        "limit=1&limit=2",
    ],
)
def test_bad_listing_parameters_are_a_json_4xx(api, alice, admin, query):
    _assert_error(api.get(f"/users/me/reports?{query}", headers=alice), (400, 422))
    _assert_error(api.get(f"/reports?{query}", headers=admin), (400, 422))


# --------------------------------------------------------------------------------- admin routes
def test_admin_routes_are_403_to_non_admins_and_change_nothing(api, seeded, alice, db):
    report = api.post("/reports/generate", json={"repo_url": REPO}, headers=alice).json()
    for method, path, params in (
        ("GET", "/reports", {}),
        ("GET", "/reports", {"repo": REPO, "timeframe": "last_week"}),
        ("DELETE", f"/reports/{report['id']}", {}),
        ("DELETE", "/reports", {"repo": REPO}),
    ):
        _assert_error(api.request(method, path, params=params, headers=alice), 403)
    assert _count(db, Report) == 1
    _assert_error(api.get("/reports", headers={"Origin": ORIGIN}), 401)


def test_admin_logins_list_filter_and_invalidate_reports(api, seeded, fake_github, alice, admin, db):
    seed_activity(fake_github, "octo/other", now=dt.datetime.now(dt.UTC), prs=2, issues=2, seed=8)
    week = api.post("/reports/generate", json={"repo_url": REPO}, headers=alice).json()
    api.post("/reports/generate", json={"repo_url": REPO, "timeframe": "last_month"}, headers=alice)
    api.post("/reports/generate", json={"repo_url": "octo/other"}, headers=alice)

    listing = api.get("/reports", headers=admin)
    assert listing.status_code == 200 and set(listing.json()) == {"reports", "next_cursor"}
    assert len(listing.json()["reports"]) == 3
    one = api.get("/reports", params={"repo": REPO, "timeframe": "last_week"}, headers=admin).json()
    assert [r["id"] for r in one["reports"]] == [week["id"]]
    by_url = api.get("/reports", params={"repo": f"https://github.com/{REPO}"}, headers=admin).json()
    assert {r["timeframe"] for r in by_url["reports"]} == {"last_week", "last_month"}
    paged = api.get("/reports", params={"limit": 2}, headers=admin).json()
    assert len(paged["reports"]) == 2 and paged["next_cursor"]
    tail = api.get("/reports", params={"limit": 2, "cursor": paged["next_cursor"]}, headers=admin).json()
    assert len(tail["reports"]) == 1 and tail["next_cursor"] is None

    deleted = api.delete(f"/reports/{week['id']}", headers=admin)
    assert deleted.status_code == 200 and deleted.json() == {"deleted": 1}
    _assert_error(api.delete(f"/reports/{week['id']}", headers=admin), 404)
    _assert_error(api.get(f"/reports/{week['id']}", headers=alice), 404)
    bulk = api.delete("/reports", params={"repo": REPO}, headers=admin)
    assert bulk.status_code == 200 and bulk.json() == {"deleted": 1}
    assert [r["repo"] for r in api.get("/reports", headers=admin).json()["reports"]] == ["octo/other"]
    # An invalidated report is generated afresh on the next request.
    fresh = api.get(f"/reports/{REPO}/prs", headers=alice)
    assert fresh.status_code == 200 and fresh.json()["cached"] is False


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/reports", {"repo": "not a repo"}),
        ("GET", "/reports", {"timeframe": "last_decade"}),
        ("DELETE", "/reports", {}),
        ("DELETE", "/reports", {"repo": ""}),
        ("DELETE", "/reports", {"repo": "https://gitlab.com/octo/hello"}),
        ("DELETE", "/reports/abc", {}),
    ],
)
def test_bad_admin_input_is_a_json_4xx(api, admin, method, path, params):
    _assert_error(api.request(method, path, params=params, headers=admin), (400, 422))


# --------------------------------------------------------------------------------- force and its quota
def test_forced_regeneration_beyond_the_daily_quota_is_429_with_retry_after_and_rate_limit(
    api, seeded, alice, bob, settings_env, db
):
    settings_env(FORCE_DAILY_QUOTA="1")
    first = api.get(f"/reports/{REPO}/prs", headers=alice).json()
    forced = api.get(f"/reports/{REPO}/prs", params={"force": "true"}, headers=alice)
    assert forced.status_code == 200 and forced.json()["cached"] is False
    assert forced.json()["generated_at"] > first["generated_at"]
    jobs = _count(db, ReportJob)

    over = api.get(f"/reports/{REPO}/prs", params={"force": "true"}, headers=alice)
    body = _assert_error(over, 429)
    assert "rate limit" in body["detail"].lower()
    assert 0 < int(over.headers["retry-after"]) <= 86400
    over_generate = api.post("/reports/generate", json={"repo_url": REPO, "force": True}, headers=alice)
    assert "rate limit" in _assert_error(over_generate, 429)["detail"].lower()
    assert int(over_generate.headers["retry-after"]) > 0
    assert _count(db, ReportJob) == jobs  # refused requests start nothing

    # Unforced requests are still served, and the quota is the caller's own.
    assert api.get(f"/reports/{REPO}/prs", headers=alice).status_code == 200
    assert api.get(f"/reports/{REPO}/prs", params={"force": "true"}, headers=bob).status_code == 200


@pytest.mark.parametrize("value", ["maybe", "", "2", "null"])
def test_force_that_is_not_a_boolean_is_a_4xx_and_regenerates_nothing(api, seeded, alice, db, value):
    assert api.get(f"/reports/{REPO}/prs", headers=alice).status_code == 200
    _assert_error(api.get(f"/reports/{REPO}/prs", params={"force": value}, headers=alice), (400, 422))
    assert _count(db, ReportJob) == 1


# --------------------------------------------------------------------------------- private repositories
@pytest.fixture
def private_repo(fake_github):
    repo = seed_activity(fake_github, "octo/secret", now=dt.datetime.now(dt.UTC), prs=5, issues=4, seed=6)
    repo.private = True
    repo.visible_to = {"gho_fake_alice_contract"}
    return repo


def test_private_report_is_served_only_to_callers_whose_token_reaches_it_and_404_looks_like_missing(
    api, private_repo, fake_github, alice, bob, db
):
    for name, response in _open_report(api, alice, repo="octo/secret").items():
        assert response.status_code == 200, (name, response.text)
    report_id = db.scalars(select(Report.id)).one()

    for name in SECTIONS:
        hidden = api.get(f"/reports/octo/secret/{name}", params={"timeframe": "last_week"}, headers=bob)
        missing = api.get(f"/reports/octo/nothing/{name}", params={"timeframe": "last_week"}, headers=bob)
        assert _assert_error(hidden, 404) == _assert_error(missing, 404), name
    hidden = api.post("/reports/generate", json={"repo_url": "octo/secret"}, headers=bob)
    missing = api.post("/reports/generate", json={"repo_url": "octo/nothing"}, headers=bob)
    assert _assert_error(hidden, 404) == _assert_error(missing, 404)
    assert _assert_error(api.get(f"/reports/{report_id}", headers=bob), 404) == _assert_error(
        api.get(f"/reports/{report_id + 1000}", headers=bob), 404
    )
    # Bob saw nothing: no access recorded, nothing in his history.
    assert set(db.scalars(select(UserReportAccess.user_id)).all()) == {301}
    assert api.get("/users/me/reports", headers=bob).json()["reports"] == []

    # Once GitHub lets Bob's token see the repository, he is served the same shared report — by name
    # first (the section route checks his token); by id once he has a record of seeing it (a private id
    # never seen is the missing id's 404 without a GitHub call: issue 7, finding 4).
    private_repo.visible_to.add("gho_fake_bob_contract")
    fake_github.reset_counts()
    assert api.get("/reports/octo/secret/prs", headers=bob).json()["cached"] is True
    served = api.get(f"/reports/{report_id}", headers=bob)
    assert served.status_code == 200 and served.json()["id"] == report_id
    # Bob's private-access check was the REST lookup, once; nothing was generated again.
    assert fake_github.count("POST", GRAPHQL) == 0
    assert fake_github.count() == fake_github.count("GET", r"^/repos/octo/secret$") == 1


# --------------------------------------------------------------------------------- bad input
BAD_SECTION_PATHS = [
    ("/reports/octo/hello/commits", {"timeframe": "last_week"}),
    ("/reports/octo/hello/PRS", {"timeframe": "last_week"}),
    ("/reports/octo/hello/%F0%9F%98%80", {"timeframe": "last_week"}),
    ("/reports/octo/hello/prs", {"timeframe": "last_decade"}),
    ("/reports/octo/hello/prs", {"timeframe": ""}),
    ("/reports/octo/hello/prs", {"timeframe": "LAST_WEEK"}),
    ("/reports/octo/hello/prs", {"timeframe": "x" * 5000}),
    ("/reports/octo/hello/prs", [("timeframe", "last_week"), ("timeframe", "last_day")]),
    ("/reports/" + "a" * 3000 + "/hello/prs", {}),
    ("/reports/octo/" + "b" * 3000 + "/prs", {}),
    ("/reports/%C3%A9t%C3%A9/hello/prs", {}),
    ("/reports/octo/h%C3%A9llo/prs", {}),
    ("/reports/-octo/hello/prs", {}),
    ("/reports/octo/../prs", {}),
    ("/reports/octo/%2E%2E/prs", {}),
    ("/reports/octo/hello%2Fx/prs", {}),
    ("/reports/..%2F..%2Fetc/hello/prs", {}),
    ("/reports/octo/hello%00/prs", {}),
    ("/reports/octo/hello%20world/prs", {}),
    ("/reports/octo/hello;drop/prs", {}),
    ("/reports/o%27ct/hello/prs", {}),
]


@pytest.mark.parametrize(("path", "params"), BAD_SECTION_PATHS)
def test_bad_section_path_or_query_is_a_json_4xx_and_writes_nothing(
    api, fake_github, alice, db, path, params
):
    _assert_error(api.get(path, params=params, headers=alice), (400, 404, 422))
    assert _count(db, Report) == 0 and _count(db, ReportJob) == 0 and _count(db, Repository) == 0
    assert fake_github.count() == 0


BAD_GENERATE_BODIES: list[bytes] = [
    b"",
    b"{not json",
    b"[]",
    b"null",
    b'"octo/hello"',
    b"{}",
    b'{"repo_url": 5}',
    b'{"repo_url": null}',
    b'{"repo_url": ""}',
    b'{"repo_url": "not a repo"}',
    b'{"repo_url": "https://gitlab.com/octo/hello"}',
    b'{"repo_url": "javascript:alert(1)"}',
    b'{"repo_url": "octo/hello", "timeframe": "yesterday"}',
    b'{"repo_url": "octo/hello", "timeframe": 7}',
    b'{"repo_url": "octo/hello", "force": "sometimes"}',
    b'{"repo_url": "octo/hello", "force": [true]}',
    b'{"repo_url": "' + b"a" * 600 + b'"}',
    b'{"repo_url": "octo/h\\u0000llo"}',
]


@pytest.mark.parametrize("body", BAD_GENERATE_BODIES)
def test_bad_generate_body_is_a_json_4xx_and_writes_nothing(api, fake_github, alice, db, body):
    response = api.post(
        "/reports/generate", content=body, headers={**alice, "content-type": "application/json"}
    )
    _assert_error(response, (400, 422))
    assert _count(db, Report) == 0 and _count(db, ReportJob) == 0 and _count(db, Repository) == 0
    assert fake_github.count() == 0


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"\xff\xfe\xfd"),
        ("application/json", b'{"repo_url": "octo/h\xe9llo"}'),
        ("multipart/form-data", b'{"repo_url": "octo/hello"}'),
        ("text/plain", b'{"repo_url": "octo/hello"}'),
        ("application/octet-stream", b'{"repo_url": "octo/hello"}'),
    ],
)
def test_generate_body_that_is_not_utf8_json_is_a_json_4xx_and_writes_nothing(
    api, fake_github, alice, db, content_type, body
):
    response = api.post("/reports/generate", content=body, headers={**alice, "content-type": content_type})
    _assert_error(response, (400, 415, 422))
    assert _count(db, Report) == 0 and _count(db, ReportJob) == 0 and _count(db, Repository) == 0
    assert fake_github.count() == 0


def test_missing_repository_is_a_404_and_caches_nothing(api, fake_github, alice, db):
    _assert_error(api.get("/reports/octo/nothing/prs", headers=alice), 404)
    _assert_error(api.post("/reports/generate", json={"repo_url": "octo/nothing"}, headers=alice), 404)
    assert _count(db, Report) == 0 and _count(db, ReportGeneration) == 0 and _count(db, Repository) == 0
    assert fake_github.count("POST", GRAPHQL) == 2  # each asked GitHub once: NOT_FOUND, nothing more
    assert fake_github.count() == 2 and fake_github.graphql_errors == []


# --------------------------------------------------------------------------------- upstream failures
def test_github_failing_beyond_retries_is_502_and_caches_nothing(api, seeded, fake_github, alice, db):
    fake_github.fail("POST", GRAPHQL, status=502, times=50)
    _assert_error(api.get(f"/reports/{REPO}/prs", headers=alice), (502, 503))
    _assert_error(api.post("/reports/generate", json={"repo_url": REPO}, headers=alice), (502, 503))
    assert fake_github.count("POST", GRAPHQL) >= 2 and fake_github.count() == fake_github.count(
        "POST", GRAPHQL
    )
    assert _count(db, Report) == 0 and _count(db, ReportGeneration) == 0 and _count(db, Repository) == 0
    fake_github._failures.clear()
    assert api.get(f"/reports/{REPO}/prs", headers=alice).status_code == 200
    assert fake_github.graphql_errors == []


def _rate_limit_github(fake_github, token: str, how: str, seconds: int) -> None:
    """``token`` is out of GitHub's limit for ``seconds``: REST-style (an HTTP 403 or 429 on ``/graphql``)
    or as GraphQL says it (HTTP 200, ``RATE_LIMITED``, ``x-ratelimit-reset``: its points are spent)."""
    reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    if how == "graphql_points":
        fake_github.set_graphql_points(token, 0, reset_at=reset)
        return
    status, headers = {
        "http_403": (403, {"x-ratelimit-remaining": "0"}),
        "http_429": (429, {"retry-after": str(seconds)}),
    }[how]
    fake_github.fail(
        "POST",
        GRAPHQL,
        status=status,
        body={"message": "API rate limit exceeded for user."},
        headers={"x-ratelimit-reset": str(int(reset.timestamp())), **headers},
        times=50,
    )


RATE_LIMITS = ["http_403", "http_429", "graphql_points"]


@pytest.mark.parametrize("how", RATE_LIMITS)
def test_github_rate_limit_is_429_with_retry_after_and_caches_nothing(
    api, seeded, fake_github, alice, db, how
):
    _rate_limit_github(fake_github, ALICE_TOKEN, how, seconds=600)
    for response in _open_report(api, alice).values():
        body = _assert_error(response, 429)
        assert body["code"] == "github_rate_limited" and "rate limit" in body["detail"].lower()
        assert 0 < int(response.headers["retry-after"]) <= 600  # GitHub's reset, not a guess
    assert fake_github.count("POST", GRAPHQL) >= 1 and fake_github.count() == fake_github.count(
        "POST", GRAPHQL
    )
    assert _count(db, Report) == 0 and _count(db, ReportGeneration) == 0 and _count(db, Repository) == 0
    assert fake_github.graphql_errors == []


def test_openai_down_is_502_or_503_and_caches_nothing(api, seeded, fake_openai, alice, db):
    fake_openai.fail(status=500, times=100)
    for response in _open_report(api, alice).values():
        _assert_error(response, (502, 503))
    assert _count(db, Report) == 0 and _count(db, ReportGeneration) == 0
    fake_openai._failures.clear()
    assert api.get(f"/reports/{REPO}/prs", headers=alice).status_code == 200


def test_openai_rate_limit_is_429_with_retry_after_and_caches_nothing(api, seeded, fake_openai, alice, db):
    fake_openai.fail(status=429, times=100, headers={"retry-after": "30"})
    response = api.post("/reports/generate", json={"repo_url": REPO}, headers=alice)
    body = _assert_error(response, 429)
    assert "rate limit" in body["detail"].lower() and int(response.headers["retry-after"]) > 0
    assert _count(db, Report) == 0 and _count(db, ReportGeneration) == 0


# --------------------------------------------------------------------------------- other
def test_health_is_ok_without_a_session(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


# --------------------------------------------------------------------------------- make report (README)
def _make_report(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GITHUB_TOKEN": "gho_fake_service_contract"}
    make = shutil.which("make") or "make"
    return subprocess.run(  # noqa: S603 - the project's own Makefile
        [make, "-s", "report", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_make_report_prints_readable_markdown_then_the_cached_copy(engine, fake_github, fake_openai):
    fake_github.add_user("service", "gho_fake_service_contract")  # GITHUB_TOKEN: GitHub knows the token
    now = dt.datetime.now(dt.UTC)
    seed_activity(fake_github, REPO, now=now, prs=6, issues=4, bots=1, seed=9)
    add_item(
        fake_github,
        REPO,
        kind="pr",
        title="Fix [parser] crash\non empty input",
        login="zed",
        comments=1,
        reactions=1,
        created_at=now - dt.timedelta(days=1),
        updated_at=now - dt.timedelta(hours=3),
    )
    first = _make_report(f"REPO={REPO}", "TIMEFRAME=last_week")
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert out.startswith(f"# {REPO} · last week\n")  # stdout is the Markdown alone
    for heading in ("## TL;DR", "## Top pull requests", "## Top issues", "## People"):
        assert f"\n{heading}\n" in out
    assert "> Cached copy" not in out and "generated and cached" in first.stderr
    # Every item is one list line with one link, whatever its title holds.
    items = [line for line in out.splitlines() if line.startswith("- [")]
    assert items and all(re.fullmatch(r"- \[#\d+ .+\]\(https://github\.com/\S+\) · by @.+", i) for i in items)
    assert (
        r"- [#" in out and r"Fix \[parser\] crash on empty input](https://github.com/octo/hello/pull/" in out
    )
    assert "· 1 comment · 1 reaction ·" in out and "(1 item)" in out

    second = _make_report(f"REPO=https://github.com/{REPO}", "TIMEFRAME=last_week")
    assert second.returncode == 0 and "> Cached copy" in second.stdout
    assert second.stdout.split("> Cached copy")[0].startswith(f"# {REPO} · last week")

    missing = _make_report("REPO=octo/nothing")
    assert missing.returncode != 0 and missing.stdout == ""
    assert "error: Repository not found." in missing.stderr
    assert fake_github.count("POST", GRAPHQL) == 2  # one request per generation, none for the cached copy
    assert fake_github.count() == 2 and fake_github.graphql_errors == []


@pytest.mark.parametrize(
    "repo_url",
    [
        "octo/hello",
        "https://github.com/octo/hello",
        "https://github.com/octo/hello.git",
        "https://github.com/octo/hello/",
        "https://www.github.com/octo/hello",
        "https://github.com/octo/hello/tree/main/src",
        "https://github.com/Octo/Hello",
    ],
)
def test_generate_accepts_every_repository_url_form_and_they_share_one_report(
    api, seeded, alice, db, repo_url
):
    response = api.post(
        "/reports/generate", json={"repo_url": repo_url, "timeframe": "last_week"}, headers=alice
    )
    assert response.status_code == 200, response.text
    assert response.json()["repo"].lower() == REPO
    section = api.get("/reports/OCTO/hello/prs", params={"timeframe": "last_week"}, headers=alice)
    assert section.status_code == 200 and section.json()["cached"] is True
    assert _count(db, Report) == 1


def test_reports_name_the_repository_as_github_and_the_repositories_api_display_it(
    api, fake_github, alice, admin
):
    seed_activity(fake_github, "Octo/World", now=dt.datetime.now(dt.UTC), prs=3, issues=2, seed=3)
    assert api.get("/reports/octo/world/prs", headers=alice).status_code == 200
    report = api.post("/reports/generate", json={"repo_url": "OCTO/WORLD"}, headers=alice).json()
    assert report["repo"] == "Octo/World"
    assert api.get(f"/reports/{report['id']}", headers=alice).json()["repo"] == "Octo/World"
    assert [r["repo"] for r in api.get("/users/me/reports", headers=alice).json()["reports"]] == [
        "Octo/World"
    ]
    assert [r["repo"] for r in api.get("/reports", headers=admin).json()["reports"]] == ["Octo/World"]
    tracked = api.post("/users/me/repositories", json={"repo_url": "octo/world"}, headers=alice).json()
    assert tracked["repository"]["full_name"] == report["repo"]


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND"])
def test_a_method_no_route_has_is_a_json_404_not_a_server_error(api, alice, method):
    for path in ("/reports/1", "/reports/generate", f"/reports/{REPO}/prs", "/health"):
        _assert_error(api.request(method, path, headers=alice), 404)


@pytest.mark.parametrize(
    "params",
    [{"timeframe": "x" * 40}, {"timeframe": "last_week", "force": "maybe"}, {"timeframe": "last_week"}],
)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt", "Basic YWxpY2U6c2VjcmV0"])
def test_section_without_a_valid_session_is_401_whatever_the_query(api, fake_github, params, authorization):
    headers = {"Origin": ORIGIN, **({"Authorization": authorization} if authorization else {})}
    body = _assert_error(api.get(f"/reports/{REPO}/prs", params=params, headers=headers), 401)
    assert body["code"] in {"unauthorized", "invalid_token"}
    assert fake_github.count() == 0


# --------------------------------------------------------------------------------- hardening (issue 7)
# Finding 3: text Postgres cannot store, and the database going away, while a generation finishes.
NUL, LONE_SURROGATE = "\x00", "\ud800"


def _fresh_count(model) -> int:
    """A count on a new connection (for tests whose database connections were cut)."""
    from oss_tldr.db import session_scope

    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(model))


def _jobs() -> list[tuple[str, str | None]]:
    from oss_tldr.db import session_scope

    with session_scope() as session:
        return [(j.status, j.error_code) for j in session.scalars(select(ReportJob)).all()]


def test_nul_and_a_lone_surrogate_in_github_titles_and_bodies_are_stored_cleaned_and_then_cached(
    api, fake_github, alice, db
):
    now = dt.datetime.now(dt.UTC)
    seed_activity(fake_github, REPO, now=now, prs=3, issues=2, bots=0, seed=5)
    for kind in ("pr", "issue"):
        add_item(
            fake_github,
            REPO,
            kind=kind,
            title=f"Fix{NUL} the parser {LONE_SURROGATE}crash",
            body=f"Steps{NUL}to reproduce {LONE_SURROGATE}",
            login="zed",
            comments=40,
            reactions=40,
            created_at=now - dt.timedelta(days=1),
        )
    answers = _open_report(api, alice)
    assert {s: r.status_code for s, r in answers.items()} == dict.fromkeys(SECTIONS, 200), {
        s: r.text for s, r in answers.items()
    }
    for name, key in (("prs", "prs"), ("issues", "issues")):
        titles = [item["title"] for item in answers[name].json()[key]]
        assert "Fix the parser \ufffdcrash" in titles, titles
    assert NUL not in answers["people"].text and "\\u0000" not in answers["prs"].text
    assert _count(db, Report) == 1 and _count(db, ReportGeneration) == 0
    assert db.scalars(select(ReportJob.status)).all() == ["completed"]
    again = api.get(f"/reports/{REPO}/prs", headers=alice)
    assert again.status_code == 200 and again.json()["cached"] is True


def _with_answer(fake_openai, monkeypatch, rewrite):
    """The fake model's answers, rewritten by ``rewrite(task, content) -> content``."""
    original = fake_openai.handle

    def handle(path: str, body: bytes):
        status, payload, headers = original(path, body)
        if status == 200 and isinstance(payload, dict) and payload.get("choices"):
            task = fake_openai.requests[-1]["task"]
            message = payload["choices"][0]["message"]
            message["content"] = rewrite(task, message["content"])
        return status, payload, headers

    monkeypatch.setattr(fake_openai, "handle", handle)


def test_nul_in_the_model_answer_is_stored_cleaned_and_the_next_request_is_a_cache_hit(
    api, seeded, fake_openai, alice, db, monkeypatch
):
    import json

    def with_nul(task: str, content: str) -> str:
        answer = json.loads(content)
        if task == "digest":
            answer["tldr"] = f"A busy{NUL} week."
            for person in answer["people"]:
                person["tldr"] = f"{NUL}{person['tldr']}"
        else:
            for summary in answer["summaries"]:
                summary["summary"] = f"{summary['summary']}{NUL}"
        return json.dumps(answer)  # the model's JSON escapes it: "\u0000"

    _with_answer(fake_openai, monkeypatch, with_nul)
    answers = _open_report(api, alice)
    assert all(r.status_code == 200 for r in answers.values()), {s: r.text for s, r in answers.items()}
    assert answers["tldr"].text == "A busy week."
    assert all(NUL not in item["summary"] for item in answers["prs"].json()["prs"])
    assert all(NUL not in p["tldr"] for p in answers["people"].json()["people"])
    assert _count(db, ReportGeneration) == 0 and db.scalars(select(ReportJob.status)).all() == ["completed"]
    fake_openai.reset_counts()
    again = api.get(f"/reports/{REPO}/issues", headers=alice)
    assert again.status_code == 200 and again.json()["cached"] is True and fake_openai.count() == 0


def test_a_lone_surrogate_in_the_model_answer_is_an_unusable_answer_retried_not_a_500(
    api, seeded, fake_openai, alice, db, monkeypatch
):
    spoiled = []

    def with_surrogate(task: str, content: str) -> str:
        if task == "digest" and not spoiled:
            spoiled.append(task)
            return content.replace('"tldr": "', '"tldr": "\\ud800', 1)
        return content

    _with_answer(fake_openai, monkeypatch, with_surrogate)
    response = api.get(f"/reports/{REPO}/tldr", headers=alice)
    assert response.status_code == 200 and LONE_SURROGATE not in response.text
    assert spoiled and fake_openai.count("digest") == 2
    assert _count(db, ReportGeneration) == 0 and db.scalars(select(ReportJob.status)).all() == ["completed"]


@pytest.fixture
def reports_fail_once(engine, db):
    """A trigger on ``reports`` whose first insert raises (a sequence counts: it is not rolled back)."""
    from sqlalchemy import text

    statements = [
        "CREATE SEQUENCE test_reports_fail_once",
        """CREATE FUNCTION test_reports_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF nextval('test_reports_fail_once') = 1 THEN RAISE EXCEPTION 'injected failure'; END IF;
             RETURN NEW;
           END $$""",
        """CREATE TRIGGER test_reports_fail_once BEFORE INSERT ON reports
           FOR EACH ROW EXECUTE FUNCTION test_reports_fail_once()""",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    yield
    db.rollback()  # the test's reads hold a lock DROP TRIGGER waits for
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER test_reports_fail_once ON reports"))
        conn.execute(text("DROP FUNCTION test_reports_fail_once()"))
        conn.execute(text("DROP SEQUENCE test_reports_fail_once"))


def test_a_database_error_while_storing_the_report_releases_the_lease_and_the_next_request_generates(
    api, seeded, fake_github, alice, db, reports_fail_once
):
    failed = api.post("/reports/generate", json={"repo_url": REPO}, headers=alice)
    body = _assert_error(failed, (502, 503))
    assert "Traceback" not in body["detail"] and "injected" not in failed.text
    # Nothing held: no lease, the job failed, no report; so the next request does not wait for anyone.
    assert _count(db, ReportGeneration) == 0 and _count(db, Report) == 0
    assert [status for status, _ in _jobs()] == ["failed"]
    fake_github.reset_counts()
    done = api.get(f"/reports/{REPO}/prs", headers=alice)
    assert done.status_code == 200 and done.json()["cached"] is False
    assert fake_github.count() == fake_github.count("POST", GRAPHQL) == 1  # it generated, not waited
    assert sorted(status for status, _ in _jobs()) == ["completed", "failed"]


def test_the_database_going_away_during_a_generation_is_a_503_and_leaves_no_lease_once_it_is_back(
    api, seeded, fake_openai, alice, pg_admin_uri, monkeypatch
):
    import threading

    import psycopg

    admin_uri = pg_admin_uri.replace("postgresql+psycopg://", "postgresql://")
    database = "oss_tldr_test"
    restored = threading.Event()

    def restore() -> None:
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        restored.set()

    timer = threading.Timer(1.0, restore)

    def outage(task: str, content: str) -> str:
        if task == "digest" and not timer.is_alive() and not restored.is_set():
            with psycopg.connect(admin_uri, autocommit=True) as conn:
                conn.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                )
            timer.start()  # the database is back about a second later
        return content

    _with_answer(fake_openai, monkeypatch, outage)
    try:
        failed = api.post("/reports/generate", json={"repo_url": REPO}, headers=alice)
    finally:
        timer.join(timeout=10)
        if not restored.is_set():
            restore()
    body = _assert_error(failed, 503)
    assert body["code"] == "database_unavailable"
    # The release was retried until the database came back: no lease, the job failed, no report.
    assert _fresh_count(ReportGeneration) == 0 and _fresh_count(Report) == 0
    assert _jobs() == [("failed", "database_unavailable")]
    done = api.get(f"/reports/{REPO}/prs", headers=alice)
    assert done.status_code == 200 and done.json()["cached"] is False
    assert sorted(status for status, _ in _jobs()) == ["completed", "failed"]


# Finding 4: a private repository's existence does not leak through what is in flight.
SECRET = "acme/secret"
ALICE_TOKEN, BOB_TOKEN = "gho_fake_alice_contract", "gho_fake_bob_contract"
UNKNOWN_JOB = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def secret_repo(fake_github):
    repo = seed_activity(fake_github, SECRET, now=dt.datetime.now(dt.UTC), prs=4, issues=3, seed=7)
    repo.private, repo.visible_to = True, {ALICE_TOKEN}
    return repo


def _claim_running(repo: str = SECRET, requested_by: int | None = 301):
    """A generation of ``repo`` running in another container: its lease and job, as its claim left them."""
    from oss_tldr.reports import jobs
    from oss_tldr.reports.models import CacheKey
    from oss_tldr.windows import window_for

    window = window_for("last_week")
    key = CacheKey(repo, "last_week", window.start, window.end)
    return key, jobs.claim(key, lease=dt.timedelta(seconds=90), requested_by=requested_by, force=False)


def _outsider_answers(api: httpx.Client, headers: dict[str, str], repo: str) -> list[dict[str, Any]]:
    """Every way of asking for ``repo``'s report, as error bodies (asserting each is a JSON 404)."""
    bodies = [
        _assert_error(api.get(f"/reports/{repo}/{name}", headers=headers), 404)
        for name in ("prs", "issues", "people", "tldr")
    ]
    bodies.append(_assert_error(api.get(f"/reports/{repo}/prs?force=true", headers=headers), 404))
    bodies.append(_assert_error(api.post("/reports/generate", json={"repo_url": repo}, headers=headers), 404))
    return bodies


def test_outsider_gets_the_missing_repositorys_404_while_the_owner_generates_a_private_report(
    api, secret_repo, fake_github, fake_openai, alice, bob, db, engine, monkeypatch
):
    import threading

    from oss_tldr.reports import service

    # Alice's generation, really running (below the handler, as another container would), held in its
    # first model request: her one GitHub request has stored the private repositories row by then.
    summarising, go_on = threading.Event(), threading.Event()
    original = fake_openai.handle

    def held_model(path: str, body: bytes):
        if not summarising.is_set():
            summarising.set()
            assert go_on.wait(timeout=30)
        return original(path, body)

    monkeypatch.setattr(fake_openai, "handle", held_model)
    owner = threading.Thread(
        target=service.get_section,
        args=(service.Requester.user(301), "acme", "secret", "last_week", "prs"),
        daemon=True,
    )
    owner.start()
    try:
        assert summarising.wait(timeout=30)
        assert _count(db, Repository) == 1 and db.scalar(select(Repository.is_private)) is True
        assert fake_github.count("POST", GRAPHQL) == 1  # Alice's, already answered
        job_id = str(db.scalars(select(ReportJob.id)).one())
        missing = _outsider_answers(api, bob, "acme/nothing")
        assert _outsider_answers(api, bob, SECRET) == missing
        unknown = _assert_error(api.get(f"/reports/jobs/{UNKNOWN_JOB}", headers=bob), 404)
        assert _assert_error(api.get(f"/reports/jobs/{job_id}", headers=bob), 404) == unknown
        assert api.get(f"/reports/jobs/{job_id}", headers=alice).json()["status"] == "in_progress"
    finally:
        go_on.set()
        owner.join(timeout=60)
    # Bob's refused requests left nothing: one job (Alice's), no access of his, no lease.
    report_id = db.scalars(select(Report.id)).one()
    assert [str(j) for j in db.scalars(select(ReportJob.id)).all()] == [job_id]
    assert _count(db, ReportGeneration) == 0
    assert set(db.scalars(select(UserReportAccess.user_id)).all()) == {301}
    done = api.get(f"/reports/jobs/{job_id}", headers=alice).json()
    assert done["status"] == "completed" and done["report_id"] == report_id
    assert _assert_error(api.get(f"/reports/jobs/{job_id}", headers=bob), 404) == unknown


def test_outsider_following_an_unknown_private_repositorys_generation_gets_404_not_pending(
    api, secret_repo, fake_github, alice, bob, db, settings_env
):
    settings_env(REPORT_WAIT_SECONDS="1")
    _, running = _claim_running()  # nobody has looked the repository up yet: no repositories row
    missing = _outsider_answers(api, bob, "acme/nothing")
    assert _outsider_answers(api, bob, SECRET) == missing
    unknown = _assert_error(api.get(f"/reports/jobs/{UNKNOWN_JOB}", headers=bob), 404)
    assert _assert_error(api.get(f"/reports/jobs/{running}", headers=bob), 404) == unknown
    assert [str(j) for j in db.scalars(select(ReportJob.id)).all()] == [str(running)]
    assert _count(db, UserReportAccess) == 0 and _count(db, Report) == 0
    # The owner is told the generation is running, and may poll it.
    pending = api.post("/reports/generate", json={"repo_url": SECRET}, headers=alice)
    assert pending.status_code == 202 and pending.json()["job_id"] == str(running)
    assert api.get(f"/reports/jobs/{running}", headers=alice).status_code == 200


def test_a_job_is_shown_only_to_the_users_who_asked_for_it_even_for_a_public_repository(
    api, seeded, alice, bob, db
):
    # Issue 10: "A job is visible only to the users who asked for it (404 otherwise)."
    assert api.post("/reports/generate", json={"repo_url": REPO}, headers=alice).status_code == 200
    job_id = str(db.scalars(select(ReportJob.id)).one())
    seen = api.get(f"/reports/jobs/{job_id}", headers=alice)
    assert seen.status_code == 200 and seen.json()["status"] == "completed"
    unknown = _assert_error(api.get(f"/reports/jobs/{UNKNOWN_JOB}", headers=bob), 404)
    assert _assert_error(api.get(f"/reports/jobs/{job_id}", headers=bob), 404) == unknown


# Finding 8 (report side): a denied or failed-before-generating request writes nothing.
def test_thirty_denied_private_requests_leave_no_job_rows(api, secret_repo, alice, bob, db):
    for _ in range(15):  # nobody ever looked it up: each of Bob's requests is refused by his own lookup
        _assert_error(api.get(f"/reports/{SECRET}/prs", headers=bob), 404)
    assert _count(db, ReportJob) == 0 and _count(db, ReportGeneration) == 0 and _count(db, Repository) == 0
    assert api.get(f"/reports/{SECRET}/prs", headers=alice).status_code == 200
    jobs = _count(db, ReportJob)
    for n in range(15):  # now a known private row, and a force: refused before any claim or quota
        _assert_error(
            api.get(f"/reports/{SECRET}/issues?force={'true' if n % 2 else 'false'}", headers=bob), 404
        )
    assert _count(db, ReportJob) == jobs == 1 and _count(db, ReportGeneration) == 0
    assert set(db.scalars(select(UserReportAccess.user_id)).all()) == {301}


def test_an_admin_delete_that_deletes_nothing_writes_no_audit_row(api, seeded, alice, admin, db):
    from oss_tldr.db.models import AuditLog

    _assert_error(api.delete("/reports/12345", headers=admin), 404)
    nothing = api.delete("/reports", params={"repo": "octo/never-reported"}, headers=admin)
    assert nothing.status_code == 200 and nothing.json() == {"deleted": 0}
    assert _count(db, AuditLog) == 0
    report = api.post("/reports/generate", json={"repo_url": REPO}, headers=alice).json()
    assert api.delete(f"/reports/{report['id']}", headers=admin).json() == {"deleted": 1}
    assert _count(db, AuditLog) == 1  # a delete that deleted something is audited


# Finding 7: a GitHub rate limit is the generator's token's, not its waiters'.
def _follow_then_fail(api, headers, failure):
    """A request following a running generation that then fails with ``failure``: its answer."""
    import time

    from oss_tldr.reports import jobs

    key, running = _claim_running(REPO, requested_by=301)
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiter = pool.submit(api.get, f"/reports/{REPO}/prs", headers=headers)
        time.sleep(1.0)  # let it start following (its deadline is 25 s)
        assert not waiter.done(), waiter.result().text  # it is waiting for the running generation
        jobs.fail(key, running, failure)
        return waiter.result(timeout=60)


def test_a_github_rate_limit_of_the_generators_token_is_not_passed_on_to_waiters(
    api, seeded, fake_github, alice, bob, db
):
    from oss_tldr.reports.models import JobFailure

    limited = JobFailure("GitHub rate limit reached; try again later.", "github_rate_limited", 429, 2997)
    answer = _follow_then_fail(api, bob, limited)
    assert answer.status_code == 200, answer.text  # Bob's own token generated it
    assert answer.json()["cached"] is False and "retry-after" not in answer.headers
    assert sorted(db.scalars(select(ReportJob.status)).all()) == ["completed", "failed"]
    # Bob's generation: its one GitHub request, with his token.
    assert fake_github.count() == fake_github.count("POST", GRAPHQL) == 1
    assert fake_github.requests[-1][3].get("authorization") == f"Bearer {BOB_TOKEN}"


@pytest.mark.parametrize("how", ["http_403", "graphql_points"])
def test_a_waiter_whose_own_github_token_is_rate_limited_too_gets_its_own_429(
    api, seeded, fake_github, alice, bob, db, how
):
    from oss_tldr.reports.models import JobFailure

    _rate_limit_github(fake_github, BOB_TOKEN, how, seconds=120)
    limited = JobFailure("GitHub rate limit reached; try again later.", "github_rate_limited", 429, 2997)
    answer = _follow_then_fail(api, bob, limited)
    body = _assert_error(answer, 429)
    assert body["code"] == "github_rate_limited" and "rate limit" in body["detail"].lower()
    assert 0 < int(answer.headers["retry-after"]) <= 130  # Bob's token's reset, not the generator's 2997
    assert fake_github.count() == fake_github.count("POST", GRAPHQL) == 1  # asked once, with his token
    assert fake_github.requests[-1][3].get("authorization") == f"Bearer {BOB_TOKEN}"
    assert _count(db, Report) == 0 and _count(db, ReportGeneration) == 0 and _count(db, Repository) == 0


def test_an_openai_rate_limit_is_the_shared_keys_and_its_waiters_get_it(
    api, seeded, fake_github, fake_openai, alice, bob, db, repository_row
):
    from oss_tldr.reports.models import JobFailure

    repository_row(REPO)  # the generator looked the (public) repository up before the model refused
    limited = JobFailure("OpenAI rate limit reached; try again later.", "openai_rate_limited", 429, 30)
    answer = _follow_then_fail(api, bob, limited)
    body = _assert_error(answer, 429)
    assert body["code"] == "openai_rate_limited" and answer.headers["retry-after"] == "30"
    assert fake_github.count() == 0 and fake_openai.count() == 0  # it did not try again
    assert db.scalars(select(ReportJob.status)).all() == ["failed"]


def test_a_private_report_id_never_seen_is_the_missing_ids_404_without_a_github_call(
    api, private_repo, fake_github, alice, bob, db
):
    """Issue 7, finding 4: ids cannot be enumerated by status or by timing — a private report's id that
    the caller has no record of seeing costs what a missing id costs (one statement, no GitHub call)."""
    for name, response in _open_report(api, alice, repo="octo/secret").items():
        assert response.status_code == 200, (name, response.text)
    report_id = db.scalars(select(Report.id)).one()
    private_repo.visible_to.add("gho_fake_bob_contract")  # even a token that could see it
    fake_github.reset_counts()
    hidden = api.get(f"/reports/{report_id}", headers=bob)
    missing = api.get(f"/reports/{report_id + 1000}", headers=bob)
    assert _assert_error(hidden, 404) == _assert_error(missing, 404)
    assert fake_github.count() == 0
    assert set(db.scalars(select(UserReportAccess.user_id)).all()) == {301}
    # Alice, who opened it, still gets it by id (her token is re-checked, or remembered).
    assert api.get(f"/reports/{report_id}", headers=alice).status_code == 200


def test_a_database_error_while_storing_the_report_is_logged_without_its_values(
    api, seeded, fake_github, alice, db, reports_fail_once, powertools_output
):
    """Issue 7, finding 11, on the generation path: the failed insert is logged by class, SQLSTATE and
    statement, never with the values it carried (titles, summaries) nor the database's message."""
    failed = api.post("/reports/generate", json={"repo_url": REPO}, headers=alice)
    _assert_error(failed, (502, 503))
    logged = powertools_output.getvalue()
    assert "report generation failed" in logged and "INSERT INTO reports" in logged
    titles = [item["title"] for item in fake_github.repos[REPO].items if item.get("title")]
    assert titles and not any(title in logged for title in titles)
    assert "injected failure" not in logged
