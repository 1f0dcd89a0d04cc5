"""API keys of a brand's operator REST API."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import TenantBase, Timestamps, UuidPk


class ApiKey(UuidPk, Timestamps, TenantBase):
    """``vl_<prefix>_<secret>``: the prefix finds the row, the secret's SHA-256 proves it.

    Keys are 256-bit random secrets, so a fast hash is enough; the key itself is shown once.
    """

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(254))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
