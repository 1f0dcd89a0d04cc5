"""Analytics in the portal: figures of a date range per station, site, segment and day, their
CSV exports, and planned downtime windows."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tests.factories import add_location, add_station, add_user
from tests.monitoring.factories import add_cdr, add_period
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane.core.db import Database
from voltlane.models.tenant import AuditEntry, PlannedDowntime, Role, StationState
from voltlane.tenancy import TenantInfo

PASSWORD = "correct horse battery"
BERLIN = ZoneInfo("Europe/Berlin")


def local(hour: int, minute: int = 0, day: int = 2) -> datetime:
    """A wall-clock time on 2 November 2026 in Berlin (UTC+1), as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


async def brand_with_a_day_of_history(database: Database, make_brand) -> TenantInfo:
    """CS-A (Depot, 1 EVSE): online 00-20h, faulted 10-11h, planned downtime 20-24h, charging
    12-14h, 15-15:30h and 16-17h. CS-B (Yard, 2 EVSEs): online all day, idle. CS-C (Depot):
    never online."""
    brand = await make_brand(timezone="Europe/Berlin")
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD, Role.OPERATIONS)
        await add_user(db_session, "viewer@example.com", PASSWORD, Role.READ_ONLY)
        depot = await add_location(db_session, "Depot")
        yard = await add_location(db_session, "Yard")
        a = await add_station(db_session, depot, "CS-A")
        b = await add_station(db_session, yard, "CS-B", evses=2)
        await add_station(db_session, depot, "CS-C")
        await add_period(db_session, a, StationState.ONLINE, local(0), local(20))
        await add_period(db_session, a, StationState.FAULTED, local(10), local(11))
        await add_period(
            db_session, b, StationState.ONLINE, local(22, day=1), None, last_seen_at=local(1, day=3)
        )
        db_session.add(
            PlannedDowntime(
                charging_station_id=a.id,
                starts_at=local(20),
                ends_at=local(0, day=3),
                reason="Meter swap",
            )
        )
        await add_cdr(db_session, a, start=local(12), end=local(14), kwh="20", net=800)
        refunded = await add_cdr(
            db_session, a, start=local(15), end=local(15, 30), kwh="5", net=300
        )
        await add_cdr(
            db_session,
            a,
            start=local(15),
            end=local(15, 30),
            kwh="5",
            net=300,
            credit_of=refunded,
        )
        await add_cdr(
            db_session, a, start=local(16), end=local(17), kwh="10", net=450, segment="MEMBER"
        )
    return brand


async def test_a_days_availability_utilization_and_sales_per_station_site_segment_and_day(
    database: Database, make_brand, client_for
):
    brand = await brand_with_a_day_of_history(database, make_brand)
    query = "/portal/analytics?from=2026-11-02&to=2026-11-02"
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "viewer@example.com", PASSWORD)
        page = await client.get(query, headers=HTML)
        fragment = await client.get(query, headers={**HTML, "HX-Request": "true"})
        exports = {
            table: await client.get(f"{query}&table={table}&format=csv", headers=HTML)
            for table in ("stations", "sites", "segments", "days")
        }
    assert page.status_code == 200
    assert 'aria-label="Availability: 95.0 %"' in page.text
    assert 'href="?from=2026-11-02&amp;to=2026-11-02&amp;table=sites&amp;format=csv"' in page.text
    assert (
        '<a class="csv" href="?from=2026-11-02&amp;to=2026-11-02&amp;format=csv" download>'
        in page.text
    )
    assert "<html" not in fragment.text
    assert fragment.text.count('<th scope="row">CS-') == 3
    assert exports["stations"].headers["content-disposition"] == (
        'attachment; filename="analytics-stations-2026-11-02-2026-11-02.csv"'
    )
    usage = (
        "period_seconds,available_seconds,charging_seconds,availability_percent,"
        "utilization_percent,sessions,energy_kwh,revenue_minor,currency"
    )
    assert exports["stations"].text.split("\r\n") == [
        f"station_id,location,{usage}",
        "CS-A,Depot,72000,68400,12600,95.0,18.4,2,30.000,1250,EUR",
        "CS-C,Depot,86400,0,0,0.0,,0,0.000,0,EUR",
        "CS-B,Yard,172800,172800,0,100.0,0.0,0,0.000,0,EUR",
        "",
    ]
    assert exports["sites"].text.split("\r\n") == [
        f"location,{usage}",
        "Depot,158400,68400,12600,43.2,18.4,2,30.000,1250,EUR",
        "Yard,172800,172800,0,100.0,0.0,0,0.000,0,EUR",
        "",
    ]
    assert exports["segments"].text.split("\r\n") == [
        "segment,sessions,energy_kwh,revenue_minor,currency",
        "MEMBER,1,10.000,450,EUR",
        "PUBLIC,1,20.000,800,EUR",
        "",
    ]
    assert exports["days"].text.split("\r\n") == [
        "day,sessions,energy_kwh,revenue_minor",
        "2026-11-02,2,30.000,1250",
        "",
    ]


