"""The deep dive (:mod:`oss_tldr.deepdive`): a pull request's patches, their explanations, thread digests.

* ``pr_patch_sets``: the changed files of one pull request at one head commit, fetched once from GitHub and
  served to everyone who may see the repository; ``checked_at`` is when GitHub last confirmed that head.
* ``pr_patches``: one row per file of a set (``patch`` null: GitHub gave no line diff, a binary or huge
  file); ``patch_hash`` (SHA-256 of the patch text) is how ``POST /diff`` knows a patch this service served.
* ``patch_explanations``: one explanation per patch hash and summariser, shared by every user; one written
  from a private repository's file is keyed by the SHA-256 of (that repository, the patch hash) instead,
  so it is served only for that repository.
* ``deep_dives``: the Markdown digest of an issue or pull request thread, per item version
  (``item_updated_at``: a new comment is a new version) and summariser; ``checked_at`` as above.
* ``deep_dive_claims``: the single flight of model work (one claimed key per explanation or digest being
  written, with a lease that lapses); present only while the work runs.
* ``deep_dive_usage``: the per-user, per-UTC-day counts of model-backed work (``kind``: ``diff`` or
  ``deepdive``) for the daily quotas.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from oss_tldr.db.models.base import Base, created_at_column


class PatchSet(Base):
    __tablename__ = "pr_patch_sets"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("repositories.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    head_sha: Mapped[str] = mapped_column(String(64), nullable=False)
    files_total: Mapped[int] = mapped_column(Integer, nullable=False)  # GitHub's changedFiles
    checked_at: Mapped[dt.datetime] = created_at_column()
    created_at: Mapped[dt.datetime] = created_at_column()

    __table_args__ = (
        UniqueConstraint("repository_id", "number", "head_sha"),
        Index("ix_pr_patch_sets_checked_at", "checked_at"),
    )


class FilePatch(Base):
    __tablename__ = "pr_patches"

    patch_set_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("pr_patch_sets.id", ondelete="CASCADE"), nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    file: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    additions: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    deletions: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    patch: Mapped[str | None] = mapped_column(Text)
    patch_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        PrimaryKeyConstraint("patch_set_id", "position"),
        Index("ix_pr_patches_patch_hash", "patch_hash"),
    )


class PatchExplanation(Base):
    __tablename__ = "patch_explanations"

    patch_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    summariser: Mapped[str] = mapped_column(String(100), nullable=False)
    prompt_version: Mapped[str] = mapped_column(String(40), nullable=False)
    explanation: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = created_at_column()

    __table_args__ = (
        PrimaryKeyConstraint("patch_hash", "summariser", "prompt_version"),
        Index("ix_patch_explanations_created_at", "created_at"),
    )


class DeepDive(Base):
    __tablename__ = "deep_dives"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("repositories.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    item_updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    summariser: Mapped[str] = mapped_column(String(100), nullable=False)
    prompt_version: Mapped[str] = mapped_column(String(40), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    checked_at: Mapped[dt.datetime] = created_at_column()
    created_at: Mapped[dt.datetime] = created_at_column()

    __table_args__ = (
        UniqueConstraint(
            "repository_id",
            "number",
            "item_updated_at",
            "summariser",
            "prompt_version",
            name="uq_deep_dives_key",
        ),
        Index("ix_deep_dives_checked_at", "checked_at"),
    )


class DeepDiveClaim(Base):
    __tablename__ = "deep_dive_claims"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    lease_expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    claimed_at: Mapped[dt.datetime] = created_at_column()


class DeepDiveUsage(Base):
    __tablename__ = "deep_dive_usage"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))

    __table_args__ = (PrimaryKeyConstraint("user_id", "day", "kind"),)
