"""The report queue: a claimed generation handed to the worker function over SQS.

A message is ``{"job_id": "<uuid>"}`` and nothing else. The worker reads the job's cache key and requester
from ``report_jobs``, so a message carries no authority: whoever could send one can only make the worker run
a job that some user's request already claimed (and a finished job's message does nothing).

boto3 is imported on the first send only (the cache hit never pays for it); the queue's endpoint is boto3's
own configuration (``AWS_ENDPOINT_URL_SQS`` points it at the local SQS of ``make dev``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import uuid
from typing import Any

from oss_tldr.errors import ServiceUnavailable
from oss_tldr.settings import get_settings

MESSAGE_VERSION = 1


class QueueUnavailable(ServiceUnavailable):
    code = "queue_unavailable"
    default_detail = "The report could not be queued; try again shortly."
    retry_after = 5


def configured() -> bool:
    """Whether generations go to the worker (``REPORT_QUEUE_URL`` set)."""
    return bool(get_settings().report_queue_url)


@functools.cache
def _client(region: str) -> Any:
    import boto3  # cold start: only a request that queues a generation pays for it

    return boto3.client("sqs", region_name=region)


def reset_client() -> None:
    """Forget the cached SQS client (tests switch endpoints and credentials)."""
    _client.cache_clear()


def message_body(job_id: uuid.UUID) -> str:
    return json.dumps({"v": MESSAGE_VERSION, "job_id": str(job_id)}, separators=(",", ":"))


def parse_message(body: str) -> uuid.UUID:
    """The job id of a message body; :class:`ValueError` for anything else (a poisoned message)."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise ValueError("the message is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("job_id"), str):
        raise ValueError("the message has no job_id")
    return uuid.UUID(data["job_id"])  # ValueError for a malformed id


def send(job_id: uuid.UUID) -> None:
    """Queue ``job_id`` for the worker; :class:`QueueUnavailable` when SQS refuses or cannot be reached."""
    settings = get_settings()
    if not settings.report_queue_url:
        raise QueueUnavailable()
    try:
        _client(settings.aws_region).send_message(
            QueueUrl=settings.report_queue_url, MessageBody=message_body(job_id)
        )
    except Exception as exc:  # botocore's ClientError, EndpointConnectionError, credentials errors
        raise QueueUnavailable() from exc


MAX_RETRY_SECONDS = 900


def retry_delay(receive_count: int, *, retry_after: int | None = None) -> int:
    """Seconds until a failed message comes back: the error's own ``Retry-After`` when it has one, else
    ``REPORT_QUEUE_RETRY_SECONDS`` doubled on each receive; at most 15 minutes."""
    if retry_after is not None:
        return min(max(0, retry_after), MAX_RETRY_SECONDS)
    base = get_settings().report_queue_retry_seconds
    return int(min(base * 2 ** max(0, receive_count - 1), MAX_RETRY_SECONDS))


def retry_in(receipt_handle: str, seconds: int) -> None:
    """Make a received message visible again in ``seconds`` (instead of the queue's visibility timeout,
    which is several times the worker's timeout). Best effort: if SQS refuses, the timeout applies."""
    settings = get_settings()
    with contextlib.suppress(Exception):  # the queue's own visibility timeout brings the message back
        _client(settings.aws_region).change_message_visibility(
            QueueUrl=settings.report_queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )
