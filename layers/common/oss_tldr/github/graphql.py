"""GitHub's GraphQL API over the one GitHub client: ``POST /graphql``, its errors mapped once.

GitHub answers most GraphQL failures with HTTP 200 and an ``errors`` list (docs.github.com, "Forming calls
with GraphQL" and "Rate limits and node limits for the GraphQL API"):

* ``RATE_LIMITED`` (the token's points for the hour are spent; ``x-ratelimit-remaining: 0`` and
  ``x-ratelimit-reset`` say until when): :class:`RateLimited` (429, ``github_rate_limited``), its
  ``Retry-After`` from the reset time.
* ``NOT_FOUND`` on a path (a repository the token cannot see, or that does not exist): left to the caller,
  which knows which part of the answer it needed (data and errors are both returned).
* errors without any data (a query GitHub refused: a validation error is our bug, never the user's): a 502
  that logs the errors' types and messages.

HTTP-level failures (401 without a token, 403 secondary limits with ``Retry-After``, 5xx) are the client's
(:mod:`oss_tldr.github.client`), retried and mapped like every other GitHub call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from oss_tldr import deadline
from oss_tldr.errors import UpstreamUnavailable
from oss_tldr.github.client import MAX_INLINE_WAIT_SECONDS, GitHubClient
from oss_tldr.github.errors import GitHubTokenMissing, github_rate_limited, rate_limit_wait
from oss_tldr.observability import logger

MAX_LOGGED_ERRORS = 5
# Slept past a reset before asking again: GitHub's reset is a whole second of its clock, not ours.
RESET_MARGIN_SECONDS = 1.0


@dataclass(frozen=True)
class GraphQLError:
    type: str | None  # NOT_FOUND, RATE_LIMITED, INVALID, FORBIDDEN... (None: a validation error)
    message: str
    path: tuple[str | int, ...]

    @property
    def top_field(self) -> str | int | None:
        """The alias (or field) of the query's top level the error belongs to."""
        return self.path[0] if self.path else None


@dataclass(frozen=True)
class GraphQLAnswer:
    data: dict[str, Any]
    errors: tuple[GraphQLError, ...]
    headers: Mapping[str, str]

    def errors_at(self, field: str) -> list[GraphQLError]:
        return [e for e in self.errors if e.top_field == field]


def graphql_url(api_url: str) -> str:
    """GitHub's GraphQL endpoint for a REST base: ``https://api.github.com/graphql``; GitHub Enterprise
    Server serves REST at ``/api/v3`` and GraphQL at ``/api/graphql``."""
    base = api_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base[: -len("/v3")] + "/graphql"
    return base + "/graphql"


def _errors(raw: Any) -> tuple[GraphQLError, ...]:
    if not isinstance(raw, list):
        return ()
    found = []
    for entry in raw[:100]:
        if not isinstance(entry, dict):
            continue
        kind = entry.get("type")
        path = entry.get("path")
        found.append(
            GraphQLError(
                type=kind if isinstance(kind, str) else None,
                message=str(entry.get("message") or "")[:500],
                path=tuple(p for p in path if isinstance(p, str | int)) if isinstance(path, list) else (),
            )
        )
    return tuple(found)


def query(
    github: GitHubClient,
    text: str,
    variables: Mapping[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> GraphQLAnswer:
    """Run one GraphQL query; the answer's data and errors (see the module docstring for what raises).
    Points that reset within :data:`MAX_INLINE_WAIT_SECONDS` (and within the request's deadline) are
    waited for once; a longer wait is the 429. Without a token nothing is asked (never an anonymous call)."""
    if not github.has_token:
        raise GitHubTokenMissing()
    url = graphql_url(github.base_url)
    for attempt in range(2):
        response = github.request(
            "POST", "/graphql", json={"query": text, "variables": dict(variables)}, url=url
        )
        body = response.data if isinstance(response.data, dict) else {}
        errors = _errors(body.get("errors"))
        if not any(e.type == "RATE_LIMITED" for e in errors):
            break
        wait = rate_limit_wait(response.headers, time.time())
        if (
            attempt == 0
            and wait is not None
            and wait <= MAX_INLINE_WAIT_SECONDS
            and deadline.fits(wait + RESET_MARGIN_SECONDS + 1.0)
        ):
            logger.info("github graphql points reset soon; waiting", extra={"seconds": wait})
            sleep(wait + RESET_MARGIN_SECONDS)
            continue
        raise github_rate_limited(wait)
    data = body.get("data")
    if not isinstance(data, dict):
        logger.warning(
            "github graphql refused the query",
            extra={"errors": [{"type": e.type, "message": e.message} for e in errors[:MAX_LOGGED_ERRORS]]},
        )
        raise UpstreamUnavailable("GitHub returned an answer without data; try again shortly.")
    return GraphQLAnswer(data=data, errors=errors, headers=response.headers)
