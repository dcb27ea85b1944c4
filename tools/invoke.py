"""``make invoke EVENT=events/<file>.json [FUNCTION=<LogicalId>] [LOGIN=<login>]``: run one handler with one
event and print the response, like ``sam local invoke -e`` but in-process and without Docker.

* The function: ``FUNCTION`` when given, else the one template.yaml routes the event's ``routeKey`` to (an
  HTTP event), else the one function that takes the event's kind (an EventBridge Scheduler, EventBridge or
  SQS event; with several, the one whose name the event's resource names). A ``FUNCTION`` that does not
  serve the event's ``routeKey`` is an error that says which function does, not the handler's 404.
* The session: a header value holding the placeholder ``<session-token>`` (the files in ``events/`` write
  ``"authorization": "Bearer <session-token>"``) gets a fresh session token of the local user ``LOGIN``
  (default ``local-dev``, created when missing, its GitHub token ``GITHUB_TOKEN`` when set: the same local
  sign-in as ``make token``, refused outside local environments).
* A CloudFormation custom-resource event (``events/migrate_create.json``): the function is the one its
  ``LogicalResourceId``'s ``ServiceToken`` names; a ``ResponseURL`` of ``<local-response-url>`` becomes a
  local HTTP server of this process, and the response document PUT there is printed on stderr.
* A missing, unreadable or malformed event is one line on stderr and exit status 2, never a traceback.

The handler's logs go to stderr, its response alone to stdout (exit 0 whatever the status code it holds).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from tools.lambda_local import functions, invoke, load_routes, load_template

PLACEHOLDER = re.compile(r"<session[- ]token[^>]*>")  # <session-token> (and older spellings of it)
LOCAL_RESPONSE_URL = "<local-response-url>"  # a custom-resource event's ResponseURL, served here
DEFAULT_LOGIN = "local-dev"
# Non-HTTP events: how to recognise their kind, and the template.yaml event types that deliver it.
EVENT_KINDS = {
    "aws.scheduler": ("ScheduleV2",),
    "aws.events": ("Schedule", "EventBridgeRule", "CloudWatchEvent"),
    "aws:sqs": ("SQS",),
}


class InvokeError(Exception):
    """What to tell the caller on one line (exit status 2)."""


def read_event(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InvokeError(f"{path}: no such event file (the samples are in events/)") from None
    except OSError as exc:
        raise InvokeError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        event = json.loads(text)
    except ValueError as exc:
        raise InvokeError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(event, dict):
        raise InvokeError(f"{path}: an event is a JSON object, this is a {type(event).__name__}")
    if set(event) == {"Parameters"}:
        raise InvokeError(f"{path}: an environment file (sam local invoke --env-vars), not an event")
    return event


def _kind(event: dict[str, Any]) -> str | None:
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        return str(records[0].get("eventSource") or "") or None
    source = event.get("source")
    return source if isinstance(source, str) else None


# Event source mappings declared as resources (the worker's: template.yaml says why), by their source's type.
MAPPED_KINDS = {"AWS::SQS::Queue": "aws:sqs"}


def _takes(props: dict[str, Any], types: tuple[str, ...]) -> bool:
    return any(event.get("Type") in types for event in (props.get("Events") or {}).values())


def _get_att_resource(value: Any) -> str | None:
    """The logical id a ``!GetAtt X.Attribute`` names (either of its YAML spellings), else None."""
    attribute = value.get("Fn::GetAtt") if isinstance(value, dict) else None
    if not attribute:
        return None
    return str(attribute[0] if isinstance(attribute, list) else attribute.partition(".")[0])


def _mapped(kind: str | None, template: dict[str, Any] | None) -> set[str]:
    """The functions an ``AWS::Lambda::EventSourceMapping`` feeds from a source of ``kind``."""
    resources = (template or load_template()).get("Resources") or {}
    found = set()
    for resource in resources.values():
        if resource.get("Type") != "AWS::Lambda::EventSourceMapping":
            continue
        props = resource.get("Properties") or {}
        source = _get_att_resource(props.get("EventSourceArn")) or ""
        function = (props.get("FunctionName") or {}).get("Ref")
        if function and MAPPED_KINDS.get(resources.get(source, {}).get("Type", "")) == kind:
            found.add(str(function))
    return found


def function_for(
    event: dict[str, Any], path: Path, given: str | None, template: dict[str, Any] | None = None
) -> str:
    """The logical id that should run ``event`` (checked against ``given`` when there is one)."""
    known = functions(template)
    if given is not None and given not in known:
        raise InvokeError(f"unknown function {given!r}; template.yaml has: {', '.join(sorted(known))}")
    route_key = event.get("routeKey")
    if isinstance(route_key, str) and route_key != "$default":
        serving = [route.function for route in load_routes(template) if route.route_key == route_key]
        if not serving:
            raise InvokeError(f"{path}: no function of template.yaml has the route {route_key!r}")
        if given is not None and given not in serving:
            raise InvokeError(
                f"{path}: {given} has no route {route_key!r}; {serving[0]} has it (FUNCTION={serving[0]})"
            )
        return given or serving[0]
    target = custom_resource_function(event, template)
    if target is not None:
        return given or target
    if given is not None:
        return given
    kind = _kind(event)
    types = EVENT_KINDS.get(kind or "")
    if types is None:
        raise InvokeError(f"{path}: no routeKey and no known event source; say which function: FUNCTION=")
    mapped = _mapped(kind, template)
    candidates = sorted(name for name, props in known.items() if _takes(props, types) or name in mapped)
    if len(candidates) > 1:  # several functions take that kind: the one the event's resource names
        resources = " ".join(str(r) for r in event.get("resources") or []).lower()
        named = [name for name in candidates if name.removesuffix("Function").lower() in resources]
        candidates = named or candidates
    if len(candidates) != 1:
        found = ", ".join(candidates) or "none"
        raise InvokeError(f"{path}: which function takes this {kind} event ({found})? FUNCTION=")
    return candidates[0]


def custom_resource_function(event: dict[str, Any], template: dict[str, Any] | None = None) -> str | None:
    """For a CloudFormation custom-resource event: the function its resource's ServiceToken names."""
    if not (isinstance(event.get("RequestType"), str) and "ResponseURL" in event):
        return None
    resources = (template or load_template()).get("Resources", {})
    resource = resources.get(event.get("LogicalResourceId")) or {}
    function = _get_att_resource((resource.get("Properties") or {}).get("ServiceToken"))
    if function is None:
        raise InvokeError(
            f"no custom resource {event.get('LogicalResourceId')!r} with a function's ServiceToken"
        )
    return function