async def test_a_wrong_range_comes_back_with_the_error_beside_its_field(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        backwards = await client.get(
            "/portal/analytics?from=2026-11-05&to=2026-11-01", headers=HTML
        )
        garbled = await client.get("/portal/analytics?from=yesterday&to=2026-11-01", headers=HTML)
        too_long = await client.get(
            "/portal/analytics?from=2024-01-01&to=2026-11-01&format=csv", headers=HTML
        )
    assert backwards.status_code == 400
    assert (
        '<p class="field-error" id="to-error">The last day cannot be before the first.</p>'
        in backwards.text
    )
    assert 'value="2026-11-05"' in backwards.text
    assert garbled.status_code == 400
    assert '<p class="field-error" id="from-error">Enter a date as YYYY-MM-DD.</p>' in garbled.text
    assert too_long.status_code == 400
    assert '<p class="field-error" id="to-error">Choose at most 366 days.</p>' in too_long.text


async def downtime_rows(database: Database, brand: TenantInfo) -> int:
    async with database.tenant_session(brand.key) as db_session:
        return int(await db_session.scalar(select(func.count()).select_from(PlannedDowntime)) or 0)


async def test_planned_downtime_is_added_with_audit_and_a_wrong_form_writes_nothing(
    database: Database, make_brand, client_for
):
    brand = await brand_with_a_day_of_history(database, make_brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get("/portal/analytics/downtime", headers=HTML)
        station = page.text.split('<option value="', 2)[2].split('"', 1)[0]  # CS-A
        wrong = await client.post(
            "/portal/analytics/downtime",
            data={
                "_csrf_token": csrf_token(page.text),
                "station": "not-a-station",
                "starts": "2026-12-01T10:00",
                "ends": "2026-12-01T09:00",
                "reason": " ",
            },
            headers=HTML,
        )
        added = await client.post(
            "/portal/analytics/downtime",
            data={
                "_csrf_token": csrf_token(page.text),
                "station": station,
                "starts": "2026-12-01T08:00",
                "ends": "2026-12-01T12:30",
                "reason": "Firmware update",
            },
            headers=HTML,
        )
        listed = await client.get("/portal/analytics/downtime?format=csv", headers=HTML)
    assert wrong.status_code == 400
    for field, message in (
        ("station", "Choose a station."),
        ("ends", "The end must be after the start."),
        ("reason", "Say why the station is down."),
    ):
        assert f'<p class="field-error" id="{field}-error">{message}</p>' in wrong.text
    assert 'value="2026-12-01T10:00"' in wrong.text
    assert (added.status_code, added.headers["location"]) == (303, "/portal/analytics/downtime")
    lines = listed.text.split("\r\n")
    assert lines[0] == "id,station_id,starts_at,ends_at,reason,created_by"
    assert [line.split(",", 1)[1] for line in lines[1:-1]] == [
        "CS-A,2026-12-01T07:00:00+00:00,2026-12-01T11:30:00+00:00,Firmware update,ops@example.com",
        "CS-A,2026-11-02T19:00:00+00:00,2026-11-02T23:00:00+00:00,Meter swap,",
    ]
    async with database.tenant_session(brand.key) as db_session:
        actions = list(
            await db_session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like("planned_downtime%"))
            )
        )
    assert actions == ["planned_downtime.create"]


async def test_deleting_downtime_needs_the_write_permission_and_this_brands_id(
    database: Database, make_brand, client_for
):
    brand = await brand_with_a_day_of_history(database, make_brand)
    other = await brand_with_a_day_of_history(database, make_brand)
    async with database.tenant_session(other.key) as db_session:
        theirs = await db_session.scalar(select(PlannedDowntime.id))
    async with database.tenant_session(brand.key) as db_session:
        ours = await db_session.scalar(select(PlannedDowntime.id))
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "viewer@example.com", PASSWORD)
        page = await client.get("/portal/analytics/downtime", headers=HTML)
        refused = await client.post(
            f"/portal/analytics/downtime/{ours}/delete",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
        refused_add = await client.post(
            "/portal/analytics/downtime",
            data={"_csrf_token": csrf_token(page.text), "reason": "x"},
            headers=HTML,
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get("/portal/analytics/downtime", headers=HTML)
        missing = await client.post(
            f"/portal/analytics/downtime/{theirs}/delete",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
        deleted = await client.post(
            f"/portal/analytics/downtime/{ours}/delete",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
    assert (refused.status_code, refused_add.status_code) == (403, 403)
    assert missing.status_code == 404
    assert await downtime_rows(database, other) == 1
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/portal/analytics/downtime")
    assert await downtime_rows(database, brand) == 0
