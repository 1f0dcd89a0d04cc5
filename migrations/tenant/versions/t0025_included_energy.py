"""included energy: a plan's whole kWh per billing month, and each CDR's included Wh

Revision ID: t0025
Revises: t0024
Create Date: 2026-11-25 05:55:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0025"
down_revision = "t0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = current_tenant_schema()
    op.add_column(
        "subscription_plans",
        sa.Column("included_kwh", sa.Integer(), server_default="0", nullable=False),
        schema=schema,
    )
    op.create_check_constraint(
        "ck_subscription_plans_included_kwh",
        "subscription_plans",
        "included_kwh >= 0",
        schema=schema,
    )
    # A CDR's energy not charged because its plan included it; a credit holds it negated.
    op.add_column(
        "cdrs",
        sa.Column("included_energy_wh", sa.BigInteger(), server_default="0", nullable=False),
        schema=schema,
    )


def downgrade() -> None:
    schema = current_tenant_schema()
    op.drop_column("cdrs", "included_energy_wh", schema=schema)
    op.drop_constraint("ck_subscription_plans_included_kwh", "subscription_plans", schema=schema)
    op.drop_column("subscription_plans", "included_kwh", schema=schema)
