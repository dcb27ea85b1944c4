"""Reports function: the shared report cache for the SPA, plus its admin routes.

Every route needs a session. The four section routes answer 200 with their data in the same request, even
for a report nobody has generated yet (the SPA fires them at once and never polls): the first one
generates, the others wait for that one generation. ``tldr`` is ``text/plain``. ``POST /reports/generate``
answers 202 with a job when the shared generation cannot finish within this request.
"""

from __future__ import annotations

import gc

gc.disable()  # for the import only: the entry point freezes what it built and turns it back on

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from oss_tldr.api import create_app, lambda_entrypoint
from oss_tldr.api.auth import Access, Principal, current_principal, require_admin, verified_claims
from oss_tldr.api.pagination import MAX_PAGE, decode_cursor, encode_cursor
from oss_tldr.api.responses import (
    CURSOR_DOC,
    OWNER_DOC,
    REPO_DOC,
    REPO_REF_DOC,
    SECTION_DOC,
    TIMEFRAME_DOC,
    errors,
)
from oss_tldr.errors import Unauthorized
from oss_tldr.repo_refs import OPTIONAL_REPO_REF_DOC, parse_repo_ref
from oss_tldr.reports import queue, service
from oss_tldr.reports.models import MAX_ACCESS_ID, MAX_REPORT_ID, Keyset, StoredReport, SummaryRow
from oss_tldr.reports.schemas import (
    GenerateRequest,
    Invalidated,
    IssuesSection,
    JobAccepted,
    JobStatus,
    PeopleSection,
    PrsSection,
    Report,
    ReportPage,
    ReportSummary,
)

