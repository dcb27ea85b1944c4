"""A small GitHub REST transport: one pooled httpx client per container, rate limits honoured, bounded
retries with jittered backoff on 5xx and secondary rate limits, upstream failures mapped to domain errors.

Never retried: 401, 403 (other than rate limits), 404, 422 — retrying cannot change their answer.
Capability modules (``oss_tldr.github.*``) build on :class:`GitHubClient`, obtained from
:func:`github_client` (the one factory: settings, timeout, the ``GitHubCalls`` metric); they never call
httpx directly, and read answers only through :mod:`oss_tldr.github.payloads`.

Whatever GitHub answers, the outcome is a :class:`GitHubResponse` or a :class:`DomainError`: a 2xx that is
not JSON, an error body that is an array or not JSON, a ``Retry-After`` of ``1e400``, ``nan`` or ``-5``
never escape as another exception; nor does any httpx failure (a redirect loop, a body that is not what
its ``content-encoding`` says, a dropped connection): each is a 502 ``upstream_unavailable``. Every
attempt's timeout comes from the request's deadline (:mod:`oss_tldr.deadline`), and no retry or wait is
started that the deadline cannot fit.

Each attempt is bounded by wall-clock time, not only per network read: the body is streamed in chunks and
the attempt's own deadline (the configured timeout or what is left of the request, the shorter) is checked
between chunks, so a GitHub that trickles its answer a byte at a time ends the attempt when that deadline
passes (a 503 ``deadline_exceeded`` when it was the request's deadline, else a timeout, retried like any
other). A body longer than :data:`MAX_BODY_BYTES` (decoded) is a 502. What this does *not* bound: the
status line and headers, and the bodies of redirects httpx follows, are read inside ``httpx.Client.send``
and are bounded only by the per-read timeout (each byte that arrives restarts it), so headers trickled
byte by byte can still outlive the deadline. Bounding those needs a watchdog thread that closes the socket
from outside, which this module does not have. After the deadline one more read (at most the per-read
timeout) may also still be waited for when GitHub stops sending altogether.
"""

from __future__ import annotations

import functools
import json as json_module
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from oss_tldr import deadline
from oss_tldr.errors import BadRequest, NotFound, UpstreamUnavailable
from oss_tldr.github.errors import (
    GitHubForbidden,
    GitHubUnauthorized,
    github_rate_limited,
    rate_limit_wait,
)
from oss_tldr.observability import MetricUnit, logger, metrics
from oss_tldr.settings import Settings, get_settings

API_VERSION = "2022-11-28"
USER_AGENT = "oss-tldr-backend"
# A secondary-limit wait longer than this is returned to the caller as 429 instead of slept through.
MAX_INLINE_WAIT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5.0
# A GitHub answer (decoded) longer than this is not one we asked for: a 502, not read to the end.
MAX_BODY_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class GitHubResponse:
    status: int
    data: Any
    headers: Mapping[str, str]


@dataclass(frozen=True)
class _Answer:
    """One attempt's answer, read to the end within its deadline (the response itself is closed)."""

    status_code: int
    headers: httpx.Headers
    content: bytes


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


def _json_body(response: _Answer) -> Any:
    """The decoded JSON body; :class:`ValueError` when it is not JSON (``RecursionError`` too: a body
    nested deeper than the parser goes is not a GitHub answer)."""
    try:
        return json_module.loads(response.content)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def _error_message(response: _Answer) -> str:
    """The ``message`` of an error body (GitHub's are ``{"message": ...}``; an empty body has none). Any
    other body — not JSON, an array — is a 502: a 403 without it cannot be told a rate limit or a refusal."""
    if not response.content:
        return ""
    try:
        body = _json_body(response)
    except ValueError as exc:
        raise _unreadable(response) from exc
    if not isinstance(body, Mapping):
        raise _unreadable(response)
    message = body.get("message")
    return message if isinstance(message, str) else ""


