"""What a request must pass before its route's parameters and body are validated, in the contract's order.

:func:`admit` runs in the entry point (:func:`oss_tldr.api.app.lambda_entrypoint`), before the resolver:

1. 413 ``payload_too_large``: the body is larger than the function's limit (before anything reads it);
2. 401: authentication by the route's :class:`~oss_tldr.api.auth.Access` level (a request without a session
   is a 401 whatever else is wrong with it);
3. 422: query and path parameters carry no NUL or surrogate; a body is UTF-8 text; a route that takes a body
   takes JSON (any other content type: Powertools would parse forms and multipart, and fail with a 500 on a
   multipart type without a boundary).

Then Powertools' own validation runs (parameters and body against the route's models), and it parses a JSON
body with :func:`parse_json_body`, the resolver's ``json_body_deserializer``: the raw text is bounded before
it is parsed (:mod:`oss_tldr.api.json_guard`: depth, number length, NUL and lone surrogates), what was parsed
is checked exactly, and the body must be an object (Powertools would validate the first element of an
array instead). Parsing once, where Powertools parses, also means only the routes that take a body pay
for it, and a 5 MB import is parsed once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from oss_tldr.api.auth import authenticate_for
from oss_tldr.api.json_guard import check_json_text, check_json_value, check_parameters
from oss_tldr.api.routes import Route
from oss_tldr.errors import PayloadTooLarge, ValidationFailed

JSON = "application/json"
DEFAULT_MAX_BODY_BYTES = 64 * 1024
NOT_JSON = "Invalid request: the body must be JSON (Content-Type: application/json, UTF-8)."


def admit(
    request: APIGatewayProxyEventV2,
    route: Route,
    *,
    max_body_bytes: int,
    routes_with_body: Callable[[], Collection[str]],
) -> dict[str, Any]:
    """Raise the request's 413, 401 or 422 (in that order), or return what authentication found, for the
    resolver's context. ``routes_with_body`` (the keys of the routes that take a body) is only asked for
    a request whose content type is not JSON."""
    _limit_body(request, max_body_bytes)
    context = authenticate_for(route.access, request.headers.get("authorization"))
    check_parameters((request.query_string_parameters or {}).values())
    check_parameters((request.path_parameters or {}).values())
    _require_text_body(request)
    content_type = request.headers.get("content-type", "").strip()
    if content_type and not content_type.startswith(JSON) and route.key in routes_with_body():
        if not content_type.lower().startswith(JSON):
            raise ValidationFailed(NOT_JSON)
        # "Application/JSON": Powertools refuses the type (422, NOT_JSON), once the text passed the guard
        check_json_text(request.decoded_body or "")
    return context


def _limit_body(request: APIGatewayProxyEventV2, max_body_bytes: int) -> None:
    body = request.body or ""
    size = len(body) * 3 // 4 if request.is_base64_encoded else len(body)
    if size > max_body_bytes:
        raise PayloadTooLarge(f"The request body is larger than {max_body_bytes} bytes.")


def _require_text_body(request: APIGatewayProxyEventV2) -> None:
    """A body that is not UTF-8 text cannot be JSON: 422 (Powertools would fail decoding it)."""
    try:
        request.decoded_body  # noqa: B018 - decodes a base64 body
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(NOT_JSON) from exc


def parse_json_body(text: str) -> Any:
    """The resolver's JSON body parser: bounded before it parses, checked after, an object or a 422."""
    check_json_text(text)
    body = json.loads(text)
    check_json_value(body)  # exactly what was parsed: no NUL or lone surrogate anywhere
    if isinstance(body, list):
        error = {"type": "model_type", "loc": ("body",), "msg": "the body must be a JSON object"}
        raise RequestValidationError([error])
    return body
