"""v2x discharge: a car's discharge offer per session, the discharge limit sent with each
allocation, and EVSE releases still to be answered

Revision ID: t0022
Revises: t0021
Create Date: 2026-11-25 05:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0022"
down_revision = "t0021"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            name,
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        )
        for name in ("created_at", "updated_at")
    ]


def upgrade() -> None:
    schema = current_tenant_schema()
    op.create_table(
        "ev_discharge_offers",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("max_discharge_w", sa.Integer(), nullable=True),
        sa.Column("max_discharge_a", sa.Numeric(precision=7, scale=1), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "max_discharge_w IS NULL OR max_discharge_w >= 0",
            name=op.f("ck_ev_discharge_offers_power_not_negative"),
        ),
        sa.CheckConstraint(
            "max_discharge_a IS NULL OR max_discharge_a >= 0",
            name=op.f("ck_ev_discharge_offers_current_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            [f"{schema}.charging_sessions.id"],
            name=op.f("fk_ev_discharge_offers_session_id_charging_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_ev_discharge_offers")),
        schema=schema,
    )
    op.add_column(
        "charging_allocations",
        sa.Column("discharge_limit_a", sa.Numeric(precision=7, scale=1), nullable=True),
        schema=schema,
    )
    op.create_check_constraint(
        op.f("ck_charging_allocations_discharge_not_negative"),
        "charging_allocations",
        "discharge_limit_a IS NULL OR discharge_limit_a >= 0",
        schema=schema,
    )
    op.create_table(
        "evse_profile_releases",
        sa.Column("evse_pk", sa.Uuid(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["evse_pk"],
            [f"{schema}.evses.id"],
            name=op.f("fk_evse_profile_releases_evse_pk_evses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("evse_pk", name=op.f("pk_evse_profile_releases")),
        schema=schema,
    )


def downgrade() -> None:
    schema = current_tenant_schema()
    op.drop_table("evse_profile_releases", schema=schema)
    op.drop_constraint(
        op.f("ck_charging_allocations_discharge_not_negative"),
        "charging_allocations",
        schema=schema,
    )
    op.drop_column("charging_allocations", "discharge_limit_a", schema=schema)
    op.drop_table("ev_discharge_offers", schema=schema)
