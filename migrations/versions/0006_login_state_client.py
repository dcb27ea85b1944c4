"""Pending sign-ins are bounded per client: ``oauth_states.client_key``.

Each unauthenticated ``GET /auth/github/login`` stores a state row. Without a bound, one client could fill
the table for ten minutes at a time; the key (SHA-256 of the caller's source address) lets a login keep
only the newest few pending states of the same client. Existing rows get no key (they expire within ten
minutes). Downgrade drops the column and its index.

Revision ID: 0006_login_state_client
Revises: 0005_private_imports
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_login_state_client"
down_revision: str | Sequence[str] | None = "0005_private_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("oauth_states", sa.Column("client_key", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_oauth_states_client_key_created_at", "oauth_states", ["client_key", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_oauth_states_client_key_created_at", table_name="oauth_states")
    op.drop_column("oauth_states", "client_key")
