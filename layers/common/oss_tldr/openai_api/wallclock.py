"""A wall-clock bound on the OpenAI SDK's answers (issue 7, finding 9).

The SDK gives each request a timeout that httpx applies per network read, so a model that trickles its
answer a byte at a time never trips it. :class:`WallClockTransport` makes the request's read timeout bound
the whole body too: a chunk arriving after ``read`` seconds since the request was sent raises
``ReadTimeout``, which the SDK turns into ``APITimeoutError`` (retried by the summariser only if the
deadline fits another attempt). The status line and headers are read before the transport hands the
response back and remain bounded only per read (that would need a watchdog thread closing the socket).

Recent SDKs send through ``httpx2`` (not ``httpx``); an older SDK, or one whose HTTP library this module
does not know, gets no custom client (:func:`wall_clock_http_client` returns None) and keeps the per-read
bound only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx2
import openai


class _WallClockStream(httpx2.SyncByteStream):
    def __init__(self, inner: httpx2.SyncByteStream, ends: float, request: httpx2.Request) -> None:
        self._inner, self._ends, self._request = inner, ends, request

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if time.monotonic() >= self._ends:
                raise httpx2.ReadTimeout("the answer outlasted its timeout", request=self._request)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class WallClockTransport(httpx2.BaseTransport):
    """An httpx2 transport whose request's read timeout also bounds the whole body by wall-clock time: a
    chunk that arrives after ``read`` seconds since the request was sent raises ``httpx2.ReadTimeout``
    (which the SDK turns into ``APITimeoutError``). Headers are bounded only per read."""

    def __init__(self, inner: httpx2.BaseTransport | None = None) -> None:
        self._inner = inner or httpx2.HTTPTransport(
            limits=httpx2.Limits(max_connections=20, max_keepalive_connections=10)
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        read = (request.extensions.get("timeout") or {}).get("read")
        started = time.monotonic()
        response = self._inner.handle_request(request)
        if read is None or not isinstance(response.stream, httpx2.SyncByteStream):
            return response
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_WallClockStream(response.stream, started + float(read), request),
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:
        self._inner.close()


def wall_clock_http_client() -> Any:
    """The SDK's default HTTP client with :class:`WallClockTransport`, or None when the SDK does not
    send through ``httpx2``."""
    if not issubclass(openai.DefaultHttpxClient, httpx2.Client):
        return None
    return openai.DefaultHttpxClient(transport=WallClockTransport())
