"""Warming function: the EventBridge Scheduler target two minutes past every hour (no HTTP route).

Regenerates the popular public reports that expired at the hour, with the service token, within the
run's budget of GitHub points and LLM requests (:mod:`oss_tldr.maintenance.warming`), stopping before the
invocation's time runs out, and answers what it warmed, skipped and why. The event's content is not
needed (``events/warming_schedule.json`` is the shape the schedule sends); two overlapping runs are safe
(the reports' single flight).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from oss_tldr.maintenance.schedule import run_scheduled
from oss_tldr.maintenance.warming import publish, run_warming
from oss_tldr.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_scheduled(event, context, run_warming, publish)
