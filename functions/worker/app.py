"""Report worker function: the SQS target of the report queue (no HTTP route).

Each record's body names a queued report job (:mod:`oss_tldr.reports.queue`); :func:`oss_tldr.reports.
worker.run_job` runs it. Powertools' batch utility reports each failed record in ``batchItemFailures``
(the event source mapping has ``ReportBatchItemFailures``), so only those messages come back: a finished
job's redelivered message does nothing, a transiently failed one comes back after a growing delay (its
visibility timeout set here), and after ``REPORT_QUEUE_MAX_RECEIVES`` receives SQS moves a message that
keeps failing — a poisoned one at once — to the dead-letter queue. A record that would start with too
little of the invocation left fails untouched and comes back.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from oss_tldr.deadline import remaining, request_deadline
from oss_tldr.errors import DomainError
from oss_tldr.observability import logger, metrics
from oss_tldr.reports import queue
from oss_tldr.reports.worker import RetryLater, run_job

# Left of the Lambda's timeout after the last record: log the line and flush the metrics.
ANSWER_MARGIN_SECONDS = 5.0
# A record is not started with less than this left (a generation takes seconds to a minute).
MIN_RECORD_SECONDS = 30.0

# Every record failed: still answered as batchItemFailures (not raised), so the mapping sees the same answer
# for one failure as for all.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> str:
    try:
        job_id = queue.parse_message(record.body)
    except ValueError:
        logger.warning("poisoned report queue message", extra={"message_id": record.message_id})
        queue.retry_in(record.receipt_handle, 0)  # it never succeeds: on to the dead-letter queue
        raise
    receive_count = int(record.attributes.approximate_receive_count or "1")
    logger.append_keys(job_id=str(job_id), receive_count=receive_count)
    left = remaining()
    try:
        if left is not None and left < MIN_RECORD_SECONDS:
            raise RetryLater("too little of the invocation left")
        run = run_job(job_id, receive_count=receive_count)
    except (RetryLater, DomainError) as exc:
        retry_after = exc.retry_after
        queue.retry_in(record.receipt_handle, queue.retry_delay(receive_count, retry_after=retry_after))
        logger.warning("queued job will be retried", extra={"reason": str(exc)[:200]})
        raise
    except Exception:  # the database away while reading or adopting the job: retried like a transient error
        queue.retry_in(record.receipt_handle, queue.retry_delay(receive_count))
        logger.exception("queued job failed unexpectedly; it will be retried")
        raise
    logger.info("queued job handled", extra={"outcome": run.outcome})
    return run.outcome


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    budget = context.get_remaining_time_in_millis() / 1000.0 - ANSWER_MARGIN_SECONDS
    with request_deadline(budget):
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
