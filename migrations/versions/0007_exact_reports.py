"""Reports that are true on real repositories: exact counts, partial answers, repositories by GitHub id.

* ``reports.stats`` (JSONB): GitHub's exact counts for the window; ``{}`` for rows written before.
* ``reports.partial``: GitHub answered part of the query with errors (served marked, expiring in minutes).
* ``reports.fallbacks`` (JSONB): what the model left out and the extractive summariser wrote instead.
* ``repositories.github_id`` unique (where known): a renamed or transferred repository keeps one row.
  Rows that already share an id (the same repository looked up under its old and new names) are merged
  first: the most recently updated row is kept, the others' names become its aliases, their tracking rows
  and their reports (shared and users' own imported copies, with the history pointing at them) move to it
  unless it already has that key's row; only those duplicate reports go with the merged rows.
* ``repository_aliases``: the names a repository had before (lower-case), each pointing at its row.

Downgrade drops the table, the index and the columns (aliases and merged rows are not split again).

Revision ID: 0007_exact_reports
Revises: 0006_login_state_client
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_exact_reports"
down_revision: str | Sequence[str] | None = "0006_login_state_client"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUPLICATES = """
CREATE TEMPORARY TABLE repository_duplicates ON COMMIT DROP AS
SELECT r.id AS duplicate_id, r.full_name, keep.id AS keep_id
FROM (
    SELECT id, github_id, full_name,
           row_number() OVER (PARTITION BY github_id ORDER BY updated_at DESC, id DESC) AS rank
    FROM repositories WHERE github_id IS NOT NULL
) r
JOIN (
    SELECT DISTINCT ON (github_id) github_id, id FROM repositories
    WHERE github_id IS NOT NULL ORDER BY github_id, updated_at DESC, id DESC
) keep ON keep.github_id = r.github_id
WHERE r.rank > 1
"""


def upgrade() -> None:
    json_default = sa.text("'{}'::jsonb")
    op.add_column(
        "reports",
        sa.Column(
            "stats", postgresql.JSONB(astext_type=sa.Text()), server_default=json_default, nullable=False
        ),
    )
    op.add_column(
        "reports", sa.Column("partial", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.add_column(
        "reports",
        sa.Column(
            "fallbacks", postgresql.JSONB(astext_type=sa.Text()), server_default=json_default, nullable=False
        ),
    )
    op.create_table(
        "repository_aliases",
        sa.Column("full_name", sa.String(length=255), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("full_name"),
    )
    op.create_index("ix_repository_aliases_repository_id", "repository_aliases", ["repository_id"])

    op.execute(_DUPLICATES)
    op.execute(
        "INSERT INTO repository_aliases (full_name, repository_id) "
        "SELECT full_name, keep_id FROM repository_duplicates ON CONFLICT DO NOTHING"
    )
    op.execute(
        "INSERT INTO user_repositories (user_id, repository_id, added_at) "
        "SELECT ur.user_id, d.keep_id, ur.added_at FROM user_repositories ur "
        "JOIN repository_duplicates d ON ur.repository_id = d.duplicate_id ON CONFLICT DO NOTHING"
    )
    # Reports (shared and users' own imported copies, with the histories that point at them) move to the
    # kept row unless it already has that key's row; only those duplicates go with the merged rows.
    op.execute(
        "UPDATE reports r SET repository_id = d.keep_id FROM repository_duplicates d "
        "WHERE r.repository_id = d.duplicate_id AND NOT EXISTS ("
        " SELECT 1 FROM reports k WHERE k.repository_id = d.keep_id AND k.timeframe = r.timeframe"
        " AND k.timeframe_start = r.timeframe_start AND k.timeframe_end = r.timeframe_end"
        " AND k.owner_user_id IS NOT DISTINCT FROM r.owner_user_id)"
    )
    op.execute("DELETE FROM repositories WHERE id IN (SELECT duplicate_id FROM repository_duplicates)")
    op.create_index(
        "ix_repositories_github_id",
        "repositories",
        ["github_id"],
        unique=True,
        postgresql_where=sa.text("github_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_repositories_github_id",
        table_name="repositories",
        postgresql_where=sa.text("github_id IS NOT NULL"),
    )
    op.drop_index("ix_repository_aliases_repository_id", table_name="repository_aliases")
    op.drop_table("repository_aliases")
    op.drop_column("reports", "fallbacks")
    op.drop_column("reports", "partial")
    op.drop_column("reports", "stats")
