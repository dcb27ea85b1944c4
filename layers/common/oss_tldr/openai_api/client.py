"""OpenAI chat completions behind one small interface: the client built from the settings, and one request
whose outcome is an answer or a domain error.

:func:`chat_client` is the one factory: the API key (or its secret), the base URL, the timeout, the SDK's
own retries off (so every request is counted by the caller) and an HTTP client bounded by wall-clock time
(:mod:`oss_tldr.openai_api.wallclock`). :meth:`ChatClient.complete_json` asks once, for an answer held
to a strict JSON schema (Structured Outputs). Its timeout is ``OPENAI_TIMEOUT_SECONDS`` or what is left of
the request's deadline, whichever is shorter (503 ``deadline_exceeded`` when too little is left to ask,
:mod:`oss_tldr.deadline`). A 429 is our 429 (``RateLimited``, ``openai_rate_limited``, ``Retry-After``
read by :mod:`oss_tldr.retry_after`), any other refused request a 502; a 5xx, a dropped connection, a
timeout or a body the SDK cannot read is :class:`Retryable` — whether to ask again (the budget, the
deadline) is the caller's decision. A model that declines to answer says so in ``ChatAnswer.refusal``.

This module imports the OpenAI SDK: import it only on the path that asks the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import openai
from pydantic import BaseModel

from oss_tldr import deadline
from oss_tldr.errors import RateLimited, UpstreamUnavailable
from oss_tldr.observability import logger
from oss_tldr.retry_after import parse_retry_after, whole_seconds
from oss_tldr.secrets import resolve_secret
from oss_tldr.settings import Settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# The Retry-After we answer when OpenAI's rate limit does not say how long it lasts.
DEFAULT_RETRY_AFTER_SECONDS = 20


class Retryable(Exception):
    """A failure another attempt may not meet (a 5xx, a dropped connection, a timeout, an unreadable
    body); ``reason`` says which, for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ChatAnswer:
    """What one chat completion answered, unchecked: the first choice's text and why it ended (both None
    when there was no choice), and the tokens used (None when OpenAI did not say)."""

    content: str | None
    finish_reason: str | None
    total_tokens: int | None
    refusal: str | None = None  # the model declined to answer (Structured Outputs' refusal)


_SCHEMA_KEYS = frozenset({"type", "properties", "items", "$ref", "$defs", "description", "enum", "anyOf"})


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema as Structured Outputs' strict mode takes it: every object closed
    (``additionalProperties: false``) with all its properties required, and only the keywords strict mode
    supports (no defaults, titles or length bounds: the answer's own checks enforce those)."""

    def strict(node: Any) -> Any:
        if isinstance(node, list):
            return [strict(n) for n in node]
        if not isinstance(node, dict):
            return node
        out = {k: strict(v) for k, v in node.items() if k in _SCHEMA_KEYS}
        if "properties" in out:
            out["properties"] = {name: strict(sub) for name, sub in node["properties"].items()}
            out["required"] = list(out["properties"])
            out["additionalProperties"] = False
        if "$defs" in out:
            out["$defs"] = {name: strict(sub) for name, sub in node["$defs"].items()}
        return out

    return strict(model.model_json_schema())  # type: ignore[no-any-return]


def _retry_after(exc: openai.APIStatusError) -> int:
    """OpenAI's ``Retry-After`` as a DomainError's whole seconds (the default when it does not say)."""
    wait = parse_retry_after(exc.response.headers.get("retry-after"), time.time())
    return whole_seconds(wait, DEFAULT_RETRY_AFTER_SECONDS)


class ChatClient:
    """Chat completions with JSON output through one SDK client; each request bounded by ``timeout`` or
    the request's deadline."""

    def __init__(self, client: openai.OpenAI, *, timeout: float = 30.0) -> None:
        self._client = client
        self._timeout = timeout

    def __repr__(self) -> str:  # never show the key
        return f"ChatClient(timeout={self._timeout})"

    def complete_json(
        self, *, model: str, system: str, user: str, max_tokens: int, schema: type[BaseModel]
    ) -> ChatAnswer:
        """One chat completion whose answer must follow ``schema`` (Structured Outputs: a strict
        ``json_schema`` derived from the pydantic model). Raises :class:`RateLimited` (429),
        :class:`UpstreamUnavailable` (502, a refused request), ``DeadlineExceeded`` (503) or
        :class:`Retryable`; a model's refusal to answer comes back as ``ChatAnswer.refusal``."""
        response_format: Any = {
            "type": "json_schema",
            "json_schema": {
                "name": schema.__name__.strip("_"),
                "strict": True,
                "schema": strict_json_schema(schema),
            },
        }
        try:
            response: Any = self._client.chat.completions.create(
                model=model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                response_format=response_format,
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
                raise Retryable(f"status {exc.status_code}") from exc
            logger.error("openai refused the request", extra={"status": exc.status_code})
            raise UpstreamUnavailable("The AI summariser refused the request.") from exc
        except openai.APIConnectionError as exc:  # timeouts included
            raise Retryable(type(exc).__name__) from exc
        except openai.APIError as exc:  # e.g. a response body the SDK cannot read
            raise Retryable(type(exc).__name__) from exc
        tokens = None if response.usage is None else int(response.usage.total_tokens or 0)
        if not response.choices:
            return ChatAnswer(content=None, finish_reason=None, total_tokens=tokens)
        choice = response.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        return ChatAnswer(
            choice.message.content,
            choice.finish_reason,
            tokens,
            refusal=str(refusal)[:500] if refusal else None,
        )


def _http_client() -> Any:
    """The SDK's HTTP client bounded by wall-clock time, or None (the SDK's own client, per-read timeouts
    only) when the SDK does not send through ``httpx2``."""
    try:
        from oss_tldr.openai_api.wallclock import wall_clock_http_client
    except ImportError:  # pragma: no cover - an older SDK, built on httpx
        return None
    return wall_clock_http_client()


def chat_client(settings: Settings) -> ChatClient:
    """The one way production code gets an OpenAI client: the configured key (or its secret), base URL
    and timeout, the SDK's retries off, answers bounded by wall-clock time."""
    key = resolve_secret(settings.openai_api_key, settings.openai_api_key_arn)
    client = openai.OpenAI(
        api_key=key,
        base_url=settings.openai_base_url or DEFAULT_BASE_URL,
        timeout=settings.openai_timeout_seconds,
        max_retries=0,
        http_client=_http_client(),
    )
    return ChatClient(client, timeout=settings.openai_timeout_seconds)
