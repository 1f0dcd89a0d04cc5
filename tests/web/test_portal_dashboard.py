"""The dashboard: the network right now and today so far, refreshed as a fragment."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.factories import add_fleet_account, add_location, add_station, add_user
from tests.monitoring.factories import add_cdr, add_session, connect, set_status
from tests.web.helpers import HTML, sign_in
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import Role
from voltlane.monitoring import service as monitoring
from voltlane.monitoring.service import local_day

PASSWORD = "correct horse battery"
TILE_RE = re.compile(r'<dd data-testid="([a-z-]+)">(?:<a [^>]*>)?([^<]*)')


def tiles(html: str) -> dict[str, str]:
    return dict(TILE_RE.findall(html))


async def test_the_dashboard_shows_the_network_now_and_today_in_the_brands_timezone(
    database: Database, make_brand, client_for
):
    brand = await make_brand(timezone="Europe/Berlin")
    now = utcnow()
    today, _ = local_day(now, "Europe/Berlin")
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD)
        depot = await add_location(db_session)
        up = await add_station(db_session, depot, "CS-1", evses=2)
        faulty = await add_station(db_session, depot, "CS-2")
        await add_station(db_session, depot, "CS-3")
        await connect(db_session, brand.key, up)
        await connect(db_session, brand.key, faulty)
        await set_status(db_session, faulty, "Faulted", now, error_code="GroundFailure")
        await add_session(db_session, up, now - timedelta(minutes=20))
        await add_cdr(
            db_session,
            up,
            start=today - timedelta(hours=2),
            end=today + timedelta(minutes=1),
            kwh="12.5",
            net=1000,
        )
        credited = await add_cdr(
            db_session, up, start=today, end=today + timedelta(minutes=2), kwh="7.5", net=500
        )
        await add_cdr(
            db_session,
            up,
            start=today,
            end=today + timedelta(minutes=3),
            kwh="7.5",
            net=500,
            credit_of=credited,
        )
        await add_cdr(
            db_session,
            up,
            start=today - timedelta(hours=3),
            end=today - timedelta(minutes=1),
            kwh="30",
            net=9999,
        )
        await add_cdr(
            db_session,
            up,
            start=today,
            end=today + timedelta(minutes=4),
            kwh="1",
            net=700,
            currency="CHF",
        )
    async with database.tenant_transaction(brand.key) as db_session:
        # CS-3 never connected and CS-2 has been faulted for 16 minutes: two open alerts.
        await monitoring.detect(db_session, brand, now=now + timedelta(minutes=16))
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get("/portal/", headers=HTML)
        fragment = await client.get("/portal/", headers={**HTML, "HX-Request": "true"})
    assert page.status_code == 200
    assert tiles(page.text) == {
        "stations-online": "2",
        "stations-offline": "1",
        "stations-faulted": "1",
        "stations-charging": "1",
        "energy-today": "12.5 kWh",
        "revenue-today": "€10.00",
        "open-alerts": "2",
        "count-locations": "1",
        "count-stations": "3",
        "count-evses": "4",
        "count-connectors": "4",
    }
    assert re.findall(
        r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td><td>([^<]+)</td>', page.text
    ) == [
        ("Faulted connector", "CS-2", "EVSE 1 connector 1: GroundFailure"),
        ("Station offline", "CS-3", "—"),
    ]
    assert (
        'hx-get="/portal/" hx-trigger="every 5s [!this.contains(document.activeElement)]"'
        in page.text
    )
    assert '<a class="button" href="/portal/stations">' in page.text
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert tiles(fragment.text) == tiles(page.text)


async def test_a_fleet_manager_never_sees_the_networks_figures_alerts_or_analytics(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        fleet = await add_fleet_account(db_session)
        await add_user(
            db_session, "fleet@example.com", PASSWORD, Role.FLEET_MANAGER, fleet_account_id=fleet.id
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "fleet@example.com", PASSWORD)
        response = await client.get("/portal/", headers=HTML)
        alerts = await client.get("/portal/alerts", headers=HTML)
        analytics = await client.get("/portal/analytics", headers=HTML)
        rules = await client.get("/portal/alerts/rules", headers=HTML)
    assert (alerts.status_code, analytics.status_code, rules.status_code) == (403, 403, 403)
    assert response.status_code in (200, 303)
    assert tiles(response.text) == {}
    if response.status_code == 303:
        assert response.headers["location"] != "/portal/"
