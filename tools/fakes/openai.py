"""A fake OpenAI chat-completions API served over real HTTP on 127.0.0.1.

It reads the request the summariser sends (the JSON payload in the user message), answers valid JSON in
the shape the prompt asks for, reports token usage, counts everything, and can be told to fail:

    fake = FakeOpenAI.start()              # base URL for the SDK: fake.url (ends in /v1)
    fake.fail(status=500, times=1)         # next request answers 500
    fake.fail(status=429, times=1)         # rate limited
    fake.answer_invalid(times=1)           # next answer is not JSON ("broken") or lacks items ("partial")
    fake.omit_person("alice")              # next digest leaves alice out (default: its first person)
    fake.omit_item(7)                      # next item summaries leave #7 out (default: the batch's first)
    fake.refuse(task="digest")             # next answer is a refusal: message.refusal set, content null
    fake.delay(seconds=5, times=1)         # next answer comes only after 5 s (a slow model)
    fake.count("item_summaries"), fake.count("digest"), fake.items_summarised, fake.tokens
    fake.count("diff_explanation"), fake.count("deep_dive")   # the deep dive's requests (tasks)

Structured Outputs are checked on every request, as OpenAI's strict mode would: ``response_format`` must
be ``{"type": "json_schema", "json_schema": {"name", "strict": true, "schema"}}`` whose schema is an
object with every object closed (``additionalProperties: false``) and all its properties required, and
the answer the fake is about to give must conform to it (so the schema describes what the prompt asks
for). A request that breaks the rule answers 400 ``invalid_request_error`` (as OpenAI answers an invalid
strict schema) and is recorded in ``fake.format_errors``: tests assert it stays empty (the
``fake_openai`` fixture does at teardown).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
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
    mode: str  # broken, partial, omit_person, omit_item, refusal
    target: Any = None  # the login or item number to leave out (None: the first one asked)


REFUSAL = "I'm sorry, I can't help with that request."
_SCHEMA_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class FakeOpenAI:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []
        self._invalid: list[_Invalid] = []
        self._delays: list[list[float]] = []  # [seconds, times left]
        self.requests: list[dict[str, Any]] = []  # {"task", "model", "body", "status"}
        self.format_errors: list[dict[str, Any]] = []  # {"task", "problem"}: requests not Structured Outputs
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

    def omit_person(self, login: str | None = None, *, times: int = 1) -> None:
        """The next ``times`` digests leave ``login`` (default: the first person asked) out of ``people``;
        the answer keeps the schema's shape, as a strict Structured Outputs answer would."""
        self._invalid.append(_Invalid(times, "digest", "omit_person", login))

    def omit_item(self, number: int | None = None, *, times: int = 1) -> None:
        """The next ``times`` item-summaries answers leave item ``number`` (default: the first) out."""
        self._invalid.append(_Invalid(times, "item_summaries", "omit_item", number))

    def refuse(self, *, times: int = 1, task: str | None = None) -> None:
        """The next ``times`` answers (of ``task``, or any) are refusals: ``message.refusal`` set, content
        null, as Structured Outputs report a model declining to answer."""
        self._invalid.append(_Invalid(times, task, "refusal"))

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
        answer = _answer(task, payload, invalid)
        problem = _format_problem(request.get("response_format"), task, answer)
        if problem is not None:
            with self._lock:
                self.format_errors.append({"task": task, "problem": problem})
                record["status"] = 400
            return 400, _invalid_format(problem), {}
        refusal = invalid is not None and invalid.mode == "refusal"
        content = None if refusal else answer
        prompt_tokens = sum(_tokens(str(m.get("content") or "")) for m in messages)
        completion_tokens = _tokens(REFUSAL if refusal else answer)
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
                        "message": {
                            "role": "assistant",
                            "content": content,
                            "refusal": REFUSAL if refusal else None,
                        },
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


