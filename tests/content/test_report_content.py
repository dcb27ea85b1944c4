"""The content pipeline with the offline extractive summariser: the one GraphQL fetch, bots left out,
ranking by activity inside the window, limits, exact stats, summaries and their cache."""

from __future__ import annotations

import datetime as dt

import pytest
from fixtures_content import GITHUB_TOKEN as TOKEN
from sqlalchemy import func, select

from oss_tldr.content_models import Item, Person
from oss_tldr.db.models import ItemSummary
from oss_tldr.errors import RateLimited
from oss_tldr.github.activity import fetch_activity
from oss_tldr.reports.content import build_report_content
from oss_tldr.reports.summarise import ExtractiveSummariser, get_summariser
from oss_tldr.windows import window_for
from tools.fakes.github_activity import BOTS, add_item, seed_activity

NOW = dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC)
GRAPHQL = r"^/graphql$"


def _build(github, full_name="octo/hello", timeframe="last_month", **kw):
    window = window_for(timeframe, NOW)
    activity = fetch_activity(github, full_name, window)
    return build_report_content(activity, window, summariser=ExtractiveSummariser(), **kw)


def _words(text: str) -> int:
    return len(text.split())


def test_cold_report_costs_one_graphql_request(engine, fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=30, issues=25)
    content = _build(github)
    assert fake_github.count("POST", GRAPHQL) == 1
    assert fake_github.count() == 1  # no REST lookup, no REST search
    assert fake_github.graphql_errors == []
    assert content.github_requests == 1
    assert (
        content.github_points is not None
        and content.github_points == 5000 - fake_github.graphql_points[TOKEN]
    )
    assert content.llm_requests == 0 and content.llm_tokens == 0
    assert content.partial is False and content.fallbacks == {}


def test_stats_are_github_s_exact_counts_and_the_tldr_says_them(engine, fake_github, github):
    window = window_for("last_week", NOW)
    inside = window.start + dt.timedelta(days=1)
    for n in range(120):  # more than any page: the old report said "100"
        add_item(fake_github, "octo/hello", login=f"dev{n % 7}", created_at=inside + dt.timedelta(minutes=n))
    for _ in range(3):  # merged long ago, touched in the window: not merged in it
        add_item(
            fake_github,
            "octo/hello",
            merged=True,
            created_at=dt.datetime(2018, 1, 1, tzinfo=dt.UTC),
            closed_at=dt.datetime(2018, 1, 2, tzinfo=dt.UTC),
            updated_at=inside,
        )
    add_item(
        fake_github, "octo/hello", kind="issue", login="dependabot[bot]", user_type="Bot", created_at=inside
    )
    content = _build(github, timeframe="last_week")
    assert content.stats.model_dump() == {
        "pull_requests": 123,
        "pull_requests_opened": 120,
        "pull_requests_merged": 0,
        "issues": 1,  # the bot's issue: bots are counted in stats, only left out of lists and people
        "issues_opened": 1,
        "issues_closed": 0,
    }
    assert content.issues == []
    assert content.tldr.startswith(
        "octo/hello over the last week: 123 pull requests updated (120 opened, 0 merged) and 1 issue updated"
    )
    assert len(content.prs) == 10


