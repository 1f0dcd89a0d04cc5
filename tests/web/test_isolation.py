"""Tenant isolation: two brands with the same station ids and the same staff e-mail.

As brand A, every page and query shows only A's rows; B's are unreachable by host, by
cookie or by id.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.factories import add_location, add_station, add_user
from tests.web.helpers import HTML, sign_in
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingStation, Location, OperatorUser, Role

PASSWORD = "correct horse battery"
SHARED_IDS = ["CP-0001", "CP-0002"]
ROW_RE = re.compile(r'<tr data-station-id="([^"]+)">')


async def _two_brands(database: Database, make_brand):
    a = await make_brand(name="Alpha Charge")
    b = await make_brand(name="Bravo Energy")
    for brand, city, evses in ((a, "Hamburg", 1), (b, "Leeds", 2)):
        async with database.tenant_transaction(brand.key) as db_session:
            location = await add_location(db_session, f"{brand.name} depot", city=city)
            for station_id in SHARED_IDS:
                await add_station(db_session, location, station_id, evses=evses)
            await add_user(db_session, "ops@shared.example", PASSWORD, Role.OWNER, brand.name)
    return a, b


async def test_each_brand_sees_only_its_own_rows(database: Database, make_brand) -> None:
    a, b = await _two_brands(database, make_brand)
    for brand, city in ((a, "Hamburg"), (b, "Leeds")):
        async with database.tenant_session(brand.key) as db_session:
            locations = list(await db_session.scalars(select(Location.city)))
            stations = list(
                await db_session.scalars(
                    select(ChargingStation.station_id).order_by(ChargingStation.station_id)
                )
            )
            users = list(await db_session.scalars(select(OperatorUser.name)))
        assert (locations, stations, users) == ([city], SHARED_IDS, [brand.name])


async def test_portal_pages_show_only_the_hosts_brand(
    database: Database, make_brand, client_for
) -> None:
    a, b = await _two_brands(database, make_brand)
    pages = {}
    for brand in (a, b):
        async with client_for(f"{brand.slug}.localhost") as client:
            await sign_in(client, "ops@shared.example", PASSWORD)
            pages[brand.key] = (
                await client.get("/portal/", headers=HTML),
                await client.get("/portal/stations", headers=HTML),
                await client.get("/", headers=HTML),
            )
    for brand, other, evses in ((a, b, "1"), (b, a, "2")):
        home, stations, driver = pages[brand.key]
        assert f'<span data-testid="staff-name">{brand.name}</span>' in home.text
        assert '<dd data-testid="count-stations">2</dd>' in home.text
        assert ROW_RE.findall(stations.text) == SHARED_IDS
        assert f'<td class="num">{evses}</td>' in stations.text
        for page in (home, stations, driver):
            assert other.name not in page.text
        assert f"{brand.name} depot" in driver.text


async def test_a_session_of_one_brand_opens_nothing_on_another(
    database: Database, make_brand, client_for
) -> None:
    a, b = await _two_brands(database, make_brand)
    async with client_for(f"{a.slug}.localhost") as client:
        await sign_in(client, "ops@shared.example", PASSWORD)
        token = client.cookies["vl_session"]
    async with client_for(f"{b.slug}.localhost") as client:
        client.cookies.set("vl_session", token, domain=f"{b.slug}.localhost")
        response = await client.get("/portal/stations", headers=HTML)
    assert (response.status_code, response.headers["location"]) == (
        303,
        "/portal/login?next=/portal/stations",
    )


async def test_unknown_and_suspended_hosts_answer_404(
    database: Database, make_brand, client_for
) -> None:
    from voltlane.tenancy import service as tenancy  # noqa: PLC0415

    brand = await make_brand()
    async with database.platform_transaction() as db_session:
        await tenancy.set_suspended(db_session, brand.slug, suspended=True)
    responses = []
    for host in ("nobody.localhost", f"{brand.slug}.localhost", "127.0.0.1"):
        async with client_for(host) as client:
            responses.append(await client.get("/portal/login"))
    for response in responses:
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json() == {
            "type": "about:blank",
            "title": "Unknown host",
            "status": 404,
            "detail": "This host does not serve a Voltlane brand.",
        }
