"""The usage meter: what a piece of work spent upstream, recorded where it is spent (the GraphQL answer's
cost, each chat completion) and read by whoever opened the meter (the scheduled warming's budget)."""

from __future__ import annotations

import pytest

from oss_tldr import usage
from oss_tldr.errors import UpstreamUnavailable
from oss_tldr.github.activity import fetch_activity
from oss_tldr.reports.summarise import LLMBudget
from oss_tldr.windows import window_for


def test_meters_nest_and_see_only_what_is_inside_them():
    usage.record(github_points=5)  # no meter open: nothing to add to
    with usage.metered() as outer:
        usage.record(github_requests=1, github_points=11)
        with usage.metered() as inner:
            usage.record(llm_requests=2)
    usage.record(llm_requests=7)  # after both closed
    assert outer.as_dict() == {"github_requests": 1, "github_points": 11, "llm_requests": 2}
    assert inner.as_dict() == {"github_requests": 0, "github_points": 0, "llm_requests": 2}


def test_the_activity_query_records_its_request_and_its_graphql_cost(github, seeded_repo):
    seeded_repo("octo/hello", prs=5, issues=4)
    with usage.metered() as spent:
        activity = fetch_activity(github, "octo/hello", window_for("last_week"))
    assert activity.points is not None and activity.points > 0
    assert spent.as_dict() == {"github_requests": 1, "github_points": activity.points, "llm_requests": 0}


def test_a_failed_activity_query_still_counts_its_requests(github, fake_github, seeded_repo):
    seeded_repo("octo/hello", prs=2, issues=1)
    fake_github.fail("POST", r"^/graphql$", status=502, times=20)  # every attempt, retries included
    with usage.metered() as spent, pytest.raises(UpstreamUnavailable):
        fetch_activity(github, "octo/hello", window_for("last_week"))
    assert spent.github_requests == fake_github.count("POST", r"^/graphql$") > 1
    assert spent.github_points == 0


def test_every_chat_completion_of_a_report_budget_is_recorded():
    budget = LLMBudget()
    with usage.metered() as spent:
        budget.plan(2)
        budget.first_attempt("item_summaries")
        budget.retry("item_summaries")
        budget.first_attempt("digest")
    assert spent.llm_requests == budget.requests == 3
