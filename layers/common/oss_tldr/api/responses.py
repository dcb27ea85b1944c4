"""What the OpenAPI description says about responses and inputs, next to the routes that produce them.

Each route names the error statuses its own logic answers (``responses=errors(400, 404, ...)``); the
statuses every route of the shared resolver can answer (:data:`EVERY_ROUTE`: body size, parameters, the
database) and 401 on authenticated routes are added by ``tools/openapi.py``. Every error is
:class:`Error`, ``{"detail", "code"}``.

Some inputs are checked by the logic, not by Powertools' validation, because the contract fixes their status
(an unknown timeframe or section, a malformed repository, is a 400 with its own code, not a 422): their
enums and patterns are documented here with ``json_schema_extra`` and not enforced a second time.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, Field

from oss_tldr.repo_refs import OWNER_PATTERN, REPO_PATTERN, REPO_REF_DOC
from oss_tldr.windows import TIMEFRAMES

SECTIONS = ("prs", "issues", "people", "tldr")
__all__ = ["REPO_REF_DOC", "SECTIONS", "Error", "errors"]


class Error(BaseModel):
    """Every error: a sentence safe to show, and a stable machine code."""

    detail: str = Field(description="A human sentence, safe to show.")
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="A stable snake_case machine code.")


DESCRIPTIONS: dict[int, str] = {
    400: "Bad input the logic refuses: repository reference, timeframe, section, cursor, OAuth state, query.",
    401: "Missing, malformed, expired or revoked session token.",
    403: "Signed in, but not an administrator (ADMIN_LOGINS).",
    404: "Not found (a private repository the caller cannot see is not found too).",
    413: "The request body is larger than the route's limit "
    "(64 kB; 5 MB for the import, 2 MB for a webhook).",
    422: "The body or the parameters do not validate (malformed JSON, wrong types, out-of-range ids, "
    "nesting past 32 levels, numbers past 64 characters, NUL or lone surrogates in text).",
    429: "Quota or GitHub rate limit; Retry-After says when to try again.",
    502: "GitHub or OpenAI failed or answered something unusable.",
    503: "The database, GitHub (timeout) or the OAuth app is unavailable, or a shared generation is still "
    "running at the request's deadline.",
}
EVERY_ROUTE = (413, 422, 503)  # the shared resolver's: body size, parameters and body, the database


def error_response(status: int) -> OpenAPIResponse:
    return {"description": DESCRIPTIONS[status], "content": {"application/json": {"model": Error}}}


def errors(*statuses: int, success: dict[int, OpenAPIResponse] | None = None) -> dict[int, OpenAPIResponse]:
    """A route's ``responses=``: its success response(s) (200 with the route's return model by default)
    and the error statuses its logic answers."""
    answers: dict[int, OpenAPIResponse] = dict(success or {200: {"description": "Successful Response"}})
    for status in statuses:
        answers[status] = error_response(status)
    return answers


# --------------------------------------------------------------------------------- documented inputs
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{0,200}$"  # empty: the first page, like no cursor


def enum_of(values: tuple[str, ...], description: str) -> dict[str, Any]:
    return {"enum": list(values), "description": description}


TIMEFRAME_DOC = enum_of(TIMEFRAMES, "The report window; anything else is 400 invalid_timeframe.")
SECTION_DOC = enum_of(SECTIONS, "The section; anything else is 400 invalid_section.")
OWNER_DOC = {"pattern": OWNER_PATTERN, "description": "A GitHub owner; anything else is 400 invalid_repo."}
REPO_DOC = {
    "pattern": REPO_PATTERN,
    "description": "A GitHub repository name (not '.' or '..'); anything else is 400 invalid_repo.",
}
CURSOR_DOC = {
    "pattern": CURSOR_PATTERN,
    "description": "Opaque: exactly a previous page's next_cursor (base64url of its keyset position); "
    "empty or absent is the first page. Any other value is 400 invalid_cursor.",
}
