"""Powertools Logger, Metrics and Tracer: created once per container, shared by every module.

The service name comes from ``POWERTOOLS_SERVICE_NAME`` (set per function in template.yaml). Tracing runs
only in AWS with tracing on: otherwise the Tracer gets a no-op provider, because the X-Ray SDK it would
import (with botocore) costs about half a second of cold start for traces nobody collects.
"""

from __future__ import annotations

import contextlib
import numbers
import warnings
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from oss_tldr.settings import get_settings


class _NoopSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class NoopTracingProvider(BaseProvider):
    """What the Tracer talks to when tracing is off: nothing is recorded, nothing is imported."""

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield _NoopSegment()

    @contextlib.asynccontextmanager
    async def in_subsegment_async(
        self, name: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[BaseSegment, None]:
        yield _NoopSegment()

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Sequence[str]) -> None:
        pass

    def patch_all(self) -> None:
        pass


def _build_tracer() -> Tracer:
    if get_settings().tracing_enabled:
        return Tracer(service="oss-tldr")
    return Tracer(service="oss-tldr", disabled=True, auto_patch=False, provider=NoopTracingProvider())


NAMESPACE = "OssTldr"  # every metric the code emits; the alarms and the dashboard read them there
SERVICE = "oss-tldr"  # the ``service`` dimension of every metric, whatever the function
logger = Logger(service=SERVICE, use_rfc3339=True)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = _build_tracer()

# A function that published no metric in an invocation (health, auth) is normal, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def count_for_function(name: str, function_name: str) -> None:
    """One count of ``name`` with the dimensions ``FunctionName`` (as Lambda's own metrics have it) and
    ``service=oss-tldr`` (as every metric in the namespace), written at once: the per-function alarms divide
    it by the function's ``Invocations`` (template.yaml). The service is set here because Powertools would
    otherwise add the function's own ``POWERTOOLS_SERVICE_NAME`` (health, auth…), a dimension set the
    alarms, which name both dimensions, never read."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="FunctionName", value=function_name)
        metric.add_dimension(name="service", value=SERVICE)


__all__ = ["NAMESPACE", "MetricUnit", "count_for_function", "logger", "metrics", "tracer"]