ROUTES = {
    "GET /api/v1/reports/{owner}/{repo}/{section}": Access.SIGNED_TOKEN,  # the hit checks the session row
    "POST /api/v1/reports/generate": Access.SESSION,
    "GET /api/v1/reports/jobs/{job_id}": Access.SESSION,
    "GET /api/v1/reports/{report_id}": Access.SESSION,
    "DELETE /api/v1/reports/{report_id}": Access.SESSION,  # and an admin
    "GET /api/v1/users/me/reports": Access.SESSION,
    "GET /api/v1/reports": Access.SESSION,  # and an admin
    "DELETE /api/v1/reports": Access.SESSION,  # and an admin
}
app = create_app()
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
ReportId = Annotated[int, Path(ge=1, le=MAX_REPORT_ID)]  # reports.id is a Postgres integer
# Checked by the logic (400 with its own code, as the contract says), documented here.
Timeframe = Annotated[str, Query(max_length=20, json_schema_extra=TIMEFRAME_DOC)]
Cursor = Annotated[str | None, Query(max_length=200, json_schema_extra=CURSOR_DOC)]
RepoRef = Annotated[str, Query(min_length=1, max_length=512, json_schema_extra=REPO_REF_DOC)]
SECTION_RESPONSES = errors(
    400,
    403,  # GitHub refused the caller's token (github_forbidden)
    404,
    429,
    502,
    success={
        200: {
            "description": "The section: JSON for prs, issues and people; the TL;DR paragraph as text/plain.",
            "content": {
                "application/json": {"model": PrsSection | IssuesSection | PeopleSection},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
GENERATE_RESPONSES = errors(
    400,
    403,  # GitHub refused the caller's token (github_forbidden)
    404,
    429,
    502,
    success={
        200: {
            "description": "The report, ready within this request (a stale one, stale: true, while its one "
            "refresh is queued).",
            "content": {"application/json": {"model": Report}},
        },
        202: {
            "description": "The generation (the worker's, with a report queue) has not finished within this "
            "request: poll the job.",
            "content": {"application/json": {"model": JobAccepted}},
        },
    },
)


def _caller() -> tuple[Principal, service.Requester]:
    principal = current_principal(app)
    return principal, service.Requester.user(principal.user_id)


def _deadline() -> float:
    """Wait for a shared generation at most ``REPORT_WAIT_SECONDS``, and never past the request's deadline
    (which ``lambda_entrypoint`` opens from the Lambda's remaining time and API Gateway's 29 s)."""
    return service.wait_deadline()


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _report(report: StoredReport, *, cached: bool, stale: bool = False) -> Report:
    return Report.model_validate(
        {
            "id": report.id,
            "repo": report.repo,
            "timeframe": report.timeframe,
            "timeframe_start": report.timeframe_start.isoformat(),
            "timeframe_end": report.timeframe_end.isoformat(),
            "tldr": report.tldr,
            "prs": report.prs,
            "issues": report.issues,
            "people": report.people,
            "generated_at": report.generated_at.isoformat(),
            "expires_at": _iso(report.expires_at),
            "version": report.version,
            "cached": cached,
            "stats": report.stats,
            "stale": stale,
            "partial": report.partial,
        }
    )


def _summary(row: SummaryRow) -> ReportSummary:
    return ReportSummary(
        id=row.id,
        repo=row.repo,
        timeframe=row.timeframe,
        timeframe_start=row.timeframe_start.isoformat(),
        timeframe_end=row.timeframe_end.isoformat(),
        generated_at=row.generated_at.isoformat(),
        expires_at=_iso(row.expires_at),
        accessed_at=_iso(row.accessed_at),
        pr_count=row.pr_count,
        issue_count=row.issue_count,
        people_count=row.people_count,
    )


def _page(rows: list[SummaryRow], after: Keyset | None) -> ReportPage:
    """One listing page; ``next_cursor`` encodes the position after its last row."""
    return ReportPage(reports=[_summary(row) for row in rows], next_cursor=encode_cursor(after))


def _section_caller() -> service.Requester:
    """The caller of a section route: the token's signature was checked (``Access.SIGNED_TOKEN``, no
    database); the session row is checked by the cache-hit statement itself (one round trip for
    authentication and the hit), or in full (``current_principal``) before anything else."""
    claims = verified_claims(app)
    return service.Requester.user(
        claims.user_id, session_id=claims.session_id, verify_session=lambda: _verified(claims.user_id)
    )


def _verified(user_id: int) -> None:
    if current_principal(app).user_id != user_id:
        raise Unauthorized("The session token is not valid.", code="invalid_token")


@app.get("/api/v1/reports/<owner>/<repo>/<section>", responses=SECTION_RESPONSES)
def section(
    owner: Annotated[str, Path(json_schema_extra=OWNER_DOC)],
    repo: Annotated[str, Path(json_schema_extra=REPO_DOC)],
    section: Annotated[str, Path(json_schema_extra=SECTION_DOC)],
    timeframe: Timeframe = "last_week",
    force: Annotated[bool, Query()] = False,
) -> Response[str]:
    requester = _section_caller()
    result = service.get_section(
        requester, owner, repo, timeframe, section, force=force, deadline=_deadline()
    )
    if result.section == "tldr":
        return Response(status_code=200, content_type="text/plain; charset=utf-8", body=result.body)
    # The section's JSON comes from the database as text and is spliced in as is.
    body = (
        f'{{"{result.section}":{result.body},"cached":{"true" if result.cached else "false"},'
        f'"generated_at":"{result.generated_at.isoformat()}",'
        f'"expires_at":{_json_time(result.expires_at)},"report_id":{result.report_id},'
        f'"stats":{result.stats},"stale":{"true" if result.stale else "false"},'
        f'"partial":{"true" if result.partial else "false"}}}'
    )
    return Response(status_code=200, content_type="application/json", body=body)


def _json_time(value: Any) -> str:
    return f'"{value.isoformat()}"' if value is not None else "null"


@app.post("/api/v1/reports/generate", responses=GENERATE_RESPONSES)
def generate(body: GenerateRequest) -> Response[Report | JobAccepted]:
    _, requester = _caller()
    owner, repo = parse_repo_ref(body.repo_url)
    result = service.generate_report(
        requester,
        owner,
        repo,
        body.timeframe,
        force=body.force,
        deadline=_deadline(),
        asynchronous=queue.configured(),  # a miss is the worker's; this request follows it until its deadline
    )
    if isinstance(result, service.Pending):
        accepted = JobAccepted(
            job_id=str(result.job_id) if result.job_id else None,
            status=result.status,
            progress=result.progress,
        )
        return Response(status_code=202, content_type="application/json", body=accepted)
    report = _report(result.report, cached=result.cached, stale=result.stale)
    return Response(status_code=200, content_type="application/json", body=report)


JOB_RESPONSES = errors(
    404,  # a job is shown only to the users who asked for it: to anyone else it is an unknown job
    success={
        200: {
            "description": "The job, to a user who asked for it: progress 0-100, then the report id or "
            "the error."
        }
    },
)


@app.get("/api/v1/reports/jobs/<job_id>", responses=JOB_RESPONSES)
def job(job_id: Annotated[str, Path(json_schema_extra={"format": "uuid"})]) -> JobStatus:
    _, requester = _caller()
    view = service.job_status(requester, job_id)
    return JobStatus(
        job_id=str(view.id),
        status=view.status,
        progress=view.progress,
        report_id=view.report_id,
        error=view.error,
    )


@app.get("/api/v1/reports/<report_id>", responses=errors(403, 404, 429, 502))
def report_by_id(report_id: ReportId) -> Report:
    _, requester = _caller()
    report = service.report_by_id(requester, report_id)
    return _report(report, cached=True, stale=report.expired)


@app.get("/api/v1/users/me/reports", responses=errors(400))
def my_reports(limit: Limit = 20, cursor: Cursor = None) -> ReportPage:
    from oss_tldr.reports import listings  # cold start: the listings' ORM, not the section hit's import

    principal, _ = _caller()
    after = decode_cursor(cursor, max_id=MAX_ACCESS_ID)
    return _page(*listings.my_reports(principal.user_id, limit=limit, after=after))


@app.get("/api/v1/reports", responses=errors(400, 403))
def all_reports(
    repo: Annotated[str | None, Query(max_length=512, json_schema_extra=OPTIONAL_REPO_REF_DOC)] = None,
    timeframe: Annotated[str | None, Query(max_length=20, json_schema_extra=TIMEFRAME_DOC)] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> ReportPage:
    from oss_tldr.reports import listings  # cold start: the listings' ORM, not the section hit's import

    principal, _ = _caller()
    require_admin(principal)
    full_name, timeframe = listings.admin_filter(repo, timeframe)  # 400s of the filters before the cursor's
    after = decode_cursor(cursor, max_id=MAX_REPORT_ID)
    return _page(*listings.all_reports(full_name=full_name, timeframe=timeframe, limit=limit, after=after))


@app.delete("/api/v1/reports/<report_id>", responses=errors(403, 404))
def invalidate_report(report_id: ReportId) -> Invalidated:
    from oss_tldr.reports import listings  # cold start: the listings' ORM, not the section hit's import

    principal, _ = _caller()
    require_admin(principal)
    return Invalidated(deleted=listings.invalidate_report(principal.user_id, report_id))


@app.delete("/api/v1/reports", responses=errors(400, 403))
def invalidate_repository(repo: RepoRef) -> Invalidated:
    from oss_tldr.reports import listings  # cold start: the listings' ORM, not the section hit's import

    principal, _ = _caller()
    require_admin(principal)
    return Invalidated(deleted=listings.invalidate_repository(principal.user_id, repo))


# The miss paths' modules, imported at first use (cold start) or before a SnapStart snapshot.
PRIME = (
    "oss_tldr.reports.cache",
    "oss_tldr.reports.handoff",
    "oss_tldr.reports.jobs",
    "oss_tldr.reports.listings",
    "oss_tldr.reports.quota",
    "oss_tldr.reports.records",
    "oss_tldr.reports.content",
    "oss_tldr.reports.summarise.llm",
    "oss_tldr.github.activity",
    "oss_tldr.github.users",
    "sqlalchemy.orm",
)
lambda_handler = lambda_entrypoint(app, ROUTES, prime=PRIME)
