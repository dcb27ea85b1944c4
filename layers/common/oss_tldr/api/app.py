"""The resolver every API function uses, and its Lambda entry point: CORS from settings, validation on,
errors mapped in one place.

Every error leaves as JSON ``{"detail": str, "code": str}`` with the right status and the CORS headers,
so the SPA can read ``detail``. Domain errors (:mod:`oss_tldr.errors`) carry their own status and code;
request validation failures are 422; anything unexpected is a logged 500 with no internals in the body.

A request is judged in this order, like API Gateway and the original app: body size (413), then the session
on protected routes (401), then the body and parameters (422), then the route. Powertools validates a
request before any middleware runs, so the entry point judges the first two (and the 422s Powertools cannot
give: :mod:`oss_tldr.api.checks`) itself, from the function's route table (:mod:`oss_tldr.api.routes`),
before it hands the request to the resolver; a refused request never reaches the resolver.
"""

from __future__ import annotations

import functools
import gc
import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext
from sqlalchemy.exc import DBAPIError, OperationalError

from oss_tldr.api import snapstart
from oss_tldr.api.checks import DEFAULT_MAX_BODY_BYTES, JSON, NOT_JSON, admit, parse_json_body
from oss_tldr.api.routes import METHODS, RouteMatcher, RouteTable
from oss_tldr.db.errors import database_error_fields, log_exception
from oss_tldr.deadline import lambda_budget, request_deadline
from oss_tldr.errors import DatabaseUnavailable, DomainError
from oss_tldr.observability import count_for_function, logger, metrics, tracer
from oss_tldr.settings import get_settings


def error_response(
    status: int, detail: str, code: str, headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps({"detail": detail, "code": code}),
        headers=headers or {},
    )


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        msg = err.get("msg", "is not valid")
        parts.append(f"{loc}: {msg}" if loc else str(msg))
    return "Invalid request: " + ("; ".join(parts) if parts else "the request is not valid") + "."


def error_for(exc: Exception) -> Response[Any]:
    """The one mapping of an exception to the contract's error response (the resolver's exception handler,
    and the entry point's for a request it refuses)."""
    if isinstance(exc, DomainError):
        if exc.status >= 500:
            logger.warning("request failed upstream", extra={"code": exc.code, "status": exc.status})
        return error_response(exc.status, exc.detail, exc.code, exc.headers())
    if isinstance(exc, RequestUnsupportedContentType):
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, NOT_JSON, "validation_error")
    if isinstance(exc, RequestValidationError):
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, _validation_detail(exc), "validation_error")
    if isinstance(exc, OperationalError):
        logger.warning("database unavailable", extra={"error": type(exc).__name__})
        down = DatabaseUnavailable()
        return error_response(down.status, down.detail, down.code)
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            down = DatabaseUnavailable()
            return error_response(down.status, down.detail, down.code)
        logger.error("database error", extra=database_error_fields(exc))
        return error_response(500, "An internal error occurred.", "internal_error")
    log_exception("unhandled error", exc)
    return error_response(500, "An internal error occurred.", "internal_error")


def _cors() -> CORSConfig:
    origins = list(get_settings().cors_allow_origins) or ["*"]
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )


def create_app() -> APIGatewayHttpResolver:
    """A resolver with CORS, validation (a JSON body is parsed by
    :func:`~oss_tldr.api.checks.parse_json_body`) and the shared error mapping. One per function module; its
    entry point is :func:`lambda_entrypoint`."""
    app = APIGatewayHttpResolver(cors=_cors(), enable_validation=True, json_body_deserializer=parse_json_body)
    app.exception_handler(Exception)(error_for)

    @app.not_found
    def _not_found(exc: Exception) -> Response[Any]:
        return error_response(404, "No such route.", "not_found")

    return app


def _refused(response: Response[Any], request: APIGatewayProxyEventV2, cors: CORSConfig) -> dict[str, Any]:
    """The Lambda response for a request refused before the resolver: what the resolver would answer,
    with the CORS headers it would add for the request's origin."""
    origin = request.headers.get("origin")
    allowed = cors.allowed_origin(origin) if origin is not None else None
    if allowed is not None:
        response.headers.update(cors.to_dict(allowed))
    return {  # API Gateway's payload format 2.0, as the resolver builds it
        "statusCode": response.status_code,
        "body": response.body,
        "isBase64Encoded": False,
        "headers": dict(response.headers),
        "cookies": [],
    }


