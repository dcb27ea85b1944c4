"""Report engine content: item summary cache.

Placeholder revision kept so the chain stays linear while the capability is built; the report engine issue fills it in.

Revision ID: 0003_item_summaries
Revises: 0002_identity
"""

from collections.abc import Sequence

revision: str = "0003_item_summaries"
down_revision: str | Sequence[str] | None = "0002_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
