"""alert detail values: an alert's specifics as values, said in the reader's language

Revision ID: t0020
Revises: t0019
Create Date: 2026-11-25 03:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0020"
down_revision = "t0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "alerts",
        sa.Column("detail_values", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema=current_tenant_schema(),
    )


def downgrade() -> None:
    op.drop_column("alerts", "detail_values", schema=current_tenant_schema())
