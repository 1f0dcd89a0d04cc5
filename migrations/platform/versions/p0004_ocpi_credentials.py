"""ocpi credentials: the hashed token index that names a partner's brand

Revision ID: p0004
Revises: p0003
Create Date: 2026-11-25 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0004"
down_revision = "p0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ocpi_credentials",
        sa.Column("token_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("tenant_key", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "A",
                "C",
                name="credentialkind",
                native_enum=False,
                create_constraint=True,
                schema="platform",
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_ocpi_credentials")),
        schema="platform",
    )
    op.create_index(
        "ix_ocpi_credentials_tenant_partner",
        "ocpi_credentials",
        ["tenant_key", "partner_id"],
        unique=False,
        schema="platform",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_ocpi_credentials_tenant_partner", table_name="ocpi_credentials", schema="platform"
    )
    op.drop_table("ocpi_credentials", schema="platform")