def _answer(task: str, payload: dict[str, Any], slip: _Invalid | None) -> str:
    invalid = slip.mode if slip else None
    if invalid == "broken":
        return '{"summaries": [ this is not json'
    if task == "item_summaries":
        items = payload.get("items") or []
        if invalid == "partial":
            items = items[: len(items) // 2]
        if invalid == "omit_item" and items:
            left_out = items[0]["number"] if slip is None or slip.target is None else slip.target
            items = [item for item in items if item["number"] != left_out]
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
        if invalid == "omit_person" and people:
            left_out = people[0]["username"] if slip is None or slip.target is None else slip.target
            people = [p for p in people if p["username"].lower() != str(left_out).lower()]
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
    if task == "diff_explanation":
        patch = str(payload.get("patch") or "")
        return json.dumps(
            {
                "explanation": f"Fake AI explanation of {payload.get('file')}: "
                f"{len(patch.splitlines())} diff lines{' (cut)' if payload.get('cut') else ''}."
            }
        )
    if task == "deep_dive":
        comments = payload.get("comments") or []
        reviews = payload.get("reviews") or []
        return json.dumps(
            {
                "summary": f"Fake AI deep dive of #{payload.get('number')}: {payload.get('title')} "
                f"({payload.get('state')}, {payload.get('comments_total', 0)} comments).",
                "reviews": [f"@{r['author']} {str(r.get('state', '')).lower()}" for r in reviews],
                "comments": [f"@{c['author']} commented" for c in comments],
                "action_items": ["Fake AI action item."],
            }
        )
    return json.dumps({"answer": "fake"})


# --- Structured Outputs: the request's response_format, checked as strict mode would ---------------


def _format_problem(response_format: Any, task: str, answer: str) -> str | None:
    """Why ``response_format`` is not a strict json_schema that ``answer`` conforms to, or None."""
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        kind = response_format.get("type") if isinstance(response_format, dict) else response_format
        return f"response_format is {kind!r}, not a strict json_schema"
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict):
        return "response_format.json_schema is missing"
    if spec.get("strict") is not True:
        return "response_format.json_schema.strict is not true"
    if not isinstance(spec.get("name"), str) or not _SCHEMA_NAME.match(spec["name"]):
        return f"response_format.json_schema.name {spec.get('name')!r} is not ^[a-zA-Z0-9_-]{{1,64}}$"
    schema = spec.get("schema")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return "the root of the schema must be an object"
    defs = schema.get("$defs") or {}
    problem = _strict_problem(schema, defs, "#", set())
    if problem is not None:
        return problem
    if answer.startswith("{") and task in {"item_summaries", "digest", "diff_explanation", "deep_dive"}:
        try:
            decoded = json.loads(answer)
        except ValueError:
            return None  # the arranged "broken" answer: a model's slip, not the request's
        return _conformance_problem(decoded, schema, defs, "$")
    return None


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    ref = node.get("$ref")
    if ref is None:
        return node
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return None
    found = defs.get(ref.removeprefix("#/$defs/"))
    return found if isinstance(found, dict) else None


def _strict_problem(node: Any, defs: dict[str, Any], where: str, seen: set[str]) -> str | None:
    if not isinstance(node, dict):
        return f"{where}: not a schema"
    if "$ref" in node:
        target = _resolve(node, defs)
        if target is None:
            return f"{where}: unresolvable $ref {node['$ref']!r}"
        if node["$ref"] in seen:
            return None
        return _strict_problem(target, defs, node["$ref"], seen | {node["$ref"]})
    if node.get("type") == "object" or "properties" in node:
        properties = node.get("properties")
        if not isinstance(properties, dict):
            return f"{where}: an object without properties"
        if node.get("additionalProperties") is not False:
            return f"{where}: additionalProperties must be false"
        if sorted(node.get("required") or []) != sorted(properties):
            return f"{where}: every property must be required"
        for name, sub in properties.items():
            if problem := _strict_problem(sub, defs, f"{where}.{name}", seen):
                return problem
    if node.get("type") == "array":
        return _strict_problem(node.get("items"), defs, f"{where}[]", seen)
    for i, option in enumerate(node.get("anyOf") or []):
        if problem := _strict_problem(option, defs, f"{where}|{i}", seen):
            return problem
    return None


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _conformance_problem(value: Any, node: dict[str, Any], defs: dict[str, Any], where: str) -> str | None:
    """Why the fake's own answer does not follow the schema (the schema would not let a model answer it)."""
    node = _resolve(node, defs) or {}
    if "anyOf" in node:
        if all(_conformance_problem(value, o, defs, where) for o in node["anyOf"]):
            return f"the answer at {where} matches none of anyOf"
        return None
    kind = node.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        ok = any(isinstance(value, _TYPES.get(k, ())) for k in kinds)
        if isinstance(value, bool) and "boolean" not in kinds:
            ok = False
        if not ok:
            return f"the answer at {where} is not of type {kind}"
    if "enum" in node and value not in node["enum"]:
        return f"the answer at {where} is not one of {node['enum']}"
    if isinstance(value, dict):
        properties = node.get("properties") or {}
        for name in value:
            if name not in properties:
                return f"the answer at {where} has {name!r}, which the schema does not allow"
        for name, sub in properties.items():
            if name not in value:
                return f"the answer at {where} lacks the required {name!r}"
            if problem := _conformance_problem(value[name], sub, defs, f"{where}.{name}"):
                return problem
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        for i, element in enumerate(value):
            if problem := _conformance_problem(element, node["items"], defs, f"{where}[{i}]"):
                return problem
    return None


def _invalid_format(problem: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"Invalid schema for response_format: {problem}.",
            "type": "invalid_request_error",
            "param": "response_format",
            "code": "invalid_json_schema",
        }
    }


class _Handler(http_server.JsonHandler):
    fake: FakeOpenAI

    def do_POST(self) -> None:
        status, payload, headers = self.fake.handle(self.path, self.body())
        self.answer(status, payload, headers, "application/json")
