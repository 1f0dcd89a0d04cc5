"""A station's page in the driver app: address, opening hours in words, each charging point
with its plugs, live state and code, and the brand's price for this driver in words."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select, update

from tests.billing.test_cdrs import add_tariff, ocpi_tariff
from tests.pwa.finder_factories import CCS, T2, add_place
from tests.pwa.money_factories import add_driver, sign_in_as
from tests.web.helpers import HTML
from voltlane.core.db import Database
from voltlane.models.tenant import Connector, Evse
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo

# The demo brand's tariff (tenants/voltaria.toml, VLT-AC): public and member prices.
ENERGY_049 = {"type": "ENERGY", "price": "0.49", "vat": "19", "step_size": 1}
FLAT_035 = {"type": "FLAT", "price": "0.35", "vat": "19", "step_size": 0}
IDLE_FEE = {"price_per_minute": "0.10", "grace": 3600, "step_size": 60, "cap": "12.00", "vat": "19"}
MEMBER_ELEMENTS = [
    {
        "price_components": [{"type": "ENERGY", "price": "0.39", "vat": "19", "step_size": 1}],
        "restrictions": {"start_time": "22:00", "end_time": "06:00"},
    },
    {"price_components": [{"type": "ENERGY", "price": "0.44", "vat": "19", "step_size": 1}]},
]
WEEKDAYS = {
    "twentyfourseven": False,
    "regular_hours": [
        *({"weekday": d, "period_begin": "07:00", "period_end": "22:00"} for d in range(1, 6)),
        {"weekday": 6, "period_begin": "09:00", "period_end": "14:00"},
    ],
    "exceptional_closings": [
        {"period_begin": "2099-12-24T13:00:00+00:00", "period_end": "2099-12-26T05:00:00+00:00"}
    ],
}
ENGLISH = {"vl_lang": "en_GB"}


def plain(text: str) -> str:
    return text.replace("\xa0", " ").replace("\u202f", " ").replace("\u2013", "--")


def texts_of(page: str, name: str) -> list[str]:
    found = re.findall(rf'data-testid="{name}"[^>]*>([^<]*)<', page)
    return [plain(text) for text in found]


async def demo_site(database: Database, brand: TenantInfo, **kwargs: Any) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_place(
            db_session,
            "Torstraße",
            "52.5290",
            "13.4010",
            ((T2, 22000, "Available"), (CCS, 150000, "Charging")),
            city="Berlin",
            postal_code="10119",
            address="Torstraße 110",
            station_id="VLT-BER-001",
            emi3_prefix="DE*VLT*E0001",
            **kwargs,
        )
    return location.id


async def test_the_page_words_the_demo_tariff_in_german_and_english(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locale="de_DE", locales=["de_DE", "en_GB"])
    location_id = await demo_site(database, brand)
    await add_tariff(
        database, brand, ocpi_tariff("VLT-AC", ENERGY_049, FLAT_035), idle_fee=IDLE_FEE
    )
    member = {"id": "VLT-AC", "currency": "EUR", "elements": MEMBER_ELEMENTS}
    await add_tariff(database, brand, member, segment=SegmentKind.MEMBER, idle_fee=IDLE_FEE)
    async with client_for(f"{brand.slug}.localhost") as client:
        german = await client.get(f"/stations/{location_id}", headers=HTML)
        client.cookies.update(ENGLISH)
        english = await client.get(f"/stations/{location_id}", headers=HTML)
        _, token = await add_driver(database, brand)
        sign_in_as(client, token)
        signed_in = await client.get(f"/stations/{location_id}", headers=HTML)
    assert german.status_code == 200
    assert texts_of(german.text, "price") == [
        "0,5831 €/kWh · 0,119 €/min Blockiergebühr nach 1 h (max. 14,28 €) · 0,42 € pro Ladevorgang"
    ]
    assert texts_of(german.text, "price-vat") == ["inkl. 19 % MwSt."]
    assert texts_of(english.text, "price") == [
        "€0.5831/kWh · €0.119/min idle after 1 h (max. €14.28) · €0.42 per session"
    ]
    assert texts_of(english.text, "price-vat") == ["incl. 19 % VAT"]
    assert "Prices without an account." in english.text
    assert texts_of(signed_in.text, "price") == [
        "€0.4641/kWh (22:00--06:00) · €0.5236/kWh (otherwise)"
        " · €0.119/min idle after 1 h (max. €14.28)"
    ]
    assert "Prices without an account." not in signed_in.text


async def test_each_charging_point_with_plugs_state_code_and_charge_link(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    location_id = await demo_site(database, brand, hours=WEEKDAYS)
    async with client_for(f"{brand.slug}.localhost") as client:
        page = await client.get(f"/stations/{location_id}", headers=HTML)
    assert texts_of(page.text, "location-name") == ["Torstraße"]
    assert texts_of(page.text, "address") == ["Torstraße 110, 10119 Berlin"]
    assert re.findall(r'<h3 class="evse-code">([^<]+)</h3>', page.text) == [
        "Charging point DE*VLT*E0001*1",
        "Charging point DE*VLT*E0001*2",
    ]
    assert texts_of(page.text, "connector") == [
        "Type 2 · Socket · 22 kW",
        "CCS (Combo 2) · Attached cable · 150 kW",
    ]
    assert texts_of(page.text, "evse-state") == ["Available", "In use"]
    assert texts_of(page.text, "station-availability") == ["1 of 2 available"]
    assert re.findall(r'href="([^"]+)" data-testid="charge-here"', page.text) == [
        "/charge/DEVLTE00011",
        "/charge/DEVLTE00012",
    ]
    assert texts_of(page.text, "price") == ["No price is published for this station at the moment."]
    assert f'hx-get="/stations/{location_id}/status" hx-trigger="every 10s' in page.text


async def test_opening_hours_in_words_with_planned_closings(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locale="de_DE", locales=["de_DE", "en_GB"])
    location_id = await demo_site(database, brand, hours=WEEKDAYS)
    async with client_for(f"{brand.slug}.localhost") as client:
        client.cookies.update(ENGLISH)
        english = await client.get(f"/stations/{location_id}", headers=HTML)
    hours = plain(english.text[english.text.index('<dl class="details" data-testid="hours">') :])
    rows = re.findall(r"<dt>([^<]+)</dt>\s*<dd>([^<]+)</dd>", hours[: hours.index("</dl>")])
    assert rows == [("Mon--Fri", "07:00--22:00"), ("Sat", "09:00--14:00"), ("Sun", "closed")]
    # Closings far ahead are not listed; the page shows only the next 60 days.
    assert 'data-testid="closings"' not in english.text


async def test_the_status_poll_swaps_each_state_out_of_band(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    location_id = await demo_site(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        evses = list(await db_session.scalars(select(Evse.id).order_by(Evse.evse_id)))
        await db_session.execute(
            update(Connector).where(Connector.evse_pk == evses[0]).values(status="Faulted")
        )
        await db_session.execute(
            update(Connector).where(Connector.evse_pk == evses[1]).values(status="Available")
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        status = await client.get(f"/stations/{location_id}/status", headers={"HX-Request": "true"})
    assert status.status_code == 200
    assert status.headers["cache-control"] == "no-store"
    assert re.findall(r'<span id="evse-state-([0-9a-f-]+)" hx-swap-oob="true"', status.text) == [
        str(pk) for pk in evses
    ]
    assert texts_of(status.text, "evse-state") == ["Out of order", "Available"]
    assert texts_of(status.text, "station-availability") == ["1 of 2 available"]


async def test_prices_that_differ_by_charging_point_are_shown_with_each(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    location_id = await demo_site(database, brand)
    async with database.tenant_session(brand.key) as db_session:
        fast = await db_session.scalar(select(Evse.id).where(Evse.evse_id == 2))
    assert fast is not None
    await add_tariff(database, brand, ocpi_tariff("AC", ENERGY_049))
    fast_price = {"type": "ENERGY", "price": "0.69", "step_size": 1}
    await add_tariff(database, brand, ocpi_tariff("HPC", fast_price), assign={"evse_pk": fast})
    async with client_for(f"{brand.slug}.localhost") as client:
        page = await client.get(f"/stations/{location_id}", headers=HTML)
    assert "The price depends on the charging point" in page.text
    assert texts_of(page.text, "price") == ["€0.5831/kWh", "€0.69/kWh"]


async def test_unknown_and_malformed_station_ids_are_not_found(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    async with client_for(f"{brand.slug}.localhost") as client:
        unknown = await client.get(f"/stations/{uuid.uuid4()}", headers=HTML)
        malformed = await client.get("/stations/not-a-station", headers=HTML)
    assert (unknown.status_code, malformed.status_code) == (404, 404)
