"""session limits: an outside party's charging limit for one session (a roaming partner's
OCPI charging profile), which smart charging applies

Revision ID: t0023
Revises: t0022
Create Date: 2026-11-25 05:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0023"
down_revision = "t0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = current_tenant_schema()
    op.create_table(
        "session_limits",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("unit", sa.String(length=1), nullable=False),
        sa.Column("periods", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("min_rate", sa.Numeric(precision=9, scale=1), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("unit IN ('A', 'W')", name=op.f("ck_session_limits_unit")),
        sa.CheckConstraint(
            "duration_s IS NULL OR duration_s > 0", name=op.f("ck_session_limits_duration")
        ),
        sa.CheckConstraint(
            "min_rate IS NULL OR min_rate >= 0", name=op.f("ck_session_limits_min_rate")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            [f"{schema}.charging_sessions.id"],
            name=op.f("fk_session_limits_session_id_charging_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_limits")),
        schema=schema,
    )


def downgrade() -> None:
    op.drop_table("session_limits", schema=current_tenant_schema())
