"""The JSON the model must answer, checked with pydantic before anything is used or cached."""

from __future__ import annotations

from collections.abc import Collection

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oss_tldr.reports.summarise.base import ITEM_WORDS, PERSON_WORDS, TLDR_WORDS, Digest, clip_words


class InvalidAnswer(ValueError):
    """The model answered something other than the JSON we asked for."""


class _ItemSummary(BaseModel):
    model_config = ConfigDict(extra="ignore")
    number: int
    summary: str = Field(min_length=1)


class _ItemSummaries(BaseModel):
    model_config = ConfigDict(extra="ignore")
    summaries: list[_ItemSummary]


class _PersonTldr(BaseModel):
    model_config = ConfigDict(extra="ignore")
    username: str
    tldr: str = Field(min_length=1)


class _DigestAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tldr: str = Field(min_length=1)
    people: list[_PersonTldr] = Field(default_factory=list)


def parse_item_summaries(content: str | None, expected: Collection[int]) -> dict[int, str]:
    """Number -> summary (clipped to the word limit) for exactly the ``expected`` numbers."""
    try:
        answer = _ItemSummaries.model_validate_json(content or "")
    except ValidationError as exc:
        raise InvalidAnswer(f"item summaries: {exc.error_count()} validation errors") from exc
    by_number = {s.number: clip_words(s.summary, ITEM_WORDS) for s in answer.summaries if s.summary.strip()}
    missing = set(expected) - set(by_number)
    if missing:
        raise InvalidAnswer(f"item summaries: {len(missing)} of {len(expected)} items missing")
    return {number: by_number[number] for number in expected}


def parse_digest(content: str | None, usernames: Collection[str]) -> Digest:
    """The repository TL;DR and one TL;DR per expected username (matched case-insensitively)."""
    try:
        answer = _DigestAnswer.model_validate_json(content or "")
    except ValidationError as exc:
        raise InvalidAnswer(f"digest: {exc.error_count()} validation errors") from exc
    if not answer.tldr.strip():
        raise InvalidAnswer("digest: empty tldr")
    given = {p.username.lower().lstrip("@"): p.tldr for p in answer.people if p.tldr.strip()}
    missing = [u for u in usernames if u.lower() not in given]
    if missing:
        raise InvalidAnswer(f"digest: {len(missing)} people missing")
    return Digest(
        tldr=clip_words(answer.tldr, TLDR_WORDS),
        people={u: clip_words(given[u.lower()], PERSON_WORDS) for u in usernames},
    )
