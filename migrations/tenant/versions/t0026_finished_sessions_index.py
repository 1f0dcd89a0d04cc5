"""finished sessions by (stopped_at, id): the order a billing run rates them in

Revision ID: t0026
Revises: t0025
Create Date: 2026-11-25 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0026"
down_revision = "t0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A billing run walks this index from where its last batch ended instead of scanning
    # every session for each batch.
    op.create_index(
        "ix_charging_sessions_finished",
        "charging_sessions",
        ["stopped_at", "id"],
        schema=current_tenant_schema(),
        postgresql_where=sa.text("status = 'finished'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_charging_sessions_finished", "charging_sessions", schema=current_tenant_schema()
    )
