"""station search: the indexes of the driver app's station finder

Locations by latitude and longitude (the bounding box around a driver), by the words of
their name and address (full text, prefix matching), and by name (the list without a
position); connectors by standard and power (rare plugs are looked up connector first).

Revision ID: t0015
Revises: t0014
Create Date: 2026-11-25 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0015"
down_revision = "t0014"
branch_labels = None
depends_on = None

# As models/tenant/station.py LOCATION_SEARCH_DOCUMENT at this revision.
SEARCH_DOCUMENT = (
    "to_tsvector('simple'::regconfig, (((((name::text || ' '::text) || address::text)"
    " || ' '::text) || COALESCE(postal_code, ''::character varying)::text) || ' '::text)"
    " || city::text)"
)


def upgrade() -> None:
    schema = current_tenant_schema()
    # Plain (not CONCURRENTLY) builds: tenant migrations run in a transaction, and a brand's
    # tables are small enough (100,000 locations index in about two seconds).
    op.create_index(
        "ix_locations_latitude_longitude", "locations", ["latitude", "longitude"], schema=schema
    )
    op.create_index(
        "ix_locations_search",
        "locations",
        [sa.text(SEARCH_DOCUMENT)],
        postgresql_using="gin",
        schema=schema,
    )
    op.create_index("ix_locations_name", "locations", ["name", "id"], schema=schema)
    op.create_index(
        "ix_connectors_standard_power",
        "connectors",
        ["standard", "max_electric_power"],
        schema=schema,
    )
    op.create_index("ix_connectors_power", "connectors", ["max_electric_power"], schema=schema)


def downgrade() -> None:
    schema = current_tenant_schema()
    op.drop_index("ix_connectors_power", "connectors", schema=schema)
    op.drop_index("ix_connectors_standard_power", "connectors", schema=schema)
    op.drop_index("ix_locations_name", "locations", schema=schema)
    op.drop_index("ix_locations_search", "locations", schema=schema)
    op.drop_index("ix_locations_latitude_longitude", "locations", schema=schema)
