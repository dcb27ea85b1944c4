"""Powertools Logger, Metrics and Tracer: created once per container, shared by every module.

The service name comes from ``POWERTOOLS_SERVICE_NAME`` (set per function in template.yaml); tracing is
off locally and in tests (``POWERTOOLS_TRACE_DISABLED``).
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="oss-tldr", use_rfc3339=True)
metrics = Metrics(namespace="OssTldr", service="oss-tldr")
tracer = Tracer(service="oss-tldr")

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]

# A function that published no metric in an invocation (health, auth) is normal, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")
