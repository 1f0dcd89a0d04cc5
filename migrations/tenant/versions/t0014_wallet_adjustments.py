"""wallet adjustments: staff credit or debit a prepaid wallet, saying why

Revision ID: t0014
Revises: t0013
Create Date: 2026-11-25 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0014"
down_revision = "t0013"
branch_labels = None
depends_on = None

KINDS = ("topup", "session", "refund")
KIND_CHECK = "ck_wallet_entries_walletkind"


def _kinds(values: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    schema = current_tenant_schema()
    # The kind is a VARCHAR with a CHECK of its values (no PostgreSQL enum type).
    op.drop_constraint(op.f(KIND_CHECK), "wallet_entries", schema=schema, type_="check")
    op.create_check_constraint(
        op.f(KIND_CHECK), "wallet_entries", _kinds((*KINDS, "adjustment")), schema=schema
    )
    op.add_column(
        "wallet_entries",
        sa.Column(
            "reason",
            sa.Enum(
                "goodwill",
                "correction",
                name="walletreason",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema=schema,
            ),
            nullable=True,
        ),
        schema=schema,
    )
    op.add_column("wallet_entries", sa.Column("note", sa.String(200)), schema=schema)
    op.add_column("wallet_entries", sa.Column("staff_user_id", sa.Uuid()), schema=schema)
    op.add_column("wallet_entries", sa.Column("staff_email", sa.String(254)), schema=schema)
    op.create_check_constraint(
        op.f("ck_wallet_entries_adjustment_explained"),
        "wallet_entries",
        "(kind = 'adjustment') = (reason IS NOT NULL AND note IS NOT NULL"
        " AND staff_email IS NOT NULL)",
        schema=schema,
    )


def downgrade() -> None:
    schema = current_tenant_schema()
    # Adjustments cannot be expressed before this revision: their money would vanish from
    # the balance, so a downgrade with adjustments on the books refuses to run.
    entries = sa.table("wallet_entries", sa.column("kind", sa.String), schema=schema)
    found = op.get_bind().scalar(
        sa.select(sa.func.count()).select_from(entries).where(entries.c.kind == "adjustment")
    )
    if found:
        raise RuntimeError(f"{schema}: {found} wallet adjustments would be lost")
    op.drop_constraint(
        op.f("ck_wallet_entries_adjustment_explained"),
        "wallet_entries",
        schema=schema,
        type_="check",
    )
    op.drop_column("wallet_entries", "staff_email", schema=schema)
    op.drop_column("wallet_entries", "staff_user_id", schema=schema)
    op.drop_column("wallet_entries", "note", schema=schema)
    op.drop_column("wallet_entries", "reason", schema=schema)
    op.drop_constraint(op.f(KIND_CHECK), "wallet_entries", schema=schema, type_="check")
    op.create_check_constraint(op.f(KIND_CHECK), "wallet_entries", _kinds(KINDS), schema=schema)
