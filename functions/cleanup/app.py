"""Cleanup function: the hourly EventBridge Scheduler target (no HTTP route).

Deletes what is expired or past retention in bounded batches (:mod:`oss_tldr.maintenance.cleanup`),
stopping before the invocation's time runs out, and answers what it deleted. The event's content is not
needed (``events/cleanup_schedule.json`` is the shape the schedule sends); two overlapping runs are safe.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from oss_tldr.maintenance.cleanup import publish, run_cleanup
from oss_tldr.maintenance.schedule import run_scheduled
from oss_tldr.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_scheduled(event, context, run_cleanup, publish)
