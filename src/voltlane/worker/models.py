"""The transactional outbox table: jobs written in the same transaction as their cause."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, String, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import PlatformBase


class OutboxMessage(PlatformBase):
    """A dramatiq message waiting to be handed to the broker after its transaction commits."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    message_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, nullable=False)
    queue_name: Mapped[str] = mapped_column(String(128), nullable=False)
    actor_name: Mapped[str] = mapped_column(String(128), nullable=False)
    message: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class ScheduleRun(PlatformBase):
    """When a periodic job was last enqueued: claimed atomically, so one worker of many
    enqueues it per interval."""

    __tablename__ = "schedule_runs"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
