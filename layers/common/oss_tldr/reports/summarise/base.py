"""What a summariser reads and writes, its request budget, and the text limits every summariser obeys."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from oss_tldr import usage
from oss_tldr.content_models import ReportStats
from oss_tldr.errors import UpstreamUnavailable

ITEM_WORDS = 50
PERSON_WORDS = 40
TLDR_WORDS = 100
# Item bodies are cut to this many tokens before they reach a summariser (≈ 4 characters per token,
# the usual estimate for English text; no tokenizer is bundled in the Lambda layer).
BODY_TOKENS = 250
TITLE_CHARS = 300
CHARS_PER_TOKEN = 4
# A cold report costs at most this many chat completions, retries included.
MAX_LLM_REQUESTS = 4

_HTML_COMMENT = re.compile(r"<!--.*?(-->|$)", re.DOTALL)
_SPACE = re.compile(r"[ \t\f\v]+")
_LINES = re.compile(r"\s*\n\s*")


def clip_words(text: str, limit: int) -> str:
    """``text`` on one line, cut to at most ``limit`` words (an ellipsis marks the cut)."""
    words = text.split()
    if len(words) <= limit:
        return " ".join(words)
    return " ".join(words[:limit]).rstrip(".,;:") + "…"


def estimate_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def truncate_to_tokens(text: str | None, max_tokens: int = BODY_TOKENS) -> str:
    """A body without template comments and runs of blanks (line breaks kept), cut at a word to
    ``max_tokens``."""
    cleaned = _SPACE.sub(" ", _HTML_COMMENT.sub(" ", (text or "").replace("\r", "")))
    cleaned = _LINES.sub("\n", cleaned).strip()
    limit = max_tokens * CHARS_PER_TOKEN
    if len(cleaned) <= limit:
        return cleaned
    cut = cleaned[:limit]
    boundary = max(cut.rfind(" "), cut.rfind("\n"))
    if boundary > limit // 2:
        cut = cut[:boundary]
    return cut + " …[truncated]"


@dataclass(frozen=True)
class ItemInput:
    """One pull request or issue as a summariser sees it (body already truncated)."""

    number: int
    kind: Literal["pr", "issue"]
    title: str
    body: str
    author: str
    state: str
    merged: bool = False
    labels: tuple[str, ...] = ()
    comments: int = 0
    reactions: int = 0
    window_activity: int = 0  # comments, reviews and events inside the window


@dataclass(frozen=True)
class ItemBrief:
    number: int
    kind: Literal["pr", "issue"]
    title: str
    summary: str
    author: str
    state: str
    merged: bool = False
    comments: int = 0
    reactions: int = 0
    window_activity: int = 0


@dataclass(frozen=True)
class PersonInput:
    username: str
    prs: tuple[ItemBrief, ...]
    issues: tuple[ItemBrief, ...]
    total_items: int


@dataclass(frozen=True)
class DigestInput:
    """Everything the repository TL;DR and the contributor TL;DRs are written from."""

    repository: str
    description: str | None
    timeframe: str
    start: str
    end: str
    stats: ReportStats  # GitHub's exact counts for the window (never the length of a list)
    contributor_count: int  # distinct non-bot authors among the items ranked
    prs: tuple[ItemBrief, ...]
    issues: tuple[ItemBrief, ...]
    people: tuple[PersonInput, ...]
    partial: bool = False  # GitHub answered part of the query: a count may be a lower bound


@dataclass(frozen=True)
class Digest:
    tldr: str
    people: dict[str, str]  # username -> TL;DR


@dataclass
class LLMBudget:
    """Chat completions of one report: planned first attempts, retries only from what is left."""

    max_requests: int = MAX_LLM_REQUESTS
    requests: int = 0
    tokens: int = 0
    planned: int = 0
    log: list[str] = field(default_factory=list)

    def plan(self, calls: int) -> None:
        self.planned += calls
        if self.requests + self.planned > self.max_requests:
            raise UpstreamUnavailable("The report needs more AI requests than its budget allows.")

    def first_attempt(self, purpose: str) -> None:
        self.planned = max(0, self.planned - 1)
        self.requests += 1
        usage.record(llm_requests=1)
        self.log.append(purpose)

    def can_retry(self) -> bool:
        return self.requests + self.planned < self.max_requests

    def retry(self, purpose: str) -> None:
        self.requests += 1
        usage.record(llm_requests=1)
        self.log.append(f"{purpose} (retry)")

    def record_usage(self, tokens: int) -> None:
        self.tokens += tokens
