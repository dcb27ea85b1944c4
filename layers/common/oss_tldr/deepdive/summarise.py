"""Who writes the deep dive's texts, and the Markdown of a deep dive.

Two summarisers with one interface (:class:`DeepDiveSummariser`): the OpenAI one when a key is configured
(:mod:`oss_tldr.deepdive.llm`, which imports the SDK: built only on a miss), else the offline extractive one
here — sentences lifted from the thread itself, obviously mechanical, so ``make dev`` works offline. Both
answer :class:`Sections`; :func:`render` writes the Markdown the SPA shows: **Summary**, **Reviews** (pull
requests), **Comments**, **Action Items**, and a last line saying how much of the thread was read.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from oss_tldr.deepdive.hunks import Excerpt, facts
from oss_tldr.deepdive.models import EXPLANATION_WORDS
from oss_tldr.reports.summarise import LLMBudget, clip_words, uses_openai
from oss_tldr.reports.summarise.extractive import lead_sentences, plain_text
from oss_tldr.settings import Settings, get_settings

if TYPE_CHECKING:  # annotations only: the GitHub payload models load on a miss, with the fetch
    from oss_tldr.github.thread_payloads import Post, Thread

EXTRACTIVE_VERSION = "deepdive-extractive-1"
SUMMARY_WORDS = 120
POINT_WORDS = 40
MAX_POINTS = 8  # bullets per section
_ACTION = re.compile(r"\b(todo|please|should|needs?|must|could you|can you|blocked|fix|missing)\b|\?", re.I)
_REVIEW_WORDS = {
    "APPROVED": "approved",
    "CHANGES_REQUESTED": "requested changes",
    "COMMENTED": "commented",
    "DISMISSED": "had a review dismissed",
    "PENDING": "has a pending review",
}


@dataclass(frozen=True)
class Sections:
    summary: str
    reviews: tuple[str, ...]  # pull requests only
    comments: tuple[str, ...]
    action_items: tuple[str, ...]


class DeepDiveSummariser(Protocol):
    name: str
    prompt_version: str

    def explain(self, file: str, patch: Excerpt, budget: LLMBudget) -> str:
        """What the change to ``file`` does, ≤ 50 words with :func:`cut_note` (a cut patch)."""
        ...

    def sections(self, thread: Thread, budget: LLMBudget) -> Sections: ...


def cut_note(patch: Excerpt) -> str:
    """What an explanation of a cut patch says of it (empty for a whole one)."""
    if not patch.cut:
        return ""
    if patch.hunks_kept == 0:
        return f"(Explained from the start of the first of {patch.hunks_total} hunks: the patch is too long.)"
    return (
        f"(Explained from the first {patch.hunks_kept} of {patch.hunks_total} hunks: the patch is too long.)"
    )


def with_note(text: str, patch: Excerpt) -> str:
    """``text`` clipped so that it and the cut note fit in :data:`EXPLANATION_WORDS`."""
    note = cut_note(patch)
    room = EXPLANATION_WORDS - len(note.split())
    return f"{clip_words(text, room)} {note}".strip()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _point(post: Post, words: int = POINT_WORDS) -> str:
    text = plain_text(post.body)
    said = lead_sentences(text, words) if text else "(no text)"
    return f"@{post.author}: {said}"


class ExtractiveSummariser:
    name = "extractive"
    prompt_version = EXTRACTIVE_VERSION

    def explain(self, file: str, patch: Excerpt, budget: LLMBudget) -> str:
        found = facts(patch.text)
        text = (
            f"Adds {_plural(found.added, 'line')} and removes {found.removed} in {file} "
            f"across {_plural(found.hunks, 'hunk')}"
        )
        if found.contexts:
            text += ", in " + ", ".join(f"`{c}`" for c in found.contexts[:3])
        return with_note(text + ".", patch)

    def sections(self, thread: Thread, budget: LLMBudget) -> Sections:
        kind = "Pull request" if thread.kind == "pr" else "Issue"
        state = f"{'draft, ' if thread.draft else ''}{thread.state}"
        body = plain_text(thread.body)
        summary = f"{kind} #{thread.number} “{thread.title}” by @{thread.author} ({state})."
        if body:
            summary += " " + lead_sentences(body, SUMMARY_WORDS - len(summary.split()))
        reviews = tuple(
            f"@{r.author} {_REVIEW_WORDS.get(r.state or '', 'reviewed')}"
            + (f": {lead_sentences(plain_text(r.body), POINT_WORDS)}" if plain_text(r.body) else ".")
            for r in thread.reviews[-MAX_POINTS:]
        )
        comments = tuple(_point(c) for c in thread.comments[-MAX_POINTS:])
        asks = [p for p in (*thread.reviews, *thread.comments) if _ACTION.search(plain_text(p.body))]
        actions = [
            f"Address the changes requested by @{r.author}."
            for r in thread.reviews
            if r.state == "CHANGES_REQUESTED"
        ]
        actions += (
            [_point(p, 25) for p in asks[-(MAX_POINTS - len(actions)) :]] if len(actions) < MAX_POINTS else []
        )
        if not actions and thread.state == "open":
            actions.append(
                "No open request in the thread; it awaits "
                + ("review." if thread.kind == "pr" else "triage.")
            )
        return Sections(clip_words(summary, SUMMARY_WORDS), reviews, comments, tuple(actions[:MAX_POINTS]))


def _bullets(points: tuple[str, ...], empty: str) -> str:
    return "\n".join(f"- {p}" for p in points) if points else f"_{empty}_"


def render(thread: Thread, sections: Sections) -> str:
    """The deep dive's Markdown: the four sections (Reviews for pull requests only) and what was read."""
    parts = [f"## Summary\n\n{sections.summary}"]
    if thread.kind == "pr":
        parts.append(f"## Reviews\n\n{_bullets(sections.reviews, 'No reviews yet.')}")
    parts.append(f"## Comments\n\n{_bullets(sections.comments, 'No comments yet.')}")
    parts.append(f"## Action Items\n\n{_bullets(sections.action_items, 'None found in the thread.')}")
    read = f"{len(thread.comments)} most recent of {_plural(thread.comments_total, 'comment')}"
    if thread.kind == "pr":
        read += f" and the {len(thread.reviews)} most recent of {_plural(thread.reviews_total, 'review')}"
    parts.append(f"---\n\n_Read: the {read}._")
    return "\n\n".join(parts) + "\n"


@functools.cache
def _summariser_for(settings: Settings) -> DeepDiveSummariser:
    if not uses_openai(settings):
        return ExtractiveSummariser()
    from oss_tldr.deepdive.llm import OpenAIDeepDive  # imports the SDK (a miss only)

    return OpenAIDeepDive.from_settings(settings)


def identity(settings: Settings | None = None) -> tuple[str, str]:
    """``(name, prompt_version)`` of the summariser :func:`get_summariser` returns, without building it
    (so without importing the OpenAI SDK): what stored texts are looked up by."""
    settings = settings or get_settings()
    if not uses_openai(settings):
        return ExtractiveSummariser.name, ExtractiveSummariser.prompt_version
    from oss_tldr.deepdive.prompts import PROMPT_VERSION  # no SDK import there

    return f"openai:{settings.openai_model}", PROMPT_VERSION


def get_summariser() -> DeepDiveSummariser:
    return _summariser_for(get_settings())
