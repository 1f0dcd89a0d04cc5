"""smart charging: sites and circuits, their EVSEs, schedules and readings, departure
targets, allocations and which stations take charging profiles

Revision ID: t0019
Revises: t0018
Create Date: 2026-11-25 03:05:17.316852
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0019"
down_revision = "t0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = current_tenant_schema()
    op.create_table(
        "sites",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("phases", sa.SmallInteger(), nullable=False),
        sa.Column("voltage_v", sa.Integer(), nullable=False),
        sa.Column("capacity_a", sa.Numeric(precision=7, scale=1), nullable=False),
        sa.Column("safe_limit_a", sa.Numeric(precision=7, scale=1), nullable=False),
        sa.Column("min_current_a", sa.Numeric(precision=7, scale=1), nullable=False),
        sa.Column("allocation_period_s", sa.Integer(), nullable=False),
        sa.Column("stale_after_s", sa.Integer(), nullable=False),
        sa.Column(
            "mode",
            sa.Enum(
                "dynamic",
                "static",
                "off",
                name="sitemode",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema=schema,
            ),
            nullable=False,
        ),
        sa.Column(
            "segment_priorities",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("discharge_limit_a", sa.Numeric(precision=7, scale=1), nullable=True),
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
        sa.CheckConstraint("allocation_period_s >= 5", name=op.f("ck_sites_allocation_period_min")),
        sa.CheckConstraint("capacity_a >= 0", name=op.f("ck_sites_capacity_not_negative")),
        sa.CheckConstraint(
            "discharge_limit_a IS NULL OR discharge_limit_a >= 0",
            name=op.f("ck_sites_discharge_not_negative"),
        ),
        sa.CheckConstraint("min_current_a > 0", name=op.f("ck_sites_min_current_positive")),
        sa.CheckConstraint(
            "parent_id IS NULL OR parent_id <> id", name=op.f("ck_sites_not_own_parent")
        ),
        sa.CheckConstraint("phases IN (1, 3)", name=op.f("ck_sites_phases_one_or_three")),
        sa.CheckConstraint(
            "safe_limit_a >= 0 AND safe_limit_a <= capacity_a",
            name=op.f("ck_sites_safe_limit_within_capacity"),
        ),
        sa.CheckConstraint("stale_after_s >= 1", name=op.f("ck_sites_stale_after_positive")),
        sa.CheckConstraint("voltage_v > 0", name=op.f("ck_sites_voltage_positive")),
        sa.ForeignKeyConstraint(
            ["location_id"],
            [f"{schema}.locations.id"],
            name=op.f("fk_sites_location_id_locations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            [f"{schema}.sites.id"],
            name=op.f("fk_sites_parent_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_sites_location_id"), "sites", ["location_id"], unique=False, schema=schema
    )
    op.create_index(op.f("ix_sites_parent_id"), "sites", ["parent_id"], unique=False, schema=schema)
    op.create_table(
        "site_readings",
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "building_load",
                "solar",
                "battery",
                name="readingkind",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema=schema,
            ),
            nullable=False,
        ),
        sa.Column("l1_a", sa.Numeric(precision=7, scale=1), nullable=False),
        sa.Column("l2_a", sa.Numeric(precision=7, scale=1), nullable=False),
        sa.Column("l3_a", sa.Numeric(precision=7, scale=1), nullable=False),
        sa.Column("soc_percent", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            [f"{schema}.sites.id"],
            name=op.f("fk_site_readings_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", "kind", name=op.f("pk_site_readings")),
        schema=schema,
    )
    op.create_table(
        "site_schedules",
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "time_of_use",
                "peak_shaving",
                name="schedulekind",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema=schema,
            ),
            nullable=False,
        ),
        sa.Column("weekdays", sa.SmallInteger(), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=False),
        sa.Column("ends_at", sa.Time(), nullable=False),
        sa.Column("limit_a", sa.Numeric(precision=7, scale=1), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
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
        sa.CheckConstraint("limit_a >= 0", name=op.f("ck_site_schedules_limit_not_negative")),
        sa.CheckConstraint("starts_at <> ends_at", name=op.f("ck_site_schedules_window_not_empty")),
        sa.CheckConstraint(
            "weekdays BETWEEN 1 AND 127", name=op.f("ck_site_schedules_weekdays_mask")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            [f"{schema}.sites.id"],
            name=op.f("fk_site_schedules_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_schedules")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_site_schedules_site_id"),
        "site_schedules",
        ["site_id"],
        unique=False,
        schema=schema,
    )
    op.create_table(
        "station_profile_support",
        sa.Column("charging_station_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "unknown",
                "supported",
                "rejected",
                "unsupported",
                name="profilesupport",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema=schema,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("fallback_limit_a", sa.Numeric(precision=7, scale=1), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "fallback_limit_a IS NULL OR fallback_limit_a >= 0",
            name=op.f("ck_station_profile_support_fallback"),
        ),
        sa.ForeignKeyConstraint(
            ["charging_station_id"],
            [f"{schema}.charging_stations.id"],
            name=op.f("fk_station_profile_support_charging_station_id_charging_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("charging_station_id", name=op.f("pk_station_profile_support")),
        schema=schema,
    )
    op.create_table(
        "site_evses",
        sa.Column("evse_pk", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("max_current_a", sa.Numeric(precision=7, scale=1), nullable=True),
        sa.Column("phases", sa.String(length=3), nullable=False),
        sa.CheckConstraint("phases ~ '^[123]{1,3}$'", name=op.f("ck_site_evses_phases_format")),
        sa.CheckConstraint(
            "max_current_a IS NULL OR max_current_a > 0", name=op.f("ck_site_evses_max_positive")
        ),
        sa.ForeignKeyConstraint(
            ["evse_pk"],
            [f"{schema}.evses.id"],
            name=op.f("fk_site_evses_evse_pk_evses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            [f"{schema}.sites.id"],
            name=op.f("fk_site_evses_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("evse_pk", name=op.f("pk_site_evses")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_site_evses_site_id"), "site_evses", ["site_id"], unique=False, schema=schema
    )
    op.create_table(
        "charging_allocations",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("limit_a", sa.Numeric(precision=7, scale=1), nullable=False),
        sa.Column("phases", sa.SmallInteger(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=True),
        sa.Column("command_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "accepted",
                "rejected",
                "cleared",
                name="allocationstatus",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema=schema,
            ),
            nullable=False,
        ),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("limit_a >= 0", name=op.f("ck_charging_allocations_limit_not_negative")),
        sa.CheckConstraint(
            "phases BETWEEN 1 AND 3", name=op.f("ck_charging_allocations_phases_range")
        ),
        sa.ForeignKeyConstraint(
            ["command_id"],
            [f"{schema}.station_commands.id"],
            name=op.f("fk_charging_allocations_command_id_station_commands"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            [f"{schema}.charging_sessions.id"],
            name=op.f("fk_charging_allocations_session_id_charging_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            [f"{schema}.sites.id"],
            name=op.f("fk_charging_allocations_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charging_allocations")),
        schema=schema,
    )
    op.create_index(
        "ix_charging_allocations_session_decided",
        "charging_allocations",
        ["session_id", "decided_at"],
        unique=False,
        schema=schema,
    )
    op.create_index(
        "ix_charging_allocations_site_decided",
        "charging_allocations",
        ["site_id", "decided_at"],
        unique=False,
        schema=schema,
    )
    op.create_table(
        "charging_targets",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("departure_at", sa.DateTime(timezone=True), nullable=False),
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
        sa.CheckConstraint("energy_wh > 0", name=op.f("ck_charging_targets_energy_positive")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            [f"{schema}.charging_sessions.id"],
            name=op.f("fk_charging_targets_session_id_charging_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_charging_targets")),
        schema=schema,
    )


def downgrade() -> None:
    schema = current_tenant_schema()
    op.drop_table("charging_targets", schema=schema)
    op.drop_index(
        "ix_charging_allocations_site_decided", table_name="charging_allocations", schema=schema
    )
    op.drop_index(
        "ix_charging_allocations_session_decided", table_name="charging_allocations", schema=schema
    )
    op.drop_table("charging_allocations", schema=schema)
    op.drop_index(op.f("ix_site_evses_site_id"), table_name="site_evses", schema=schema)
    op.drop_table("site_evses", schema=schema)
    op.drop_table("station_profile_support", schema=schema)
    op.drop_index(op.f("ix_site_schedules_site_id"), table_name="site_schedules", schema=schema)
    op.drop_table("site_schedules", schema=schema)
    op.drop_table("site_readings", schema=schema)
    op.drop_index(op.f("ix_sites_parent_id"), table_name="sites", schema=schema)
    op.drop_index(op.f("ix_sites_location_id"), table_name="sites", schema=schema)
    op.drop_table("sites", schema=schema)
