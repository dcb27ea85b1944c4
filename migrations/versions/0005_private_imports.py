"""Imported reports belong to the importing user: ``reports.owner_user_id``, one cache key per kind of row.

Before this revision an import wrote the shared cache row of its key (summariser ``imported``), so anyone
could rewrite, after it expired, the report every other user opened from their history (issue 7,
finding 1). Now a row is either shared (``owner_user_id IS NULL``, unique per cache key) or one user's own
copy (unique per user and cache key); the import writes only the latter.

Data step: an existing ``imported`` row becomes owned by the one user who has it in their history. A row
nobody has in their history is deleted; so is a row several users have: it cannot be told which of them
imported it (the importer may have overwritten a report the others had opened, so "the earliest reader"
would hand the victim the attacker's text as their own). The next request for such a key regenerates it.

Downgrade: per cache key the shared row is kept, else the newest own copy (it becomes the key's row, as
imports were before); the other own copies and their history rows are deleted.

Revision ID: 0005_private_imports
Revises: 0004_report_generation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_private_imports"
down_revision: str | Sequence[str] | None = "0004_report_generation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ["repository_id", "timeframe", "timeframe_start", "timeframe_end"]
OLD_UNIQUE = "uq_reports_repository_id_timeframe_timeframe_start_timeframe_end"
SHARED_KEY_INDEX = "uq_reports_repository_id_timeframe_shared"
OWNED_KEY_INDEX = "uq_reports_owner_user_id_repository_id_timeframe"
OWNER_FK = "fk_reports_owner_user_id_users"


def upgrade() -> None:
    op.add_column("reports", sa.Column("owner_user_id", sa.BigInteger(), nullable=True))
    op.execute(
        """
        DELETE FROM reports r
        WHERE r.summariser = 'imported'
          AND (SELECT count(*) FROM user_report_access a WHERE a.report_id = r.id) <> 1
        """
    )
    op.execute(
        """
        UPDATE reports r SET owner_user_id = a.user_id
        FROM user_report_access a
        WHERE a.report_id = r.id AND r.summariser = 'imported'
        """
    )
    # op.f: the name is rendered as 0001 created it (SQLAlchemy shortens it to 63 characters with a hash).
    op.drop_constraint(op.f(OLD_UNIQUE), "reports", type_="unique")
    op.create_index(
        SHARED_KEY_INDEX, "reports", KEY, unique=True, postgresql_where=sa.text("owner_user_id IS NULL")
    )
    op.create_index(
        OWNED_KEY_INDEX,
        "reports",
        ["owner_user_id", *KEY],
        unique=True,
        postgresql_where=sa.text("owner_user_id IS NOT NULL"),
    )
    op.create_foreign_key(OWNER_FK, "reports", "users", ["owner_user_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM reports r
        USING (
            SELECT id, row_number() OVER (
                PARTITION BY repository_id, timeframe, timeframe_start, timeframe_end
                ORDER BY owner_user_id IS NOT NULL, generated_at DESC, id
            ) AS rank
            FROM reports
        ) ranked
        WHERE r.id = ranked.id AND ranked.rank > 1
        """
    )
    op.drop_constraint(OWNER_FK, "reports", type_="foreignkey")
    op.drop_index(OWNED_KEY_INDEX, table_name="reports")
    op.drop_index(SHARED_KEY_INDEX, table_name="reports")
    op.create_unique_constraint(op.f(OLD_UNIQUE), "reports", KEY)
    op.drop_column("reports", "owner_user_id")
