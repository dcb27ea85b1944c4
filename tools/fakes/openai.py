"""A fake OpenAI chat-completions API served over real HTTP on 127.0.0.1.

It reads the request the summariser sends (the JSON payload in the user message), answers valid JSON in
the shape the prompt asks for, reports token usage, counts everything, and can be told to fail:

    fake = FakeOpenAI.start()              # base URL for the SDK: fake.url (ends in /v1)
    fake.fail(status=500, times=1)         # next request answers 500
    fake.fail(status=429, times=1)         # rate limited
    fake.answer_invalid(times=1)           # next answer is not JSON ("broken") or lacks items ("partial")
    fake.delay(seconds=5, times=1)         # next answer comes only after 5 s (a slow model)
    fake.count("item_summaries"), fake.count("digest"), fake.items_summarised, fake.tokens
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.fakes import server as http_server


@dataclass
class _Failure:
    status: int
    times: int
    task: str | None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Invalid:
    times: int
    task: str | None
    mode: str


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class FakeOpenAI:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []
        self._invalid: list[_Invalid] = []
        self._delays: list[list[float]] = []  # [seconds, times left]
        self.requests: list[dict[str, Any]] = []  # {"task", "model", "body", "status"}
        self.items_summarised: list[int] = []  # item numbers sent for summarising, in order
        self.tokens = 0
        self.server: ThreadingHTTPServer | None = None

    # --- lifecycle ------------------------------------------------------------------------
    @classmethod
    def start(cls) -> FakeOpenAI:
        fake = cls()
        handler = type("Handler", (_Handler,), {"fake": fake})
        fake.server = http_server.serve(handler)
        return fake

    def stop(self) -> None:
        http_server.stop(self.server)

    @property
    def url(self) -> str:
        return f"{http_server.url(self.server)}/v1"

    # --- configuration --------------------------------------------------------------------
    def fail(
        self,
        *,
        status: int,
        times: int = 1,
        task: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next ``times`` requests (of ``task``, or any) answer ``status``."""
        self._failures.append(_Failure(status, times, task, body, headers or {}))

    def answer_invalid(self, *, times: int = 1, task: str | None = None, mode: str = "broken") -> None:
        """The next ``times`` answers are unusable: "broken" (not JSON) or "partial" (items missing)."""
        self._invalid.append(_Invalid(times, task, mode))

    def delay(self, *, seconds: float, times: int = 1) -> None:
        """The next ``times`` requests are answered only after ``seconds``."""
        self._delays.append([seconds, times])

    def count(self, task: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if task is None or r["task"] == task)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.items_summarised.clear()
            self.tokens = 0

    # --- serving --------------------------------------------------------------------------
    def handle(self, path: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        if path.rstrip("/") != "/v1/chat/completions":
            return 404, {"error": {"message": "Unknown path", "type": "invalid_request_error"}}, {}
        request = json.loads(body or b"{}")
        messages = request.get("messages") or []
        user = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "") or ""
        try:
            payload = json.loads(user)
        except ValueError:
            payload = {}
        task = str(payload.get("task") or "unknown")
        with self._lock:
            record = {"task": task, "model": request.get("model"), "body": request, "status": 200}
            self.requests.append(record)
            pause = next((d for d in self._delays if d[1] > 0), None)
            if pause is not None:
                pause[1] -= 1
        if pause is not None:
            time.sleep(pause[0])
        with self._lock:
            for failure in self._failures:
                if failure.times > 0 and failure.task in (None, task):
                    failure.times -= 1
                    record["status"] = failure.status
                    return failure.status, failure.body or _error_body(failure.status), failure.headers
            invalid = next((i for i in self._invalid if i.times > 0 and i.task in (None, task)), None)
            if invalid is not None:
                invalid.times -= 1
            if task == "item_summaries":
                self.items_summarised.extend(int(i["number"]) for i in payload.get("items") or [])
        answer = _answer(task, payload, invalid.mode if invalid else None)
        prompt_tokens = sum(_tokens(str(m.get("content") or "")) for m in messages)
        completion_tokens = _tokens(answer)
        with self._lock:
            self.tokens += prompt_tokens + completion_tokens
        return (
            200,
            {
                "id": f"chatcmpl-fake-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model", "gpt-fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
            {},
        )


def _error_body(status: int) -> dict[str, Any]:
    if status == 429:
        return {
            "error": {
                "message": "Rate limit reached for gpt-fake on requests per min (RPM).",
                "type": "requests",
                "code": "rate_limit_exceeded",
            }
        }
    return {"error": {"message": f"fake failure {status}", "type": "server_error", "code": None}}


def _answer(task: str, payload: dict[str, Any], invalid: str | None) -> str:
    if invalid == "broken":
        return '{"summaries": [ this is not json'
    if task == "item_summaries":
        items = payload.get("items") or []
        if invalid == "partial":
            items = items[: len(items) // 2]
        return json.dumps(
            {
                "summaries": [
                    {
                        "number": item["number"],
                        "summary": f"Fake AI summary of #{item['number']}: {item['title']}"
                        f" ({item['state']}, {item['comments']} comments).",
                    }
                    for item in items
                ]
            }
        )
    if task == "digest":
        people = payload.get("people") or []
        if invalid == "partial":
            return json.dumps({"tldr": "", "people": []})
        totals = payload.get("totals") or {}
        return json.dumps(
            {
                "tldr": f"Fake AI TL;DR of {payload.get('repository')}: "
                f"{totals.get('pull_requests', 0)} pull requests and {totals.get('issues', 0)} issues.",
                "people": [
                    {
                        "username": person["username"],
                        "tldr": f"Fake AI TL;DR of {person['username']}: {person['total_items']} items.",
                    }
                    for person in people
                ],
            }
        )
    return json.dumps({"answer": "fake"})


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload, headers = self.fake.handle(self.path, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(data)))
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a delayed answer)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass
