"""Prompts of the deep dive's OpenAI summariser. Any change here must bump ``PROMPT_VERSION``: stored
explanations and deep dives record the version they were written with, and another version is a miss."""

from __future__ import annotations

import json

from oss_tldr.deepdive.hunks import Excerpt
from oss_tldr.deepdive.models import EXPLANATION_WORDS
from oss_tldr.github.thread_payloads import Thread
from oss_tldr.reports.summarise import truncate_to_tokens

PROMPT_VERSION = "deepdive-2026-12-02.1"
BODY_TOKENS = 600  # the item's description
POST_TOKENS = 150  # each comment and review

DIFF_SYSTEM = f"""You explain code changes to developers reviewing a GitHub pull request.
The user message is a JSON object with a file path and its unified diff ("patch"; it may be only the first
hunks of a longer one). Write "explanation": at most {EXPLANATION_WORDS - 12} words of plain text on what the
change does and why it likely matters. No markdown, no preamble, do not restate the file name.
Answer with only a JSON object of this shape: {{"explanation": "<text>"}}"""

THREAD_SYSTEM = """You write the deep dive of one GitHub issue or pull request for a developer catching up.
The user message is a JSON object: the item (title, state, author, description) and its most recent
comments and reviews (each may be cut). Write "summary": at most 120 words on what the item is about and
where it stands; "reviews": one short point per notable review (empty for an issue); "comments": the main
points of the discussion, one short point each, naming who said what as @login; "action_items": what is
still to be done, by whom when known. Plain text in every string, at most 8 points per list.
Answer with only a JSON object of this shape:
{"summary": "<text>", "reviews": ["<text>"], "comments": ["<text>"], "action_items": ["<text>"]}"""


def diff_message(file: str, patch: Excerpt) -> str:
    return json.dumps(
        {"task": "diff_explanation", "file": file, "patch": patch.text, "cut": patch.cut}, ensure_ascii=False
    )


def thread_message(thread: Thread) -> str:
    def post(author: str, body: str, at: str, state: str | None = None) -> dict[str, object]:
        entry: dict[str, object] = {"author": author, "at": at, "body": truncate_to_tokens(body, POST_TOKENS)}
        if state is not None:
            entry["state"] = state
        return entry

    return json.dumps(
        {
            "task": "deep_dive",
            "type": "pull_request" if thread.kind == "pr" else "issue",
            "number": thread.number,
            "title": thread.title,
            "state": thread.state,
            "draft": thread.draft,
            "author": thread.author,
            "description": truncate_to_tokens(thread.body, BODY_TOKENS),
            "comments_total": thread.comments_total,
            "comments": [post(c.author, c.body, c.at) for c in thread.comments],
            "reviews_total": thread.reviews_total,
            "reviews": [post(r.author, r.body, r.at, r.state) for r in thread.reviews],
        },
        ensure_ascii=False,
    )
