"""Fetching a window's activity from the fake GitHub: two searches, the right qualifiers, errors mapped."""

from __future__ import annotations

import datetime as dt

import pytest

from oss_tldr.errors import NotFound, RateLimited
from oss_tldr.github.activity import fetch_activity, fetch_repository
from oss_tldr.github.client import GitHubClient
from oss_tldr.windows import window_for
from tools.fakes.github_activity import add_item, seed_activity

NOW = dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC)
SEARCH = r"^/search/issues$"


def _client(fake, token="gho_fake_token"):
    return GitHubClient(fake.url, token, sleep=lambda s: None)


def test_repository_lookup_returns_the_github_payload(fake_github):
    fake_github.add_repo("octo/hello")
    repo = fetch_repository(_client(fake_github), "octo", "hello")
    assert repo["full_name"] == "octo/hello"
    assert repo["private"] is False


def test_missing_repository_is_not_found(fake_github):
    with pytest.raises(NotFound):
        fetch_repository(_client(fake_github), "octo", "missing")


def test_activity_is_one_search_per_kind_sorted_by_engagement(fake_github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=40, issues=30)
    prs, issues = fetch_activity(_client(fake_github), "octo/hello", window_for("last_month", NOW))
    assert fake_github.count("GET", SEARCH) == 2
    queries = [q for m, p, q, _ in fake_github.requests if p == "/search/issues"]
    assert {q["q"].split()[1] for q in queries} == {"is:pr", "is:issue"}
    assert all(q["per_page"] == "100" and q["sort"] == "interactions" for q in queries)
    assert prs and all("pull_request" in item for item in prs)
    assert issues and all("pull_request" not in item for item in issues)


def test_items_outside_the_window_are_left_out(fake_github):
    window = window_for("last_week", NOW)
    inside = add_item(fake_github, "octo/hello", number=1, created_at=window.start + dt.timedelta(days=1))
    add_item(
        fake_github,
        "octo/hello",
        number=2,
        created_at=window.start - dt.timedelta(days=30),
        updated_at=window.start - dt.timedelta(days=1),
    )
    add_item(fake_github, "octo/hello", number=3, created_at=window.end + dt.timedelta(minutes=1))
    prs, _ = fetch_activity(_client(fake_github), "octo/hello", window)
    assert [item["number"] for item in prs] == [inside["number"]]


def test_item_merged_in_window_but_touched_after_it_is_kept(fake_github):
    window = window_for("last_week", NOW)
    add_item(
        fake_github,
        "octo/hello",
        number=7,
        merged=True,
        created_at=window.start + dt.timedelta(days=1),
        closed_at=window.start + dt.timedelta(days=2),
        updated_at=window.end + dt.timedelta(hours=2),
    )
    prs, _ = fetch_activity(_client(fake_github), "octo/hello", window)
    assert [item["number"] for item in prs] == [7]


def test_search_server_error_then_success_is_retried(fake_github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=3, issues=2)
    fake_github.fail("GET", SEARCH, status=502, times=1)
    prs, issues = fetch_activity(_client(fake_github), "octo/hello", window_for("last_month", NOW))
    assert len(prs) >= 3 and len(issues) == 2
    assert fake_github.count("GET", SEARCH) == 3


def test_search_rate_limit_is_rate_limited(fake_github):
    seed_activity(fake_github, "octo/hello", now=NOW)
    fake_github.fail(
        "GET",
        SEARCH,
        status=403,
        times=5,
        body={"message": "API rate limit exceeded for user ID 1."},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9999999999"},
    )
    with pytest.raises(RateLimited) as info:
        fetch_activity(_client(fake_github), "octo/hello", window_for("last_week", NOW))
    assert "rate limit" in info.value.detail
    assert fake_github.count("GET", SEARCH) == 1
