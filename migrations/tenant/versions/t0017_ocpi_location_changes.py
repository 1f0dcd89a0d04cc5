"""ocpi: a location's last_updated follows every change partners can see

Triggers bump ``locations.ocpi_last_updated`` when the location, one of its stations, EVSEs
or connectors (statuses included) changes in a field the OCPI objects show. The child
tables' triggers run once per statement over its transition table (the OCPP status path
writes connectors in batches) and lock the locations they touch in id order, so two
batches never deadlock on them.

Revision ID: t0017
Revises: t0016
Create Date: 2026-11-25 04:00:00.000000
"""

from __future__ import annotations

from alembic import op

from voltlane.tenancy.migrations import current_tenant_schema

revision = "t0017"
down_revision = "t0016"
branch_labels = None
depends_on = None

LOCATION_FIELDS = (
    "name address city postal_code state country latitude longitude timezone opening_hours publish"
)
# Per child table: the fields OCPI shows, and the query from a transition table (alias r)
# to the location ids it touches.
CHILDREN = {
    "connectors": (
        "status standard format power_type max_voltage max_amperage max_electric_power"
        " connector_id evse_pk",
        'JOIN "{s}".evses e ON e.id = r.evse_pk'
        ' JOIN "{s}".charging_stations cs ON cs.id = e.charging_station_id',
        "cs.location_id",
    ),
    "evses": (
        "evse_id emi3_id physical_reference charging_station_id",
        'JOIN "{s}".charging_stations cs ON cs.id = r.charging_station_id',
        "cs.location_id",
    ),
    "charging_stations": ("location_id registration_status station_id", "", "r.location_id"),
}
EVENTS = (("INSERT", "NEW TABLE AS new_rows"), ("DELETE", "OLD TABLE AS old_rows"))


def _changed(fields: str, a: str, b: str) -> str:
    names = fields.split()
    return "({}) IS DISTINCT FROM ({})".format(
        ", ".join(f"{a}.{n}" for n in names), ", ".join(f"{b}.{n}" for n in names)
    )


def upgrade() -> None:
    s = current_tenant_schema()
    op.execute(
        f"""
        CREATE FUNCTION "{s}".ocpi_touch_locations(ids uuid[]) RETURNS void
        LANGUAGE sql AS $$
            UPDATE "{s}".locations SET ocpi_last_updated = now()
            WHERE id IN (
                SELECT id FROM "{s}".locations
                WHERE id = ANY(ids) AND ocpi_last_updated < now()
                ORDER BY id FOR UPDATE
            )
        $$;
        CREATE FUNCTION "{s}".ocpi_location_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF {_changed(LOCATION_FIELDS, "OLD", "NEW")} THEN
                NEW.ocpi_last_updated := now();
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER ocpi_location_changed BEFORE UPDATE ON "{s}".locations
            FOR EACH ROW EXECUTE FUNCTION "{s}".ocpi_location_changed();
        """  # noqa: S608 - identifiers of this migration, no input
    )
    for table, (fields, join_template, location) in CHILDREN.items():
        join = join_template.format(s=s)
        op.execute(
            f"""
            CREATE FUNCTION "{s}".ocpi_{table}_changed() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' THEN
                    PERFORM "{s}".ocpi_touch_locations(ARRAY(
                        SELECT {location} FROM new_rows r {join}
                        JOIN old_rows o ON o.id = r.id
                        WHERE {location} IS NOT NULL AND {_changed(fields, "o", "r")}
                        UNION
                        SELECT {location.replace("r.", "o.")} FROM old_rows o
                        {join.replace("r.", "o.")}
                        JOIN new_rows r ON r.id = o.id
                        WHERE {_changed(fields, "o", "r")}
                    ));
                ELSIF TG_OP = 'INSERT' THEN
                    PERFORM "{s}".ocpi_touch_locations(ARRAY(
                        SELECT {location} FROM new_rows r {join}));
                ELSE
                    PERFORM "{s}".ocpi_touch_locations(ARRAY(
                        SELECT {location} FROM old_rows r {join}));
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER ocpi_{table}_updated AFTER UPDATE ON "{s}".{table}
                REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION "{s}".ocpi_{table}_changed();
            """  # noqa: S608 - identifiers of this migration, no input
        )
        for event, transition in EVENTS:
            op.execute(
                f"""
                CREATE TRIGGER ocpi_{table}_{event.lower()} AFTER {event} ON "{s}".{table}
                    REFERENCING {transition}
                    FOR EACH STATEMENT EXECUTE FUNCTION "{s}".ocpi_{table}_changed();
                """
            )
    # Locations whose children changed after them before this migration.
    op.execute(
        f"""
        UPDATE "{s}".locations l SET ocpi_last_updated = changed.at
        FROM (
            SELECT cs.location_id, max(greatest(cs.updated_at, e.updated_at, c.updated_at)) AS at
            FROM "{s}".charging_stations cs
            JOIN "{s}".evses e ON e.charging_station_id = cs.id
            JOIN "{s}".connectors c ON c.evse_pk = e.id
            GROUP BY cs.location_id
        ) changed
        WHERE changed.location_id = l.id AND changed.at > l.ocpi_last_updated
        """  # noqa: S608 - identifiers of this migration, no input
    )


def downgrade() -> None:
    s = current_tenant_schema()
    for table in CHILDREN:
        for event in ("updated", "insert", "delete"):
            op.execute(f'DROP TRIGGER ocpi_{table}_{event} ON "{s}".{table}')
        op.execute(f'DROP FUNCTION "{s}".ocpi_{table}_changed()')
    op.execute(f'DROP TRIGGER ocpi_location_changed ON "{s}".locations')
    op.execute(f'DROP FUNCTION "{s}".ocpi_location_changed()')
    op.execute(f'DROP FUNCTION "{s}".ocpi_touch_locations(uuid[])')
