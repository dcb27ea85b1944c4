"""Initial schema: users, repositories, tracking, shared reports, report access, updated_at triggers.

Downgrade drops these tables and everything in them (this is the base revision).

Revision ID: 0001_initial
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from oss_tldr.db.migration_helpers import (
    create_updated_at_function,
    create_updated_at_trigger,
    drop_updated_at_function,
    drop_updated_at_trigger,
)

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_updated_at_function()
    op.create_table(
        "repositories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("github_id", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("html_url", sa.String(length=512), nullable=False),
        sa.Column("is_private", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_fork", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_archived", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("language", sa.String(length=100), nullable=True),
        sa.Column("stargazers_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("github_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repositories")),
        sa.UniqueConstraint("full_name", name=op.f("uq_repositories_full_name")),
    )
    op.create_index("ix_repositories_owner", "repositories", ["owner"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("login", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("avatar_url", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index("ix_users_login", "users", ["login"], unique=False)
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("timeframe", sa.String(length=20), nullable=False),
        sa.Column("timeframe_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timeframe_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tldr_text", sa.Text(), nullable=True),
        sa.Column(
            "prs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "issues",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "people",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "generated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(
            "timeframe IN ('last_day', 'last_week', 'last_month', 'last_year')",
            name=op.f("ck_reports_timeframe_known"),
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_reports_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint(
            "repository_id",
            "timeframe",
            "timeframe_start",
            "timeframe_end",
            name=op.f("uq_reports_repository_id_timeframe_timeframe_start_timeframe_end"),
        ),
    )
    op.create_index(
        "ix_reports_expires_at",
        "reports",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("expires_at IS NOT NULL"),
    )
    op.create_index("ix_reports_generated_at", "reports", ["generated_at"], unique=False)
    op.create_index("ix_reports_issues_gin", "reports", ["issues"], unique=False, postgresql_using="gin")
    op.create_index("ix_reports_prs_gin", "reports", ["prs"], unique=False, postgresql_using="gin")
    op.create_index("ix_reports_timeframe", "reports", ["timeframe"], unique=False)
    op.create_table(
        "user_repositories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_user_repositories_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_repositories_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_repositories")),
        sa.UniqueConstraint(
            "user_id", "repository_id", name=op.f("uq_user_repositories_user_id_repository_id")
        ),
    )
    op.create_index(
        "ix_user_repositories_repository_id", "user_repositories", ["repository_id"], unique=False
    )
    op.create_table(
        "user_report_access",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("accessed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_user_report_access_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_report_access_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_report_access")),
        sa.UniqueConstraint("user_id", "report_id", name=op.f("uq_user_report_access_user_id_report_id")),
    )
    op.create_index("ix_user_report_access_report_id", "user_report_access", ["report_id"], unique=False)
    op.create_index(
        "ix_user_report_access_user_id_accessed_at",
        "user_report_access",
        ["user_id", sa.literal_column("accessed_at DESC")],
        unique=False,
    )
    for table in ("users", "repositories"):
        create_updated_at_trigger(table)


def downgrade() -> None:
    for table in ("users", "repositories"):
        drop_updated_at_trigger(table)
    op.drop_index("ix_user_report_access_user_id_accessed_at", table_name="user_report_access")
    op.drop_index("ix_user_report_access_report_id", table_name="user_report_access")
    op.drop_table("user_report_access")
    op.drop_index("ix_user_repositories_repository_id", table_name="user_repositories")
    op.drop_table("user_repositories")
    op.drop_index("ix_reports_timeframe", table_name="reports")
    op.drop_index("ix_reports_prs_gin", table_name="reports", postgresql_using="gin")
    op.drop_index("ix_reports_issues_gin", table_name="reports", postgresql_using="gin")
    op.drop_index("ix_reports_generated_at", table_name="reports")
    op.drop_index(
        "ix_reports_expires_at", table_name="reports", postgresql_where=sa.text("expires_at IS NOT NULL")
    )
    op.drop_table("reports")
    op.drop_index("ix_users_login", table_name="users")
    op.drop_table("users")
    op.drop_index("ix_repositories_owner", table_name="repositories")
    op.drop_table("repositories")
    drop_updated_at_function()
