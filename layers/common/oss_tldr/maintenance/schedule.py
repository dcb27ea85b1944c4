"""What every scheduled function does around its work: the schedule's keys on the log lines, a deadline
for the invocation (the Lambda's remaining time less :data:`ANSWER_MARGIN_SECONDS`, which every upstream
call and every batch plans on, :mod:`oss_tldr.deadline`), then the result published and answered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from oss_tldr.deadline import request_deadline
from oss_tldr.observability import logger

# Left of the Lambda's timeout after the work: log the result and flush the metrics.
ANSWER_MARGIN_SECONDS = 5.0


class Result(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Result)


class RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def run_scheduled(
    event: dict[str, Any], context: RemainingTime, work: Callable[[], R], publish: Callable[[R], None]
) -> dict[str, Any]:
    """Run ``work`` for an EventBridge Scheduler event (``events/*_schedule.json``: only its schedule ARN
    and time are read, for the logs), publish what it did, and answer it."""
    logger.append_keys(
        schedule=event.get("resources") or event.get("source"), scheduled_time=event.get("time")
    )
    budget = context.get_remaining_time_in_millis() / 1000.0 - ANSWER_MARGIN_SECONDS
    with request_deadline(budget):
        result = work()
    publish(result)
    return result.as_dict()
