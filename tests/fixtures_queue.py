"""Pytest fixtures for the report queue (loaded by tests/conftest.py): moto's SQS server, as ``make dev`` runs
it (tools/local_sqs.py), and the worker fed from it the way Lambda's event source mapping feeds it.

* ``report_queue``: a fresh queue + dead-letter queue (redrive after ``max_receives``), ``REPORT_QUEUE_URL``
  and the SQS endpoint set for the test. ``report_queue.drain()`` delivers batches to the worker handler
  until the queue is empty; ``.visible()``, ``.dead_letters()``, ``.send(body)``.
* The requests the queue's tests make, through the routes (``from fixtures_queue import generate, ...``):
  :func:`generate`, :func:`job`, :func:`section`, and :func:`failures` of a worker's answer.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import pytest

_names = itertools.count(1)
REPO = "octo/hello"


def generate(user: Any, repo: str = REPO, **extra: Any) -> Any:
    """``POST /reports/generate`` for ``repo`` (extra keys in the body)."""
    from helpers import call_route

    return call_route(user, "POST", "/api/v1/reports/generate", body={"repo_url": repo, **extra})


def job(user: Any, job_id: str) -> Any:
    from helpers import call_route

    return call_route(user, "GET", f"/api/v1/reports/jobs/{job_id}")


def section(user: Any, name: str, repo: str = REPO) -> Any:
    from helpers import call_route

    return call_route(user, "GET", f"/api/v1/reports/{repo}/{name}", query="timeframe=last_week")


def failures(answer: dict[str, Any]) -> list[str]:
    """The message ids a worker's answer reported failed (``batchItemFailures``)."""
    return [item["itemIdentifier"] for item in answer.get("batchItemFailures", [])]


@pytest.fixture(scope="session")
def sqs_endpoint():
    from tools.local_sqs import start_server

    server, endpoint = start_server()
    yield endpoint
    server.stop()


@dataclass
class ReportQueue:
    sqs: Any
    queues: Any
    max_receives: int

    @property
    def url(self) -> str:
        return str(self.queues.url)

    def send(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.url, MessageBody=body)

    def _count(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def visible(self) -> int:
        """Messages in the queue (visible or in flight)."""
        return self._count(self.url)

    def bodies(self) -> list[dict[str, Any]]:
        """The queued messages' bodies, without receiving them for the worker (peeked, then made visible)."""
        got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return [json.loads(m["Body"]) for m in got.get("Messages", [])]

    def dead_letters(self) -> list[dict[str, Any]]:
        got = self.sqs.receive_message(
            QueueUrl=self.queues.dead_letter_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        )
        return list(got.get("Messages", []))

    def deliver(self) -> dict[str, Any] | None:
        """One poll of the event source mapping (None: nothing was visible)."""
        from tools.local_sqs import deliver

        return deliver(self.sqs, self.queues)

    def drain(self, *, rounds: int = 20) -> list[dict[str, Any]]:
        """Deliver until nothing is visible; the worker's answers, one per batch."""
        answers = []
        for _ in range(rounds):
            answer = self.deliver()
            if answer is None:
                return answers
            answers.append(answer)
        raise AssertionError(f"the queue was not empty after {rounds} deliveries")


@pytest.fixture
def report_queue(sqs_endpoint, settings_env, monkeypatch):
    from oss_tldr.reports import queue
    from tools.local_sqs import LOCAL_CREDENTIALS, client, create_queues

    max_receives = 3
    sqs = client(sqs_endpoint)
    queues = create_queues(sqs, f"reports-{next(_names)}", max_receives=max_receives, visibility_timeout=0)
    for key, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    settings_env(
        REPORT_QUEUE_URL=queues.url,
        AWS_ENDPOINT_URL_SQS=sqs_endpoint,
        REPORT_QUEUE_MAX_RECEIVES=str(max_receives),
        REPORT_QUEUE_RETRY_SECONDS="0",
    )
    queue.reset_client()
    yield ReportQueue(sqs=sqs, queues=queues, max_receives=max_receives)
    queue.reset_client()
