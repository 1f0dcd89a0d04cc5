"""ocpi: locations in creation order, the order partners page through them

The locations module pages published locations by ``created_at, id`` (an order a change
during a crawl does not reshuffle); without an index every page sorted the whole table (on
disk past work_mem at 10,000 locations).

Revision ID: t0018
Revises: t0017
Create Date: 2026-11-25 06:00:00.000000
"""

from __future__ import annotations

from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0018"
down_revision = "t0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_locations_created_at_id",
        "locations",
        ["created_at", "id"],
        schema=current_tenant_schema(),
    )


def downgrade() -> None:
    op.drop_index("ix_locations_created_at_id", "locations", schema=current_tenant_schema())
