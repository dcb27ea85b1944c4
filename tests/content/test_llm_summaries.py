"""The OpenAI summariser against a fake OpenAI over HTTP (Structured Outputs checked on every request):
request budget, answers that slip per field, failures, refusals, the item cache."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from oss_tldr.db.models import ItemSummary
from oss_tldr.errors import RateLimited, UpstreamUnavailable
from oss_tldr.github.activity import fetch_activity
from oss_tldr.openai_api.client import strict_json_schema
from oss_tldr.reports.content import build_report_content
from oss_tldr.reports.summarise import (
    BODY_TOKENS,
    MAX_LLM_REQUESTS,
    ExtractiveSummariser,
    get_summariser,
    summariser_identity,
)
from oss_tldr.reports.summarise.validation import DigestAnswer, ItemSummaries
from oss_tldr.windows import window_for
from tools.fakes.github_activity import add_item, seed_activity

NOW = dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC)
GRAPHQL = r"^/graphql$"


@pytest.fixture
def llm(fake_openai):
    summariser = get_summariser()
    assert summariser.name.startswith("openai:")
    return summariser


def _build(github, summariser, timeframe="last_month", full_name="octo/hello"):
    window = window_for(timeframe, NOW)
    activity = fetch_activity(github, full_name, window)
    return build_report_content(activity, window, summariser=summariser)


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


def test_cold_report_uses_one_graphql_request_and_two_chat_completions(
    engine, fake_github, fake_openai, github, llm
):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=30, issues=25)
    content = _build(github, llm)
    assert fake_github.count("POST", GRAPHQL) == 1 == fake_github.count()
    assert fake_openai.count("item_summaries") == 1 and fake_openai.count("digest") == 1
    assert fake_openai.count() == 2 <= MAX_LLM_REQUESTS
    assert content.llm_requests == fake_openai.count()
    assert content.llm_tokens == fake_openai.tokens > 0
    assert content.summariser == llm.name
    assert content.fallbacks == {}
    assert all(item.summary.startswith("Fake AI summary of #") for item in (*content.prs, *content.issues))
    assert content.tldr.startswith("Fake AI TL;DR of octo/hello")
    assert all(p.tldr.startswith(f"Fake AI TL;DR of {p.username}") for p in content.people)
    # The digest is written from GitHub's exact counts, not from the length of the lists.
    digest = next(r for r in fake_openai.requests if r["task"] == "digest")
    totals = json.loads(digest["body"]["messages"][-1]["content"])["totals"]
    assert {k: totals[k] for k in content.stats.model_dump()} == content.stats.model_dump()
    assert content.stats.pull_requests > len(content.prs)


def test_largest_possible_report_stays_within_the_request_budget(
    engine, fake_github, fake_openai, github, llm
):
    # 40 authors with 3 PRs and 3 issues each: 10 + 10 top items plus 5 people x (5 + 5) of their own,
    # at most 70 distinct items: one batch of item summaries (issue 9: LLM <= 2 per cold report).
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
    assert fake_openai.count("item_summaries") == 1
    assert fake_openai.count() == 2 <= MAX_LLM_REQUESTS
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


def test_answers_that_are_never_json_exhaust_the_budget_and_cache_nothing(
    engine, db, fake_github, fake_openai, github, llm
):
    _seed_recent(fake_github)
    fake_openai.answer_invalid(times=100, mode="broken")
    with pytest.raises(UpstreamUnavailable):
        _build(github, llm)
    assert fake_openai.count() == MAX_LLM_REQUESTS - 1  # the digest's request is never spent
    assert _cached_rows(db) == 0


def test_item_answers_leaving_items_out_degrade_those_items_alone(
    engine, db, fake_github, fake_openai, github, llm
):
    # Issue 9 item 8 (was: invalid, retried until the budget was spent, then a 502): what the model gave
    # is used, the extractive text is written for the rest, no request is spent on retrying.
    _seed_recent(fake_github)
    fake_openai.answer_invalid(times=100, task="item_summaries", mode="partial")  # half the items left out
    content = _build(github, llm)
    assert fake_openai.count() == 2 == content.llm_requests
    items = {i.number: i for i in (*content.prs, *content.issues)}
    left_out = sorted(n for n, i in items.items() if not i.summary.startswith("Fake AI summary"))
    assert len(left_out) == 5 and content.fallbacks == {"items": left_out}
    assert all(items[n].summary.split(" by @")[0] in {"Open PR", "Merged PR", "Open issue"} for n in left_out)
    assert _cached_rows(db) == 5  # the extractive stand-ins are not cached as the model's


def test_an_omitted_item_gets_the_extractive_text_and_is_asked_for_again_next_time(
    engine, db, fake_github, fake_openai, github, llm
):
    _seed_recent(fake_github)
    target = fake_github.repos["octo/hello"].items[2]["number"]
    fake_openai.omit_item(target)
    content = _build(github, llm)
    assert content.fallbacks == {"items": [target]}
    assert fake_openai.count() == 2 == content.llm_requests
    item = next(i for i in (*content.prs, *content.issues) if i.number == target)
    # _seed_recent's third item: carol's merged PR; the extractive text of its body.
    assert item.summary == "Merged PR by @carol: Body of change 2. It fixes a crash in the parser."
    others = [i for i in (*content.prs, *content.issues) if i.number != target]
    assert others and all(i.summary.startswith("Fake AI summary") for i in others)
    assert _cached_rows(db) == 9
    fake_openai.reset_counts()
    again = _build(github, llm)
    assert fake_openai.items_summarised == [target]  # only the one the model left out
    assert again.fallbacks == {}


def test_a_digest_leaving_a_person_out_degrades_that_person_alone(
    engine, db, fake_github, fake_openai, github, llm
):
    _seed_recent(fake_github)
    fake_openai.omit_person("bob")
    content = _build(github, llm)
    assert content.fallbacks == {"people": ["bob"]}
    assert fake_openai.count() == 2 == content.llm_requests  # no retry spent on the slip
    people = {p.username: p for p in content.people}
    assert people["bob"].tldr.startswith("@bob authored ")  # the extractive text
    assert all(p.tldr.startswith(f"Fake AI TL;DR of {name}") for name, p in people.items() if name != "bob")
    assert content.tldr.startswith("Fake AI TL;DR of octo/hello")
    assert _cached_rows(db) == 10
    offline = {p.username: p.tldr for p in _build(github, ExtractiveSummariser()).people}
    assert people["bob"].tldr == offline["bob"]


def test_a_digest_without_tldr_or_people_degrades_to_the_extractive_digest(
    engine, db, fake_github, fake_openai, github, llm
):
    _seed_recent(fake_github)
    fake_openai.answer_invalid(times=100, task="digest", mode="partial")  # {"tldr": "", "people": []}
    content = _build(github, llm)
    logins = [p.username for p in content.people]  # in the people's order
    assert content.fallbacks == {"people": logins, "tldr": True} and len(logins) == 3
    assert content.tldr.startswith("octo/hello over the last month: ")
    assert all(p.tldr.startswith(f"@{p.username} authored ") for p in content.people)
    assert all(i.summary.startswith("Fake AI summary") for i in content.prs)
    assert fake_openai.count() == 2 and _cached_rows(db) == 10


def test_digest_failure_after_good_item_summaries_caches_nothing(
    engine, db, fake_github, fake_openai, github, llm
):
    _seed_recent(fake_github)
    fake_openai.answer_invalid(times=100, task="digest", mode="broken")
    with pytest.raises(UpstreamUnavailable):
        _build(github, llm)
    assert fake_openai.count("item_summaries") == 1
    assert fake_openai.count("digest") == MAX_LLM_REQUESTS - 1
    assert _cached_rows(db) == 0


@pytest.mark.parametrize("task", ["item_summaries", "digest"])
def test_a_refusal_is_a_502_at_once_and_caches_nothing(
    engine, db, fake_github, fake_openai, github, llm, task
):
    _seed_recent(fake_github)
    fake_openai.refuse(times=100, task=task)
    with pytest.raises(UpstreamUnavailable) as info:
        _build(github, llm)
    assert info.value.status == 502 and "declined" in info.value.detail
    assert fake_openai.count(task) == 1  # a refusal is not retried
    assert fake_openai.count() == (1 if task == "item_summaries" else 2)
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
    request = next(r for r in fake_openai.requests if r["task"] == "item_summaries")
    payload = json.loads(request["body"]["messages"][-1]["content"])
    body = payload["items"][0]["body"]
    assert body.endswith("…[truncated]")
    assert "template noise" not in body
    assert len(body) <= BODY_TOKENS * 4 + len(" …[truncated]")
    assert body.startswith("word0 word1")


def test_requests_use_structured_outputs_and_the_configured_model(
    engine, fake_github, fake_openai, github, llm, settings_env
):
    _seed_recent(fake_github)
    _build(github, llm)
    schemas = {"item_summaries": ItemSummaries, "digest": DigestAnswer}
    assert {r["task"] for r in fake_openai.requests} == set(schemas)
    for request in fake_openai.requests:
        model = schemas[request["task"]]
        assert request["body"]["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": model.__name__, "strict": True, "schema": strict_json_schema(model)},
        }
        assert request["model"] == llm.name.removeprefix("openai:")
    assert fake_openai.format_errors == []


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
