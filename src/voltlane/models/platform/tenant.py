"""Tenants (CPO brands), their domains and feature flags."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voltlane.core.orm import PlatformBase, Timestamps, UuidPk, str_enum


class TenantStatus(enum.StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    FAILED = "failed"


class Tenant(UuidPk, Timestamps, PlatformBase):
    """A CPO brand. ``key`` names its schema and never changes; ``slug`` may be renamed."""

    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint("key ~ '^[a-z0-9]{4,32}$'", name="key_format"),
        CheckConstraint("slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'", name="slug_format"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_format"),
    )

    key: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    slug: Mapped[str] = mapped_column(String(63), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    status: Mapped[TenantStatus] = mapped_column(
        str_enum(TenantStatus, 16),
        nullable=False,
        default=TenantStatus.PROVISIONING,
    )
    theme: Mapped[str] = mapped_column(String(64), nullable=False)
    locale: Mapped[str] = mapped_column(String(16), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    # Brand profile, invoice legal entity, OCPI party, payment provider choice: the
    # non-secret parts of tenants/<slug>.toml, kept whole for later domains to read.
    profile: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    last_error: Mapped[str | None] = mapped_column(Text)
    provisioned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    domains: Mapped[list[TenantDomain]] = relationship(
        back_populates="tenant", lazy="raise", cascade="all, delete-orphan"
    )
    features: Mapped[list[TenantFeature]] = relationship(
        back_populates="tenant", lazy="raise", cascade="all, delete-orphan"
    )


class TenantDomain(UuidPk, Timestamps, PlatformBase):
    """A host name that serves one brand (portal, driver app, API)."""

    __tablename__ = "tenant_domains"
    __table_args__ = (CheckConstraint("host = lower(host)", name="host_lowercase"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("platform.tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    host: Mapped[str] = mapped_column(String(253), unique=True, nullable=False)
    is_primary: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    tenant: Mapped[Tenant] = relationship(back_populates="domains", lazy="raise")


class TenantFeature(Timestamps, PlatformBase):
    """A feature flag switched on or off for one brand."""

    __tablename__ = "tenant_features"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("platform.tenants.id", ondelete="CASCADE"), primary_key=True
    )
    flag: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False)

    tenant: Mapped[Tenant] = relationship(back_populates="features", lazy="raise")
