"""Report engine cache: generation leases, jobs, force quota, private-access memo.

Placeholder revision kept so the chain stays linear while the capability is built; the report engine issue fills it in.

Revision ID: 0004_report_generation
Revises: 0003_item_summaries
"""

from collections.abc import Sequence

revision: str = "0004_report_generation"
down_revision: str | Sequence[str] | None = "0003_item_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
