"""The core schema (migration ``0001_initial``): users, repositories, tracking, shared reports, access log.

A ``reports`` row is either a **shared** cache row (``owner_user_id IS NULL``: generated here, served to
everyone who asks for its key) or a user's **own** imported copy (``owner_user_id`` set, summariser
``imported``: served to that user only, never a cache hit). Each kind has its own partial unique index on
the cache key, so an import can never collide with, update or replace a shared row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oss_tldr.db.models.base import Base, created_at_column, updated_at_column
from oss_tldr.windows import TIMEFRAMES  # the one list; the CHECK constraint below is built from it

SHARED_KEY_INDEX = "uq_reports_repository_id_timeframe_shared"
OWNED_KEY_INDEX = "uq_reports_owner_user_id_repository_id_timeframe"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # GitHub user id
    login: Mapped[str] = mapped_column(String(255), nullable=False)
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    avatar_url: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()

    tracked: Mapped[list[UserRepository]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("ix_users_login", "login"),)


class Repository(Base):
    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    full_name: Mapped[str] = mapped_column(String(255), nullable=False)  # "owner/repo", stored lower-case
    owner: Mapped[str] = mapped_column(String(255), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    github_id: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text)
    html_url: Mapped[str] = mapped_column(String(512), nullable=False)
    is_private: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    is_fork: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    is_archived: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    language: Mapped[str | None] = mapped_column(String(100))
    stargazers_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    github_updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()

    reports: Mapped[list[Report]] = relationship(
        back_populates="repository", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        UniqueConstraint("full_name"),
        Index("ix_repositories_owner", "owner"),
        # GitHub's immutable id: a renamed or transferred repository keeps its one row (and its reports).
        Index(
            "ix_repositories_github_id",
            "github_id",
            unique=True,
            postgresql_where=text("github_id IS NOT NULL"),
        ),
    )


class RepositoryAlias(Base):
    """A name a repository was known by before a rename or transfer (lower-case ``owner/name``): asking by
    it finds the repository's row, so its reports are cache hits with no GitHub call."""

    __tablename__ = "repository_aliases"

    full_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("repositories.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[dt.datetime] = created_at_column()

    __table_args__ = (Index("ix_repository_aliases_repository_id", "repository_id"),)


class UserRepository(Base):
    __tablename__ = "user_repositories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    repository_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("repositories.id", ondelete="CASCADE"), nullable=False
    )
    added_at: Mapped[dt.datetime] = created_at_column()

    user: Mapped[User] = relationship(back_populates="tracked")
    repository: Mapped[Repository] = relationship()

    __table_args__ = (
        # The unique index also serves lookups by user_id (its leading column).
        UniqueConstraint("user_id", "repository_id"),
        Index("ix_user_repositories_repository_id", "repository_id"),
    )


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("repositories.id", ondelete="CASCADE"), nullable=False
    )
    timeframe: Mapped[str] = mapped_column(String(20), nullable=False)
    timeframe_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    timeframe_end: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    tldr_text: Mapped[str | None] = mapped_column(Text)
    prs: Mapped[list[Any]] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    issues: Mapped[list[Any]] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    people: Mapped[list[Any]] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    generated_at: Mapped[dt.datetime] = created_at_column()
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    # Who wrote the summaries ("openai:<model>" or "extractive") and with which prompt version: a report
    # written by another summariser or prompt is a cache miss (it is regenerated, replacing this row).
    summariser: Mapped[str | None] = mapped_column(String(100))
    prompt_version: Mapped[str | None] = mapped_column(String(32))
    # GitHub's exact counts for the window (content_models.ReportStats); {} for reports older than them.
    stats: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    # GitHub answered part of the query with errors: served with "partial": true, expiring within minutes.
    partial: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    # What the model left out and the extractive summariser wrote: {"items": [...], "people": [...]}.
    fallbacks: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    # NULL: a shared cache row. Set: the importing user's own copy of an imported report (theirs alone).
    owner_user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))

    repository: Mapped[Repository] = relationship(back_populates="reports")

    __table_args__ = (
        # The cache key of shared rows; this unique index is the cache-hit lookup.
        Index(
            SHARED_KEY_INDEX,
            "repository_id",
            "timeframe",
            "timeframe_start",
            "timeframe_end",
            unique=True,
            postgresql_where=text("owner_user_id IS NULL"),
        ),
        # One own copy per user and key (it also serves lookups by owner and the users cascade).
        Index(
            OWNED_KEY_INDEX,
            "owner_user_id",
            "repository_id",
            "timeframe",
            "timeframe_start",
            "timeframe_end",
            unique=True,
            postgresql_where=text("owner_user_id IS NOT NULL"),
        ),
        CheckConstraint(f"timeframe IN {TIMEFRAMES!r}", name="timeframe_known"),
        Index("ix_reports_timeframe", "timeframe"),
        Index("ix_reports_expires_at", "expires_at", postgresql_where=text("expires_at IS NOT NULL")),
        Index("ix_reports_generated_at", "generated_at"),
        Index("ix_reports_prs_gin", "prs", postgresql_using="gin"),
        Index("ix_reports_issues_gin", "issues", postgresql_using="gin"),
    )


class UserReportAccess(Base):
    __tablename__ = "user_report_access"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    report_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False
    )
    accessed_at: Mapped[dt.datetime] = created_at_column()

    __table_args__ = (
        UniqueConstraint("user_id", "report_id"),
        Index("ix_user_report_access_user_id_accessed_at", "user_id", text("accessed_at DESC")),
        Index("ix_user_report_access_report_id", "report_id"),
    )
