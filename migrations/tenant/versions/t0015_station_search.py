"""station search: locations by latitude and longitude, for the driver app's nearest-first list

Revision ID: t0015
Revises: t0014
Create Date: 2026-11-25 12:00:00.000000
"""

from __future__ import annotations

from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0015"
down_revision = "t0014"
branch_labels = None
depends_on = None

INDEX = "ix_locations_latitude_longitude"


def upgrade() -> None:
    # A plain (not CONCURRENTLY) build: tenant migrations run in a transaction, and a brand's
    # locations table is small enough (even 100,000 rows index in well under a second).
    op.create_index(INDEX, "locations", ["latitude", "longitude"], schema=current_tenant_schema())


def downgrade() -> None:
    op.drop_index(INDEX, "locations", schema=current_tenant_schema())
