"""payment shortfalls: what a session's CDR cost above its card hold, charged off-session
to the driver's stored card (or left open as a receivable) as its own payment

Revision ID: t0024
Revises: t0023
Create Date: 2026-11-25 05:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0024"
down_revision = "t0023"
branch_labels = None
depends_on = None

PURPOSES = ("session", "wallet_topup")
KINDS = ("authorize", "capture", "cancel", "refund")
PURPOSE_CHECK = "ck_payments_paymentpurpose"
KIND_CHECK = "ck_payment_operations_operationkind"
REFERS = "ck_payments_purpose_refers"
REFERS_BEFORE = (
    "(purpose = 'session' AND (session_id IS NOT NULL OR charge_request_id IS NOT NULL))"
    " OR (purpose = 'wallet_topup' AND account_id IS NOT NULL AND session_id IS NULL)"
)
# A shortfall names the CDR it completes, never the session: the session's one payment is
# its hold (uq_payments_session_id).
REFERS_AFTER = (
    f"{REFERS_BEFORE} OR (purpose = 'shortfall' AND cdr_id IS NOT NULL"
    " AND session_id IS NULL AND charge_request_id IS NULL AND account_id IS NULL)"
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _checks(schema: str, purposes: tuple[str, ...], kinds: tuple[str, ...], refers: str) -> None:
    op.drop_constraint(op.f(PURPOSE_CHECK), "payments", schema=schema, type_="check")
    op.create_check_constraint(
        op.f(PURPOSE_CHECK), "payments", _in("purpose", purposes), schema=schema
    )
    op.drop_constraint(op.f(REFERS), "payments", schema=schema, type_="check")
    op.create_check_constraint(op.f(REFERS), "payments", refers, schema=schema)
    op.drop_constraint(op.f(KIND_CHECK), "payment_operations", schema=schema, type_="check")
    op.create_check_constraint(
        op.f(KIND_CHECK), "payment_operations", _in("kind", kinds), schema=schema
    )


def upgrade() -> None:
    schema = current_tenant_schema()
    _checks(schema, (*PURPOSES, "shortfall"), (*KINDS, "charge"), REFERS_AFTER)
    # One shortfall per CDR: a repeated capture or job finds it instead of charging again.
    op.create_index(
        op.f("uq_payments_shortfall_cdr_id"),
        "payments",
        ["cdr_id"],
        unique=True,
        schema=schema,
        postgresql_where=sa.text("purpose = 'shortfall'"),
    )


def downgrade() -> None:
    schema = current_tenant_schema()
    payments = sa.table("payments", sa.column("purpose", sa.String), schema=schema)
    found = op.get_bind().scalar(
        sa.select(sa.func.count()).select_from(payments).where(payments.c.purpose == "shortfall")
    )
    if found:
        raise RuntimeError(f"{schema}: {found} shortfall payments would be lost")
    op.drop_index(op.f("uq_payments_shortfall_cdr_id"), "payments", schema=schema)
    _checks(schema, PURPOSES, KINDS, REFERS_BEFORE)
