"""What a piece of work spent upstream: GitHub requests and GraphQL points, LLM requests.

The cost of one report generation is known where it is spent: the GraphQL answer's ``rateLimit { cost }``
(:func:`oss_tldr.github.activity.fetch_activity`) and each chat completion (the summariser's
:class:`~oss_tldr.reports.summarise.base.LLMBudget`). Those places call :func:`record`; a caller that needs
the figures (the scheduled warming's per-run budget, ``oss_tldr.maintenance.warming``) opens
:func:`metered` around the work and reads them afterwards, without the code in between passing them up.

Outside any :func:`metered` block :func:`record` does nothing. The meters live in a ``ContextVar``: a
thread started with ``contextvars.copy_context().run`` records into the same meters (the copied context
holds the same objects).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Usage:
    github_requests: int = 0
    github_points: int = 0
    llm_requests: int = 0

    def add(self, other: Usage) -> None:
        self.github_requests += other.github_requests
        self.github_points += other.github_points
        self.llm_requests += other.llm_requests

    def as_dict(self) -> dict[str, int]:
        return {
            "github_requests": self.github_requests,
            "github_points": self.github_points,
            "llm_requests": self.llm_requests,
        }


_meters: contextvars.ContextVar[tuple[Usage, ...]] = contextvars.ContextVar("oss_tldr_usage", default=())


@contextlib.contextmanager
def metered() -> Iterator[Usage]:
    """A meter of what the code inside spends (nested meters each see everything inside them)."""
    usage = Usage()
    token = _meters.set((*_meters.get(), usage))
    try:
        yield usage
    finally:
        _meters.reset(token)


def record(*, github_requests: int = 0, github_points: int = 0, llm_requests: int = 0) -> None:
    """Add what was just spent to every open meter."""
    spent = Usage(max(0, github_requests), max(0, github_points), max(0, llm_requests))
    for usage in _meters.get():
        usage.add(spent)
