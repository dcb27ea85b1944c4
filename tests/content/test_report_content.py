"""The content pipeline with the offline extractive summariser: fetch, drop bots, rank, limit, summarise."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from oss_tldr.content_models import Item, Person
from oss_tldr.db.models import ItemSummary
from oss_tldr.errors import RateLimited
from oss_tldr.github.activity import fetch_repository
from oss_tldr.github.client import GitHubClient
from oss_tldr.reports.content import build_report_content
from oss_tldr.reports.summarise import ExtractiveSummariser, get_summariser
from oss_tldr.windows import window_for
from tools.fakes.github_activity import add_item, seed_activity

NOW = dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC)
SEARCH = r"^/search/issues$"


@pytest.fixture
def github(fake_github):
    return GitHubClient(fake_github.url, "gho_fake_token", sleep=lambda s: None)


def _build(github, full_name="octo/hello", timeframe="last_month", **kw):
    owner, name = full_name.split("/")
    repo = fetch_repository(github, owner, name)
    return build_report_content(
        repo, window_for(timeframe, NOW), github=github, summariser=ExtractiveSummariser(), **kw
    )


def _words(text: str) -> int:
    return len(text.split())


def test_cold_report_costs_two_searches_after_the_repository_lookup(engine, fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=30, issues=25)
    content = _build(github)
    assert fake_github.count("GET", SEARCH) == 2
    assert fake_github.count("GET") == 3  # the lookup + the two searches
    assert content.github_requests == 2
    assert content.llm_requests == 0 and content.llm_tokens == 0


def test_bots_are_dropped_from_items_and_people(engine, fake_github, github):
    window = window_for("last_week", NOW)
    seed_activity(fake_github, "octo/hello", now=NOW, prs=5, issues=3, bots=3)
    add_item(
        fake_github,
        "octo/hello",
        login="sneaky-bot-without-suffix",
        user_type="Bot",
        comments=500,
        created_at=window.end - dt.timedelta(hours=3),
    )
    content = _build(github, timeframe="last_week")
    logins = {item.user.login for item in (*content.prs, *content.issues)}
    assert logins and not any(login.endswith("[bot]") for login in logins)
    assert "sneaky-bot-without-suffix" not in logins
    assert not any(person.username.endswith("[bot]") for person in content.people)


def test_items_rank_by_engagement_plus_author_standing(engine, fake_github, github):
    start = window_for("last_week", NOW).start + dt.timedelta(days=1)
    add_item(fake_github, "octo/hello", number=1, comments=10, reactions=2, created_at=start)  # 12
    add_item(
        fake_github, "octo/hello", number=2, comments=9, association="MEMBER", created_at=start
    )  # 9 + 5 = 14
    add_item(fake_github, "octo/hello", number=3, comments=1, reactions=1, created_at=start)  # 2
    add_item(
        fake_github, "octo/hello", number=4, comments=0, association="OWNER", created_at=start
    )  # 0 + 5 = 5
    content = _build(github, timeframe="last_week")
    assert [item.number for item in content.prs] == [2, 1, 4, 3]


def test_top_ten_items_per_section_and_top_five_people(engine, fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=40, issues=30, seed=3)
    content = _build(github)
    assert len(content.prs) == 10 and len(content.issues) == 10
    assert len(content.people) == 5
    totals = [person.total_items for person in content.people]
    assert totals == sorted(totals, reverse=True)
    for person in content.people:
        assert person.total_items >= len(person.prs) + len(person.issues) > 0
        assert all(item.user.login == person.username for item in (*person.prs, *person.issues))


def test_items_and_people_have_the_contract_shapes(engine, fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=8, issues=6)
    content = _build(github)
    for item in (*content.prs, *content.issues):
        assert isinstance(item, Item)
        data = item.model_dump()
        assert isinstance(data["id"], str) and data["id"]
        assert isinstance(data["labels"], list) and isinstance(data["assignees"], list)
        assert data["user"]["profile_url"] == f"https://github.com/{data['user']['login']}"
        assert item.summary and _words(item.summary) <= 50
        assert item.html_url.startswith("https://github.com/octo/hello/")
    assert all(item.is_pull_request for item in content.prs)
    assert not any(item.is_pull_request for item in content.issues)
    assert any(item.merged for item in content.prs)
    for person in content.people:
        assert isinstance(person, Person)
        assert person.tldr and _words(person.tldr) <= 40
        assert person.profile_url == f"https://github.com/{person.username}"
    assert content.tldr and _words(content.tldr) <= 100
    assert content.summariser == "extractive"


def test_empty_window_gives_empty_sections_and_a_tldr(engine, fake_github, github):
    fake_github.add_repo("octo/quiet")
    content = _build(github, full_name="octo/quiet")
    assert content.prs == [] and content.issues == [] and content.people == []
    assert "No pull request or issue activity" in content.tldr


def test_progress_is_reported_from_start_to_done(engine, fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=3, issues=3)
    seen: list[int] = []
    _build(github, progress=lambda pct, message: seen.append(pct))
    assert seen == sorted(seen) and seen[-1] == 100 and len(seen) >= 4


def test_extractive_item_summaries_are_cached_and_reused(engine, db, fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=6, issues=4)
    first = _build(github)
    stored = db.scalar(select(func.count()).select_from(ItemSummary))
    assert stored > 0
    second = _build(github)
    assert db.scalar(select(func.count()).select_from(ItemSummary)) == stored
    assert [i.summary for i in first.prs] == [i.summary for i in second.prs]


def test_without_an_openai_key_the_extractive_summariser_is_used(settings_env):
    settings_env(OPENAI_API_KEY=None, OPENAI_API_KEY_ARN=None)
    summariser = get_summariser()
    assert summariser.name == "extractive"
    assert summariser is get_summariser()  # one per container


def test_extractive_report_never_imports_the_openai_sdk(engine, fake_github):
    """A fresh process builds a whole report offline (no key) and the SDK is never imported."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    seed_activity(fake_github, "octo/hello", now=NOW, prs=5, issues=4)
    script = f"""
import datetime as dt, json, sys
from oss_tldr.github.activity import fetch_repository
from oss_tldr.github.client import GitHubClient
from oss_tldr.reports.content import build_report_content
from oss_tldr.reports.summarise import get_summariser
from oss_tldr.windows import window_for
from oss_tldr.settings import get_settings

github = GitHubClient(get_settings().github_api_url, None)
repo = fetch_repository(github, "octo", "hello")
now = dt.datetime.fromisoformat({NOW.isoformat()!r})
window = window_for("last_month", now)
content = build_report_content(repo, window, github=github, summariser=get_summariser())
print(json.dumps({{"summariser": content.summariser, "prs": len(content.prs),
                  "summaries": all(i.summary for i in content.prs), "tldr": bool(content.tldr),
                  "openai_imported": "openai" in sys.modules}}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_API_KEY")}
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], env=env, cwd=root, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {
        "summariser": "extractive",
        "prs": outcome["prs"],
        "summaries": True,
        "tldr": True,
        "openai_imported": False,
    }
    assert outcome["prs"] > 0


def test_github_server_error_during_generation_is_retried(engine, fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=4, issues=3)
    fake_github.fail("GET", SEARCH, status=500, times=1)
    content = _build(github)
    assert fake_github.count("GET", SEARCH) == 3
    assert content.github_requests == 3
    assert content.prs and content.issues


def test_github_rate_limit_during_generation_is_429_and_caches_nothing(engine, db, fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=4, issues=3)
    fake_github.fail(
        "GET",
        SEARCH,
        status=429,
        times=5,
        body={"message": "API rate limit exceeded"},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9999999999"},
    )
    with pytest.raises(RateLimited) as info:
        _build(github)
    assert "rate limit" in info.value.detail
    assert fake_github.count("GET", SEARCH) == 1
    assert db.scalar(select(func.count()).select_from(ItemSummary)) == 0
