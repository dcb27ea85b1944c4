"""Report content: item summaries cached across reports.

A summary is keyed by the item *version* (repository, number, GitHub ``updated_at``) and by who wrote it
(summariser name and prompt version), so an item that did not change is summarised once, whichever window
asks first; an edited item, a different model or a new prompt misses and is summarised again.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from oss_tldr.db.models.base import Base, created_at_column


class ItemSummary(Base):
    __tablename__ = "item_summaries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repository: Mapped[str] = mapped_column(String(255), nullable=False)  # "owner/repo", lower-case
    item_number: Mapped[int] = mapped_column(Integer, nullable=False)
    item_updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    summariser: Mapped[str] = mapped_column(String(100), nullable=False)
    prompt_version: Mapped[str] = mapped_column(String(40), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = created_at_column()

    __table_args__ = (
        # The cache key; its unique index serves the per-report lookup (repository leads).
        UniqueConstraint(
            "repository",
            "item_number",
            "item_updated_at",
            "summariser",
            "prompt_version",
            name="uq_item_summaries_key",
        ),
        # Pruning old summaries scans by age.
        Index("ix_item_summaries_created_at", "created_at"),
    )
