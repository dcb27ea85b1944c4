"""Helpers the test modules import (fixtures live in conftest.py and the ``fixtures_*`` plugins).

One way to send a request to a handler in-process: :func:`call` takes one of ``events/*.json`` (the files
``sam local invoke -e`` takes) and adjusts it; :func:`call_route` builds the event from a method and path
and invokes the function template.yaml routes it to, as API Gateway would. Both answer an :class:`Answer`::

    status, body, headers = call("AuthFunction", "auth_me.json", lambda_context, headers=alice.headers)
    answer = call_route(alice, "GET", "/api/v1/reports/octo/hello/prs", query="timeframe=last_week")
    assert answer.status == 200 and answer.json()["cached"] is False
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "http://localhost:5173"  # the SPA's origin the HTTP tests send (one of the default CORS origins)
# The contract's `stats` keys (docs/api.md), written out once for every test that checks them.
STATS_KEYS = frozenset(
    {
        "pull_requests",
        "pull_requests_opened",
        "pull_requests_merged",
        "issues",
        "issues_opened",
        "issues_closed",
    }
)


def window_start() -> dt.datetime:
    """The start of the ``last_week`` window the service computes now: when the test runs, not when its
    module was imported (a refresh period may begin in between; conftest keeps tests clear of that)."""
    from oss_tldr.windows import window_for

    return window_for("last_week").start


def assert_error(response: Any, status: int | tuple[int, ...], code: str | None = None) -> dict[str, Any]:
    """An HTTP answer (httpx) is the contract's error: the status (one of ``status``), JSON
    ``{"detail", "code"}`` with a sentence and a snake_case code (``code`` when given), no traceback, and the
    CORS header for :data:`ORIGIN` (else the SPA cannot read ``detail``). Returns the body."""
    expected = status if isinstance(status, tuple) else (status,)
    assert response.status_code in expected, (response.request.url, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"detail", "code"}, body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert re.fullmatch(r"[a-z][a-z0-9_]*", body["code"]), body
    assert "Traceback" not in response.text
    assert response.headers.get("access-control-allow-origin") == ORIGIN
    if code is not None:
        assert body["code"] == code, body
    return body


def load_event(name: str, **overrides: Any) -> dict[str, Any]:
    """An event from ``events/`` (the files ``sam local invoke -e`` takes), with top-level overrides."""
    event: dict[str, Any] = json.loads((ROOT / "events" / name).read_text())
    event.update(overrides)
    return event


class Answer:
    """A handler's response. ``status``, ``text`` (the raw body), ``json()``, ``headers`` (names lowercased);
    it also unpacks (and indexes) as ``(status, body, headers)`` with the body decoded when it is JSON and
    the headers exactly as the handler returned them."""

    def __init__(self, response: Mapping[str, Any]) -> None:
        self.status: int = response["statusCode"]
        self.raw_headers: dict[str, str] = dict(response.get("headers") or {})
        self.headers = {k.lower(): v for k, v in self.raw_headers.items()}
        self.text: str = response.get("body") or ""

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def body(self) -> Any:
        """The JSON body decoded, the raw text when it is not JSON, ``None`` when empty."""
        try:
            return json.loads(self.text) if self.text else None
        except ValueError:
            return self.text

    def _triple(self) -> tuple[int, Any, dict[str, str]]:
        return self.status, self.body, self.raw_headers

    def __iter__(self) -> Iterator[Any]:
        return iter(self._triple())

    def __getitem__(self, index: int | slice) -> Any:
        return self._triple()[index]


def invoke(logical_id: str, event: dict[str, Any], context: Any = None) -> Answer:
    """Run one function's handler on ``event`` (a fresh ``FakeLambdaContext`` unless one is given)."""
    from tools.lambda_local import FakeLambdaContext, load_handler

    return Answer(load_handler(logical_id)(event, context or FakeLambdaContext(logical_id)))


