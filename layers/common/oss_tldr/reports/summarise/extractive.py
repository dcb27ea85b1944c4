"""The offline summariser: sentences lifted from the item itself and templated digests.

Used when no OpenAI key is configured (local development, the CLI, tests). Same shapes and limits as the
LLM path, readable, and obviously mechanical ("Merged PR by @alice: …"), so nobody mistakes it for AI.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from oss_tldr.reports.summarise.base import (
    ITEM_WORDS,
    PERSON_WORDS,
    TLDR_WORDS,
    Digest,
    DigestInput,
    ItemBrief,
    ItemInput,
    LLMBudget,
    clip_words,
)

PROMPT_VERSION = "extractive-3"

_CODE_BLOCK = re.compile(r"```.*?(```|$)", re.DOTALL)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"https?://\S+")
_HTML_TAG = re.compile(r"<[^>]+>")
_CHECKBOX_LINE = re.compile(r"^[ \t]*[-*][ \t]*\[[ xX]\].*$", re.MULTILINE)
_HEADING_LINE = re.compile(r"^[ \t]*#+[ \t].*$", re.MULTILINE)
_MARKUP = re.compile(r"[*_`>|]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

TIMEFRAME_WORDS = {
    "last_day": "the last day",
    "last_week": "the last week",
    "last_month": "the last month",
    "last_year": "the last year",
}


def plain_text(body: str) -> str:
    text = _CODE_BLOCK.sub(" ", body)
    text = _IMAGE.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    text = _HTML_TAG.sub(" ", text)
    text = _CHECKBOX_LINE.sub(" ", text)
    text = _HEADING_LINE.sub(" ", text)
    text = _MARKUP.sub(" ", text)
    return " ".join(text.replace("…[truncated]", "").split())


def lead_sentences(text: str, words: int) -> str:
    """Whole sentences from the start of ``text`` while they fit in ``words``; at least the first one."""
    chosen: list[str] = []
    used = 0
    for sentence in _SENTENCE_END.split(text):
        count = len(sentence.split())
        if chosen and used + count > words:
            break
        chosen.append(sentence)
        used += count
    return clip_words(" ".join(chosen), words)


def _label(item: ItemInput | ItemBrief) -> str:
    if item.kind == "pr":
        state = "Merged" if item.merged else ("Open" if item.state == "open" else "Closed")
        return f"{state} PR"
    return f"{'Open' if item.state == 'open' else 'Closed'} issue"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class ExtractiveSummariser:
    name = "extractive"
    prompt_version = PROMPT_VERSION

    def requests_for(self, item_count: int) -> int:
        return 0

    def summarise_item(self, item: ItemInput) -> str:
        prefix = f"{_label(item)} by @{item.author}:"
        room = ITEM_WORDS - len(prefix.split())
        body = plain_text(item.body)
        text = lead_sentences(body, room) if len(body.split()) >= 4 else clip_words(item.title, room)
        if not text.endswith((".", "!", "?", "…")):
            text += "."
        return clip_words(f"{prefix} {text}", ITEM_WORDS)

    def summarise_items(self, items: Sequence[ItemInput], budget: LLMBudget) -> dict[int, str]:
        return {item.number: self.summarise_item(item) for item in items}

    def summarise_digest(self, digest: DigestInput, budget: LLMBudget) -> Digest:
        people = {}
        for person in digest.people:
            merged = sum(1 for pr in person.prs if pr.merged)
            parts = [_plural(len(person.prs), "pull request") + (f" ({merged} merged)" if merged else "")]
            if person.issues:
                parts.append(_plural(len(person.issues), "issue"))
            top = max(
                (*person.prs, *person.issues),
                key=lambda i: (i.window_activity, i.comments + i.reactions),
                default=None,
            )
            text = f"@{person.username} authored {' and '.join(parts)}"
            if top is not None:
                text += f", most discussed: “{top.title}” (#{top.number})"
            people[person.username] = clip_words(text + ".", PERSON_WORDS)
        period = TIMEFRAME_WORDS.get(digest.timeframe, digest.timeframe)
        stats = digest.stats
        sentences = [
            f"{digest.repository} over {period}: "
            f"{_plural(stats.pull_requests, 'pull request')} updated ({stats.pull_requests_opened} opened, "
            f"{stats.pull_requests_merged} merged) and {_plural(stats.issues, 'issue')} updated "
            f"({stats.issues_opened} opened, {stats.issues_closed} closed)."
        ]
        if digest.prs:
            top_pr = digest.prs[0]
            sentences.append(f"Top pull request: “{top_pr.title}” (#{top_pr.number}) by @{top_pr.author}.")
        if digest.issues:
            top_issue = digest.issues[0]
            sentences.append(f"Top issue: “{top_issue.title}” (#{top_issue.number}) by @{top_issue.author}.")
        if digest.people:
            names = ", ".join(f"@{p.username}" for p in digest.people)
            sentences.append(f"Most active: {names}.")
        if digest.partial:
            sentences.append("GitHub answered only part of the query: some counts may be low.")
        if not digest.prs and not digest.issues:
            sentences.append("No pull request or issue activity in this window.")
        return Digest(tldr=clip_words(" ".join(sentences), TLDR_WORDS), people=people)
