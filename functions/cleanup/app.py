"""Cleanup function: the hourly EventBridge Scheduler target (no HTTP route).

Deletes what is expired or past retention in bounded batches (:mod:`oss_tldr.maintenance.cleanup`),
stopping before the invocation's time runs out, and answers what it deleted. The event's content is not
needed (``events/cleanup_schedule.json`` is the shape the schedule sends); two overlapping runs are safe.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from oss_tldr.deadline import request_deadline
from oss_tldr.maintenance.cleanup import publish, run_cleanup
from oss_tldr.observability import logger, metrics

# Left of the Lambda's timeout after the last batch: log the line and flush the metrics.
ANSWER_MARGIN_SECONDS = 5.0


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(
        schedule=event.get("resources") or event.get("source"), scheduled_time=event.get("time")
    )
    budget = context.get_remaining_time_in_millis() / 1000.0 - ANSWER_MARGIN_SECONDS
    with request_deadline(budget):
        result = run_cleanup()
    publish(result)
    return result.as_dict()
