"""The OpenAI summariser against a fake OpenAI over HTTP: request budget, validation, failures, item cache."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from oss_tldr.db.models import ItemSummary
from oss_tldr.errors import RateLimited, UpstreamUnavailable
from oss_tldr.github.activity import fetch_repository
from oss_tldr.github.client import GitHubClient
from oss_tldr.reports.content import build_report_content
from oss_tldr.reports.summarise import (
    BODY_TOKENS,
    MAX_LLM_REQUESTS,
    ExtractiveSummariser,
    get_summariser,
    summariser_identity,
)
from oss_tldr.windows import window_for
from tools.fakes.github_activity import add_item, seed_activity

NOW = dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC)
SEARCH = r"^/search/issues$"


@pytest.fixture
def github(fake_github):
    return GitHubClient(fake_github.url, "gho_fake_token", sleep=lambda s: None)


@pytest.fixture
def llm(fake_openai):
    summariser = get_summariser()
    assert summariser.name.startswith("openai:")
    return summariser


def _build(github, summariser, timeframe="last_month", full_name="octo/hello"):
    owner, name = full_name.split("/")
    repo = fetch_repository(github, owner, name)
    return build_report_content(repo, window_for(timeframe, NOW), github=github, summariser=summariser)


def _cached_rows(db) -> int:
    return db.scalar(select(func.count()).select_from(ItemSummary))


def _seed_recent(fake_github, prs=6, issues=4):
    """Items created 2-5 days before NOW: inside both the last_week and the last_month windows."""
    for i in range(prs + issues):
        add_item(
            fake_github,
            "octo/hello",
            kind="pr" if i < prs else "issue",
            title=f"Recent change {i}",
            body=f"Body of change {i}. It fixes a crash in the parser.",
            login=["alice", "bob", "carol"][i % 3],
            comments=i,
            merged=i % 2 == 0 and i < prs,
            created_at=NOW - dt.timedelta(days=5) + dt.timedelta(hours=i),
            updated_at=NOW - dt.timedelta(days=2) + dt.timedelta(hours=i),
        )


def test_cold_report_uses_two_searches_and_at_most_four_chat_completions(
    engine, fake_github, fake_openai, github, llm
):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=30, issues=25)
    content = _build(github, llm)
    assert fake_github.count("GET", SEARCH) == 2
    assert 1 <= fake_openai.count() <= MAX_LLM_REQUESTS
    assert content.llm_requests == fake_openai.count()
    assert content.llm_tokens == fake_openai.tokens > 0
    assert content.summariser == llm.name
    assert all(item.summary.startswith("Fake AI summary of #") for item in (*content.prs, *content.issues))
    assert content.tldr.startswith("Fake AI TL;DR of octo/hello")
    assert all(p.tldr.startswith(f"Fake AI TL;DR of {p.username}") for p in content.people)


def test_largest_possible_report_stays_within_the_request_budget(
    engine, fake_github, fake_openai, github, llm
):
    # 40 authors with 3 PRs and 3 issues each: 10 + 10 top items plus 5 people x (5 + 5) of their own.
    for n in range(40):
        for k in range(6):
            add_item(
                fake_github,
                "octo/hello",
                kind="pr" if k < 3 else "issue",
                login=f"dev{n:02d}",
                comments=(n * 7 + k) % 23,
                created_at=NOW - dt.timedelta(days=3, minutes=n * 6 + k),
            )
    content = _build(github, llm)
    assert fake_openai.count("item_summaries") == 2
    assert fake_openai.count() == 3 <= MAX_LLM_REQUESTS
    assert len(set(fake_openai.items_summarised)) == len(fake_openai.items_summarised) > 40
    assert all(item.summary for person in content.people for item in (*person.prs, *person.issues))


def test_last_week_after_last_month_resummarises_no_unchanged_item(
    engine, db, fake_github, fake_openai, github, llm
):
    _seed_recent(fake_github)
    month = _build(github, llm, "last_month")
    assert fake_openai.count("item_summaries") == 1
    fake_openai.reset_counts()
    week = _build(github, llm, "last_week")
    assert fake_openai.count("item_summaries") == 0
    assert fake_openai.count() == week.llm_requests == 1  # only the window's digest
    assert {i.number: i.summary for i in week.prs} == {i.number: i.summary for i in month.prs}
    assert _cached_rows(db) == 10


def test_an_item_updated_since_is_the_only_one_summarised_again(
    engine, fake_github, fake_openai, github, llm
):
    _seed_recent(fake_github)
    _build(github, llm, "last_month")
    changed = fake_github.repos["octo/hello"].items[3]
    changed["updated_at"] = (NOW - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fake_openai.reset_counts()
    _build(github, llm, "last_week")
    assert fake_openai.items_summarised == [changed["number"]]


def test_new_prompt_version_misses_the_item_cache(engine, fake_github, fake_openai, github, llm):
    _seed_recent(fake_github)
    _build(github, llm)
    fake_openai.reset_counts()
    llm.prompt_version = "next-prompt"  # instance attribute: this summariser only
    content = _build(github, llm)
    assert len(fake_openai.items_summarised) == 10
    assert content.prompt_version == "next-prompt"


def test_summaries_of_another_summariser_are_not_reused(engine, db, fake_github, fake_openai, github, llm):
    _seed_recent(fake_github)
    _build(github, ExtractiveSummariser())
    assert fake_openai.count() == 0 and _cached_rows(db) == 10
    content = _build(github, llm)
    assert len(fake_openai.items_summarised) == 10
    assert all(item.summary.startswith("Fake AI summary") for item in content.prs)


def test_openai_failing_raises_upstream_unavailable_and_caches_nothing(
    engine, db, fake_github, fake_openai, github, llm
):
    _seed_recent(fake_github)
    fake_openai.fail(status=500, times=100)
    with pytest.raises(UpstreamUnavailable):
        _build(github, llm)
    # The item batch is tried until only the digest's reserved request would be left.
    assert fake_openai.count() == fake_openai.count("item_summaries") == MAX_LLM_REQUESTS - 1
    assert _cached_rows(db) == 0


def test_one_openai_server_error_is_retried_within_the_budget(
    engine, db, fake_github, fake_openai, github, llm
):
    _seed_recent(fake_github)
    fake_openai.fail(status=503, times=1)
    content = _build(github, llm)
    assert fake_openai.count() == 3  # items (failed), items (retry), digest
    assert content.llm_requests == 3
    assert _cached_rows(db) == 10


def test_openai_rate_limit_is_rate_limited_and_caches_nothing(
    engine, db, fake_github, fake_openai, github, llm
):
    _seed_recent(fake_github)
    fake_openai.fail(status=429, times=100, headers={"retry-after": "7"})
    with pytest.raises(RateLimited) as info:
        _build(github, llm)
    assert "rate limit" in info.value.detail
    assert info.value.headers()["Retry-After"] == "7"
    assert fake_openai.count() == 1
    assert _cached_rows(db) == 0


def test_invalid_json_once_is_retried_and_then_used(engine, db, fake_github, fake_openai, github, llm):
    _seed_recent(fake_github)
    fake_openai.answer_invalid(times=1, task="item_summaries")
    content = _build(github, llm)
    assert fake_openai.count("item_summaries") == 2
    assert all(item.summary.startswith("Fake AI summary") for item in content.prs)
    assert _cached_rows(db) == 10


@pytest.mark.parametrize("mode", ["broken", "partial"])
def test_invalid_answers_exhaust_the_budget_and_cache_nothing(
    engine, db, fake_github, fake_openai, github, llm, mode
):
    _seed_recent(fake_github)
    fake_openai.answer_invalid(times=100, mode=mode)
    with pytest.raises(UpstreamUnavailable):
        _build(github, llm)
    assert fake_openai.count() == MAX_LLM_REQUESTS - 1  # the digest's request is never spent
    assert _cached_rows(db) == 0


def test_digest_failure_after_good_item_summaries_caches_nothing(
    engine, db, fake_github, fake_openai, github, llm
):
    _seed_recent(fake_github)
    fake_openai.answer_invalid(times=100, task="digest", mode="partial")
    with pytest.raises(UpstreamUnavailable):
        _build(github, llm)
    assert fake_openai.count("item_summaries") == 1
    assert fake_openai.count("digest") == MAX_LLM_REQUESTS - 1
    assert _cached_rows(db) == 0


def test_long_bodies_are_truncated_to_the_token_budget(engine, fake_github, fake_openai, github, llm):
    long_body = "<!-- template noise -->\n" + " ".join(f"word{i}" for i in range(5000))
    add_item(
        fake_github,
        "octo/hello",
        number=1,
        body=long_body,
        created_at=NOW - dt.timedelta(days=2),
    )
    _build(github, llm)
    import json

    request = next(r for r in fake_openai.requests if r["task"] == "item_summaries")
    payload = json.loads(request["body"]["messages"][-1]["content"])
    body = payload["items"][0]["body"]
    assert body.endswith("…[truncated]")
    assert "template noise" not in body
    assert len(body) <= BODY_TOKENS * 4 + len(" …[truncated]")
    assert body.startswith("word0 word1")


def test_requests_use_json_output_and_the_configured_model(
    engine, fake_github, fake_openai, github, llm, settings_env
):
    _seed_recent(fake_github)
    _build(github, llm)
    for request in fake_openai.requests:
        assert request["body"]["response_format"] == {"type": "json_object"}
        assert request["model"] == llm.name.removeprefix("openai:")


def test_summariser_follows_the_configured_key_and_model(fake_openai, settings_env):
    settings_env(OPENAI_MODEL="gpt-fake-mini")
    summariser = get_summariser()
    assert summariser.name == "openai:gpt-fake-mini"
    assert get_summariser() is summariser
    settings_env(OPENAI_API_KEY=None)
    assert get_summariser().name == "extractive"


@pytest.mark.parametrize("key", [None, "sk-fake-identity"])
def test_summariser_identity_matches_the_summariser_without_building_it(settings_env, key):
    settings_env(OPENAI_API_KEY=key, OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    summariser = get_summariser()
    assert summariser_identity() == (summariser.name, summariser.prompt_version)


def test_window_without_activity_costs_no_chat_completion(engine, fake_github, fake_openai, github, llm):
    fake_github.add_repo("octo/hello")
    content = _build(github, llm)
    assert fake_openai.count() == 0 and content.llm_requests == 0
    assert content.prs == [] and content.people == []
    assert "No pull request or issue activity" in content.tldr
