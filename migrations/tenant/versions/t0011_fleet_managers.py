"""fleet managers belong to one fleet account

Revision ID: t0011
Revises: t0010
Create Date: 2026-11-24 20:55:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0011"
down_revision = "t0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = current_tenant_schema()
    op.add_column(
        "operator_users",
        sa.Column("fleet_account_id", sa.Uuid(), nullable=True),
        schema=schema,
    )
    op.create_index(
        op.f("ix_operator_users_fleet_account_id"),
        "operator_users",
        ["fleet_account_id"],
        unique=False,
        schema=schema,
    )
    op.create_foreign_key(
        op.f("fk_operator_users_fleet_account_id_customer_accounts"),
        "operator_users",
        "customer_accounts",
        ["fleet_account_id"],
        ["id"],
        source_schema=schema,
        referent_schema=schema,
        ondelete="RESTRICT",
    )
    # Until now no fleet manager could be tied to a fleet: such users keep their sign-in
    # but lose the role until an owner gives them a fleet (read-only sees nothing of it).
    users = sa.table("operator_users", sa.column("role", sa.String), schema=schema)
    op.execute(users.update().where(users.c.role == "fleet_manager").values(role="read_only"))
    op.create_check_constraint(
        op.f("ck_operator_users_fleet_manager_has_fleet"),
        "operator_users",
        "(role = 'fleet_manager') = (fleet_account_id IS NOT NULL)",
        schema=schema,
    )


def downgrade() -> None:
    schema = current_tenant_schema()
    op.drop_constraint(
        op.f("ck_operator_users_fleet_manager_has_fleet"),
        "operator_users",
        schema=schema,
        type_="check",
    )
    op.drop_constraint(
        op.f("fk_operator_users_fleet_account_id_customer_accounts"),
        "operator_users",
        schema=schema,
        type_="foreignkey",
    )
    op.drop_index(
        op.f("ix_operator_users_fleet_account_id"), table_name="operator_users", schema=schema
    )
    op.drop_column("operator_users", "fleet_account_id", schema=schema)
