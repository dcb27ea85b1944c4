"""What GitHub's refusals become: the domain errors of the GitHub adapter and the one rule that turns
GitHub's rate-limit headers into a wait and a 429 (REST's 403/429 and GraphQL's ``RATE_LIMITED`` alike).
No HTTP client here: callers that only need the errors do not import httpx."""

from __future__ import annotations

from collections.abc import Mapping

from oss_tldr.errors import DomainError, RateLimited
from oss_tldr.retry_after import parse_reset_at, parse_retry_after, whole_seconds

# The Retry-After we answer when GitHub's rate limit does not say how long it lasts.
DEFAULT_RETRY_AFTER_SECONDS = 60


class GitHubUnauthorized(DomainError):
    """The GitHub token was refused (revoked or expired): the user must sign in again."""

    status, code = 401, "github_token_invalid"
    default_detail = "GitHub refused the stored credentials; sign in again."


class GitHubTokenMissing(DomainError):
    """No token to ask GitHub with: we never make anonymous calls (60 an hour per IP, shared by everyone)."""

    status, code = 401, "github_token_missing"
    default_detail = (
        "No GitHub token to ask GitHub with: sign in with GitHub again, or set GITHUB_TOKEN (a personal "
        "access token) for the CLI and background jobs."
    )


def require_token(token: str | None) -> str:
    """``token``, or :class:`GitHubTokenMissing` (401) when there is none."""
    if not token:
        raise GitHubTokenMissing()
    return token


class GitHubForbidden(DomainError):
    status, code, default_detail = 403, "github_forbidden", "GitHub refused access to this resource."


def rate_limit_wait(headers: Mapping[str, str], now: float) -> float | None:
    """How long GitHub asks us to wait (:mod:`oss_tldr.retry_after`): its ``Retry-After`` when it sends
    one, else the primary limit's ``x-ratelimit-reset`` once nothing remains (REST's 403/429 and GraphQL's
    HTTP-200 ``RATE_LIMITED`` alike); None when it does not say."""
    if headers.get("retry-after"):
        return parse_retry_after(headers.get("retry-after"), now)
    if headers.get("x-ratelimit-remaining") == "0":
        return parse_reset_at(headers.get("x-ratelimit-reset"), now)
    return None


def github_rate_limited(wait: float | None) -> RateLimited:
    """The one 429 of a GitHub rate limit (REST or GraphQL): ``Retry-After`` from GitHub's own wait."""
    return RateLimited(
        "GitHub rate limit reached; try again later.",
        retry_after=whole_seconds(wait, DEFAULT_RETRY_AFTER_SECONDS),
        code="github_rate_limited",
    )
