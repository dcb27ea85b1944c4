"""The resolver every API function uses: CORS from settings, validation on, errors mapped in one place.

Every error leaves as JSON ``{"detail": str, "code": str}`` with the right status and the CORS headers,
so the SPA can read ``detail``. Domain errors (:mod:`oss_tldr.errors`) carry their own status and code;
request validation failures are 422; anything unexpected is a logged 500 with no internals in the body.

A request is judged in this order, like API Gateway and the original app: body size (413), then the session
on protected routes (401), then the body and parameters (422), then the route. Powertools validates before
any middleware, so the first two run in front of its validation step (:class:`_CheckedRequestValidation`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from sqlalchemy.exc import DBAPIError, OperationalError

from oss_tldr.api.auth import authenticate_route
from oss_tldr.api.json_guard import check_json_text, check_json_value, check_parameters
from oss_tldr.db.errors import database_error_fields, log_exception
from oss_tldr.deadline import lambda_budget, request_deadline
from oss_tldr.errors import DatabaseUnavailable, DomainError, PayloadTooLarge, ValidationFailed
from oss_tldr.observability import logger, metrics, tracer
from oss_tldr.settings import get_settings

JSON = "application/json"
DEFAULT_MAX_BODY_BYTES = 64 * 1024


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


NOT_JSON = "Invalid request: the body must be JSON (Content-Type: application/json, UTF-8)."


def _limit_body(app: APIGatewayHttpResolver, max_body_bytes: int) -> None:
    event = app.current_event
    body = event.body or ""
    size = len(body) * 3 // 4 if event.is_base64_encoded else len(body)
    if size > max_body_bytes:
        raise PayloadTooLarge(f"The request body is larger than {max_body_bytes} bytes.")


def _check_parameters(app: APIGatewayHttpResolver) -> None:
    """Query and path parameters carry no NUL or surrogate (:mod:`oss_tldr.api.json_guard`)."""
    event = app.current_event
    check_parameters((event.query_string_parameters or {}).values())
    check_parameters((event.path_parameters or {}).values())


def _require_text_body(app: APIGatewayHttpResolver) -> None:
    """A body that is not UTF-8 text cannot be JSON: 422 (Powertools would fail decoding it)."""
    try:
        app.current_event.decoded_body  # noqa: B018 - decodes (and caches) a base64 body once, here
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(NOT_JSON) from exc


class _CheckedRequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, preceded by the body-size check and, on routes that
    ``require_session``, authentication. Powertools runs its validation before every middleware, so without
    this a request with neither a session nor a valid body would be a 422 instead of a 401, and an
    oversized body would be parsed before being refused. A body must be JSON (any other content type is a
    422) and a JSON object (Powertools would take the first element of an array as the body); its raw text
    is bounded before it is parsed (:mod:`oss_tldr.api.json_guard`: depth, number length, NUL and lone
    surrogates), and so are the query and path parameters."""

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.max_body_bytes = max_body_bytes

    def handler(self, app: Any, next_middleware: NextMiddleware) -> Response[Any]:
        _limit_body(app, self.max_body_bytes)
        authenticate_route(app)
        _check_parameters(app)
        _require_text_body(app)
        return super().handler(app, next_middleware)

    def _get_body(self, app: Any) -> dict[str, Any]:
        content_type = app.current_event.headers.get("content-type", "").strip().lower()
        if content_type and not content_type.startswith(JSON):
            # JSON in, always: Powertools would parse forms and multipart (and fail with a 500 on a
            # multipart type without a boundary).
            raise ValidationFailed(NOT_JSON)
        check_json_text(app.current_event.decoded_body or "")  # bounded before it is parsed
        body = super()._get_body(app)
        check_json_value(body)  # exactly what was parsed: no NUL or lone surrogate anywhere
        if isinstance(body, list):  # Powertools would validate the first element of an array instead
            error = {"type": "model_type", "loc": ("body",), "msg": "the body must be a JSON object"}
            raise RequestValidationError([error])
        return body


def create_app(*, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> APIGatewayHttpResolver:
    """A resolver with CORS, validation and the shared error mapping. One per function module."""
    settings = get_settings()
    origins = list(settings.cors_allow_origins) or ["*"]
    cors = CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )
    app = APIGatewayHttpResolver(cors=cors, enable_validation=True)
    app._request_validation_middleware = _CheckedRequestValidation(max_body_bytes)

    @app.exception_handler(DomainError)
    def _domain_error(exc: DomainError) -> Response[Any]:
        if exc.status >= 500:
            logger.warning("request failed upstream", extra={"code": exc.code, "status": exc.status})
        return error_response(exc.status, exc.detail, exc.code, exc.headers())

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[Any]:
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, _validation_detail(exc), "validation_error")

    @app.exception_handler(RequestUnsupportedContentType)
    def _not_json(exc: RequestUnsupportedContentType) -> Response[Any]:
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, NOT_JSON, "validation_error")

    @app.exception_handler(OperationalError)
    def _db_down(exc: OperationalError) -> Response[Any]:
        logger.warning("database unavailable", extra={"error": type(exc).__name__})
        err = DatabaseUnavailable()
        return error_response(err.status, err.detail, err.code)

    @app.exception_handler(DBAPIError)
    def _db_error(exc: DBAPIError) -> Response[Any]:
        if exc.connection_invalidated:
            err = DatabaseUnavailable()
            return error_response(err.status, err.detail, err.code)
        logger.error("database error", extra=database_error_fields(exc))
        return error_response(500, "An internal error occurred.", "internal_error")

    @app.not_found
    def _not_found(exc: Exception) -> Response[Any]:
        return error_response(404, "No such route.", "not_found")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[Any]:
        log_exception("unhandled error", exc)
        return error_response(500, "An internal error occurred.", "internal_error")

    return app


# Lambda runs one invocation per container at a time, and the Powertools resolvers rely on it: the current
# event and context live in class attributes shared by every resolver of the process. A process that calls
# handlers from several threads (the local API, tests) therefore runs one invocation at a time, like a
# container; concurrency across containers is real processes (tests/reports/test_report_processes.py).
# In Lambda the lock is never contended.
_ONE_INVOCATION_AT_A_TIME = threading.Lock()


def lambda_entrypoint(
    app: APIGatewayHttpResolver,
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler for ``app``: logger context with the API Gateway correlation id, metrics
    flushed, tracing without capturing responses (they can hold user data), and the request's deadline
    (:mod:`oss_tldr.deadline`) open for every upstream call it makes."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def resolve(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        budget = lambda_budget(remaining() if callable(remaining) else None)
        with _ONE_INVOCATION_AT_A_TIME, request_deadline(budget):
            return resolve(event, context)  # type: ignore[no-any-return]

    return handler
