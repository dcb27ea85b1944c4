"""The request's deadline: how long every upstream call of this invocation may still take.

API Gateway gives up on an integration after 29-30 s whatever the Lambda does, and the function itself has
its own timeout. ``lambda_entrypoint`` (``oss_tldr.api.app``) opens a deadline for each invocation — the
earlier of :data:`API_GATEWAY_SECONDS` and the Lambda's remaining time, less a margin to answer — and every
outbound call (GitHub, OpenAI) takes its timeout from :func:`timeout` instead of a fixed number, so a slow
upstream turns into a clean 503/502 inside the request instead of a gateway timeout after it.

Outside a request (the CLI, scheduled jobs, tests) no deadline is open and the configured timeouts apply.
The deadline lives in a ``ContextVar``: threads started by a request (``ThreadPoolExecutor``) do not see it
unless they copy the context, so code that fans out passes ``contextvars.copy_context().run``.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

from oss_tldr.errors import ServiceUnavailable

API_GATEWAY_SECONDS = 29.0  # an HTTP API integration times out after 30 s; keep a second to answer
ANSWER_MARGIN_SECONDS = 1.0  # left to map the error and write the response
MIN_CALL_SECONDS = 0.25  # below this an upstream call cannot succeed: do not start it
# How a request waiting for another one's work polls the database (the report cache's followers, the deep
# dive's single flight): first after FIRST_WAIT_SECONDS, each wait 1.5 times the last, never more than
# MAX_WAIT_SECONDS apart, so a long wait polls rarely; never past the deadline (:func:`wait_until`).
FIRST_WAIT_SECONDS = 0.05
MAX_WAIT_SECONDS = 1.0

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("oss_tldr_deadline", default=None)


class DeadlineExceeded(ServiceUnavailable):
    """The request ran out of time before an upstream call could be made (or finish)."""

    code = "deadline_exceeded"
    default_detail = "The request ran out of time waiting for an upstream service; try again shortly."
    retry_after = 5


@contextlib.contextmanager
def request_deadline(seconds: float) -> Iterator[float]:
    """Open a deadline ``seconds`` from now for the code inside (nested deadlines only ever shorten it)."""
    at = time.monotonic() + max(0.0, seconds)
    outer = _deadline.get()
    token = _deadline.set(at if outer is None else min(at, outer))
    try:
        yield _deadline.get() or at
    finally:
        _deadline.reset(token)


def lambda_budget(remaining_ms: int | None) -> float:
    """Seconds an invocation may use: API Gateway's limit, or the Lambda's remaining time if shorter."""
    budget = API_GATEWAY_SECONDS
    if remaining_ms is not None:
        budget = min(budget, remaining_ms / 1000.0)
    return max(0.0, budget - ANSWER_MARGIN_SECONDS)


def deadline() -> float | None:
    """The ``time.monotonic()`` value the current request must be done by (None outside a request)."""
    return _deadline.get()


def remaining() -> float | None:
    """Seconds left before the deadline (None outside a request; may be <= 0)."""
    at = _deadline.get()
    return None if at is None else at - time.monotonic()


def timeout(configured: float) -> float:
    """The timeout for one upstream call: ``configured``, or what is left of the request if less.
    Raises :class:`DeadlineExceeded` when too little is left to start the call at all."""
    left = remaining()
    if left is None:
        return configured
    if left < MIN_CALL_SECONDS:
        raise DeadlineExceeded()
    return min(configured, left)


def fits(wait: float = 0.0) -> bool:
    """Whether, after waiting ``wait`` seconds, the request's deadline still leaves room for another
    upstream call (always, outside a request): what every retry checks before it starts."""
    left = remaining()
    return left is None or left - wait >= MIN_CALL_SECONDS


def wait_until(limit: float) -> float:
    """``limit`` (a ``time.monotonic()`` value), or the request's deadline if that comes first."""
    at = _deadline.get()
    return limit if at is None else min(limit, at)
