"""Deep-dive function: what the SPA's "Summarize Diff" and "Deep Dive" panels ask for, shared like reports.

``POST /patches`` lists a pull request's changed files; the SPA then calls ``POST /diff`` for every file at
once with the patch text it received (an unknown patch is a 404: the route explains only what
``/patches`` served); ``POST /deepdive`` answers the Markdown digest of an issue or pull request as
``text/plain`` (a complete body is a valid stream for the SPA). Every route needs a session.
"""

from __future__ import annotations

import gc

gc.disable()  # for the import only: the entry point freezes what it built and turns it back on

from aws_lambda_powertools.event_handler import Response

from oss_tldr.api import create_app, lambda_entrypoint
from oss_tldr.api.auth import Access, current_principal
from oss_tldr.api.responses import errors
from oss_tldr.deepdive import service
from oss_tldr.deepdive.models import MAX_BODY_BYTES
from oss_tldr.deepdive.schemas import (
    DeepDiveRequest,
    DiffRequest,
    DiffResponse,
    FilePatchOut,
    PatchesRequest,
    PatchesResponse,
)

ROUTES = {
    "POST /api/v1/patches": Access.SESSION,
    "POST /api/v1/diff": Access.SESSION,
    "POST /api/v1/deepdive": Access.SESSION,
}
app = create_app()
DEEP_DIVE_RESPONSES = errors(
    400,
    403,  # GitHub refused the caller's token (github_forbidden)
    404,
    429,
    502,
    503,
    success={
        200: {
            "description": "The deep dive in Markdown: Summary, Reviews (PRs), Comments, Action Items.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)


def _caller() -> service.Requester:
    return service.Requester.user(current_principal(app).user_id)


@app.post("/api/v1/patches", responses=errors(400, 403, 404, 429, 502))
def patches(body: PatchesRequest) -> PatchesResponse:
    found = service.patches(_caller(), body.repo_url, body.pull_request)
    return PatchesResponse(patches=[FilePatchOut(file=p.file, patch=p.patch) for p in found])


@app.post("/api/v1/diff", responses=errors(400, 403, 404, 429, 502, 503))
def diff(body: DiffRequest) -> DiffResponse:
    return DiffResponse(explanation=service.explain(_caller(), body.file, body.patch))


@app.post("/api/v1/deepdive", responses=DEEP_DIVE_RESPONSES)
def deepdive(body: DeepDiveRequest) -> Response[str]:
    text = service.deep_dive(_caller(), body.repo_url, body.issue)
    return Response(status_code=200, content_type="text/plain; charset=utf-8", body=text)


# The miss paths' modules, imported at first use (cold start) or before a SnapStart snapshot: the GitHub
# client, the OpenAI SDK, and the ORM session a miss stores the repository's row in.
PRIME = (
    "oss_tldr.github.threads",
    "oss_tldr.deepdive.llm",
    "oss_tldr.repos.store",
    "sqlalchemy.orm",
)
lambda_handler = lambda_entrypoint(app, ROUTES, max_body_bytes=MAX_BODY_BYTES, prime=PRIME)
