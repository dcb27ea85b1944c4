"""Issue 7, finding 9: every GitHub and OpenAI call takes its timeout from the request's deadline, and no
retry is made that the deadline cannot fit; a slow upstream is a 502/503 inside the request, and nothing
is cached. (HTTP-level cases through the local API: tests/contract/test_hardening_github.py.)

No timed assertions: the requests counted say that nothing was retried past the deadline, the status that
the request ended on its own terms."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from helpers import call
from sqlalchemy import func, select

from oss_tldr import deadline
from oss_tldr.db.models import ItemSummary, Report
from oss_tldr.deadline import DeadlineExceeded
from oss_tldr.errors import UpstreamUnavailable
from oss_tldr.github.activity import ACTIVITY_QUERY, fetch_activity, variables
from oss_tldr.github.client import GitHubClient
from oss_tldr.reports import service
from oss_tldr.reports.content import build_report_content
from oss_tldr.reports.service import Requester
from oss_tldr.reports.summarise import ItemInput, LLMBudget, get_summariser
from oss_tldr.reports.summarise.llm import OpenAISummariser
from oss_tldr.windows import window_for
from tools.fakes.github_activity import add_item
from tools.fakes.trickle import trickling_server
from tools.lambda_local import FakeLambdaContext

GRAPHQL = r"^/graphql$"  # the one GitHub request of a cold report
GH_TOKEN = "gho_fake_deadline_user"


def _count(db, model) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)))


def _recent_activity(fake_github, count: int = 4) -> None:
    now = dt.datetime.now(dt.UTC)
    for i in range(count):
        add_item(
            fake_github,
            "octo/hello",
            kind="pr" if i % 2 else "issue",
            login=f"dev{i}",
            comments=i,
            created_at=now - dt.timedelta(days=2),
            updated_at=now - dt.timedelta(hours=2),
        )


@pytest.fixture
def user(fake_github, make_user):
    fake_github.add_user("octocat", GH_TOKEN, id=71)
    fake_github.add_repo("octo/hello")
    return make_user(id=71, login="octocat", github_token=GH_TOKEN)


def test_a_slow_github_answer_fails_the_generation_within_a_two_second_deadline(
    engine, db, fake_github, user
):
    fake_github.delay("POST", GRAPHQL, seconds=8, times=10)
    with deadline.request_deadline(2), pytest.raises((UpstreamUnavailable, DeadlineExceeded)) as info:
        service.get_section(Requester.user(user.id), "octo", "hello", "last_week", "prs")
    assert info.value.status in (502, 503)
    # Up to 3 retries were configured: none was started once the deadline could not fit one.
    assert fake_github.count("POST", GRAPHQL) == 1 and fake_github.count() == 1
    assert _count(db, Report) == 0


def test_a_slow_github_answer_is_a_json_error_from_a_handler_with_three_seconds_left(
    engine, db, fake_github, user
):
    fake_github.delay("POST", GRAPHQL, seconds=8, times=10)
    status, body, _ = call(
        "ReportsFunction",
        "reports_section.json",
        FakeLambdaContext(function_name="ReportsFunction", timeout_ms=3000),
        headers={"authorization": f"Bearer {user.token}"},
    )
    assert status in (502, 503) and set(body) == {"detail", "code"}, body
    assert body["code"] in {"upstream_unavailable", "deadline_exceeded"}
    assert fake_github.count("POST", GRAPHQL) == 1 and fake_github.count() == 1
    assert _count(db, Report) == 0


def test_a_slow_model_fails_the_content_within_the_deadline_without_a_retry(
    engine, db, fake_github, fake_openai, user
):
    _recent_activity(fake_github)
    window = window_for("last_week")
    activity = fetch_activity(
        GitHubClient(fake_github.url, GH_TOKEN, sleep=lambda s: None), "octo/hello", window
    )
    assert activity.prs and activity.issues  # something to summarise
    fake_openai.delay(seconds=8, times=10)
    with deadline.request_deadline(2), pytest.raises((UpstreamUnavailable, DeadlineExceeded)):
        build_report_content(activity, window, summariser=get_summariser())
    assert fake_openai.count() == 1  # the retry budget was there, the deadline was not
    assert _count(db, ItemSummary) == 0


def test_a_slow_model_is_a_json_error_from_a_handler_and_caches_nothing(
    engine, db, fake_github, fake_openai, user
):
    _recent_activity(fake_github)
    fake_openai.delay(seconds=8, times=10)
    status, body, _ = call(
        "ReportsFunction",
        "reports_section.json",
        FakeLambdaContext(function_name="ReportsFunction", timeout_ms=3000),
        headers={"authorization": f"Bearer {user.token}"},
    )
    assert status in (502, 503) and set(body) == {"detail", "code"}, body
    assert fake_openai.count() == 1
    assert _count(db, Report) == 0 and _count(db, ItemSummary) == 0


def test_outside_a_request_the_configured_timeouts_apply(fake_github, user):
    assert deadline.remaining() is None
    activity = fetch_activity(GitHubClient(fake_github.url, GH_TOKEN), "octo/hello", window_for("last_week"))
    assert activity.repository.full_name == "octo/hello" and activity.requests == 1


# --- a GitHub that trickles its answer: the request's deadline bounds the whole answer --------------------


def _recorded_activity_answer(fake_github) -> bytes:
    """The fake GitHub's own (schema-checked) answer to the report query: what the trickler sends."""
    _recent_activity(fake_github)
    answer = httpx.post(
        f"{fake_github.url}/graphql",
        json={"query": ACTIVITY_QUERY, "variables": variables("octo/hello", window_for("last_week"))},
        headers={"authorization": f"Bearer {GH_TOKEN}"},
    )
    assert answer.status_code == 200 and "errors" not in answer.json() and fake_github.graphql_errors == []
    return answer.content


