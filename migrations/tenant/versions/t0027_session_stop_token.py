"""session stop token: the IdToken that stopped a session, kept beside the one that started it

Revision ID: t0027
Revises: t0026
Create Date: 2026-11-25 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0027"
down_revision = "t0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = current_tenant_schema()
    op.add_column(
        "charging_sessions",
        sa.Column("stop_id_token", sa.String(length=36), nullable=True),
        schema=schema,
    )
    op.add_column(
        "charging_sessions",
        sa.Column("stop_id_token_type", sa.String(length=20), nullable=True),
        schema=schema,
    )


def downgrade() -> None:
    schema = current_tenant_schema()
    op.drop_column("charging_sessions", "stop_id_token_type", schema=schema)
    op.drop_column("charging_sessions", "stop_id_token", schema=schema)
