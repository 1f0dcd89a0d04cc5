"""initial schema

Revision ID: t0001
Revises:
Create Date: 2026-11-24 09:53:19.644358
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = current_tenant_schema()
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_email", sa.String(length=254), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=True),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        schema=schema,
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False, schema=schema)
    op.create_table(
        "locations",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("city", sa.String(length=45), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("latitude", sa.Numeric(precision=10, scale=7), nullable=False),
        sa.Column("longitude", sa.Numeric(precision=10, scale=7), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("opening_hours", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("publish", sa.Boolean(), nullable=False),
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
        sa.CheckConstraint("country ~ '^[A-Z]{3}$'", name=op.f("ck_locations_country_alpha3")),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name=op.f("ck_locations_latitude_range")),
        sa.CheckConstraint(
            "longitude BETWEEN -180 AND 180", name=op.f("ck_locations_longitude_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        schema=schema,
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
        schema=schema,
    )
    op.create_index(
        "ix_login_attempts_email_at",
        "login_attempts",
        ["email", "at"],
        unique=False,
        schema=schema,
    )
    op.create_index(
        "ix_login_attempts_ip_at", "login_attempts", ["ip", "at"], unique=False, schema=schema
    )
    op.create_table(
        "operator_users",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "owner",
                "admin",
                "operations",
                "finance",
                "support",
                "read_only",
                "fleet_manager",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema=schema,
            ),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "password_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
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
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_operator_users_email_lowercase")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_users")),
        sa.UniqueConstraint("email", name=op.f("uq_operator_users_email")),
        schema=schema,
    )
    op.create_table(
        "charging_stations",
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.String(length=48), nullable=False),
        sa.Column("vendor", sa.String(length=50), nullable=True),
        sa.Column("model", sa.String(length=50), nullable=True),
        sa.Column("serial_number", sa.String(length=50), nullable=True),
        sa.Column("firmware_version", sa.String(length=50), nullable=True),
        sa.Column("protocol", sa.String(length=16), nullable=True),
        sa.Column("security_profile", sa.SmallInteger(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column(
            "registration_status",
            sa.Enum(
                "Accepted",
                "Pending",
                "Rejected",
                name="registrationstatus",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema=schema,
            ),
            nullable=False,
        ),
        sa.Column("last_boot_at", sa.DateTime(timezone=True), nullable=True),
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
            "station_id ~ '^[A-Za-z0-9*_.:+|@-]{1,48}$'",
            name=op.f("ck_charging_stations_station_id_format"),
        ),
        sa.CheckConstraint(
            "security_profile = 3 OR password_hash IS NOT NULL",
            name=op.f("ck_charging_stations_password_for_basic_auth"),
        ),
        sa.CheckConstraint(
            "security_profile BETWEEN 1 AND 3",
            name=op.f("ck_charging_stations_security_profile_range"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            [f"{schema}.locations.id"],
            name=op.f("fk_charging_stations_location_id_locations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charging_stations")),
        sa.UniqueConstraint("station_id", name=op.f("uq_charging_stations_station_id")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_charging_stations_location_id"),
        "charging_stations",
        ["location_id"],
        unique=False,
        schema=schema,
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            [f"{schema}.operator_users.id"],
            name=op.f("fk_staff_sessions_user_id_operator_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_staff_sessions")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_staff_sessions_user_id"),
        "staff_sessions",
        ["user_id"],
        unique=False,
        schema=schema,
    )
    op.create_table(
        "evses",
        sa.Column("charging_station_id", sa.Uuid(), nullable=False),
        sa.Column("evse_id", sa.Integer(), nullable=False),
        sa.Column("emi3_id", sa.String(length=48), nullable=True),
        sa.Column("physical_reference", sa.String(length=16), nullable=True),
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
        sa.CheckConstraint("evse_id >= 1", name=op.f("ck_evses_evse_id_positive")),
        sa.ForeignKeyConstraint(
            ["charging_station_id"],
            [f"{schema}.charging_stations.id"],
            name=op.f("fk_evses_charging_station_id_charging_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evses")),
        sa.UniqueConstraint(
            "charging_station_id", "evse_id", name=op.f("uq_evses_charging_station_id_evse_id")
        ),
        sa.UniqueConstraint("emi3_id", name=op.f("uq_evses_emi3_id")),
        schema=schema,
    )
    op.create_table(
        "connectors",
        sa.Column("evse_pk", sa.Uuid(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column(
            "standard",
            sa.Enum(
                "CHADEMO",
                "CHAOJI",
                "DOMESTIC_F",
                "DOMESTIC_G",
                "GBT_AC",
                "GBT_DC",
                "IEC_60309_2_single_16",
                "IEC_60309_2_three_16",
                "IEC_60309_2_three_32",
                "IEC_62196_T1",
                "IEC_62196_T1_COMBO",
                "IEC_62196_T2",
                "IEC_62196_T2_COMBO",
                "IEC_62196_T3A",
                "IEC_62196_T3C",
                "NEMA_5_20",
                "NEMA_14_50",
                "TESLA_S",
                "MCS",
                name="connectorstandard",
                native_enum=False,
                create_constraint=True,
                length=32,
                schema=schema,
            ),
            nullable=False,
        ),
        sa.Column(
            "format",
            sa.Enum(
                "SOCKET",
                "CABLE",
                name="connectorformat",
                native_enum=False,
                create_constraint=True,
                length=8,
                schema=schema,
            ),
            nullable=False,
        ),
        sa.Column(
            "power_type",
            sa.Enum(
                "AC_1_PHASE",
                "AC_2_PHASE",
                "AC_2_PHASE_SPLIT",
                "AC_3_PHASE",
                "DC",
                name="powertype",
                native_enum=False,
                create_constraint=True,
                length=20,
                schema=schema,
            ),
            nullable=False,
        ),
        sa.Column("max_voltage", sa.Integer(), nullable=False),
        sa.Column("max_amperage", sa.Integer(), nullable=False),
        sa.Column("max_electric_power", sa.Integer(), nullable=True),
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
        sa.CheckConstraint("connector_id >= 1", name=op.f("ck_connectors_connector_id_positive")),
        sa.CheckConstraint("max_amperage > 0", name=op.f("ck_connectors_max_amperage_positive")),
        sa.CheckConstraint(
            "max_electric_power IS NULL OR max_electric_power > 0",
            name=op.f("ck_connectors_max_power_positive"),
        ),
        sa.CheckConstraint("max_voltage > 0", name=op.f("ck_connectors_max_voltage_positive")),
        sa.ForeignKeyConstraint(
            ["evse_pk"],
            [f"{schema}.evses.id"],
            name=op.f("fk_connectors_evse_pk_evses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connectors")),
        sa.UniqueConstraint(
            "evse_pk", "connector_id", name=op.f("uq_connectors_evse_pk_connector_id")
        ),
        schema=schema,
    )


def downgrade() -> None:
    schema = current_tenant_schema()
    op.drop_table("connectors", schema=schema)
    op.drop_table("evses", schema=schema)
    op.drop_index(op.f("ix_staff_sessions_user_id"), table_name="staff_sessions", schema=schema)
    op.drop_table("staff_sessions", schema=schema)
    op.drop_index(
        op.f("ix_charging_stations_location_id"), table_name="charging_stations", schema=schema
    )
    op.drop_table("charging_stations", schema=schema)
    op.drop_table("operator_users", schema=schema)
    op.drop_index("ix_login_attempts_ip_at", table_name="login_attempts", schema=schema)
    op.drop_index("ix_login_attempts_email_at", table_name="login_attempts", schema=schema)
    op.drop_table("login_attempts", schema=schema)
    op.drop_table("locations", schema=schema)
    op.drop_index("ix_audit_log_at", table_name="audit_log", schema=schema)
    op.drop_table("audit_log", schema=schema)
