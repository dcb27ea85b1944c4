"""Health function: ``GET /api/v1/health`` (no auth)."""

from __future__ import annotations

import gc

gc.disable()  # for the import only: the entry point freezes what it built and turns it back on

from typing import Literal

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from oss_tldr.api import create_app, lambda_entrypoint
from oss_tldr.api.auth import Access
from oss_tldr.api.responses import errors
from oss_tldr.db import ping
from oss_tldr.errors import DatabaseUnavailable

ROUTES = {"GET /api/v1/health": Access.PUBLIC}
app = create_app()


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]


@app.get("/api/v1/health", responses=errors())
def health() -> Response[Health]:
    """200 ``{"status": "ok", "database": "ok"}``; without the database a 503 that is also an error of the
    contract's shape (``detail`` and ``code`` beside ``status`` and ``database``)."""
    if ping():
        return Response(
            status_code=200, content_type="application/json", body={"status": "ok", "database": "ok"}
        )
    down = DatabaseUnavailable()
    body = {"status": "degraded", "database": "unavailable", "detail": down.detail, "code": down.code}
    return Response(status_code=503, content_type="application/json", body=body)


lambda_handler = lambda_entrypoint(app, ROUTES)
