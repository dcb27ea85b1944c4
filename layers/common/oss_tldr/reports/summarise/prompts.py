"""Prompts of the LLM summariser. Any change here must bump ``PROMPT_VERSION``: cached item summaries and
reports record the version they were written with, and a different version is a cache miss."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from oss_tldr.reports.summarise.base import (
    ITEM_WORDS,
    PERSON_WORDS,
    TLDR_WORDS,
    DigestInput,
    ItemInput,
)

PROMPT_VERSION = "2026-12-01.2"

ITEMS_SYSTEM = f"""You write the summaries of a digest of open-source repository activity.
The user message is a JSON object whose "items" are GitHub pull requests and issues; each body may be cut.
For every item write one plain-text summary of at most {ITEM_WORDS} words: what it changes or asks for,
and why it matters to the project's users. No markdown, no preamble, do not repeat the title verbatim.
Answer with only a JSON object of this shape, with every input number exactly once:
{{"summaries": [{{"number": <int>, "summary": "<text>"}}]}}"""

DIGEST_SYSTEM = f"""You write the TL;DR of a digest of open-source repository activity.
The user message is a JSON object describing one repository's pull requests, issues and most active people
in a time window, with a summary of each item.
Write "tldr": at most {TLDR_WORDS} words on what happened in the repository in that window (themes, notable
merged changes, pressing issues). Write, for every person in "people", a "tldr" of at most {PERSON_WORDS}
words on what that person worked on. Plain text, no markdown.
Answer with only a JSON object of this shape, with every input username exactly once:
{{"tldr": "<text>", "people": [{{"username": "<login>", "tldr": "<text>"}}]}}"""


def items_message(items: Sequence[ItemInput]) -> str:
    return json.dumps(
        {
            "task": "item_summaries",
            "items": [
                {
                    "number": item.number,
                    "type": "pull_request" if item.kind == "pr" else "issue",
                    "title": item.title,
                    "author": item.author,
                    "state": "merged" if item.merged else item.state,
                    "labels": list(item.labels),
                    "comments": item.comments,
                    "reactions": item.reactions,
                    "body": item.body,
                }
                for item in items
            ],
        },
        ensure_ascii=False,
    )


def digest_message(digest: DigestInput) -> str:
    def brief(item: object) -> dict[str, object]:
        data = asdict(item)  # type: ignore[call-overload]
        return {
            "number": data["number"],
            "title": data["title"],
            "author": data["author"],
            "state": "merged" if data["merged"] else data["state"],
            "activity_in_window": data["window_activity"],
            "summary": data["summary"],
        }

    return json.dumps(
        {
            "task": "digest",
            "repository": digest.repository,
            "description": digest.description,
            "window": {"timeframe": digest.timeframe, "start": digest.start, "end": digest.end},
            # GitHub's exact counts for the window (bots included); the lists below are the most active.
            "totals": {**digest.stats.model_dump(), "contributors_shown": digest.contributor_count},
            # GitHub answered part of the query: a total may be a lower bound (say so, do not guess).
            "totals_may_be_incomplete": digest.partial,
            "pull_requests": [brief(i) for i in digest.prs],
            "issues": [brief(i) for i in digest.issues],
            "people": [
                {
                    "username": p.username,
                    "total_items": p.total_items,
                    "pull_requests": [{"number": i.number, "title": i.title} for i in p.prs],
                    "issues": [{"number": i.number, "title": i.title} for i in p.issues],
                }
                for p in digest.people
            ],
        },
        ensure_ascii=False,
    )