class ResponseCatcher:
    """A local stand-in for CloudFormation's pre-signed response URL: every PUT it receives is kept
    (``received``: dicts of ``path``, ``headers``, ``body``), answered 200."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        catcher = self

        class _Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                catcher.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/cfn-response?X-Amz-Signature=local"

    @contextlib.contextmanager
    def serving(self) -> Iterator[ResponseCatcher]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()

    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(item["body"]) for item in self.received]


def needs_session(event: dict[str, Any]) -> bool:
    headers = event.get("headers")
    return isinstance(headers, dict) and any(
        isinstance(value, str) and PLACEHOLDER.search(value) for value in headers.values()
    )


def fill_session(event: dict[str, Any], login: str) -> dict[str, Any]:
    """``event`` with every ``<session-token>`` in its headers replaced by a session of ``login``."""
    if not needs_session(event):
        return event
    from oss_tldr.errors import DomainError
    from oss_tldr.identity.local import issue_local_session
    from oss_tldr.settings import get_settings

    try:
        token = issue_local_session(login, github_token=get_settings().github_token).token
    except DomainError as exc:
        raise InvokeError(f"cannot sign in {login!r} locally: {exc.detail} ({exc.code})") from None
    headers = {
        key: PLACEHOLDER.sub(token, value) if isinstance(value, str) else value
        for key, value in event["headers"].items()
    }
    return {**event, "headers": headers}


def main(argv: list[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("args", nargs="+", metavar="[FUNCTION] EVENT", help="e.g. events/health.json")
    parser.add_argument("--function", help="logical id in template.yaml (default: from the event)")
    parser.add_argument("--login", default=DEFAULT_LOGIN, help="the local user of <session-token>")
    ns = parser.parse_args(argv)
    if len(ns.args) > 2:
        parser.error("at most a function and an event")
    given = ns.function or (ns.args[0] if len(ns.args) == 2 else None)
    path = Path(ns.args[-1])
    # Like `sam local invoke`: the function's logs on stderr (the layer's logger takes the stdout of the
    # moment it is first imported, inside this block), its response alone on stdout.
    with contextlib.redirect_stdout(err):
        try:
            event = read_event(path)
            function = function_for(event, path, given)
            event = fill_session(event, ns.login)
        except InvokeError as exc:
            err.write(f"error: {exc}\n")
            return 2
        if event.get("ResponseURL") == LOCAL_RESPONSE_URL:
            with ResponseCatcher().serving() as catcher:
                result = invoke(function, {**event, "ResponseURL": catcher.url})
            for document in catcher.documents():
                err.write(f"custom resource response: {json.dumps(document)}\n")
        else:
            result = invoke(function, event)
    out.write(json.dumps(result, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
