"""The OpenAI adapter on its own, against the fake OpenAI: one request per call, an answer or a domain
error (or Retryable, for the caller to decide), Retry-After read by the one parser."""

from __future__ import annotations

import email.utils
import json
import time

import pytest

from oss_tldr.errors import RateLimited, UpstreamUnavailable
from oss_tldr.openai_api.client import ChatClient, Retryable, chat_client, strict_json_schema
from oss_tldr.reports.summarise.validation import DigestAnswer, ItemSummaries
from oss_tldr.settings import get_settings

ITEM = {"number": 1, "title": "Adds a thing", "state": "open", "comments": 2}
ITEMS = {"task": "item_summaries", "items": [ITEM]}


@pytest.fixture
def chat(fake_openai) -> ChatClient:
    return chat_client(get_settings())


def _ask(chat: ChatClient):
    return chat.complete_json(
        model="gpt-4o-mini", system="s", user=json.dumps(ITEMS), max_tokens=100, schema=ItemSummaries
    )


def _objects(node):
    """Every object schema in ``node`` (``$defs`` included)."""
    if isinstance(node, list):
        for child in node:
            yield from _objects(child)
    elif isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield node
        for key, child in node.items():
            if key == "properties":
                for sub in child.values():
                    yield from _objects(sub)
            elif key in {"items", "anyOf", "$defs"}:
                yield from _objects(list(child.values()) if key == "$defs" else child)


def test_an_answer_is_the_first_choice_with_its_usage(chat, fake_openai):
    answer = _ask(chat)
    assert json.loads(answer.content or "")["summaries"][0]["number"] == 1
    assert answer.finish_reason == "stop" and answer.total_tokens and answer.total_tokens > 0
    assert answer.refusal is None
    assert fake_openai.count() == 1


def test_the_request_is_structured_outputs_with_the_model_s_strict_schema(chat, fake_openai):
    _ask(chat)
    response_format = fake_openai.requests[0]["body"]["response_format"]
    assert response_format["type"] == "json_schema"
    spec = response_format["json_schema"]
    assert set(spec) == {"name", "strict", "schema"}
    assert spec["name"] == "ItemSummaries" and spec["strict"] is True
    assert spec["schema"] == strict_json_schema(ItemSummaries)
    assert spec["schema"]["type"] == "object" and spec["schema"]["required"] == ["summaries"]
    assert fake_openai.format_errors == []


@pytest.mark.parametrize("model", [ItemSummaries, DigestAnswer])
def test_every_object_of_a_strict_schema_is_closed_with_all_properties_required(model):
    schema = strict_json_schema(model)
    objects = list(_objects(schema))
    assert len(objects) >= 2  # the answer and its list's elements (in $defs)
    for node in objects:
        assert node["additionalProperties"] is False, node
        assert node["required"] == list(node["properties"]), node
    assert "$defs" in schema and all(ref.startswith("#/$defs/") for ref in _refs(schema))
    text = json.dumps(schema)
    assert '"default"' not in text and '"title"' not in text


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for child in node.values():
            yield from _refs(child)
    elif isinstance(node, list):
        for child in node:
            yield from _refs(child)


def test_a_refusal_is_the_answer_s_refusal_with_no_content(chat, fake_openai):
    fake_openai.refuse()
    answer = _ask(chat)
    assert answer.refusal and "can't help" in answer.refusal
    assert answer.content is None
    assert fake_openai.count() == 1


def test_the_fake_refuses_a_request_that_is_not_strict_structured_outputs(fake_openai):
    import openai

    client = openai.OpenAI(api_key="sk-fake", base_url=fake_openai.url, max_retries=0)
    loose = [
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "x", "strict": False, "schema": {"type": "object"}}},
        {
            "type": "json_schema",
            "json_schema": {
                "name": "ItemSummaries",
                "strict": True,
                "schema": {"type": "object", "properties": {"summaries": {"type": "array"}}},
            },
        },
        {  # strict and closed, but not the shape the prompt asks for
            "type": "json_schema",
            "json_schema": {
                "name": "Other",
                "strict": True,
                "schema": {
                    "type": "object",
                    "properties": {"answer": {"type": "string"}},
                    "required": ["answer"],
                    "additionalProperties": False,
                },
            },
        },
    ]
    for response_format in loose:
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": json.dumps(ITEMS)}],
                response_format=response_format,  # type: ignore[arg-type]
            )
    problems = [error["problem"] for error in fake_openai.format_errors]
    assert len(problems) == 4
    assert "not a strict json_schema" in problems[0]
    assert "strict is not true" in problems[1]
    assert "additionalProperties must be false" in problems[2]
    assert "'summaries', which the schema does not allow" in problems[3]
    fake_openai.format_errors.clear()  # arranged here; every other test keeps it empty


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