def call(
    logical_id: str,
    event_name: str,
    context: Any,
    *,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    query: Mapping[str, str] | None = None,
    path: str | None = None,
    params: Mapping[str, str] | None = None,
) -> Answer:
    """Invoke a handler with ``events/<event_name>`` adjusted: the event's own authorization header is
    dropped, ``headers`` added, a non-string ``body`` sent as JSON, ``query``/``path``/``params`` replace
    the event's query string, path and path parameters."""
    event = load_event(event_name)
    event["headers"] = {k: v for k, v in event["headers"].items() if k != "authorization"}
    event["headers"].update({k.lower(): v for k, v in (headers or {}).items()})
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
        event["headers"]["content-type"] = "application/json"
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = urlencode(query)
    if path is not None:
        event["rawPath"] = path
        event["requestContext"]["http"]["path"] = path
    if params is not None:
        event["pathParameters"] = params
    return invoke(logical_id, event, context)


def call_route(
    user: Any,
    method: str,
    path: str,
    *,
    query: str = "",
    body: Any = None,
    raw_body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request routed as template.yaml says API Gateway would, to the function that route belongs to;
    ``user`` (a ``SignedInUser`` or ``None``) signs it with their session. ``raw_body`` is sent as these
    exact bytes instead of ``body`` as JSON; ``headers`` are added to (or replace) the defaults."""
    from tools.lambda_local import find_route, http_event, load_routes

    found = find_route(load_routes(), method, path)
    assert found is not None, f"no route for {method} {path} in template.yaml"
    route, params = found
    extra_headers = headers
    headers = {"content-type": "application/json"}
    if user is not None:
        headers.update(user.headers)
    headers.update({k.lower(): v for k, v in (extra_headers or {}).items()})
    event = http_event(
        method,
        path,
        route_key=route.route_key,
        path_parameters=params or None,
        query=query,
        headers=headers,
        body=raw_body if raw_body is not None else (json.dumps(body) if body is not None else None),
    )
    return invoke(route.function, event)


# After bench/coldstart.py's script (imports and first request): the collector, the HTTP clients, and the
# SnapStart before-snapshot hook run as Lambda would run it.
_COLD_PROBE_TAIL = """
import gc
probe = {"gc_enabled": gc.isenabled(), "httpx": "httpx" in sys.modules,
    "github_client": "oss_tldr.github.client" in sys.modules}
from oss_tldr.api import snapstart
snapstart.before_snapshot()
probe["primed"] = sorted(snapstart._primed)
probe["declared"] = sorted(getattr(app, "PRIME", ()))
probe["primed_loaded"] = all(name in sys.modules for name in snapstart._primed)
print(json.dumps(probe))
"""


def fresh_interpreter(script: str, *args: str, lines: int = 1, **extra_env: str) -> list[dict[str, Any]]:
    """``script`` run by this interpreter in a new process (the repository and the layer on its path), as a
    new Lambda environment would start; the JSON of its last ``lines`` lines of output. It must succeed."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'common'}", **extra_env}
    done = subprocess.run(  # noqa: S603 - this interpreter, the repository's own script
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.strip().splitlines()[-lines:]]


def cold_start(directory: str, event: dict[str, Any], status: int, **extra_env: str) -> dict[str, Any]:
    """``event`` served by ``directory``'s handler in a fresh interpreter, as a new Lambda container would
    (bench/coldstart.py's script, which asserts ``status``): what it imported, whether the collector is on,
    and what SnapStart's before-snapshot hook then primed. The database is the test session's (a test asks
    for the ``database_url`` fixture, which sets ``DATABASE_URL``)."""
    from bench import coldstart

    split, probe = fresh_interpreter(
        coldstart.SCRIPT + _COLD_PROBE_TAIL,
        directory,
        json.dumps(event),
        str(status),
        lines=2,
        GITHUB_WEBHOOK_SECRET=coldstart.WEBHOOK_SECRET,
        **extra_env,
    )
    return {**split, **probe}
