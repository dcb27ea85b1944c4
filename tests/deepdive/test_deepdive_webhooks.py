"""A webhook delivery about a repository makes its stored deep dives and patch sets stop being fresh: a new
comment shows in the next deep dive at once, not after DEEPDIVE_FRESH_SECONDS."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from fixtures_identity import Account, Cast
from helpers import call, call_route

from oss_tldr.webhooks.signature import sign
from tools.fakes.github_activity import add_item
from tools.fakes.github_pulls import add_comment

USERS = Cast(alice=Account(461, "gho_fake_alice_deep_hook"))
SECRET = "webhook-test-secret"


def _deep_dive(alice, lambda_context) -> str:
    answer = call("DeepDiveFunction", "deepdive.json", lambda_context, headers=alice.headers)
    assert answer.status == 200, answer.text
    return answer.text


def test_an_issue_comment_delivery_makes_the_next_deep_dive_ask_github(
    fake_github, alice, lambda_context, settings_env
):
    settings_env(GITHUB_WEBHOOK_SECRET=SECRET, GITHUB_WEBHOOK_SECRET_ARN=None)
    now = dt.datetime.now(dt.UTC)
    add_item(fake_github, "octo/hello", kind="pr", number=7, created_at=now - dt.timedelta(days=1))
    first = _deep_dive(alice, lambda_context)
    add_comment(fake_github, "octo/hello", 7, login="bob", body="A new point.", at=now)
    assert _deep_dive(alice, lambda_context) == first  # fresh: GitHub not asked

    repo = fake_github.repos["octo/hello"]
    raw = json.dumps(
        {
            "action": "created",
            "issue": {"number": 7},
            "repository": {"id": repo.id, "full_name": "octo/hello"},
        }
    ).encode()
    headers = {"X-GitHub-Event": "issue_comment", "X-GitHub-Delivery": str(uuid.uuid4())}
    headers["X-Hub-Signature-256"] = sign(SECRET, raw)
    assert call_route(None, "POST", "/webhooks/github", raw_body=raw, headers=headers).status == 200

    second = _deep_dive(alice, lambda_context)
    assert second != first and "@bob: A new point." in second
