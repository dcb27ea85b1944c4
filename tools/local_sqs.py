"""A local SQS for the report queue, and the event source mapping that feeds the worker function from it.

``make dev`` and the tests run the same pieces:

* :func:`start_server`: moto's SQS server (``moto[server]``) on a free local port; boto3 in the layer talks
  to it over HTTP through ``AWS_ENDPOINT_URL_SQS``, exactly as it talks to SQS in AWS.
* :func:`create_queues`: the report queue and its dead-letter queue with the redrive policy of
  template.yaml (``maxReceiveCount`` = ``REPORT_QUEUE_MAX_RECEIVES``).
* :func:`deliver`: what Lambda's SQS event source mapping does once: receive a batch, invoke the worker's
  handler with the real SQS event payload, delete the records that succeeded and leave the ones reported in
  ``batchItemFailures`` to come back after their visibility timeout (``ReportBatchItemFailures``).
* :class:`WorkerLoop`: :func:`deliver` in a thread, long-polling, for ``make dev``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from tools.lambda_local import FakeLambdaContext, functions, load_handler

log = logging.getLogger("local-sqs")
WORKER = "ReportWorkerFunction"
REGION = "us-east-1"
ACCOUNT = "123456789012"
# Credentials for the local server only (moto accepts any); set when none are configured.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def start_server() -> tuple[Any, str]:
    """moto's SQS server on 127.0.0.1 and a free port: ``(server, endpoint_url)``; ``server.stop()``."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def client(endpoint_url: str) -> Any:
    import boto3

    return boto3.client(
        "sqs",
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@dataclass(frozen=True)
class Queues:
    url: str
    arn: str
    dead_letter_url: str


def create_queues(sqs: Any, name: str, *, max_receives: int, visibility_timeout: int) -> Queues:
    """The report queue and its dead-letter queue, with template.yaml's redrive policy."""
    dead_letter_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_letter_arn = _arn(sqs, dead_letter_url)
    redrive = {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": str(max_receives)}
    url = sqs.create_queue(
        QueueName=name,
        Attributes={"RedrivePolicy": json.dumps(redrive), "VisibilityTimeout": str(visibility_timeout)},
    )["QueueUrl"]
    return Queues(url=url, arn=_arn(sqs, url), dead_letter_url=dead_letter_url)


def _arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping sends for ``messages`` (``receive_message`` results)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def worker_timeout_ms() -> int:
    return int(functions()[WORKER].get("Timeout", 300)) * 1000


def deliver(sqs: Any, queues: Queues, *, wait_seconds: int = 0, batch_size: int = 5) -> dict[str, Any] | None:
    """One poll of the event source mapping: the worker's answer for the batch it received, or None when
    the queue had nothing visible. Records the answer did not report failed are deleted."""
    received = sqs.receive_message(
        QueueUrl=queues.url,
        MaxNumberOfMessages=batch_size,
        WaitTimeSeconds=wait_seconds,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    if not received:
        return None
    handler = load_handler(WORKER)
    answer = handler(
        sqs_event(received, queues.arn),
        FakeLambdaContext(function_name=WORKER, timeout_ms=worker_timeout_ms()),
    )
    failed = {item["itemIdentifier"] for item in (answer or {}).get("batchItemFailures", [])}
    done = [m for m in received if m["MessageId"] not in failed]
    if done:
        sqs.delete_message_batch(
            QueueUrl=queues.url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)],
        )
    return dict(answer or {})


class WorkerLoop(threading.Thread):
    """The worker function fed from the local queue, as the event source mapping does in AWS."""

    def __init__(self, sqs: Any, queues: Queues) -> None:
        super().__init__(name="report-worker", daemon=True)
        self.sqs, self.queues = sqs, queues
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                answer = deliver(self.sqs, self.queues, wait_seconds=1)
            except Exception:  # the worker crashed: Lambda would retry the batch; keep polling
                log.exception("report worker invocation failed")
                self.stopping.wait(1.0)
                continue
            if answer and answer.get("batchItemFailures"):
                log.info("report worker: %d message(s) will be retried", len(answer["batchItemFailures"]))

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
