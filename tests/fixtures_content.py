"""Pytest fixtures for report content: the fake OpenAI and seeded GitHub activity (loaded by conftest)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

FAKE_OPENAI_KEY = "sk-fake-oss-tldr-tests"
GITHUB_TOKEN = "gho_fake_token"  # the token of the ``github`` fixture's client, known to the fake GitHub


@pytest.fixture
def github(fake_github) -> Any:
    """A GitHub client of the fake GitHub with a token it knows (GraphQL answers only tokens GitHub
    issued), retries without sleeping."""
    from oss_tldr.github.client import GitHubClient

    fake_github.add_user("octocat", GITHUB_TOKEN)
    return GitHubClient(fake_github.url, GITHUB_TOKEN, sleep=lambda s: None)


@pytest.fixture
def fake_openai(settings_env) -> Iterator[Any]:
    """A fake OpenAI on 127.0.0.1; OPENAI_API_KEY/OPENAI_BASE_URL point at it, so get_summariser() is
    the OpenAI summariser (a fresh one: summarisers are cached per settings). Every request must have
    been Structured Outputs (a strict json_schema the answers follow): checked at teardown."""
    from tools.fakes.openai import FakeOpenAI

    fake = FakeOpenAI.start()
    settings_env(OPENAI_API_KEY=FAKE_OPENAI_KEY, OPENAI_BASE_URL=fake.url, OPENAI_API_KEY_ARN=None)
    yield fake
    fake.stop()
    assert fake.format_errors == [], f"requests that were not strict Structured Outputs: {fake.format_errors}"


@pytest.fixture
def seeded_repo(fake_github):
    """``octo/hello`` on the fake GitHub with a month of realistic activity around ``now`` (returned)."""
    from tools.fakes.github_activity import seed_activity

    def seed(full_name: str = "octo/hello", *, now: dt.datetime | None = None, **kw: Any) -> Any:
        now = now or dt.datetime.now(dt.UTC)
        return seed_activity(fake_github, full_name, now=now, **kw)

    return seed
