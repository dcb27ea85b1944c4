"""Summarisers: the OpenAI one when a key is configured, else the offline extractive one.

The OpenAI SDK is imported only when the LLM summariser is built (``summarise.llm``, through the adapter
``oss_tldr.openai_api.client``), so handlers that only serve cached reports never pay for that import.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Protocol

from oss_tldr.reports.summarise.base import (
    BODY_TOKENS,
    ITEM_WORDS,
    MAX_LLM_REQUESTS,
    PERSON_WORDS,
    TLDR_WORDS,
    Digest,
    DigestInput,
    ItemBrief,
    ItemInput,
    LLMBudget,
    PersonInput,
    clip_words,
    truncate_to_tokens,
)
from oss_tldr.reports.summarise.extractive import ExtractiveSummariser
from oss_tldr.settings import Settings, get_settings


class Summariser(Protocol):
    """Writes item summaries (cacheable, per item version) and a report's digest (per window)."""

    name: str  # "openai:<model>" or "extractive"
    prompt_version: str  # bumped when prompts change; cached summaries of another version miss

    def requests_for(self, item_count: int) -> int:
        """Chat completions (first attempts) for a report with ``item_count`` items to summarise,
        its digest included."""
        ...

    def summarise_items(self, items: Sequence[ItemInput], budget: LLMBudget) -> dict[int, str]:
        """Item number -> summary (≤ 50 words) for every item given; raises rather than leave gaps."""
        ...

    def summarise_digest(self, digest: DigestInput, budget: LLMBudget) -> Digest:
        """The repository TL;DR (≤ 100 words) and one TL;DR per person (≤ 40 words)."""
        ...


def uses_openai(settings: Settings) -> bool:
    """Whether the model writes (a key, or its secret, is configured) rather than the offline summariser:
    the one rule of the reports' and the deep dive's summarisers."""
    return bool(settings.openai_api_key or settings.openai_api_key_arn)


@functools.cache
def _summariser_for(settings: Settings) -> Summariser:
    if uses_openai(settings):
        from oss_tldr.reports.summarise.llm import OpenAISummariser  # imports the SDK (cold path only)

        return OpenAISummariser.from_settings(settings)
    return ExtractiveSummariser()


def summariser_identity(settings: Settings | None = None) -> tuple[str, str]:
    """``(name, prompt_version)`` of the summariser :func:`get_summariser` would return, without building
    it (so without importing the OpenAI SDK): what a cache-hit path compares stored reports against."""
    settings = settings or get_settings()
    if uses_openai(settings):
        from oss_tldr.reports.summarise.prompts import PROMPT_VERSION  # no SDK import there

        return f"openai:{settings.openai_model}", PROMPT_VERSION
    return ExtractiveSummariser.name, ExtractiveSummariser.prompt_version


def get_summariser() -> Summariser:
    """The container's summariser (one per settings, so the OpenAI client is created once)."""
    return _summariser_for(get_settings())


__all__ = [
    "BODY_TOKENS",
    "ITEM_WORDS",
    "MAX_LLM_REQUESTS",
    "PERSON_WORDS",
    "TLDR_WORDS",
    "Digest",
    "DigestInput",
    "ExtractiveSummariser",
    "ItemBrief",
    "ItemInput",
    "LLMBudget",
    "PersonInput",
    "Summariser",
    "clip_words",
    "get_summariser",
    "summariser_identity",
    "truncate_to_tokens",
    "uses_openai",
]
