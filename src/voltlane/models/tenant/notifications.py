"""Messages to drivers and fleet managers, kept until they are sent (and after)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import TenantBase, UuidPk


class Notification(UuidPk, TenantBase):
    """One e-mail. ``reference`` names what it is about (e.g. a payment and a dunning step):
    the same (kind, reference) is written once, so a retried job never mails twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("kind", "reference"),
        Index("ix_notifications_unsent", "created_at", postgresql_where=text("sent_at IS NULL")),
    )

    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    reference: Mapped[str] = mapped_column(String(120), nullable=False)
    recipient: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), nullable=False
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
