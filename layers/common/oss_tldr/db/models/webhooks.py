"""GitHub webhook deliveries (:mod:`oss_tldr.webhooks`): each stored once, by GitHub's delivery id."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from oss_tldr.db.models.base import Base, created_at_column


class WebhookDelivery(Base):
    """One delivery (``X-GitHub-Delivery``; a redelivery has the same id and is a no-op). The repository
    is what the payload named, if any; ``processed_at`` is when its effect was applied."""

    __tablename__ = "webhook_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str | None] = mapped_column(String(64))
    repository_github_id: Mapped[int | None] = mapped_column(BigInteger)
    repository_full_name: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[dt.datetime] = created_at_column()
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "ix_webhook_deliveries_processed_at",
            "processed_at",
            postgresql_where=text("processed_at IS NOT NULL"),
        ),
    )
