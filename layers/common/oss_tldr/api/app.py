"""The resolver every API function uses: CORS from settings, validation on, errors mapped in one place.

Every error leaves as JSON ``{"detail": str, "code": str}`` with the right status and the CORS headers,
so the SPA can read ``detail``. Domain errors (:mod:`oss_tldr.errors`) carry their own status and code;
request validation failures are 422; anything unexpected is a logged 500 with no internals in the body.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from sqlalchemy.exc import DBAPIError, OperationalError

from oss_tldr.errors import DatabaseUnavailable, DomainError, PayloadTooLarge
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

    def _limit_body(app: APIGatewayHttpResolver, next_middleware: Callable[..., Any]) -> Any:
        body = app.current_event.body or ""
        if len(body) > max_body_bytes:
            raise PayloadTooLarge(f"The request body is larger than {max_body_bytes} bytes.")
        return next_middleware(app)

    app.use(middlewares=[_limit_body])

    @app.exception_handler(DomainError)
    def _domain_error(exc: DomainError) -> Response[Any]:
        if exc.status >= 500:
            logger.warning("request failed upstream", extra={"code": exc.code, "status": exc.status})
        return error_response(exc.status, exc.detail, exc.code, exc.headers())

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[Any]:
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, _validation_detail(exc), "validation_error")

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
        logger.exception("database error")
        return error_response(500, "An internal error occurred.", "internal_error")

    @app.not_found
    def _not_found(exc: Exception) -> Response[Any]:
        return error_response(404, "No such route.", "not_found")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[Any]:
        logger.exception("unhandled error")
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
    flushed, tracing without capturing responses (they can hold user data)."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def resolve(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return app.resolve(event, context)

    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        with _ONE_INVOCATION_AT_A_TIME:
            return resolve(event, context)  # type: ignore[no-any-return]

    return handler