def test_a_github_that_trickles_its_answer_past_the_deadline_ends_the_request_within_it(fake_github, user):
    """Twenty bytes 0.4 s apart (8 s in all) never trip a per-read timeout: the GraphQL answer is cut at the
    request's 2 s deadline and no retry is started that the deadline cannot fit."""
    with trickling_server(_recorded_activity_answer(fake_github)) as (url, connections):
        github = GitHubClient(url, GH_TOKEN, sleep=lambda s: None)
        with deadline.request_deadline(2), pytest.raises((UpstreamUnavailable, DeadlineExceeded)) as info:
            fetch_activity(github, "octo/hello", window_for("last_week"))
    assert info.value.status in (502, 503)
    assert len(connections) == 1


def test_a_github_that_trickles_its_answer_within_the_deadline_is_used(fake_github, user):
    answer = _recorded_activity_answer(fake_github)
    window = window_for("last_week")
    with trickling_server(answer, drip=3, interval=0.05) as (url, connections), deadline.request_deadline(10):
        activity = fetch_activity(GitHubClient(url, GH_TOKEN), "octo/hello", window)
    assert len(connections) == 1
    assert (activity.stats.pull_requests, activity.stats.issues) == (2, 2)
    assert len(activity.prs) == 2 and len(activity.issues) == 2


# --- a model that trickles its answer: the timeout bounds the whole answer, not each read --------------


def _completion(content: dict) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-trickle",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": json.dumps(content)},
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode()


ITEM = ItemInput(number=1, kind="pr", title="t", body="b", author="dev", state="open")
SUMMARIES = {"summaries": [{"number": 1, "summary": "Adds a thing."}]}


def test_a_model_that_trickles_its_answer_past_the_openai_timeout_is_a_timeout(settings_env):
    """Twenty bytes 0.4 s apart (8 s in all) never trip a 1 s per-read timeout: the answer is cut at 1 s,
    each attempt alike, and the summariser gives up with its 502 instead of using the late answer."""
    with trickling_server(_completion(SUMMARIES)) as (url, connections):
        settings_env(OPENAI_API_KEY="sk-fake-trickle", OPENAI_BASE_URL=url, OPENAI_TIMEOUT_SECONDS="1")
        summariser = get_summariser()
        assert isinstance(summariser, OpenAISummariser)
        with pytest.raises(UpstreamUnavailable):
            summariser.summarise_items([ITEM], LLMBudget(max_requests=2))
    assert len(connections) == 2  # the first attempt and the one retry the budget allowed


def test_a_model_that_trickles_its_answer_within_the_timeout_is_used(settings_env):
    with trickling_server(_completion(SUMMARIES), drip=3, interval=0.05) as (url, connections):
        settings_env(OPENAI_API_KEY="sk-fake-trickle", OPENAI_BASE_URL=url, OPENAI_TIMEOUT_SECONDS="5")
        summaries = get_summariser().summarise_items([ITEM], LLMBudget(max_requests=2))
    assert summaries == {1: "Adds a thing."} and len(connections) == 1
