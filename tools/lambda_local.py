"""Run the Lambda handlers locally, the way API Gateway and ``sam local invoke`` would, without Docker.

* :func:`load_routes` reads the HttpApi routes of every function from ``template.yaml`` (the one source
  of truth for routes).
* :func:`http_event` builds a faithful API Gateway HTTP API payload-2.0 event from an HTTP request.
* :func:`load_handler` imports ``functions/<dir>/app.py`` under a unique module name (every function's
  module is called ``app``) and returns its handler.
* :class:`FakeLambdaContext` is a ``LambdaContext`` look-alike.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import gc
import importlib.util
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"

Handler = Callable[[dict[str, Any], Any], Any]


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that keeps CloudFormation short-form tags (``!Ref`` ...) as plain values."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


@functools.cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml, parsed once per process (like the routes a deployed API was built from)."""
    with path.open() as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str  # logical id
    code_uri: str
    handler: str
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = ""
        for part in re.split(r"(\{[^}]+\})", self.path):
            if part.startswith("{") and part.endswith("+}"):
                regex += f"(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                regex += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                regex += re.escape(part)
        return re.compile(f"^{regex}$")

    def match(self, path: str) -> dict[str, str] | None:
        m = self.pattern.match(path)
        return m.groupdict() if m else None


def _literal_env(props: dict[str, Any]) -> dict[str, str]:
    variables = (props.get("Environment") or {}).get("Variables") or {}
    return {k: v for k, v in variables.items() if isinstance(v, str)}


def functions(template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    template = template or load_template()
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def load_routes(template: dict[str, Any] | None = None) -> list[Route]:
    routes = []
    for logical_id, props in functions(template).items():
        for event in (props.get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            ev = event.get("Properties", {})
            routes.append(
                Route(
                    method=str(ev.get("Method", "ANY")).upper(),
                    path=ev["Path"],
                    function=logical_id,
                    code_uri=props["CodeUri"],
                    handler=props.get("Handler", "app.lambda_handler"),
                    environment=_literal_env(props),
                )
            )
    # Literal segments win over parameters, as in API Gateway: more literal characters first.
    routes.sort(key=lambda r: (-len(re.sub(r"\{[^}]+\}", "", r.path)), r.path))
    return routes


def find_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        if route.method in (method, "ANY"):
            params = route.match(path)
            if params is not None:
                return route, params
    return None


_import_lock = threading.Lock()
_modules: dict[str, ModuleType] = {}


def load_module(logical_id: str, template: dict[str, Any] | None = None) -> ModuleType:
    """Import a function's handler module once (like a warm Lambda container)."""
    with _import_lock:
        if logical_id in _modules:
            return _modules[logical_id]
        props = functions(template)[logical_id]
        module_name = props.get("Handler", "app.lambda_handler").rpartition(".")[0]
        source = ROOT / props["CodeUri"] / f"{module_name.replace('.', '/')}.py"
        unique = f"_lambda_{logical_id}_{module_name}".replace(".", "_")
        spec = importlib.util.spec_from_file_location(unique, source)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {source}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            # An API function's app.py turns the collector off on its first line and lambda_entrypoint (its
            # last) turns it back on: an import that failed in between must not leave this host without one.
            gc.enable()
            sys.modules.pop(unique, None)
            raise
        _modules[logical_id] = module
        return module


def load_handler(logical_id: str, template: dict[str, Any] | None = None) -> Handler:
    """The handler of a function (its module imported once) — what Lambda calls."""
    attr = functions(template)[logical_id].get("Handler", "app.lambda_handler").rpartition(".")[2]
    handler: Handler = getattr(load_module(logical_id, template), attr)
    return handler


class FakeLambdaContext:
    """Just enough of ``aws_lambda_powertools.utilities.typing.LambdaContext``."""

    def __init__(self, function_name: str = "local", timeout_ms: int = 29_000, memory_mb: int = 512) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def http_event(
    method: str,
    path: str,
    *,
    route_key: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event, as API Gateway would send it."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    is_b64 = False
    text_body: str | None = None
    if isinstance(body, bytes) and body:
        content_type = headers.get("content-type", "")
        if content_type.startswith(("application/json", "text/", "application/x-www-form-urlencoded")):
            try:
                text_body = body.decode("utf-8")
            except UnicodeDecodeError:
                text_body, is_b64 = base64.b64encode(body).decode(), True
        else:
            text_body, is_b64 = base64.b64encode(body).decode(), True
    elif isinstance(body, str) and body:
        text_body = body
    now = dt.datetime.now(dt.UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": route_key or "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if cookies:
        event["cookies"] = cookies
    if params:
        event["queryStringParameters"] = params
    if path_parameters:
        event["pathParameters"] = path_parameters
    if text_body is not None:
        event["body"] = text_body
    return event


def context_for(logical_id: str, template: dict[str, Any] | None = None) -> FakeLambdaContext:
    """A context with the function's own timeout and memory (its properties, else the template's
    ``Globals``), as ``sam local invoke`` gives it: the scheduled functions plan their work on it."""
    template = template or load_template()
    defaults = (template.get("Globals") or {}).get("Function") or {}
    props = functions(template)[logical_id]
    timeout = props.get("Timeout", defaults.get("Timeout", 29))
    memory = props.get("MemorySize", defaults.get("MemorySize", 512))
    return FakeLambdaContext(function_name=logical_id, timeout_ms=int(timeout) * 1000, memory_mb=int(memory))


def invoke(logical_id: str, event: dict[str, Any], template: dict[str, Any] | None = None) -> Any:
    handler = load_handler(logical_id, template)
    return handler(event, context_for(logical_id, template))
