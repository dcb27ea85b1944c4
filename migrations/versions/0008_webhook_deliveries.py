"""GitHub webhook deliveries, stored once each: ``webhook_deliveries``.

``delivery_id`` is GitHub's ``X-GitHub-Delivery`` (a GUID, the same on every redelivery of one event), so
``INSERT … ON CONFLICT DO NOTHING`` makes a repeated delivery a no-op. ``repository_github_id`` and
``repository_full_name`` are what the payload named (if anything); ``processed_at`` is set when the
delivery's effect (reports marked stale) was applied, in the same transaction. The scheduled cleanup deletes
processed deliveries past 30 days through ``ix_webhook_deliveries_processed_at``.

Downgrade drops the table.

Revision ID: 0008_webhook_deliveries
Revises: 0007_exact_reports
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_webhook_deliveries"
down_revision: str | Sequence[str] | None = "0007_exact_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("repository_github_id", sa.BigInteger(), nullable=True),
        sa.Column("repository_full_name", sa.String(length=255), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_processed_at",
        "webhook_deliveries",
        ["processed_at"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_processed_at", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
