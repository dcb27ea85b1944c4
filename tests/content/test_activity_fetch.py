"""The report's one GitHub request (``fetch_activity``) against the schema-validating fake GitHub: one
``POST /graphql``, GitHub's exact counts for the window, the candidates active in it, errors mapped."""

from __future__ import annotations

import datetime as dt
import math
import time

import pytest
from fixtures_content import GITHUB_TOKEN as TOKEN

from oss_tldr import deadline
from oss_tldr.errors import NotFound, RateLimited, UpstreamUnavailable
from oss_tldr.github.activity import CANDIDATES, fetch_activity
from oss_tldr.github.client import GitHubClient
from oss_tldr.github.errors import GitHubTokenMissing
from oss_tldr.windows import window_for
from tools.fakes.github_activity import add_item, seed_activity

NOW = dt.datetime(2026, 11, 21, 12, 30, tzinfo=dt.UTC)
GRAPHQL = r"^/graphql$"


def _week():
    return window_for("last_week", NOW)


def _seed_counted_week(fake):
    """Items whose place in last week's stats is known; returns the window."""
    window = _week()
    inside, before = window.start + dt.timedelta(days=2), window.start - dt.timedelta(days=20)
    long_ago = dt.datetime(2017, 3, 1, tzinfo=dt.UTC)
    add_item(fake, "octo/hello", number=1, created_at=inside)  # updated + opened
    add_item(  # opened before, merged in the window: updated + merged
        fake, "octo/hello", number=2, merged=True, created_at=before, closed_at=inside, updated_at=inside
    )
    add_item(  # merged in 2017 and merely touched in the window: updated only
        fake,
        "octo/hello",
        number=3,
        merged=True,
        created_at=long_ago,
        closed_at=long_ago,
        updated_at=inside,
    )
    add_item(fake, "octo/hello", number=4, created_at=before, updated_at=before)  # not in the window
    add_item(  # a bot's PR: counted in stats (bots are left out of lists and people, not of stats)
        fake, "octo/hello", number=5, login="dependabot[bot]", user_type="Bot", created_at=inside
    )
    add_item(fake, "octo/hello", number=6, kind="issue", created_at=inside)  # updated + opened
    add_item(  # opened before, closed in the window: updated + closed
        fake,
        "octo/hello",
        number=7,
        kind="issue",
        state="closed",
        created_at=before,
        closed_at=inside,
        updated_at=inside,
    )
    add_item(fake, "octo/hello", number=8, kind="issue", ghost=True, created_at=inside)  # a deleted author
    add_item(fake, "octo/hello", number=9, created_at=window.end + dt.timedelta(minutes=1))  # after it
    return window


def test_one_graphql_request_answers_repository_exact_stats_and_candidates(fake_github, github):
    window = _seed_counted_week(fake_github)
    activity = fetch_activity(github, "octo/hello", window)
    assert fake_github.count("POST", GRAPHQL) == 1 and fake_github.count() == 1  # no REST call at all
    assert fake_github.graphql_errors == []
    assert activity.requests == 1 and activity.partial is False
    assert activity.repository.full_name == "octo/hello" and activity.repository.private is False
    assert activity.github_id == fake_github.repos["octo/hello"].id
    assert activity.stats.model_dump() == {
        "pull_requests": 4,
        "pull_requests_opened": 2,
        "pull_requests_merged": 1,
        "issues": 3,
        "issues_opened": 2,
        "issues_closed": 1,
    }
    assert sorted(item.number for item in activity.prs) == [1, 2, 3, 5]
    assert sorted(item.number for item in activity.issues) == [6, 7, 8]
    assert all(item.kind == "pr" for item in activity.prs)
    assert all(item.kind == "issue" for item in activity.issues)
    by_number = {item.number: item for item in (*activity.prs, *activity.issues)}
    assert by_number[2].merged and by_number[3].merged  # merged, but only #2 inside the window
    assert by_number[5].author.is_bot and by_number[5].author.login == "dependabot"  # GraphQL's Bot login
    assert by_number[8].author.login == "ghost" and not by_number[8].author.is_bot  # shown, not dropped
    assert by_number[1].url == "https://github.com/octo/hello/pull/1"  # GitHub's own link


