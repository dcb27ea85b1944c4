"""The users who asked for a report job: ``report_job_requesters``.

``GET /reports/jobs/{id}`` shows a job only to the users who asked for it: the request that claimed it and
every request answered with it (a 202 of ``POST /reports/generate`` following a generation that was already
running, a stale report's queued refresh). Before this table a job was shown to anyone who could see its
repository. Rows go with their job (``ON DELETE CASCADE``: the scheduled cleanup deletes finished jobs) or
their user.

Downgrade drops the table.

Revision ID: 0009_job_requesters
Revises: 0008_webhook_deliveries
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_job_requesters"
down_revision: str | Sequence[str] | None = "0008_webhook_deliveries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_job_requesters",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["report_jobs.id"],
            name=op.f("fk_report_job_requesters_job_id_report_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_report_job_requesters_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "user_id", name=op.f("pk_report_job_requesters")),
    )
    op.create_index("ix_report_job_requesters_user_id", "report_job_requesters", ["user_id"], unique=False)
    # The jobs that already exist: their claimer asked for them.
    op.execute(
        "INSERT INTO report_job_requesters (job_id, user_id) "
        "SELECT id, requested_by FROM report_jobs WHERE requested_by IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_report_job_requesters_user_id", table_name="report_job_requesters")
    op.drop_table("report_job_requesters")
