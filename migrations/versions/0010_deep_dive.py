"""The deep dive (issue 11): pull request patch sets, their explanations, thread digests, the single flight
of model work and the daily quotas of model-backed work.

* ``pr_patch_sets`` per (repository id, PR number, head commit) and ``pr_patches`` (one row per changed
  file, with the SHA-256 of its patch text: how ``POST /diff`` knows a patch this service served);
* ``patch_explanations`` per (patch hash, summariser, prompt version);
* ``deep_dives`` per (repository id, number, the item's ``updated_at``, summariser, prompt version);
* ``deep_dive_claims``: one row per explanation or digest being written (a lease), deleted when done;
* ``deep_dive_usage``: per user, UTC day and kind (``diff``, ``deepdive``).

The scheduled cleanup deletes patch sets and deep dives not checked for 30 days, explanations older than
30 days, lapsed claims and usage of days before yesterday (docs/operations.md).

Downgrade drops the tables.

Revision ID: 0010_deep_dive
Revises: 0009_job_requesters
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_deep_dive"
down_revision: str | Sequence[str] | None = "0009_job_requesters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "pr_patch_sets",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("files_total", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_pr_patch_sets_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pr_patch_sets")),
        sa.UniqueConstraint(
            "repository_id", "number", "head_sha", name=op.f("uq_pr_patch_sets_repository_id_number_head_sha")
        ),
    )
    op.create_index("ix_pr_patch_sets_checked_at", "pr_patch_sets", ["checked_at"], unique=False)
    op.create_table(
        "pr_patches",
        sa.Column("patch_set_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("additions", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("deletions", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("patch", sa.Text(), nullable=True),
        sa.Column("patch_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["patch_set_id"],
            ["pr_patch_sets.id"],
            name=op.f("fk_pr_patches_patch_set_id_pr_patch_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patch_set_id", "position", name=op.f("pk_pr_patches")),
    )
    op.create_index("ix_pr_patches_patch_hash", "pr_patches", ["patch_hash"], unique=False)
    op.create_table(
        "patch_explanations",
        sa.Column("patch_hash", sa.String(length=64), nullable=False),
        sa.Column("summariser", sa.String(length=100), nullable=False),
        sa.Column("prompt_version", sa.String(length=40), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint(
            "patch_hash", "summariser", "prompt_version", name=op.f("pk_patch_explanations")
        ),
    )
    op.create_index("ix_patch_explanations_created_at", "patch_explanations", ["created_at"], unique=False)
    op.create_table(
        "deep_dives",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("item_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summariser", sa.String(length=100), nullable=False),
        sa.Column("prompt_version", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_deep_dives_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deep_dives")),
        sa.UniqueConstraint(
            "repository_id",
            "number",
            "item_updated_at",
            "summariser",
            "prompt_version",
            name="uq_deep_dives_key",
        ),
    )
    op.create_index("ix_deep_dives_checked_at", "deep_dives", ["checked_at"], unique=False)
    op.create_table(
        "deep_dive_claims",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_deep_dive_claims")),
    )
    op.create_table(
        "deep_dive_usage",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_deep_dive_usage_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "day", "kind", name=op.f("pk_deep_dive_usage")),
    )


def downgrade() -> None:
    op.drop_table("deep_dive_usage")
    op.drop_table("deep_dive_claims")
    op.drop_index("ix_deep_dives_checked_at", table_name="deep_dives")
    op.drop_table("deep_dives")
    op.drop_index("ix_patch_explanations_created_at", table_name="patch_explanations")
    op.drop_table("patch_explanations")
    op.drop_index("ix_pr_patches_patch_hash", table_name="pr_patches")
    op.drop_table("pr_patches")
    op.drop_index("ix_pr_patch_sets_checked_at", table_name="pr_patch_sets")
    op.drop_table("pr_patch_sets")
