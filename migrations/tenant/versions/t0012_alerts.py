"""monitoring: alert rules and alerts, station state history, planned downtime

Revision ID: t0012
Revises: t0011
Create Date: 2026-11-24 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0012"
down_revision = "t0011"
branch_labels = None
depends_on = None

KINDS = ("offline", "faulted", "stuck_session", "security")
ALERT_STATUSES = ("open", "acknowledged", "resolved")
STATES = ("online", "faulted")
# Every brand starts with every rule on: offline 15 min, faulted 5 min, stuck 6 h, and a
# security alert that resolves after 60 quiet minutes.
DEFAULT_RULES = (("offline", 15), ("faulted", 5), ("stuck_session", 6), ("security", 60))


def _enum(name: str, values: tuple[str, ...], schema: str) -> sa.Enum:
    return sa.Enum(
        *values, name=name, native_enum=False, create_constraint=True, length=16, schema=schema
    )


def upgrade() -> None:
    schema = current_tenant_schema()
    now = sa.text("now()")
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", _enum("alertkind", KINDS, schema), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column(
            "emails", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("webhook_secret", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint("threshold >= 0", name=op.f("ck_alert_rules_threshold_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sa.UniqueConstraint("kind", name=op.f("uq_alert_rules_kind")),
        schema=schema,
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", _enum("alertkind", KINDS, schema), nullable=False),
        sa.Column("condition_key", sa.String(length=100), nullable=False),
        sa.Column("charging_station_id", sa.Uuid(), nullable=True),
        sa.Column("station_id", sa.String(length=48), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("status", _enum("alertstatus", ALERT_STATUSES, schema), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=254), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["charging_station_id"],
            [f"{schema}.charging_stations.id"],
            name=op.f("fk_alerts_charging_station_id_charging_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        schema=schema,
    )
    op.create_index(
        "uq_alerts_open_condition",
        "alerts",
        ["condition_key"],
        unique=True,
        schema=schema,
        postgresql_where=sa.text("status <> 'resolved'"),
    )
    op.create_index("ix_alerts_status_opened_at", "alerts", ["status", "opened_at"], schema=schema)
    op.create_index(
        op.f("ix_alerts_charging_station_id"), "alerts", ["charging_station_id"], schema=schema
    )
    op.create_table(
        "station_state_periods",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("charging_station_id", sa.Uuid(), nullable=False),
        sa.Column("state", _enum("stationstate", STATES, schema), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["charging_station_id"],
            [f"{schema}.charging_stations.id"],
            name=op.f("fk_station_state_periods_charging_station_id_charging_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_state_periods")),
        schema=schema,
    )
    op.create_index(
        "ix_station_state_periods_station_state",
        "station_state_periods",
        ["charging_station_id", "state"],
        schema=schema,
    )
    op.create_index(
        "uq_station_state_periods_current",
        "station_state_periods",
        ["charging_station_id", "state"],
        unique=True,
        schema=schema,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "planned_downtimes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("charging_station_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_planned_downtimes_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["charging_station_id"],
            [f"{schema}.charging_stations.id"],
            name=op.f("fk_planned_downtimes_charging_station_id_charging_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_downtimes")),
        schema=schema,
    )
    op.create_index(
        "ix_planned_downtimes_station_starts_at",
        "planned_downtimes",
        ["charging_station_id", "starts_at"],
        schema=schema,
    )
    values = ", ".join(f"(gen_random_uuid(), '{kind}', true, {n})" for kind, n in DEFAULT_RULES)
    # Only this file's constants and the quoted schema name go into the statement.
    op.execute(f"INSERT INTO {schema}.alert_rules (id, kind, enabled, threshold) VALUES {values}")  # noqa: S608


def downgrade() -> None:
    schema = current_tenant_schema()
    op.drop_table("planned_downtimes", schema=schema)
    op.drop_table("station_state_periods", schema=schema)
    op.drop_table("alerts", schema=schema)
    op.drop_table("alert_rules", schema=schema)
