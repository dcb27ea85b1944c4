"""Health function: ``GET /api/v1/health`` (no auth)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from oss_tldr.api import create_app, lambda_entrypoint
from oss_tldr.db import ping

app = create_app()


@app.get("/api/v1/health")
def health() -> Response[Any]:
    database_ok = ping()
    body = {"status": "ok" if database_ok else "degraded", "database": "ok" if database_ok else "unavailable"}
    return Response(status_code=200 if database_ok else 503, content_type="application/json", body=body)


lambda_handler = lambda_entrypoint(app)
