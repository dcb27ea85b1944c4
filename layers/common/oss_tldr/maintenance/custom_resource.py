"""The CloudFormation custom-resource protocol, as the migration function speaks it.

CloudFormation invokes the function with ``RequestType`` (Create, Update, Delete) and a pre-signed
``ResponseURL``, and waits (up to an hour) for a JSON document PUT there: ``Status`` SUCCESS or FAILED, a
``Reason``, the ``PhysicalResourceId`` and ``Data`` (what ``!GetAtt`` reads). A FAILED answer fails the
resource, so the deploy rolls back.

Why not crhelper (2.0.12): its sender retries an unreachable URL forever (``while True``) until the
Lambda times out, speaks HTTPS only (the local response URL of the tests and of ``make invoke`` would need
certificates), creates Lambda, EventBridge and CloudWatch Logs clients for a polling feature this function
does not use, reconfigures the root logger beside Powertools', and sends ``str(exception)`` as the reason,
where this function must decide what a reason may say. What is left is this module.

The response URL is a credential (anyone holding it can answer for the stack): it is never logged.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oss_tldr.observability import logger

REQUEST_TYPES = frozenset({"Create", "Update", "Delete"})
REQUIRED_KEYS = ("RequestType", "ResponseURL", "StackId", "RequestId", "LogicalResourceId")
REASON_MAX = 1000  # the whole response must stay under CloudFormation's 4 KB
SEND_ATTEMPTS = 4
SEND_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Outcome:
    status: str  # SUCCESS or FAILED
    reason: str
    physical_id: str
    data: Mapping[str, str] = field(default_factory=dict)


def is_custom_resource_event(event: Mapping[str, Any]) -> bool:
    return event.get("RequestType") in REQUEST_TYPES and all(
        isinstance(event.get(key), str) for key in REQUIRED_KEYS
    )


def response_body(event: Mapping[str, Any], outcome: Outcome) -> dict[str, Any]:
    reason = outcome.reason if len(outcome.reason) <= REASON_MAX else outcome.reason[: REASON_MAX - 1] + "…"
    return {
        "Status": outcome.status,
        "Reason": reason,
        "PhysicalResourceId": outcome.physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": dict(outcome.data),
    }


def send_response(url: str, body: Mapping[str, Any], *, attempts: int = SEND_ATTEMPTS) -> bool:
    """PUT ``body`` to the response URL; True once it is accepted (a few attempts, then False: the
    stack then waits for its timeout, and the log says why)."""
    if not url.startswith(("https://", "http://")):  # CloudFormation's is https; the local catcher's http
        logger.error("custom resource response URL is not http(s)")
        return False
    payload = json.dumps(body).encode()
    # An empty Content-Type: the URL's signature covers none (urllib would otherwise add a form type).
    headers = {"Content-Type": "", "Content-Length": str(len(payload))}
    for attempt in range(attempts):
        request = urllib.request.Request(url, data=payload, method="PUT", headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_SECONDS) as answer:  # noqa: S310
                logger.info("custom resource response sent", extra={"http_status": answer.status})
                return True
        except urllib.error.HTTPError as exc:
            logger.warning("custom resource response refused", extra={"http_status": exc.code})
        except (urllib.error.URLError, OSError) as exc:
            logger.warning("custom resource response not sent", extra={"error": type(exc).__name__})
        if attempt + 1 < attempts:
            time.sleep(min(2**attempt, 8))
    logger.error("custom resource response never sent", extra={"attempts": attempts})
    return False
