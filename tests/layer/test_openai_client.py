"""The OpenAI adapter on its own, against the fake OpenAI: one request per call, an answer or a domain
error (or Retryable, for the caller to decide), Retry-After read by the one parser."""

from __future__ import annotations

import email.utils
import json
import time

import pytest

from oss_tldr.errors import RateLimited, UpstreamUnavailable
from oss_tldr.openai_api.client import ChatClient, Retryable, chat_client
from oss_tldr.settings import get_settings

ITEM = {"number": 1, "title": "Adds a thing", "state": "open", "comments": 2}
ITEMS = {"task": "item_summaries", "items": [ITEM]}


@pytest.fixture
def chat(fake_openai) -> ChatClient:
    return chat_client(get_settings())


def _ask(chat: ChatClient):
    return chat.complete_json(model="gpt-4o-mini", system="s", user=json.dumps(ITEMS), max_tokens=100)


def test_an_answer_is_the_first_choice_with_its_usage(chat, fake_openai):
    answer = _ask(chat)
    assert json.loads(answer.content or "")["summaries"][0]["number"] == 1
    assert answer.finish_reason == "stop" and answer.total_tokens and answer.total_tokens > 0
    assert fake_openai.count() == 1


def test_a_rate_limit_with_an_http_date_is_our_429_with_its_seconds(chat, fake_openai):
    moment = email.utils.formatdate(time.time() + 90, usegmt=True)
    fake_openai.fail(status=429, headers={"retry-after": moment})
    with pytest.raises(RateLimited) as info:
        _ask(chat)
    assert info.value.code == "openai_rate_limited" and 85 <= info.value.retry_after <= 91
    assert fake_openai.count() == 1  # the SDK's own retries are off


@pytest.mark.parametrize("retry_after,seconds", [(None, 20), ("nan", 20), ("1e400", 3600), ("-5", 1)])
def test_a_rate_limit_without_a_usable_wait_has_the_rule_s_seconds(chat, fake_openai, retry_after, seconds):
    fake_openai.fail(status=429, headers={} if retry_after is None else {"retry-after": retry_after})
    with pytest.raises(RateLimited) as info:
        _ask(chat)
    assert info.value.retry_after == seconds and info.value.headers() == {"Retry-After": str(seconds)}


def test_a_server_error_is_retryable_and_a_refusal_is_a_502(chat, fake_openai):
    fake_openai.fail(status=503)
    with pytest.raises(Retryable) as info:
        _ask(chat)
    assert info.value.reason == "status 503"
    fake_openai.fail(status=400)
    with pytest.raises(UpstreamUnavailable):
        _ask(chat)
    assert fake_openai.count() == 2
