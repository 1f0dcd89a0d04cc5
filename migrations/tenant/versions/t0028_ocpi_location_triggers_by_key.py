"""ocpi: location triggers find the touched locations from the changed rows only, by key

The statement triggers of t0017 joined both transition tables to every EVSE and charging
station before comparing fields. PL/pgSQL keeps the first plan it made, so once a large
plan chose hash joins every later status batch scanned the whole ``evses`` table twice: for
a batch of 50 connectors of a 10,000-EVSE brand the trigger took 1.7 ms of the update's
3.3 ms. Now the changed rows are found first and each of their keys (EVSE, charging
station, location) is looked up by primary key: 0.4 ms of 2.2 ms, and the cost follows the
rows that changed, not the size of the brand.

Revision ID: t0028
Revises: t0027
Create Date: 2026-11-25 09:30:00.000000
"""

from __future__ import annotations

from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0028"
down_revision = "t0027"
branch_labels = None
depends_on = None

# Per child table: the fields OCPI shows, the column that leads to the location, and the
# location of one value of it (``k``), as in t0017.
CHILDREN = {
    "connectors": (
        "status standard format power_type max_voltage max_amperage max_electric_power"
        " connector_id evse_pk",
        "evse_pk",
        '(SELECT cs.location_id FROM "{s}".evses e'
        ' JOIN "{s}".charging_stations cs ON cs.id = e.charging_station_id WHERE e.id = k)',
    ),
    "evses": (
        "evse_id emi3_id physical_reference charging_station_id",
        "charging_station_id",
        '(SELECT cs.location_id FROM "{s}".charging_stations cs WHERE cs.id = k)',
    ),
    "charging_stations": ("location_id registration_status station_id", "location_id", "k"),
}
# t0017's joins, for the downgrade.
OLD_JOINS = {
    "connectors": (
        'JOIN "{s}".evses e ON e.id = r.evse_pk'
        ' JOIN "{s}".charging_stations cs ON cs.id = e.charging_station_id',
        "cs.location_id",
    ),
    "evses": ('JOIN "{s}".charging_stations cs ON cs.id = r.charging_station_id', "cs.location_id"),
    "charging_stations": ("", "r.location_id"),
}


def _changed(fields: str, a: str, b: str) -> str:
    names = fields.split()
    return "({}) IS DISTINCT FROM ({})".format(
        ", ".join(f"{a}.{n}" for n in names), ", ".join(f"{b}.{n}" for n in names)
    )


def _replace(s: str, table: str, update: str, insert: str, delete: str) -> None:
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION "{s}".ocpi_{table}_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' THEN
                PERFORM "{s}".ocpi_touch_locations(ARRAY({update}));
            ELSIF TG_OP = 'INSERT' THEN
                PERFORM "{s}".ocpi_touch_locations(ARRAY({insert}));
            ELSE
                PERFORM "{s}".ocpi_touch_locations(ARRAY({delete}));
            END IF;
            RETURN NULL;
        END $$;
        """
    )


def upgrade() -> None:
    s = current_tenant_schema()
    for table, (fields, key, location) in CHILDREN.items():
        where = location.format(s=s)
        # Both sides of a changed row: a row moved to another parent touches both locations.
        update = (
            f"SELECT DISTINCT {where} FROM (SELECT unnest(ARRAY[o.{key}, r.{key}]) AS k"  # noqa: S608 - identifiers of this migration, no input
            f" FROM new_rows r JOIN old_rows o ON o.id = r.id"
            f" WHERE {_changed(fields, 'o', 'r')}) changed"
        )
        _replace(
            s,
            table,
            update,
            f"SELECT DISTINCT {where} FROM (SELECT DISTINCT {key} AS k FROM new_rows) added",  # noqa: S608 - identifiers of this migration, no input
            f"SELECT DISTINCT {where} FROM (SELECT DISTINCT {key} AS k FROM old_rows) gone",  # noqa: S608 - identifiers of this migration, no input
        )


def downgrade() -> None:
    s = current_tenant_schema()
    for table, (fields, _key, _location) in CHILDREN.items():
        join, location = (part.format(s=s) for part in OLD_JOINS[table])
        old = location.replace("r.", "o.")
        update = (
            f"SELECT {location} FROM new_rows r {join} JOIN old_rows o ON o.id = r.id"  # noqa: S608 - identifiers of this migration, no input
            f" WHERE {location} IS NOT NULL AND {_changed(fields, 'o', 'r')}"
            f" UNION SELECT {old} FROM old_rows o {join.replace('r.', 'o.')}"
            f" JOIN new_rows r ON r.id = o.id WHERE {_changed(fields, 'o', 'r')}"
        )
        _replace(
            s,
            table,
            update,
            f"SELECT {location} FROM new_rows r {join}",  # noqa: S608 - identifiers of this migration, no input
            f"SELECT {location} FROM old_rows r {join}",  # noqa: S608 - identifiers of this migration, no input
        )
