"""The report shapes of the HTTP contract (docs/api.md, "Reports"). Arrays are never null."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from oss_tldr.content_models import Item, Person, ReportStats
from oss_tldr.repo_refs import REPO_REF_DOC
from oss_tldr.windows import TIMEFRAMES


class Report(BaseModel):
    id: int
    repo: str
    timeframe: str
    timeframe_start: str
    timeframe_end: str
    tldr: str
    prs: list[Item] = Field(default_factory=list)
    issues: list[Item] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    generated_at: str
    expires_at: str | None
    version: int
    cached: bool
    stats: ReportStats  # GitHub's exact counts for the window
    stale: bool = Field(
        description="Served past its expiry (less than one refresh period ago) while one refresh is queued."
    )
    partial: bool  # GitHub answered part of the query: the report expires within minutes


class ReportSummary(BaseModel):
    id: int
    repo: str
    timeframe: str
    timeframe_start: str
    timeframe_end: str
    generated_at: str
    expires_at: str | None
    accessed_at: str | None = None
    pr_count: int = 0
    issue_count: int = 0
    people_count: int = 0


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo_url: str = Field(min_length=1, max_length=512, json_schema_extra=REPO_REF_DOC)
    # Checked by the logic (400 invalid_timeframe, as the contract says); the enum is documentation.
    timeframe: str = Field(default="last_week", max_length=20, json_schema_extra={"enum": list(TIMEFRAMES)})
    force: bool = False


class JobAccepted(BaseModel):
    """202: the shared generation is still running; poll ``GET /reports/jobs/{job_id}``."""

    job_id: str | None
    status: str
    progress: int


class JobStatus(BaseModel):
    job_id: str
    status: str  # queued / in_progress / completed / failed
    progress: int
    report_id: int | None = None
    error: str | None = None


class ReportPage(BaseModel):
    reports: list[ReportSummary] = Field(default_factory=list)
    next_cursor: str | None = None


class Invalidated(BaseModel):
    deleted: int


# The JSON section routes' bodies (GET /reports/{owner}/{repo}/{section}); built from the stored section
# as is, so these models document the shape and are not used to serialise it.
class _Section(BaseModel):
    cached: bool
    generated_at: str
    expires_at: str | None
    report_id: int
    stats: ReportStats
    stale: bool = Field(
        description="Served past its expiry (less than one refresh period ago) while one refresh is queued."
    )
    partial: bool


class PrsSection(_Section):
    prs: list[Item]


class IssuesSection(_Section):
    issues: list[Item]


class PeopleSection(_Section):
    people: list[Person]
