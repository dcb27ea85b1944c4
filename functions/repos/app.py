"""Repos function: the caller's GitHub repositories, repository search, the tracked list and the import
from the old client. Every route needs a session (``ROUTES``: 401 otherwise).
"""

from __future__ import annotations

import gc

gc.disable()  # for the import only: the entry point freezes what it built and turns it back on

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from oss_tldr.api import create_app, lambda_entrypoint
from oss_tldr.api.auth import Access, current_principal
from oss_tldr.api.responses import REPO_REF_DOC, errors
from oss_tldr.limits import PG_BIGINT_MAX
from oss_tldr.repos import tracking
from oss_tldr.repos.schemas import RepositoryOut

IMPORT_MAX_BODY_BYTES = 5 * 1024 * 1024  # the old client kept up to 50 reports; Lambda's limit is 6 MB

ROUTES = {
    "GET /api/v1/repos/user": Access.SESSION,
    "GET /api/v1/repos/search": Access.SESSION,
    "GET /api/v1/users/me/repositories": Access.SESSION,
    "POST /api/v1/users/me/repositories": Access.SESSION,
    "DELETE /api/v1/users/me/repositories": Access.SESSION,
    "DELETE /api/v1/users/me/repositories/{id}": Access.SESSION,
    "POST /api/v1/users/me/import": Access.SESSION,
}
app = create_app()
SEARCH_DOC = {
    "description": f"Search text, at most {tracking.MAX_QUERY_CHARS} characters (longer is 400 "
    "invalid_query); a repository URL or owner/repo is looked up directly and comes first."
}


class RepositoryList(BaseModel):
    repositories: list[RepositoryOut]


class SearchResult(BaseModel):
    repositories: list[RepositoryOut]
    total_count: int


class RepoUrlRequest(BaseModel):
    repo_url: str = Field(json_schema_extra=REPO_REF_DOC)


class TrackResponse(BaseModel):
    repository: RepositoryOut


class RemovedResponse(BaseModel):
    removed: bool


class ImportRequest(BaseModel):
    """The old client's localStorage export: ``{"repos": [...], "reports": [...]}``."""

    model_config = ConfigDict(extra="ignore")

    repos: list[Any] | None = None
    reports: list[Any] | None = None


class ImportResponse(BaseModel):
    repositories_imported: int
    reports_imported: int
    skipped: int


@app.get("/api/v1/repos/user", responses=errors(403, 429, 502))
def user_repos(per_page: Annotated[int, Query(ge=1, le=100)] = 50) -> RepositoryList:
    user_id = current_principal(app).user_id
    return RepositoryList(repositories=tracking.user_repositories(user_id, per_page))


@app.get("/api/v1/repos/search", responses=errors(400, 403, 429, 502))
def search_repos(
    q: Annotated[str, Query(max_length=1024, json_schema_extra=SEARCH_DOC)] = "",
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchResult:
    repositories, total = tracking.search(current_principal(app).user_id, q, per_page)
    return SearchResult(repositories=repositories, total_count=total)


@app.get("/api/v1/users/me/repositories")
def list_tracked() -> RepositoryList:
    return RepositoryList(repositories=tracking.tracked_repositories(current_principal(app).user_id))


@app.post("/api/v1/users/me/repositories", responses=errors(400, 404, 429, 502))
def track(body: RepoUrlRequest) -> TrackResponse:
    return TrackResponse(repository=tracking.track_repository(current_principal(app).user_id, body.repo_url))


@app.delete("/api/v1/users/me/repositories", responses=errors(400))
def untrack(body: RepoUrlRequest) -> RemovedResponse:
    return RemovedResponse(removed=tracking.untrack_repository(current_principal(app).user_id, body.repo_url))


@app.delete("/api/v1/users/me/repositories/<id>")
def untrack_id(id: Annotated[int, Path(ge=1, le=PG_BIGINT_MAX)]) -> RemovedResponse:
    return RemovedResponse(removed=tracking.untrack_repository_id(current_principal(app).user_id, id))


@app.post("/api/v1/users/me/import", responses=errors(429, 502))
def import_local_storage(body: ImportRequest) -> ImportResponse:
    # The import's modules (report shapes and records, the ORM models) load on this route only (cold start).
    from oss_tldr.reports import imports

    result = imports.import_local_storage(current_principal(app).user_id, body.repos, body.reports)
    return ImportResponse(
        repositories_imported=result.repositories_imported,
        reports_imported=result.reports_imported,
        skipped=result.skipped,
    )


# The miss paths' modules, imported at first use (cold start) or before a SnapStart snapshot.
PRIME = (
    "oss_tldr.github.users",
    "oss_tldr.reports.imports",
    "sqlalchemy.orm",
)
lambda_handler = lambda_entrypoint(app, ROUTES, max_body_bytes=IMPORT_MAX_BODY_BYTES, prime=PRIME)
