"""ocpi routed parties: the party a push is addressed to (OCPI-to headers) and the party a
command came from (its OCPI-from headers), for partners that are hubs

Revision ID: t0021
Revises: t0020
Create Date: 2026-11-25 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0021"
down_revision = "t0020"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("ocpi_pushes", "to_country_code", 2),
    ("ocpi_pushes", "to_party_id", 3),
    ("ocpi_commands", "from_country_code", 2),
    ("ocpi_commands", "from_party_id", 3),
)


def upgrade() -> None:
    schema = current_tenant_schema()
    for table, column, length in _COLUMNS:
        op.add_column(table, sa.Column(column, sa.String(length), nullable=True), schema=schema)


def downgrade() -> None:
    schema = current_tenant_schema()
    for table, column, _length in reversed(_COLUMNS):
        op.drop_column(table, column, schema=schema)
