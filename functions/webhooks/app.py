"""Webhooks function: ``POST /webhooks/github`` (GitHub's webhook deliveries; no ``/api/v1`` prefix).

The signature is the route's authentication (:class:`~oss_tldr.api.auth.Access` ``PUBLIC``: no session):
``X-Hub-Signature-256`` must be the HMAC-SHA256 of the exact bytes GitHub sent under
``GITHUB_WEBHOOK_SECRET`` (in AWS the Secrets Manager secret ``GITHUB_WEBHOOK_SECRET_ARN``); without a
secret every delivery is refused. A missing or bad signature is a 401 and stores nothing. Then the delivery
is stored once by ``X-GitHub-Delivery`` (:mod:`oss_tldr.webhooks.deliveries`): ``ping`` and the activity
events answer 200, a repeated delivery 200 with ``"duplicate": true`` doing nothing, any other event 202.
"""

from __future__ import annotations

import gc

gc.disable()  # for the import only: the entry point freezes what it built and turns it back on

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from oss_tldr.api import create_app, lambda_entrypoint
from oss_tldr.api.auth import Access
from oss_tldr.api.responses import Error, errors
from oss_tldr.errors import Unauthorized, ValidationFailed
from oss_tldr.observability import logger
from oss_tldr.secrets import resolve_secret
from oss_tldr.settings import get_settings
from oss_tldr.webhooks.deliveries import Delivery, handle_delivery
from oss_tldr.webhooks.signature import SIGNATURE_HEADER, verify_signature

ROUTES = {"POST /webhooks/github": Access.PUBLIC}
# GitHub caps a payload at 25 MB and API Gateway a request at 10 MB; the events this service subscribes to
# (an issue or pull request and a comment or review, each body at most 65,536 characters) fit far inside
# this. A larger delivery is a 413 (docs/api.md) and stores nothing.
MAX_BODY_BYTES = 2 * 1024 * 1024
_MAX_HEADER_VALUE = 64
app = create_app()


class DeliveryAnswer(BaseModel):
    delivery: str
    event: str
    duplicate: bool
    stale_reports: int


def _raw_body(event: dict[str, Any]) -> bytes:
    """The exact bytes GitHub signed: API Gateway passes a text body as text and anything else base64."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationFailed("Invalid request: the body is not valid base64.") from exc
    return str(body).encode("utf-8")


def _payload(raw: bytes, content_type: str) -> dict[str, Any]:
    """The delivery's JSON object: the body (``application/json``) or its ``payload`` field (GitHub's
    ``application/x-www-form-urlencoded`` content type)."""
    try:
        text = raw.decode("utf-8")
        if content_type.lower().startswith("application/x-www-form-urlencoded"):
            text = parse_qs(text, strict_parsing=True).get("payload", [""])[0]
        value = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed("Invalid request: the delivery is not a JSON payload.") from exc
    if not isinstance(value, dict):
        raise ValidationFailed("Invalid request: the delivery's payload must be a JSON object.")
    return value


def _header(headers: dict[str, str], name: str) -> str:
    value = (headers.get(name) or "").strip()
    if not value or len(value) > _MAX_HEADER_VALUE or not value.isprintable():
        raise ValidationFailed(f"Invalid request: the {name} header is missing or malformed.")
    return value


RESPONSES = errors(
    success={
        200: {
            "description": "Stored: a ping or an activity event (its repository's live reports marked stale),"
            " or a delivery already stored (duplicate: true, nothing done).",
            "content": {"application/json": {"model": DeliveryAnswer}},
        },
        202: {
            "description": "Stored: an event this service does not act on.",
            "content": {"application/json": {"model": DeliveryAnswer}},
        },
        401: {
            "description": "No webhook secret is configured, or X-Hub-Signature-256 is missing or wrong:"
            " nothing is stored.",
            "content": {"application/json": {"model": Error}},
        },
    }
)


@app.post("/webhooks/github", responses=RESPONSES)
def github_webhook() -> Response[DeliveryAnswer]:
    """One GitHub delivery: 401 unless its signature verifies; stored once; ``ping`` and activity events
    200, other events 202, a repeated delivery 200 doing nothing."""
    event = app.current_event
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    settings = get_settings()
    secret = resolve_secret(settings.github_webhook_secret, settings.github_webhook_secret_arn)
    if not secret:
        raise Unauthorized("Webhooks are not configured on this service.", code="webhook_secret_unset")
    raw = _raw_body(event.raw_event)
    if not verify_signature(secret, raw, headers.get(SIGNATURE_HEADER)):
        raise Unauthorized(
            "The X-Hub-Signature-256 header is missing or does not match the body.",
            code="invalid_signature",
        )
    delivery = Delivery(
        delivery_id=_header(headers, "x-github-delivery"),
        event=_header(headers, "x-github-event"),
        payload=_payload(raw, headers.get("content-type", "")),
    )
    result = handle_delivery(delivery)
    logger.info("webhook delivery", extra={"webhook": result.as_dict()})
    status = 200 if result.handled or result.duplicate else 202
    return Response(status_code=status, content_type="application/json", body=result.as_dict())


lambda_handler = lambda_entrypoint(app, ROUTES, max_body_bytes=MAX_BODY_BYTES)