def _unreadable(response: _Answer) -> UpstreamUnavailable:
    logger.warning("github answer unreadable", extra={"status": response.status_code})
    return UpstreamUnavailable("GitHub returned an unreadable answer; try again shortly.")


def _is_rate_limited(response: _Answer) -> bool:
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    if response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers:
        return True
    return "rate limit" in _error_message(response).lower()


class _Late(Exception):
    """The attempt's deadline passed while its body was still arriving."""


def _timed(chunks: Iterator[bytes], ends: float) -> Iterator[bytes]:
    """``chunks``, raising :class:`_Late` as soon as one arrives after ``ends`` (``time.monotonic()``)."""
    if time.monotonic() >= ends:  # the headers alone took the whole attempt
        raise _Late()
    for chunk in chunks:
        if time.monotonic() >= ends:
            raise _Late()
        yield chunk


class GitHubClient:
    """GitHub REST calls with one token (a user's, or the service token, or none).

    Each attempt's timeout is ``timeout`` or what is left of the request's deadline
    (:func:`oss_tldr.deadline.timeout`), and a retry (or a rate-limit wait) is made only when another
    attempt still fits in that deadline; otherwise the last error is raised."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        http: httpx.Client | None = None,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        on_request: Callable[[str, str, int], None] | None = None,
        on_rate_limit: Callable[[int], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._http = http or shared_http_client()
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self._on_request = on_request
        self._on_rate_limit = on_rate_limit
        self.requests_made = 0

    @property
    def has_token(self) -> bool:
        return bool(self._token)

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

    def _count(self, method: str, path: str, status: int, headers: Mapping[str, str] | None = None) -> None:
        if self._on_request:
            self._on_request(method, path, status)
        remaining = _rate_limit_remaining(headers or {})
        if self._on_rate_limit and remaining is not None:
            self._on_rate_limit(remaining)

    def _attempt(
        self,
        method: str,
        path: str,
        target: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> _Answer:
        """One attempt, status line to last byte, within the attempt's deadline: the configured timeout
        or what is left of the request's deadline, whichever is shorter.

        Raises :class:`DeadlineExceeded` (503) when too little is left to start, or when the request's
        deadline passes while the body is still arriving; ``httpx.ReadTimeout`` when the configured
        timeout passes first (a timeout like any other, retried by :meth:`request`); any other
        ``httpx.HTTPError`` as httpx raised it; :class:`UpstreamUnavailable` for a body over
        :data:`MAX_BODY_BYTES`. Headers are read inside ``send`` and bounded only by the per-read timeout
        (see the module docstring)."""
        left = deadline.remaining()
        seconds = deadline.timeout(self._timeout)  # DeadlineExceeded (503) when too little is left
        request_bound = left is not None and left <= self._timeout
        ends = time.monotonic() + seconds
        request = self._http.build_request(
            method,
            target,
            params=params,
            json=json,
            headers=self._headers(headers),
            timeout=httpx.Timeout(seconds, connect=min(CONNECT_TIMEOUT_SECONDS, seconds)),
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError:
            self._count(method, path, 0)
            raise
        self._count(method, path, response.status_code, response.headers)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                raise self._too_large(path)
            chunks: list[bytes] = []
            size = 0
            for chunk in _timed(response.iter_bytes(), ends):
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise self._too_large(path)
                chunks.append(chunk)
        except _Late as exc:
            logger.warning("github answer too slow", extra={"path": path, "seconds": seconds})
            if request_bound:
                raise deadline.DeadlineExceeded() from exc
            raise httpx.ReadTimeout("GitHub's answer outlasted the timeout", request=request) from exc
        finally:
            response.close()
        return _Answer(response.status_code, response.headers, b"".join(chunks))

    @staticmethod
    def _too_large(path: str) -> UpstreamUnavailable:
        logger.warning("github answer too large", extra={"path": path, "limit": MAX_BODY_BYTES})
        return UpstreamUnavailable("GitHub returned an answer too large to read; try again shortly.")

    def _retry(self, attempt: int, wait: float) -> bool:
        """Sleep ``wait`` and return True when a retry is allowed and still fits in the deadline."""
        if attempt >= self._max_retries or not deadline.fits(wait):
            return False
        self._sleep(wait)
        return True

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
        """One logical request; ``url`` overrides ``base_url + path`` (the OAuth host is not the API).

        A 2xx is returned with its decoded JSON body (a body that is not JSON is a 502); every failure is
        a :class:`DomainError` (401, 403, 404, 422, 429 with ``Retry-After``, 502, or the deadline's 503)."""
        target = url or f"{self.base_url}{path}"
        attempt = 0
        while True:
            self.requests_made += 1
            try:
                response = self._attempt(method, path, target, params=params, json=json, headers=headers)
            except httpx.TransportError as exc:  # timeouts included
                if self._retry(attempt, self._backoff(attempt)):
                    attempt += 1
                    continue
                logger.warning("github unreachable", extra={"path": path, "error": type(exc).__name__})
                raise UpstreamUnavailable("GitHub is unreachable right now; try again shortly.") from exc
            except httpx.HTTPError as exc:  # a redirect loop, a body not in its content-encoding: no retry
                logger.warning("github answer unusable", extra={"path": path, "error": type(exc).__name__})
                raise UpstreamUnavailable("GitHub returned an unreadable answer; try again shortly.") from exc
            status = response.status_code
            if status < 400:
                data = self._data(response, path)
                return GitHubResponse(status=status, data=data, headers=response.headers)
            if _is_rate_limited(response):
                wait = rate_limit_wait(response.headers, self._clock())
                secondary = (
                    "retry-after" in response.headers and response.headers.get("x-ratelimit-remaining") != "0"
                )
                if (
                    secondary
                    and wait is not None
                    and wait <= MAX_INLINE_WAIT_SECONDS
                    and self._retry(attempt, wait + self._backoff(attempt))
                ):
                    attempt += 1
                    continue
                raise github_rate_limited(wait)
            if status >= 500:
                if self._retry(attempt, self._backoff(attempt)):
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

    @staticmethod
    def _data(response: _Answer, path: str) -> Any:
        if not response.content:
            return None
        try:
            return _json_body(response)
        except ValueError as exc:  # not JSON, not UTF-8, an integer of 5,000 digits, nested too deep
            raise _unreadable(response) from exc

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> GitHubResponse:
        return self.request("GET", path, params=params)


def _rate_limit_remaining(headers: Mapping[str, str]) -> int | None:
    """``x-ratelimit-remaining`` when it is a plain count (an upstream header: anything else is ignored)."""
    raw = headers.get("x-ratelimit-remaining", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


def _count_call(method: str, path: str, status: int) -> None:
    metrics.add_metric(name="GitHubCalls", unit=MetricUnit.Count, value=1)


def _record_rate_limit(remaining: int) -> None:
    """What the token has left in its current rate-limit window (REST or GraphQL): the alarm watches the
    minimum (template.yaml, ``GitHubRateLimitLowAlarm``)."""
    metrics.add_metric(name="GitHubRateLimitRemaining", unit=MetricUnit.Count, value=remaining)


def github_client(
    token: str | None,
    settings: Settings | None = None,
    *,
    base_url: str | None = None,
    max_retries: int | None = None,
) -> GitHubClient:
    """The one way production code gets a GitHub client: the configured API (or ``base_url``, the OAuth
    host), retries and timeout, every request counted in the ``GitHubCalls`` metric and the rate limit left
    recorded in ``GitHubRateLimitRemaining``."""
    settings = settings or get_settings()
    return GitHubClient(
        base_url or settings.github_api_url,
        token,
        max_retries=settings.github_max_retries if max_retries is None else max_retries,
        timeout=settings.github_timeout_seconds,
        on_request=_count_call,
        on_rate_limit=_record_rate_limit,
    )
