"""Report engine content: item summary cache.

``item_summaries`` keeps one summary per item version (repository, number, GitHub ``updated_at``) and
summariser (name, prompt version), so overlapping report windows summarise an unchanged item once.
Downgrade drops the table and its cached summaries (they are regenerated on demand).

Revision ID: 0003_item_summaries
Revises: 0002_identity
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_item_summaries"
down_revision: str | Sequence[str] | None = "0002_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_summaries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("item_number", sa.Integer(), nullable=False),
        sa.Column("item_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summariser", sa.String(length=100), nullable=False),
        sa.Column("prompt_version", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_summaries")),
        sa.UniqueConstraint(
            "repository",
            "item_number",
            "item_updated_at",
            "summariser",
            "prompt_version",
            name="uq_item_summaries_key",
        ),
    )
    op.create_index("ix_item_summaries_created_at", "item_summaries", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_item_summaries_created_at", table_name="item_summaries")
    op.drop_table("item_summaries")
