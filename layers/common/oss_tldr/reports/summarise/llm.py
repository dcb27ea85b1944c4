"""The OpenAI summariser: what to ask the model, and the answers checked before use.

Request plan of a cold report (at most :data:`~oss_tldr.reports.summarise.base.MAX_LLM_REQUESTS` = 4):
item summaries in ⌈n / 80⌉ batches (a report shows at most 70 distinct items, so one), then one digest
(repository TL;DR + contributor TL;DRs, written from the item summaries): two requests. Each answer is held
to a strict JSON schema derived from its pydantic model (OpenAI Structured Outputs,
:mod:`~oss_tldr.reports.summarise.validation`). An answer that has the shape but leaves an item or a person
out is used as it is, and the report content writes the extractive text for just those. What the plan
leaves of the budget pays for retries of an answer that is not of the shape, a 5xx or a dropped
connection; when nothing is left, or the request's deadline cannot fit another attempt, the report fails
with 502 and caches nothing — as it does when the model declines to answer (a refusal). A 429 from OpenAI
is not retried: it becomes our 429 (``RateLimited``).

Talking to OpenAI — the client, its timeouts and wall-clock bound, the SDK's errors as domain errors — is
the adapter's (:mod:`oss_tldr.openai_api.client`); this module only asks through it. It imports the
OpenAI SDK that way, so only :func:`oss_tldr.reports.summarise.get_summariser` imports it, and only when
an API key is configured.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Self, TypeVar

from pydantic import BaseModel

from oss_tldr import deadline
from oss_tldr.errors import UpstreamUnavailable
from oss_tldr.observability import logger
from oss_tldr.openai_api.client import ChatClient, Retryable, chat_client
from oss_tldr.reports.summarise import prompts
from oss_tldr.reports.summarise.base import Digest, DigestInput, ItemInput, LLMBudget
from oss_tldr.reports.summarise.validation import (
    DigestAnswer,
    InvalidAnswer,
    ItemSummaries,
    parse_digest,
    parse_item_summaries,
)
from oss_tldr.settings import Settings

ITEM_BATCH = 80
TOKENS_PER_ITEM_ANSWER = 90
DIGEST_ANSWER_TOKENS = 1200

T = TypeVar("T")


class ChatModel:
    """A model asked through the chat client: the report summariser and the deep dive. ``name``
    (``openai:<model>``) is part of what their cached answers are keyed by."""

    def __init__(self, chat: ChatClient, model: str) -> None:
        self._chat, self.model = chat, model
        self.name = f"openai:{model}"

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(chat_client(settings), settings.openai_model)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r})"


class OpenAISummariser(ChatModel):
    prompt_version = prompts.PROMPT_VERSION

    # --- plan -------------------------------------------------------------------------------
    @staticmethod
    def _batches(items: Sequence[ItemInput]) -> list[Sequence[ItemInput]]:
        if not items:
            return []
        count = math.ceil(len(items) / ITEM_BATCH)
        size = math.ceil(len(items) / count)
        return [items[i : i + size] for i in range(0, len(items), size)]

    def requests_for(self, item_count: int) -> int:
        return math.ceil(item_count / ITEM_BATCH) + 1  # + the digest

    # --- work -------------------------------------------------------------------------------
    def summarise_items(self, items: Sequence[ItemInput], budget: LLMBudget) -> dict[int, str]:
        summaries: dict[int, str] = {}
        for batch in self._batches(items):
            summaries.update(
                complete(
                    self._chat,
                    self.model,
                    purpose="item_summaries",
                    system=prompts.ITEMS_SYSTEM,
                    user=prompts.items_message(batch),
                    max_tokens=TOKENS_PER_ITEM_ANSWER * len(batch) + 200,
                    schema=ItemSummaries,
                    parse=functools.partial(parse_item_summaries, expected=[i.number for i in batch]),
                    budget=budget,
                )
            )
        return summaries

    def summarise_digest(self, digest: DigestInput, budget: LLMBudget) -> Digest:
        usernames = [person.username for person in digest.people]
        return complete(
            self._chat,
            self.model,
            purpose="digest",
            system=prompts.DIGEST_SYSTEM,
            user=prompts.digest_message(digest),
            max_tokens=DIGEST_ANSWER_TOKENS,
            schema=DigestAnswer,
            parse=functools.partial(parse_digest, usernames=usernames),
            budget=budget,
        )


def complete(
    chat: ChatClient,
    model: str,
    *,
    purpose: str,
    system: str,
    user: str,
    max_tokens: int,
    schema: type[BaseModel],
    parse: Callable[[str | None], T],
    budget: LLMBudget,
) -> T:
    """One answer of the model for ``purpose``, parsed: the first attempt counted in ``budget``, asked again
    (an answer not of the shape, a 5xx, a dropped connection) while the budget and the deadline allow, else
    a 502. The deep dive's explanations and digests ask through this too (:mod:`oss_tldr.deepdive.llm`)."""
    budget.first_attempt(purpose)
    while True:
        try:
            return parse(_ask(chat, model, system, user, max_tokens, schema, budget))
        except InvalidAnswer as exc:
            reason = str(exc)
        except Retryable as exc:
            reason = exc.reason
        logger.warning("openai answer unusable", extra={"purpose": purpose, "reason": reason})
        if not budget.can_retry() or not deadline.fits():
            raise UpstreamUnavailable("The AI summariser failed to answer; try again shortly.")
        budget.retry(purpose)


def _ask(
    chat: ChatClient,
    model: str,
    system: str,
    user: str,
    max_tokens: int,
    schema: type[BaseModel],
    budget: LLMBudget,
) -> str | None:
    answer = chat.complete_json(model=model, system=system, user=user, max_tokens=max_tokens, schema=schema)
    if answer.total_tokens is not None:
        budget.record_usage(answer.total_tokens)
    if answer.refusal is not None:
        logger.warning("openai declined to answer", extra={"refusal": answer.refusal[:200]})
        raise UpstreamUnavailable("The AI summariser declined to summarise this.")
    if answer.finish_reason is None:
        raise InvalidAnswer("no choices")
    if answer.finish_reason == "length":
        raise InvalidAnswer("answer cut at the token limit")
    return answer.content