def test_counts_are_github_s_not_the_length_of_a_page(fake_github, github):
    # More items than the query fetches as candidates: stats still count every one.
    window = _week()
    for n in range(CANDIDATES * 3):
        add_item(fake_github, "octo/hello", created_at=window.start + dt.timedelta(hours=1, minutes=n))
    activity = fetch_activity(github, "octo/hello", window)
    assert activity.stats.pull_requests == activity.stats.pull_requests_opened == CANDIDATES * 3
    assert len(activity.prs) <= 2 * CANDIDATES < CANDIDATES * 3
    assert fake_github.count("POST", GRAPHQL) == 1 and fake_github.graphql_errors == []


def test_the_query_s_points_are_read_from_rate_limit(fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=20, issues=15)
    activity = fetch_activity(github, "octo/hello", window_for("last_month", NOW))
    assert activity.points is not None and activity.points >= 1
    assert fake_github.graphql_points[TOKEN] == 5000 - activity.points  # what GitHub charged the token


def test_items_outside_the_window_are_left_out(fake_github, github):
    window = _week()
    inside = add_item(fake_github, "octo/hello", number=1, created_at=window.start + dt.timedelta(days=1))
    add_item(
        fake_github,
        "octo/hello",
        number=2,
        created_at=window.start - dt.timedelta(days=30),
        updated_at=window.start - dt.timedelta(days=1),
    )
    add_item(fake_github, "octo/hello", number=3, created_at=window.end + dt.timedelta(minutes=1))
    activity = fetch_activity(github, "octo/hello", window)
    assert [item.number for item in activity.prs] == [inside["number"]]
    assert activity.stats.pull_requests == 1


def test_item_merged_in_window_but_touched_after_it_is_kept(fake_github, github):
    window = _week()
    add_item(
        fake_github,
        "octo/hello",
        number=7,
        merged=True,
        created_at=window.start + dt.timedelta(days=1),
        closed_at=window.start + dt.timedelta(days=2),
        updated_at=window.end + dt.timedelta(hours=2),
    )
    activity = fetch_activity(github, "octo/hello", window)
    assert [item.number for item in activity.prs] == [7]
    assert activity.stats.pull_requests_merged == 1


def test_missing_repository_is_not_found(fake_github, github):
    with pytest.raises(NotFound) as info:
        fetch_activity(github, "octo/missing", _week())
    assert info.value.status == 404
    assert fake_github.count("POST", GRAPHQL) == 1 and fake_github.graphql_errors == []


def test_private_repository_the_token_cannot_see_is_not_found(fake_github, github):
    fake_github.add_repo("octo/secret", private=True, visible_to={"gho_someone_else"})
    with pytest.raises(NotFound):
        fetch_activity(github, "octo/secret", _week())


def test_without_a_token_nothing_is_asked(fake_github):
    anonymous = GitHubClient(fake_github.url, None, sleep=lambda s: None)
    fake_github.add_repo("octo/hello")
    with pytest.raises(GitHubTokenMissing) as info:
        fetch_activity(anonymous, "octo/hello", _week())
    assert info.value.status == 401 and info.value.code == "github_token_missing"
    assert "GITHUB_TOKEN" in info.value.detail
    assert fake_github.count() == 0  # never an anonymous call


def test_points_spent_is_429_with_retry_after_from_the_reset(fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW)
    reset = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    fake_github.set_graphql_points(TOKEN, 0, reset_at=reset)
    with pytest.raises(RateLimited) as info:
        fetch_activity(github, "octo/hello", _week())
    assert info.value.code == "github_rate_limited" and "rate limit" in info.value.detail
    assert 590 <= info.value.retry_after <= 601  # x-ratelimit-reset, not a default
    assert info.value.headers() == {"Retry-After": str(info.value.retry_after)}
    assert fake_github.count("POST", GRAPHQL) == 1


def _reset_in(seconds: int) -> dt.datetime:
    """A whole-second reset moment ``seconds`` from now (x-ratelimit-reset has whole seconds)."""
    return dt.datetime.fromtimestamp(math.ceil(time.time()) + seconds, dt.UTC)


