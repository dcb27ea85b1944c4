"""Secrets: a plain value locally, or Secrets Manager in AWS (cached per container by Powertools).

In AWS the template passes ARNs (``*_ARN`` variables), never secret values; locally the plain
variables are used. Secret values are never logged.
"""

from __future__ import annotations

import json
import sys
from typing import Any

SECRET_MAX_AGE_SECONDS = 300


def fetch_secret(arn: str, *, field: str | None = None) -> str:
    """The secret string (or one field of a JSON secret), cached for five minutes per container."""
    from aws_lambda_powertools.utilities import parameters  # cold start: boto3, only when a secret is read

    raw: Any = parameters.get_secret(arn, max_age=SECRET_MAX_AGE_SECONDS)
    if field is None:
        return str(raw)
    return str(json.loads(raw)[field])


def resolve_secret(value: str | None, arn: str | None, *, field: str | None = None) -> str | None:
    """``value`` when set (local), else the secret behind ``arn`` (AWS), else None."""
    if value:
        return value
    if arn:
        return fetch_secret(arn, field=field)
    return None


def forget_secrets() -> None:
    """Drop every cached secret value, so the next read asks Secrets Manager (after a SnapStart restore).
    Nothing to do where no secret was ever read (Powertools Parameters not imported)."""
    parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters")
    if parameters is not None:
        parameters.clear_caches()