def _routes_with_body(app: APIGatewayHttpResolver) -> frozenset[str]:
    """The route keys of ``app``'s routes that take a request body, from its OpenAPI description."""
    keys = set()
    for path, item in (app.get_openapi_schema().paths or {}).items():
        for method in METHODS:
            operation = getattr(item, method.lower(), None)
            if operation is not None and operation.requestBody is not None:
                keys.add(f"{method} {path}")
    return frozenset(keys)


# Lambda runs one invocation per container at a time, and the Powertools resolvers rely on it: the current
# event and context live in class attributes shared by every resolver of the process. A process that calls
# handlers from several threads (the local API, tests) therefore runs one invocation at a time, like a
# container; concurrency across containers is real processes (tests/reports/test_report_processes.py).
# In Lambda the lock is never contended.
_ONE_INVOCATION_AT_A_TIME = threading.Lock()


def _end_of_init() -> None:
    """The end of a function's initialisation (its module is imported, its resolver built): what the import
    built lives as long as the process, so it is frozen out of the collector's generations
    (``gc.freeze``), then the collector, off since the module's first line, is turned back on.

    An API function's ``app.py`` starts with ``gc.disable()``: its import allocates some 90,000 objects that
    the collector would otherwise walk about 200 times (60-200 ms of a cold start measured here); a request
    then only scans what it allocated itself, and a SnapStart snapshot holds a collector state with nothing
    to do (the ``gc.freeze`` documentation's advice before a ``fork``, which a restore resembles)."""
    gc.freeze()
    gc.enable()


def lambda_entrypoint(
    app: APIGatewayHttpResolver,
    routes: RouteTable,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    prime: tuple[str, ...] = (),
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler for ``app``, whose routes and their :class:`~oss_tldr.api.auth.Access` are
    ``routes`` (route key, exactly as in template.yaml, to access level): logger context with the API
    Gateway correlation id, metrics flushed, tracing without capturing responses (they can hold user data),
    and the request's deadline (:mod:`oss_tldr.deadline`) open for every upstream call it makes.

    A request for one of ``routes`` is admitted first (:func:`oss_tldr.api.checks.admit`: 413, 401, 422, in
    that order); what authentication found reaches the route through the resolver's context. Anything
    else (an unknown path, a CORS preflight) goes straight to the resolver (404, 204).

    ``prime``: the modules the function's miss paths import when they first run (kept off the import for
    the cold start), imported before a SnapStart snapshot instead (:mod:`oss_tldr.api.snapstart`)."""
    snapstart.register(prime)  # in the Lambda runtime only (SnapStart's restore hooks)
    _end_of_init()
    matcher = RouteMatcher(routes)
    cors = _cors()
    with_body = functools.cache(lambda: _routes_with_body(app))  # built only for a non-JSON content type

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def resolve(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        request = APIGatewayProxyEventV2(event)
        route = matcher.match(request.http_method.upper(), request.path)
        if route is not None:
            try:
                found = admit(request, route, max_body_bytes=max_body_bytes, routes_with_body=with_body)
            except Exception as exc:  # mapped as the resolver maps it
                return _refused(error_for(exc), request, cors)
            app.append_context(**found)  # type: ignore[no-untyped-call]
        try:
            return app.resolve(event, context)
        finally:
            app.clear_context()  # type: ignore[no-untyped-call]  # the resolver does too; never a principal left over

    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        budget = lambda_budget(remaining() if callable(remaining) else None)
        with _ONE_INVOCATION_AT_A_TIME, request_deadline(budget):
            response: dict[str, Any] = resolve(event, context)
        if int(response.get("statusCode", 200)) >= 500:  # the function's 5xx-rate alarm (template.yaml)
            count_for_function("Http5xx", getattr(context, "function_name", "local"))
        return response

    return handler
