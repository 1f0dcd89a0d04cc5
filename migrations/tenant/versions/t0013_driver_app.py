"""driver app: sign-in, sessions, e-mail links, charge requests, web push subscriptions and
deliveries

Revision ID: t0013
Revises: t0012
Create Date: 2026-11-24 23:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0013"
down_revision = "t0012"
branch_labels = None
depends_on = None

LINK_PURPOSES = ("verify", "reset")
CHARGE_STATUSES = (
    "awaiting_payment",
    "authorizing",
    "starting",
    "charging",
    "finished",
    "failed",
    "cancelled",
)


def _enum(name: str, values: tuple[str, ...], length: int, schema: str) -> sa.Enum:
    return sa.Enum(
        *values, name=name, native_enum=False, create_constraint=True, length=length, schema=schema
    )


def _fk(
    schema: str, table: str, column: str, target: str, ondelete: str
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{schema}.{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    schema = current_tenant_schema()
    now = sa.text("now()")
    op.create_table(
        "driver_logins",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("oidc_provider", sa.String(length=40), nullable=True),
        sa.Column("oidc_subject", sa.String(length=255), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("terms_accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_driver_logins_email_lowercase")),
        sa.CheckConstraint(
            "password_hash IS NOT NULL OR oidc_subject IS NOT NULL",
            name=op.f("ck_driver_logins_can_sign_in"),
        ),
        _fk(schema, "driver_logins", "account_id", "customer_accounts", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_driver_logins")),
        sa.UniqueConstraint("account_id", name=op.f("uq_driver_logins_account_id")),
        sa.UniqueConstraint("email", name=op.f("uq_driver_logins_email")),
        sa.UniqueConstraint(
            "oidc_provider",
            "oidc_subject",
            name=op.f("uq_driver_logins_oidc_provider_oidc_subject"),
        ),
        schema=schema,
    )
    op.create_table(
        "driver_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("login_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        _fk(schema, "driver_sessions", "login_id", "driver_logins", "CASCADE"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_driver_sessions")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_driver_sessions_login_id"), "driver_sessions", ["login_id"], schema=schema
    )
    op.create_table(
        "driver_email_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("login_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", _enum("emaillinkpurpose", LINK_PURPOSES, 16, schema), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _fk(schema, "driver_email_links", "login_id", "driver_logins", "CASCADE"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_driver_email_links")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_driver_email_links_login_id"), "driver_email_links", ["login_id"], schema=schema
    )
    op.create_table(
        "charge_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("evse_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("guest_email", sa.String(length=254), nullable=True),
        sa.Column("id_token", sa.String(length=20), nullable=False),
        sa.Column("access_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "status", _enum("chargerequeststatus", CHARGE_STATUSES, 20, schema), nullable=False
        ),
        sa.Column("failure", sa.String(length=32), nullable=True),
        sa.Column("command_id", sa.Uuid(), nullable=True),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("card_entry_ref", sa.String(length=255), nullable=True),
        sa.Column("wallet", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("plug_in_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint(
            "account_id IS NOT NULL OR guest_email IS NOT NULL",
            name=op.f("ck_charge_requests_someone_pays"),
        ),
        _fk(schema, "charge_requests", "evse_id", "evses", "RESTRICT"),
        _fk(schema, "charge_requests", "account_id", "customer_accounts", "RESTRICT"),
        _fk(schema, "charge_requests", "command_id", "station_commands", "RESTRICT"),
        _fk(schema, "charge_requests", "session_id", "charging_sessions", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charge_requests")),
        sa.UniqueConstraint("id_token", name=op.f("uq_charge_requests_id_token")),
        sa.UniqueConstraint("session_id", name=op.f("uq_charge_requests_session_id")),
        schema=schema,
    )
    op.create_index(
        "ix_charge_requests_account",
        "charge_requests",
        ["account_id", "created_at"],
        schema=schema,
    )
    op.create_index(
        "ix_charge_requests_open",
        "charge_requests",
        ["status"],
        postgresql_where=sa.text("status IN ('authorizing', 'starting', 'charging')"),
        schema=schema,
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("charge_request_id", sa.Uuid(), nullable=True),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint(
            "(account_id IS NOT NULL) <> (charge_request_id IS NOT NULL)",
            name=op.f("ck_push_subscriptions_one_owner"),
        ),
        _fk(schema, "push_subscriptions", "account_id", "customer_accounts", "CASCADE"),
        _fk(schema, "push_subscriptions", "charge_request_id", "charge_requests", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_push_subscriptions_account_id"),
        "push_subscriptions",
        ["account_id"],
        schema=schema,
    )
    op.create_index(
        op.f("ix_push_subscriptions_charge_request_id"),
        "push_subscriptions",
        ["charge_request_id"],
        schema=schema,
    )
    op.create_table(
        "push_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        _fk(schema, "push_deliveries", "session_id", "charging_sessions", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_deliveries")),
        sa.UniqueConstraint(
            "session_id", "event", name=op.f("uq_push_deliveries_session_id_event")
        ),
        schema=schema,
    )
    op.create_table(
        "stored_payment_methods",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("customer_ref", sa.String(length=255), nullable=True),
        sa.Column("payment_method_ref", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("expires", sa.String(length=7), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        _fk(schema, "stored_payment_methods", "account_id", "customer_accounts", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_payment_methods")),
        sa.UniqueConstraint(
            "provider",
            "payment_method_ref",
            name=op.f("uq_stored_payment_methods_provider_payment_method_ref"),
        ),
        schema=schema,
    )
    op.create_index(
        "ix_stored_payment_methods_one_default",
        "stored_payment_methods",
        ["account_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        schema=schema,
    )
    # A payment from the app is pre-authorized before its charging session exists.
    op.add_column(
        "payments", sa.Column("charge_request_id", sa.Uuid(), nullable=True), schema=schema
    )
    op.create_foreign_key(
        op.f("fk_payments_charge_request_id_charge_requests"),
        "payments",
        "charge_requests",
        ["charge_request_id"],
        ["id"],
        source_schema=schema,
        referent_schema=schema,
        ondelete="RESTRICT",
    )
    op.create_unique_constraint(
        op.f("uq_payments_charge_request_id"), "payments", ["charge_request_id"], schema=schema
    )
    op.drop_constraint(op.f("ck_payments_purpose_refers"), "payments", schema=schema)
    op.create_check_constraint(
        op.f("ck_payments_purpose_refers"),
        "payments",
        "(purpose = 'session' AND (session_id IS NOT NULL OR charge_request_id IS NOT NULL))"
        " OR (purpose = 'wallet_topup' AND account_id IS NOT NULL AND session_id IS NULL)",
        schema=schema,
    )


def downgrade() -> None:
    schema = current_tenant_schema()
    op.drop_constraint(op.f("ck_payments_purpose_refers"), "payments", schema=schema)
    op.create_check_constraint(
        op.f("ck_payments_purpose_refers"),
        "payments",
        "(purpose = 'session' AND session_id IS NOT NULL)"
        " OR (purpose = 'wallet_topup' AND account_id IS NOT NULL AND session_id IS NULL)",
        schema=schema,
    )
    op.drop_constraint(op.f("uq_payments_charge_request_id"), "payments", schema=schema)
    op.drop_constraint(
        op.f("fk_payments_charge_request_id_charge_requests"), "payments", schema=schema
    )
    op.drop_column("payments", "charge_request_id", schema=schema)
    op.drop_table("stored_payment_methods", schema=schema)
    op.drop_table("push_deliveries", schema=schema)
    op.drop_table("push_subscriptions", schema=schema)
    op.drop_table("charge_requests", schema=schema)
    op.drop_table("driver_email_links", schema=schema)
    op.drop_table("driver_sessions", schema=schema)
    op.drop_table("driver_logins", schema=schema)