def test_bots_are_dropped_from_items_and_people_but_a_ghost_is_kept(engine, fake_github, github):
    window = window_for("last_week", NOW)
    seed_activity(fake_github, "octo/hello", now=NOW, prs=5, issues=3, bots=3)
    add_item(
        fake_github,
        "octo/hello",
        login="sneaky-bot-without-suffix",
        user_type="Bot",  # a GraphQL Bot, whatever its login
        comments=500,
        created_at=window.end - dt.timedelta(hours=3),
    )
    ghost = add_item(
        fake_github,
        "octo/hello",
        kind="issue",
        ghost=True,
        comments=3,
        created_at=window.end - dt.timedelta(days=1),
    )
    content = _build(github, timeframe="last_week")
    logins = {item.user.login for item in (*content.prs, *content.issues)}
    bots = {bot.removesuffix("[bot]") for bot in BOTS} | {"sneaky-bot-without-suffix"}
    assert logins and not logins & bots
    assert not any(login.endswith("[bot]") for login in logins)
    assert not {person.username for person in content.people} & bots
    # A deleted account is shown as GitHub shows it, not dropped as a bot.
    shown = next(item for item in content.issues if item.number == ghost["number"])
    assert shown.user.login == "ghost" and shown.user.profile_url == "https://github.com/ghost"
    assert "ghost" in {person.username for person in content.people}
    # Bots stay in the stats: the window's PRs include the bots' and the sneaky one.
    human_prs = sum(
        1
        for item in fake_github.repos["octo/hello"].items
        if "pull_request" in item
        and item["user"]["type"] == "User"
        and item["updated_at"] >= window.start.strftime("%Y-%m-%dT%H:%M:%SZ")
        and item["created_at"] < window.end.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    bot_prs = sum(
        1
        for item in fake_github.repos["octo/hello"].items
        if "pull_request" in item
        and item["user"]["type"] == "Bot"
        and item["updated_at"] >= window.start.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    assert bot_prs >= 1 and content.stats.pull_requests == human_prs + bot_prs


def test_items_rank_by_activity_inside_the_window_lifetime_only_breaking_ties(engine, fake_github, github):
    window = window_for("last_week", NOW)
    before = window.start - dt.timedelta(days=40)
    day = window.start + dt.timedelta(days=1)
    long_ago = dt.datetime(2017, 5, 1, tzinfo=dt.UTC)
    old_thread = [("ISSUE_COMMENT", long_ago + dt.timedelta(hours=h)) for h in range(400)]
    # 1: merged in 2017 with a huge lifetime thread, merely touched in the window: no activity in it.
    add_item(
        fake_github,
        "octo/hello",
        number=1,
        merged=True,
        comments=400,
        reactions=90,
        association="OWNER",
        created_at=long_ago,
        closed_at=long_ago + dt.timedelta(days=30),
        updated_at=day,
        events=[*old_thread, ("MERGED_EVENT", long_ago + dt.timedelta(days=30))],
    )
    # 2: three comments in the window.
    add_item(
        fake_github,
        "octo/hello",
        number=2,
        comments=3,
        created_at=before,
        updated_at=day,
        events=[("ISSUE_COMMENT", day + dt.timedelta(hours=h)) for h in range(3)],
    )
    # 3: a review and a comment in the window (reviews count), older comments before it.
    add_item(
        fake_github,
        "octo/hello",
        number=3,
        comments=30,
        created_at=before,
        updated_at=day,
        events=[
            *[("ISSUE_COMMENT", before + dt.timedelta(hours=h)) for h in range(29)],
            ("PULL_REQUEST_REVIEW", day),
            ("ISSUE_COMMENT", day),
        ],
    )
    # 4 and 5: opened in the window, nothing else; 4's author has standing, 5 a longer lifetime thread.
    add_item(fake_github, "octo/hello", number=4, association="MEMBER", created_at=day, events=[])
    add_item(fake_github, "octo/hello", number=5, comments=9, reactions=4, created_at=day, events=[])
    # 6: opened in the window, no standing, no thread: the last of those with activity.
    add_item(fake_github, "octo/hello", number=6, created_at=day, events=[])
    content = _build(github, timeframe="last_week")
    assert [item.number for item in content.prs] == [2, 3, 4, 5, 6, 1]
    assert content.stats.pull_requests_merged == 0


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
    fake_github.add_user("octocat", TOKEN)
    script = f"""
import datetime as dt, json, sys
from oss_tldr.github.activity import fetch_activity
from oss_tldr.github.client import GitHubClient
from oss_tldr.reports.content import build_report_content
from oss_tldr.reports.summarise import get_summariser
from oss_tldr.windows import window_for
from oss_tldr.settings import get_settings

github = GitHubClient(get_settings().github_api_url, {TOKEN!r})
now = dt.datetime.fromisoformat({NOW.isoformat()!r})
window = window_for("last_month", now)
activity = fetch_activity(github, "octo/hello", window)
content = build_report_content(activity, window, summariser=get_summariser())
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
    fake_github.fail("POST", GRAPHQL, status=500, times=1)
    content = _build(github)
    assert fake_github.count("POST", GRAPHQL) == 2
    assert content.github_requests == 2
    assert content.prs and content.issues


def test_github_rate_limit_during_generation_is_429_and_caches_nothing(engine, db, fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=4, issues=3)
    fake_github.set_graphql_points(TOKEN, 0, reset_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30))
    with pytest.raises(RateLimited) as info:
        _build(github)
    assert "rate limit" in info.value.detail
    assert 1700 <= info.value.retry_after <= 1801
    assert fake_github.count("POST", GRAPHQL) == 1
    assert db.scalar(select(func.count()).select_from(ItemSummary)) == 0


def test_a_partial_answer_is_carried_into_the_content(engine, fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=6, issues=4)
    fake_github.graphql_partial("issuesClosed")
    content = _build(github)
    assert content.partial is True
    assert content.stats.issues_closed == 0 and content.stats.pull_requests > 0
    assert content.prs and content.issues


def test_a_renamed_repository_is_built_under_its_new_name(engine, fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=6, issues=4)
    fake_github.rename_repo("octo/hello", "octo/hi")
    content = _build(github, full_name="octo/hello")
    assert content.github_requests == 2 == fake_github.count("POST", GRAPHQL)
    assert content.prs and all(
        item.html_url.startswith("https://github.com/octo/hi/") for item in content.prs
    )
    assert content.tldr.startswith("octo/hi over the last month")
