"""The OCPI credentials token index: which brand and partner a token belongs to.

A request to ``/ocpi/...`` carries ``Authorization: Token <base64>``; its SHA-256 is looked
up here, and the row names the brand (which must be the brand of the host) and the partner.
Only hashes are stored: a token cannot be read back from the database.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, LargeBinary, String, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import PlatformBase, str_enum


class CredentialKind(enum.StrEnum):
    # CREDENTIALS_TOKEN_A: handed to a partner out of band; opens versions and credentials
    # only, and dies when the partner registers with it.
    REGISTRATION = "A"
    # CREDENTIALS_TOKEN_C: what a registered partner uses for every module.
    ACCESS = "C"


class OcpiCredential(PlatformBase):
    """A live token that a partner presents to one brand."""

    __tablename__ = "ocpi_credentials"
    __table_args__ = (Index("ix_ocpi_credentials_tenant_partner", "tenant_key", "partner_id"),)

    token_sha256: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    tenant_key: Mapped[str] = mapped_column(String(32), nullable=False)
    partner_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    kind: Mapped[CredentialKind] = mapped_column(str_enum(CredentialKind, 1), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
