"""ocpi roaming: partners, their tokens, pushes, commands and hub client info

Also: a roaming session's eMSP token and authorization reference, a location's OCPI
last_updated (delta pulls), and customer accounts of kind "partner" (settlement statements).

Revision ID: t0016
Revises: t0015
Create Date: 2026-11-25 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import Text

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0016"
down_revision = "t0015"
branch_labels = None
depends_on = None

ACCOUNT_KIND_CHECK = "ck_customer_accounts_accountkind"


def _kinds(values: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    schema = current_tenant_schema()
    op.create_table(
        "ocpi_partners",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "registered",
                "suspended",
                "unregistered",
                name="partnerstate",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema=schema,
            ),
            nullable=False,
        ),
        sa.Column(
            "initiated_by",
            sa.Enum(
                "us",
                "them",
                name="partnerinitiator",
                native_enum=False,
                create_constraint=True,
                length=8,
                schema=schema,
            ),
            nullable=False,
        ),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("party_id", sa.String(length=3), nullable=True),
        sa.Column(
            "roles",
            postgresql.JSONB(astext_type=Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("versions_url", sa.String(length=255), nullable=True),
        sa.Column("version", sa.String(length=10), nullable=True),
        sa.Column(
            "endpoints",
            postgresql.JSONB(astext_type=Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("token_sealed", sa.Text(), nullable=True),
        sa.Column(
            "authorization_timeout_ms", sa.Integer(), server_default=sa.text("5000"), nullable=False
        ),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unregistered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "country_code IS NULL OR country_code ~ '^[A-Z]{2}$'", name=op.f("ck_ocpi_partners_cc")
        ),
        sa.CheckConstraint(
            "party_id IS NULL OR party_id ~ '^[A-Z0-9]{3}$'", name=op.f("ck_ocpi_partners_party")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            [f"{schema}.customer_accounts.id"],
            name=op.f("fk_ocpi_partners_account_id_customer_accounts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_partners")),
        schema=schema,
    )
    op.create_index(
        "uq_ocpi_partners_party",
        "ocpi_partners",
        ["country_code", "party_id"],
        unique=True,
        schema=schema,
        postgresql_where=sa.text("state IN ('registered', 'suspended')"),
    )
    op.create_table(
        "ocpi_client_infos",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("party_id", sa.String(length=3), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            [f"{schema}.ocpi_partners.id"],
            name=op.f("fk_ocpi_client_infos_partner_id_ocpi_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "partner_id", "country_code", "party_id", name=op.f("pk_ocpi_client_infos")
        ),
        schema=schema,
    )
    op.create_table(
        "ocpi_commands",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("module", sa.String(length=32), nullable=False),
        sa.Column("command", sa.String(length=32), nullable=False),
        sa.Column("request", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("response_url", sa.String(length=255), nullable=False),
        sa.Column("station_command_id", sa.Uuid(), nullable=True),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("response", sa.String(length=32), nullable=False),
        sa.Column("result", sa.String(length=32), nullable=True),
        sa.Column("result_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            [f"{schema}.ocpi_partners.id"],
            name=op.f("fk_ocpi_commands_partner_id_ocpi_partners"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_commands")),
        schema=schema,
    )
    op.create_index(
        "ix_ocpi_commands_partner_created",
        "ocpi_commands",
        ["partner_id", "created_at"],
        unique=False,
        schema=schema,
    )
    op.create_table(
        "ocpi_pushes",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("module", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=120), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=Text()), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                "superseded",
                name="pushstate",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema=schema,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_http_status", sa.SmallInteger(), nullable=True),
        sa.Column("last_ocpi_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            [f"{schema}.ocpi_partners.id"],
            name=op.f("fk_ocpi_pushes_partner_id_ocpi_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_pushes")),
        schema=schema,
    )
    op.create_index(
        "ix_ocpi_pushes_due",
        "ocpi_pushes",
        ["next_attempt_at"],
        unique=False,
        schema=schema,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "ix_ocpi_pushes_object",
        "ocpi_pushes",
        ["partner_id", "module", "object_id", "created_at"],
        unique=False,
        schema=schema,
    )
    op.create_index(
        "ix_ocpi_pushes_partner_created",
        "ocpi_pushes",
        ["partner_id", "created_at"],
        unique=False,
        schema=schema,
    )
    op.create_table(
        "ocpi_tokens",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("party_id", sa.String(length=3), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("contract_id", sa.String(length=36), nullable=False),
        sa.Column("visual_number", sa.String(length=64), nullable=True),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("whitelist", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("default_profile_type", sa.String(length=16), nullable=True),
        sa.Column("energy_contract", postgresql.JSONB(astext_type=Text()), nullable=True),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            [f"{schema}.ocpi_partners.id"],
            name=op.f("fk_ocpi_tokens_partner_id_ocpi_partners"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_tokens")),
        sa.UniqueConstraint(
            "country_code",
            "party_id",
            "uid",
            "type",
            name=op.f("uq_ocpi_tokens_country_code_party_id_uid_type"),
        ),
        schema=schema,
    )
    op.create_index("ix_ocpi_tokens_uid", "ocpi_tokens", ["uid"], unique=False, schema=schema)
    op.add_column(
        "charging_sessions", sa.Column("roaming_token_id", sa.Uuid(), nullable=True), schema=schema
    )
    op.add_column(
        "charging_sessions",
        sa.Column("authorization_reference", sa.String(length=36), nullable=True),
        schema=schema,
    )
    op.create_foreign_key(
        op.f("fk_charging_sessions_roaming_token_id_ocpi_tokens"),
        "charging_sessions",
        "ocpi_tokens",
        ["roaming_token_id"],
        ["id"],
        source_schema=schema,
        referent_schema=schema,
        ondelete="RESTRICT",
    )
    op.add_column(
        "locations",
        sa.Column(
            "ocpi_last_updated",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        schema=schema,
    )
    op.create_index(
        "ix_locations_ocpi_last_updated",
        "locations",
        ["ocpi_last_updated", "id"],
        unique=False,
        schema=schema,
    )
    op.drop_constraint(op.f(ACCOUNT_KIND_CHECK), "customer_accounts", schema=schema, type_="check")
    op.create_check_constraint(
        op.f(ACCOUNT_KIND_CHECK),
        "customer_accounts",
        _kinds(("driver", "fleet", "partner")),
        schema=schema,
    )


def downgrade() -> None:
    schema = current_tenant_schema()
    op.drop_constraint(op.f(ACCOUNT_KIND_CHECK), "customer_accounts", schema=schema, type_="check")
    op.create_check_constraint(
        op.f(ACCOUNT_KIND_CHECK), "customer_accounts", _kinds(("driver", "fleet")), schema=schema
    )
    op.drop_index("ix_locations_ocpi_last_updated", table_name="locations", schema=schema)
    op.drop_column("locations", "ocpi_last_updated", schema=schema)
    op.drop_constraint(
        op.f("fk_charging_sessions_roaming_token_id_ocpi_tokens"),
        "charging_sessions",
        schema=schema,
        type_="foreignkey",
    )
    op.drop_column("charging_sessions", "authorization_reference", schema=schema)
    op.drop_column("charging_sessions", "roaming_token_id", schema=schema)
    op.drop_index("ix_ocpi_tokens_uid", table_name="ocpi_tokens", schema=schema)
    op.drop_table("ocpi_tokens", schema=schema)
    op.drop_index("ix_ocpi_pushes_partner_created", table_name="ocpi_pushes", schema=schema)
    op.drop_index("ix_ocpi_pushes_object", table_name="ocpi_pushes", schema=schema)
    op.drop_index(
        "ix_ocpi_pushes_due",
        table_name="ocpi_pushes",
        schema=schema,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.drop_table("ocpi_pushes", schema=schema)
    op.drop_index("ix_ocpi_commands_partner_created", table_name="ocpi_commands", schema=schema)
    op.drop_table("ocpi_commands", schema=schema)
    op.drop_table("ocpi_client_infos", schema=schema)
    op.drop_index(
        "uq_ocpi_partners_party",
        table_name="ocpi_partners",
        schema=schema,
        postgresql_where=sa.text("state IN ('registered', 'suspended')"),
    )
    op.drop_table("ocpi_partners", schema=schema)
