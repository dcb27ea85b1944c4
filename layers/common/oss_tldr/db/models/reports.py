"""Report generation bookkeeping: generation leases (single flight), jobs, force quota, private access.

* ``report_generations`` holds at most one row per cache key while that key is being generated. The row
  is claimed with ``INSERT … ON CONFLICT DO NOTHING`` and carries a lease that expires, so a generator that
  crashed (a Lambda killed at its timeout) blocks nobody for long: a stale lease is taken over with a
  conditional ``UPDATE … WHERE lease_expires_at < now()``. No advisory locks (they pin RDS Proxy sessions).
* ``report_jobs`` records each generation (status, progress 0-100, outcome) for ``GET /reports/jobs/{id}``;
  waiters of a failed generation read its error class from here.
* ``report_job_requesters`` lists the users who asked for a job (its claimer and everyone whose request
  was answered with it): ``GET /reports/jobs/{id}`` shows a job to them only.
* ``report_force_usage`` counts ``force=true`` regenerations per user and UTC day.
* ``repository_access_checks`` remembers, for a few minutes, that a user's own token reached a private
  repository, so each section request does not re-ask GitHub.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from oss_tldr.db.models.base import Base, created_at_column, updated_at_column

JOB_STATUSES = ("queued", "in_progress", "completed", "failed")


class ReportJob(Base):
    __tablename__ = "report_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    repo: Mapped[str] = mapped_column(String(255), nullable=False)  # lower-case "owner/name"
    # Known once the generation has looked the repository up on GitHub.
    repository_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("repositories.id", ondelete="CASCADE")
    )
    timeframe: Mapped[str] = mapped_column(String(20), nullable=False)
    timeframe_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    timeframe_end: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'queued'"))
    progress: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    message: Mapped[str | None] = mapped_column(String(200))
    force: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    report_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("reports.id", ondelete="SET NULL"))
    # A failed job keeps the safe detail, machine code and HTTP status of its error (never upstream bodies).
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_status: Mapped[int | None] = mapped_column(Integer)
    retry_after: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {JOB_STATUSES!r}", name="status_known"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        Index("ix_report_jobs_repository_id", "repository_id"),
        Index("ix_report_jobs_report_id", "report_id"),
        Index("ix_report_jobs_requested_by", "requested_by"),
    )


class ReportJobRequester(Base):
    """A user who asked for a job: the claimer, and each request answered with the job (202, or a refresh)."""

    __tablename__ = "report_job_requesters"

    job_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("report_jobs.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    asked_at: Mapped[dt.datetime] = created_at_column()

    __table_args__ = (
        PrimaryKeyConstraint("job_id", "user_id"),
        Index("ix_report_job_requesters_user_id", "user_id"),
    )


class ReportGeneration(Base):
    """The single-flight lease of one cache key (present only while the key is being generated).

    Keyed by the lower-case repository name rather than its id: on a cold key the repository may not be
    known yet, and only the generator looks it up on GitHub (its one GraphQL request is the lookup)."""

    __tablename__ = "report_generations"

    repo: Mapped[str] = mapped_column(String(255), nullable=False)
    timeframe: Mapped[str] = mapped_column(String(20), nullable=False)
    timeframe_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    timeframe_end: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    job_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("report_jobs.id", ondelete="CASCADE"), nullable=False
    )
    lease_expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    claimed_at: Mapped[dt.datetime] = created_at_column()

    __table_args__ = (
        PrimaryKeyConstraint("repo", "timeframe", "timeframe_start", "timeframe_end"),
        Index("ix_report_generations_job_id", "job_id"),
    )


class ReportForceUsage(Base):
    __tablename__ = "report_force_usage"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))

    __table_args__ = (PrimaryKeyConstraint("user_id", "day"),)


class RepositoryAccessCheck(Base):
    """A positive answer of ``GET /repos/{owner}/{repo}`` with the user's own token, valid until expiry."""

    __tablename__ = "repository_access_checks"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    repository_id: Mapped[int] = mapped_column(Integer, ForeignKey("repositories.id", ondelete="CASCADE"))
    verified_at: Mapped[dt.datetime] = created_at_column()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("user_id", "repository_id"),
        Index("ix_repository_access_checks_repository_id", "repository_id"),
    )
