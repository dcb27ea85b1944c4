"""A small GitHub REST transport: one pooled httpx client per container, rate limits honoured, bounded
retries with jittered backoff on 5xx and secondary rate limits, upstream failures mapped to domain errors.

Never retried: 401, 403 (other than rate limits), 404, 422 — retrying cannot change their answer.
Capability modules (``oss_tldr.github.*``) build on :class:`GitHubClient`; they never call httpx directly.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from oss_tldr.errors import BadRequest, DomainError, NotFound, RateLimited, UpstreamUnavailable
from oss_tldr.observability import logger

API_VERSION = "2022-11-28"
USER_AGENT = "oss-tldr-backend"
# A secondary-limit wait longer than this is returned to the caller as 429 instead of slept through.
MAX_INLINE_WAIT_SECONDS = 5.0


class GitHubUnauthorized(DomainError):
    """The GitHub token was refused (revoked or expired): the user must sign in again."""

    status, code = 401, "github_token_invalid"
    default_detail = "GitHub refused the stored credentials; sign in again."


class GitHubForbidden(DomainError):
    status, code, default_detail = 403, "github_forbidden", "GitHub refused access to this resource."


@dataclass(frozen=True)
class GitHubResponse:
    status: int
    data: Any
    headers: Mapping[str, str]


@functools.cache
def shared_http_client() -> httpx.Client:
    """One connection pool per container, reused by every request (and every token)."""
    return httpx.Client(
        timeout=httpx.Timeout(10.0, connect=5.0),
        # A renamed or transferred repository answers 301 to /repositories/{id}; follow it (httpx drops
        # the Authorization header if a redirect ever leaves the origin).
        follow_redirects=True,
        max_redirects=3,
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        headers={"User-Agent": USER_AGENT},
    )


def _retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            return None
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
        try:
            return max(0.0, float(headers["x-ratelimit-reset"]) - now)
        except ValueError:
            return None
    return None


def _is_rate_limited(response: httpx.Response) -> bool:
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    if response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers:
        return True
    try:
        message = str(response.json().get("message", "")).lower()
    except ValueError:
        return False
    return "rate limit" in message


class GitHubClient:
    """GitHub REST calls with one token (a user's, or the service token, or none)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        http: httpx.Client | None = None,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        on_request: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._http = http or shared_http_client()
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._sleep = sleep
        self._clock = clock
        self._on_request = on_request
        self.requests_made = 0

    def __repr__(self) -> str:  # never show the token
        return f"GitHubClient({self.base_url!r}, token={'set' if self._token else 'none'})"

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if extra:
            headers.update(extra)
        return headers

    def _backoff(self, attempt: int) -> float:
        # Full jitter: uniform in [0, base * 2^attempt].
        return random.uniform(0, self._backoff_base * (2**attempt))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        url: str | None = None,
    ) -> GitHubResponse:
        """One logical request; ``url`` overrides ``base_url + path`` (the OAuth host is not the API)."""
        target = url or f"{self.base_url}{path}"
        attempt = 0
        while True:
            self.requests_made += 1
            try:
                response = self._http.request(
                    method, target, params=params, json=json, headers=self._headers(headers)
                )
            except httpx.TransportError as exc:
                if self._on_request:
                    self._on_request(method, path, 0)
                if attempt < self._max_retries:
                    self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                logger.warning("github unreachable", extra={"path": path, "error": type(exc).__name__})
                raise UpstreamUnavailable("GitHub is unreachable right now; try again shortly.") from exc
            if self._on_request:
                self._on_request(method, path, response.status_code)
            status = response.status_code
            if status < 400:
                data = response.json() if response.content else None
                return GitHubResponse(status=status, data=data, headers=response.headers)
            if _is_rate_limited(response):
                wait = _retry_after_seconds(response.headers, self._clock())
                secondary = (
                    "retry-after" in response.headers and response.headers.get("x-ratelimit-remaining") != "0"
                )
                if (
                    secondary
                    and wait is not None
                    and wait <= MAX_INLINE_WAIT_SECONDS
                    and attempt < self._max_retries
                ):
                    self._sleep(wait + self._backoff(attempt))
                    attempt += 1
                    continue
                raise RateLimited(
                    "GitHub rate limit reached; try again later.",
                    retry_after=int(wait) + 1 if wait is not None else 60,
                    code="github_rate_limited",
                )
            if status >= 500:
                if attempt < self._max_retries:
                    self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise UpstreamUnavailable("GitHub is failing right now; try again shortly.")
            if status == 401:
                raise GitHubUnauthorized()
            if status == 403:
                raise GitHubForbidden()
            if status == 404:
                raise NotFound("Not found on GitHub.", code="github_not_found")
            if status == 422:
                raise BadRequest("GitHub rejected the query.", code="github_unprocessable")
            raise UpstreamUnavailable(f"GitHub answered {status}.")

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> GitHubResponse:
        return self.request("GET", path, params=params)
