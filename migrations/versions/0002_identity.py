"""Identity: OAuth states, sessions, encrypted GitHub tokens, audit log.

Placeholder revision kept so the chain stays linear while the capability is built; the identity issue fills it in.

Revision ID: 0002_identity
Revises: 0001_initial
"""

from collections.abc import Sequence

revision: str = "0002_identity"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
