"""Report engine cache: generation leases, jobs, force quota, private-access memo; report summariser.

Downgrade drops the four tables (in-flight leases, job history, today's force counts and remembered
private-access answers are lost; all are short-lived) and the two report columns.

Revision ID: 0004_report_generation
Revises: 0003_item_summaries
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from oss_tldr.db.migration_helpers import create_updated_at_trigger, drop_updated_at_trigger

revision: str = "0004_report_generation"
down_revision: str | Sequence[str] | None = "0003_item_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reports", sa.Column("summariser", sa.String(length=100), nullable=True))
    op.add_column("reports", sa.Column("prompt_version", sa.String(length=32), nullable=True))
    op.create_table(
        "report_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("repo", sa.String(length=255), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=True),
        sa.Column("timeframe", sa.String(length=20), nullable=False),
        sa.Column("timeframe_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timeframe_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'queued'"), nullable=False),
        sa.Column("progress", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=True),
        sa.Column("force", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_status", sa.Integer(), nullable=True),
        sa.Column("retry_after", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_report_jobs_progress_range")),
        sa.CheckConstraint(
            "status IN ('queued', 'in_progress', 'completed', 'failed')",
            name=op.f("ck_report_jobs_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_jobs_report_id_reports"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_report_jobs_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
            name=op.f("fk_report_jobs_requested_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_jobs")),
    )
    op.create_index("ix_report_jobs_report_id", "report_jobs", ["report_id"], unique=False)
    op.create_index("ix_report_jobs_repository_id", "report_jobs", ["repository_id"], unique=False)
    op.create_index("ix_report_jobs_requested_by", "report_jobs", ["requested_by"], unique=False)
    create_updated_at_trigger("report_jobs")
    op.create_table(
        "report_generations",
        sa.Column("repo", sa.String(length=255), nullable=False),
        sa.Column("timeframe", sa.String(length=20), nullable=False),
        sa.Column("timeframe_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timeframe_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["report_jobs.id"],
            name=op.f("fk_report_generations_job_id_report_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "repo", "timeframe", "timeframe_start", "timeframe_end", name=op.f("pk_report_generations")
        ),
    )
    op.create_index("ix_report_generations_job_id", "report_generations", ["job_id"], unique=False)
    op.create_table(
        "report_force_usage",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_report_force_usage_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_report_force_usage")),
    )
    op.create_table(
        "repository_access_checks",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_repository_access_checks_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_repository_access_checks_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "repository_id", name=op.f("pk_repository_access_checks")),
    )
    op.create_index(
        "ix_repository_access_checks_repository_id",
        "repository_access_checks",
        ["repository_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_repository_access_checks_repository_id", table_name="repository_access_checks")
    op.drop_table("repository_access_checks")
    op.drop_table("report_force_usage")
    op.drop_index("ix_report_generations_job_id", table_name="report_generations")
    op.drop_table("report_generations")
    drop_updated_at_trigger("report_jobs")
    op.drop_index("ix_report_jobs_requested_by", table_name="report_jobs")
    op.drop_index("ix_report_jobs_repository_id", table_name="report_jobs")
    op.drop_index("ix_report_jobs_report_id", table_name="report_jobs")
    op.drop_table("report_jobs")
    op.drop_column("reports", "prompt_version")
    op.drop_column("reports", "summariser")