def test_points_resetting_within_seconds_are_waited_for_inside_the_deadline(fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=4, issues=3)
    fake_github.set_graphql_points(TOKEN, 0, reset_at=_reset_in(2))
    with deadline.request_deadline(25):
        activity = fetch_activity(github, "octo/hello", window_for("last_month", NOW))
    assert fake_github.count("POST", GRAPHQL) == 2  # refused, then answered after the reset
    assert activity.requests == 2 and activity.prs and activity.issues
    assert fake_github.graphql_errors == []


def test_a_reset_the_deadline_cannot_fit_is_429_at_once(fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=4, issues=3)
    fake_github.set_graphql_points(TOKEN, 0, reset_at=_reset_in(4))
    with deadline.request_deadline(2), pytest.raises(RateLimited) as info:
        fetch_activity(github, "octo/hello", window_for("last_month", NOW))
    assert 3 <= info.value.retry_after <= 5
    assert fake_github.count("POST", GRAPHQL) == 1


def test_partial_errors_mark_the_activity_partial(fake_github, github):
    window = _seed_counted_week(fake_github)
    fake_github.graphql_partial("prsMerged")
    fake_github.graphql_partial("recentIssues")
    activity = fetch_activity(github, "octo/hello", window)
    assert activity.partial is True
    # The count GitHub could not give: what the candidates show (one PR merged in the window), never 0.
    assert activity.stats.pull_requests_merged == 1
    assert activity.stats.pull_requests == 4 and activity.stats.issues_closed == 1  # the rest exact
    assert sorted(item.number for item in activity.issues) == [6, 7, 8]  # from the other order's search
    assert fake_github.count("POST", GRAPHQL) == 1 and fake_github.graphql_errors == []


def test_a_complete_answer_is_not_partial(fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=4, issues=3)
    assert fetch_activity(github, "octo/hello", _week()).partial is False


def test_renamed_repository_asked_by_its_old_name_is_fetched_under_the_new_one(fake_github, github):
    window = _seed_counted_week(fake_github)
    repo_id = fake_github.repos["octo/hello"].id
    fake_github.rename_repo("octo/hello", "octo/hi")
    activity = fetch_activity(github, "octo/hello", window)
    assert fake_github.count("POST", GRAPHQL) == 2 and activity.requests == 2
    assert activity.repository.full_name == "octo/hi" and activity.github_id == repo_id
    assert activity.stats.pull_requests == 4 and activity.stats.issues == 3  # searched by the new name
    assert sorted(item.number for item in activity.prs) == [1, 2, 3, 5]
    assert all(item.url.startswith("https://github.com/octo/hi/") for item in activity.prs)
    assert activity.partial is False and fake_github.graphql_errors == []


def test_server_error_then_success_is_retried(fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW, prs=3, issues=2)
    fake_github.fail("POST", GRAPHQL, status=502, times=1)
    activity = fetch_activity(github, "octo/hello", window_for("last_month", NOW))
    assert len(activity.prs) >= 3 and len(activity.issues) == 2
    assert fake_github.count("POST", GRAPHQL) == 2 and activity.requests == 2


def test_secondary_rate_limit_is_rate_limited(fake_github, github):
    seed_activity(fake_github, "octo/hello", now=NOW)
    fake_github.fail(
        "POST",
        GRAPHQL,
        status=403,
        times=5,
        body={"message": "You have exceeded a secondary rate limit. Please wait a few minutes."},
        headers={"retry-after": "120"},
    )
    with pytest.raises(RateLimited) as info:
        fetch_activity(github, "octo/hello", _week())
    assert "rate limit" in info.value.detail and info.value.retry_after == 120
    assert fake_github.count("POST", GRAPHQL) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"repository": {"databaseId": "not a number", "name": "hello"}}},
        {"data": {"repository": None, "prs": "twelve"}},
        {"errors": [{"message": "Something went wrong while executing your query."}]},
        ["not", "an", "object"],
    ],
)
def test_a_malformed_answer_is_upstream_unavailable(fake_github, github, body):
    fake_github.add_repo("octo/hello")
    fake_github.fail("POST", GRAPHQL, status=200, body=body)
    with pytest.raises(UpstreamUnavailable) as info:
        fetch_activity(github, "octo/hello", _week())
    assert info.value.status == 502
    assert fake_github.count("POST", GRAPHQL) == 1
