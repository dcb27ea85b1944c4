"""Pytest fixtures for the reports capability (loaded by tests/conftest.py).

* ``repository_row(full_name, private=False)``: a ``repositories`` row, as the first lookup would store it.
* ``cache_key(full_name="octo/hello", timeframe="last_week")``: the cache key of the current window.
* ``StubPayload``: a report payload for tests that inject their own generator into the single flight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest


def _stats() -> Any:
    from oss_tldr.content_models import ReportStats

    return ReportStats(
        pull_requests=3,
        pull_requests_opened=2,
        pull_requests_merged=1,
        issues=4,
        issues_opened=2,
        issues_closed=1,
    )


@dataclass
class StubPayload:
    tldr: str = "A busy week: the fake project shipped its parser."
    prs: list[Any] = field(default_factory=list)
    issues: list[Any] = field(default_factory=list)
    people: list[Any] = field(default_factory=list)
    summariser: str = "extractive"
    prompt_version: str = "test-1"
    github_requests: int = 0
    llm_requests: int = 0
    llm_tokens: int = 0
    stats: Any = field(default_factory=_stats)  # content_models.ReportStats
    partial: bool = False
    fallbacks: dict[str, object] = field(default_factory=dict)


@pytest.fixture
def repository_row(engine):
    """Store a repository row; returns its id."""
    from oss_tldr.reports import access

    def make(full_name: str = "octo/hello", *, private: bool = False) -> int:
        owner, name = full_name.split("/")
        repo_id, _ = access.upsert_repository(
            {
                "id": abs(hash(full_name)) % 10_000_000,
                "full_name": full_name,
                "name": name,
                "owner": {"login": owner},
                "private": private,
                "html_url": f"https://github.com/{full_name}",
                "stargazers_count": 1,
            }
        )
        return repo_id

    return make


@pytest.fixture
def cache_key():
    from oss_tldr.reports.models import CacheKey
    from oss_tldr.windows import window_for

    def make(full_name: str = "octo/hello", timeframe: str = "last_week") -> CacheKey:
        window = window_for(timeframe)
        return CacheKey(full_name, timeframe, window.start, window.end)

    return make
