"""What every portal page shares: the menu by role, the language switch, CSV export."""

from __future__ import annotations

import re

from tests.factories import add_fleet_account, add_location, add_station, add_user
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane.core.db import Database
from voltlane.models.tenant import Role

PASSWORD = "correct horse battery"
MENU_RE = re.compile(r'<nav aria-label="[^"]+" class="menu">(.*?)</nav>', re.S)
LINK_RE = re.compile(r'<a href="([^"]+)"[^>]*>([^<]+)</a>')


def menu(html: str) -> list[tuple[str, str]]:
    match = MENU_RE.search(html)
    assert match is not None, "the page has no menu"
    return LINK_RE.findall(match.group(1))


async def test_the_menu_lists_what_the_role_opens(database: Database, make_brand, client_for):
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD, Role.OPERATIONS)
        await add_user(db_session, "owner@example.com", PASSWORD, Role.OWNER)
        fleet = await add_fleet_account(db_session)
        await add_user(
            db_session, "fleet@example.com", PASSWORD, Role.FLEET_MANAGER, fleet_account_id=fleet.id
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        ops_page = await client.get("/portal/stations", headers=HTML)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "owner@example.com", PASSWORD)
        owner_page = await client.get("/portal/", headers=HTML)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "fleet@example.com", PASSWORD)
        refused = await client.get("/portal/stations", headers=HTML)
        fleet_page = await client.get("/portal/fleet", headers=HTML)
    network = [
        ("/portal/", "Dashboard"),
        ("/portal/stations", "Stations"),
        ("/portal/sites", "Sites"),
        ("/portal/sessions", "Sessions"),
        ("/portal/tariffs", "Tariffs"),
        ("/portal/drivers", "Drivers"),
        ("/portal/fleets", "Fleets"),
        ("/portal/finance", "Finance"),
        ("/portal/analytics", "Analytics"),
        ("/portal/alerts", "Alerts"),
        ("/portal/roaming", "Roaming"),
    ]
    assert menu(ops_page.text) == network
    assert menu(owner_page.text) == [
        *network,
        ("/portal/settings", "Settings"),
        ("/portal/audit", "Audit log"),
    ]
    assert menu(fleet_page.text) == [("/portal/fleet", "My fleet")]
    assert '<a href="/portal/stations" aria-current="page">Stations</a>' in ops_page.text
    assert refused.status_code == 403


async def test_staff_switch_to_another_of_the_brands_languages(
    database: Database, make_brand, client_for
):
    brand = await make_brand(locale="en_GB", locales=["en_GB", "de_DE", "fr_FR"])
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        english = await client.get("/portal/stations", headers=HTML)
        switched = await client.post(
            "/language",
            data={
                "locale": "de_DE",
                "next": "/portal/stations",
                "_csrf_token": csrf_token(english.text),
            },
            headers=HTML,
        )
        german = await client.get("/portal/stations", headers=HTML)
        refused = await client.post(
            "/language",
            data={"locale": "it_IT", "next": "/", "_csrf_token": csrf_token(german.text)},
        )
        still_german = await client.get("/portal/", headers=HTML)
    assert '<option value="de_DE" >Deutsch</option>' in english.text
    assert (switched.status_code, switched.headers["location"]) == (303, "/portal/stations")
    assert '<html lang="de">' in german.text
    assert [label for _, label in menu(german.text)] == [
        "Übersicht",
        "Stationen",
        "Lastbereiche",
        "Ladevorgänge",
        "Tarife",
        "Fahrer",
        "Flotten",
        "Finanzen",
        "Auswertungen",
        "Warnungen",
        "Roaming",
    ]
    assert "<h1>Ladestationen</h1>" in german.text
    assert refused.status_code == 422
    assert refused.json()["detail"] == "Choose one of en_GB, de_DE, fr_FR."
    assert "<h1>Netz</h1>" in still_german.text


async def test_the_language_switch_returns_only_to_this_host(make_brand, client_for):
    brand = await make_brand(locale="en_GB", locales=["en_GB", "fr_FR"])
    async with client_for(f"{brand.slug}.localhost") as client:
        page = await client.get("/portal/login", headers=HTML)
        response = await client.post(
            "/language",
            data={
                "locale": "fr_FR",
                "next": "//evil.example/",
                "_csrf_token": csrf_token(page.text),
            },
            headers=HTML,
        )
        french = await client.get("/portal/login", headers=HTML)
    assert (response.status_code, response.headers["location"]) == (303, "/")
    assert "<h1>Portail opérateur</h1>" in french.text


async def test_station_list_exports_every_station_as_csv(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD)
        depot = await add_location(db_session, "=HYPERLINK(1)", city="Kiel")
        await add_station(db_session, depot, "CS-2", evses=2)
        await add_station(db_session, depot, "CS-1")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        response = await client.get("/portal/stations?format=csv", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="stations.csv"'
    assert response.text.split("\r\n") == [
        "station_id,location,city,vendor,model,protocol,evses,connectors,max_power_w,"
        "security_profile,registration",
        "CS-1,'=HYPERLINK(1),Kiel,,,,1,1,22000,2,Accepted",
        "CS-2,'=HYPERLINK(1),Kiel,,,,2,2,22000,2,Accepted",
        "",
    ]
