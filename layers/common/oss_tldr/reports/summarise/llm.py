"""The OpenAI summariser: batched chat completions with JSON output, validated before use.

Request plan of a cold report (at most :data:`~oss_tldr.reports.summarise.base.MAX_LLM_REQUESTS` = 4):
item summaries in ⌈n / 40⌉ batches (a report shows at most 70 distinct items, so ≤ 2), then one digest
(repository TL;DR + contributor TL;DRs, written from the item summaries). What the plan leaves of the
budget pays for retries of an invalid answer, a 5xx or a dropped connection; when nothing is left the
report fails with 502 rather than return partial or unchecked content. A 429 from OpenAI is not retried:
it becomes our 429 (``RateLimited``). The SDK's own retries are off so every request is counted here.
Each request's timeout is what is left of the request's deadline when that is shorter than
``OPENAI_TIMEOUT_SECONDS`` (:mod:`oss_tldr.deadline`), and no retry is started that the deadline cannot
fit: the request answers its 502 (or the deadline's 503) before API Gateway gives up on it. That timeout
bounds the whole answer, not only each read: the SDK's HTTP client goes through
:class:`~oss_tldr.reports.summarise.wallclock.WallClockTransport`, which ends a body still arriving when
the timeout has passed since the request was sent (a model that trickles its answer byte by byte would
otherwise never trip a per-read timeout). The status line and headers are read before the transport sees
the response and stay bounded only per read (no watchdog thread closes the socket from outside).

This module imports the OpenAI SDK; only :func:`oss_tldr.reports.summarise.get_summariser` imports it,
and only when an API key is configured.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import openai

from oss_tldr import deadline
from oss_tldr.errors import RateLimited, UpstreamUnavailable
from oss_tldr.observability import logger
from oss_tldr.reports.summarise import prompts
from oss_tldr.reports.summarise.base import Digest, DigestInput, ItemInput, LLMBudget
from oss_tldr.reports.summarise.validation import InvalidAnswer, parse_digest, parse_item_summaries
from oss_tldr.retry_after import parse_retry_after, whole_seconds
from oss_tldr.secrets import resolve_secret
from oss_tldr.settings import Settings

ITEM_BATCH = 40
TOKENS_PER_ITEM_ANSWER = 90
DIGEST_ANSWER_TOKENS = 1200
DEFAULT_BASE_URL = "https://api.openai.com/v1"

T = TypeVar("T")


class _Retryable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _another_attempt_fits() -> bool:
    left = deadline.remaining()
    return left is None or left >= deadline.MIN_CALL_SECONDS


def _retry_after(exc: openai.APIStatusError) -> int:
    """OpenAI's ``Retry-After`` as a DomainError's whole seconds (20 when it does not say)."""
    return whole_seconds(parse_retry_after(exc.response.headers.get("retry-after"), time.time()), 20)


def _http_client() -> Any:
    """The SDK's HTTP client bounded by wall-clock time, or None (the SDK's own client, per-read timeouts
    only) when the SDK does not send through ``httpx2``."""
    try:
        from oss_tldr.reports.summarise.wallclock import wall_clock_http_client
    except ImportError:  # pragma: no cover - an older SDK, built on httpx
        return None
    return wall_clock_http_client()


class OpenAISummariser:
    prompt_version = prompts.PROMPT_VERSION

    def __init__(self, client: openai.OpenAI, model: str, *, timeout: float = 30.0) -> None:
        self._client = client
        self.model = model
        self.name = f"openai:{model}"
        self._timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAISummariser:
        key = resolve_secret(settings.openai_api_key, settings.openai_api_key_arn)
        client = openai.OpenAI(
            api_key=key,
            base_url=settings.openai_base_url or DEFAULT_BASE_URL,
            timeout=settings.openai_timeout_seconds,
            max_retries=0,
            http_client=_http_client(),
        )
        return cls(client, settings.openai_model, timeout=settings.openai_timeout_seconds)

    def __repr__(self) -> str:
        return f"OpenAISummariser({self.model!r})"

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
                self._complete(
                    purpose="item_summaries",
                    system=prompts.ITEMS_SYSTEM,
                    user=prompts.items_message(batch),
                    max_tokens=TOKENS_PER_ITEM_ANSWER * len(batch) + 200,
                    parse=functools.partial(parse_item_summaries, expected=[i.number for i in batch]),
                    budget=budget,
                )
            )
        return summaries

    def summarise_digest(self, digest: DigestInput, budget: LLMBudget) -> Digest:
        usernames = [person.username for person in digest.people]
        return self._complete(
            purpose="digest",
            system=prompts.DIGEST_SYSTEM,
            user=prompts.digest_message(digest),
            max_tokens=DIGEST_ANSWER_TOKENS,
            parse=functools.partial(parse_digest, usernames=usernames),
            budget=budget,
        )

    def _complete(
        self,
        *,
        purpose: str,
        system: str,
        user: str,
        max_tokens: int,
        parse: Callable[[str | None], T],
        budget: LLMBudget,
    ) -> T:
        budget.first_attempt(purpose)
        while True:
            try:
                return parse(self._ask(system, user, max_tokens, budget))
            except InvalidAnswer as exc:
                reason = str(exc)
            except _Retryable as exc:
                reason = exc.reason
            logger.warning("openai answer unusable", extra={"purpose": purpose, "reason": reason})
            if not budget.can_retry() or not _another_attempt_fits():
                raise UpstreamUnavailable("The AI summariser failed to answer; try again shortly.")
            budget.retry(purpose)

    def _ask(self, system: str, user: str, max_tokens: int, budget: LLMBudget) -> str | None:
        try:
            response: Any = self._client.chat.completions.create(
                model=self.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                response_format={"type": "json_object"},
                temperature=0.2,
                max_completion_tokens=max_tokens,
                # What is left of the request's deadline, if less (503 when too little is left to ask).
                timeout=deadline.timeout(self._timeout),
            )
        except openai.RateLimitError as exc:
            raise RateLimited(
                "OpenAI rate limit reached; try again later.",
                retry_after=_retry_after(exc),
                code="openai_rate_limited",
            ) from exc
        except openai.APIStatusError as exc:
            if exc.status_code >= 500:
                raise _Retryable(f"status {exc.status_code}") from exc
            logger.error("openai refused the request", extra={"status": exc.status_code})
            raise UpstreamUnavailable("The AI summariser refused the request.") from exc
        except openai.APIConnectionError as exc:
            raise _Retryable(type(exc).__name__) from exc
        except openai.APIError as exc:  # e.g. a response body the SDK cannot read
            raise _Retryable(type(exc).__name__) from exc
        if response.usage is not None:
            budget.record_usage(int(response.usage.total_tokens or 0))
        if not response.choices:
            raise InvalidAnswer("no choices")
        choice = response.choices[0]
        if choice.finish_reason == "length":
            raise InvalidAnswer("answer cut at the token limit")
        content: str | None = choice.message.content
        return content
