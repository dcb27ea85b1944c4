"""The JSON the model must answer: the schemas it is asked to follow (Structured Outputs, strict) and the
checks every answer passes before anything is used or cached.

An answer that is not JSON of the schema's shape is :class:`InvalidAnswer` (asked again while the budget
lasts). One that has the shape but leaves out an item, a person or the TL;DR is *not* an error: what it
gave is used, and the caller writes the extractive text for exactly what is missing (recorded in the
report's ``fallbacks``), so one slip of the model never sinks a report.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from oss_tldr.reports.summarise.base import ITEM_WORDS, PERSON_WORDS, TLDR_WORDS, Digest, clip_words

A = TypeVar("A", bound=BaseModel)


class InvalidAnswer(ValueError):
    """The model answered something other than the JSON we asked for."""


class ItemSummary(BaseModel):
    model_config = ConfigDict(extra="ignore")
    number: int
    summary: str


class ItemSummaries(BaseModel):
    """The answer of an item-summaries request (its JSON schema is what the model is held to)."""

    model_config = ConfigDict(extra="ignore")
    summaries: list[ItemSummary]


class PersonTldr(BaseModel):
    model_config = ConfigDict(extra="ignore")
    username: str
    tldr: str


class DigestAnswer(BaseModel):
    """The answer of a digest request: the repository TL;DR and one TL;DR per person."""

    model_config = ConfigDict(extra="ignore")
    tldr: str
    people: list[PersonTldr]


def parse_answer(model: type[A], content: str | None, what: str) -> A:
    """The model's JSON answer as ``model``, or :class:`InvalidAnswer` (saying ``what`` and how many fields
    were wrong, never the answer itself)."""
    try:
        return model.model_validate_json(content or "")
    except ValidationError as exc:
        raise InvalidAnswer(f"{what}: {exc.error_count()} validation errors") from exc


def parse_item_summaries(content: str | None, expected: Collection[int]) -> dict[int, str]:
    """Number -> summary (clipped to the word limit) for the ``expected`` numbers the answer covers."""
    answer = parse_answer(ItemSummaries, content, "item summaries")
    by_number = {s.number: clip_words(s.summary, ITEM_WORDS) for s in answer.summaries if s.summary.strip()}
    return {number: by_number[number] for number in expected if number in by_number}


def parse_digest(content: str | None, usernames: Collection[str]) -> Digest:
    """The repository TL;DR ("" when left out) and the TL;DR of each expected username the answer covers
    (matched case-insensitively)."""
    answer = parse_answer(DigestAnswer, content, "digest")
    given = {p.username.lower().lstrip("@"): p.tldr for p in answer.people if p.tldr.strip()}
    return Digest(
        tldr=clip_words(answer.tldr, TLDR_WORDS),
        people={u: clip_words(given[u.lower()], PERSON_WORDS) for u in usernames if u.lower() in given},
    )
