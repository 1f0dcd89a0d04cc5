"""Fleets in the portal: accounts, contracts and their tariffs, cards and what they name, usage."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from tests.factories import add_fleet_account, add_location, add_station, add_user
from tests.web.helpers import HTML, csrf_token, sign_in
from tests.web.test_portal_drivers import (
    PASSWORD,
    add_card,
    add_driver,
    audit_actions,
    field_error,
    rows,
    staffed_brand,
)
from voltlane.billing import tariffs
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AccountKind,
    ChargingSession,
    CustomerAccount,
    IdToken,
    IdTokenStatus,
    Invoicing,
    Role,
    SessionStatus,
)
from voltlane.tariff import SegmentKind

FLEET_FORM = {
    "name": "Havel Transporte GmbH",
    "email": "rechnung@havel.example",
    "street": "Uferweg 3",
    "postal_code": "14467",
    "city": "Potsdam",
    "country": "DE",
    "locale": "en_GB",
    "vat_id": "DE222222222",
    "buyer_reference": "PO-2026-17",
    "invoicing": "monthly",
    "payment_terms_days": "45",
    "contract": "HAVEL-2026",
}


async def add_contract_tariff(db_session: Any, code: str, contract: str) -> None:
    await tariffs.create_tariff_version(
        db_session,
        definition={
            "id": code,
            "currency": "EUR",
            "start_date_time": "2026-01-01T00:00:00Z",
            "elements": [
                {
                    "price_components": [
                        {"type": "ENERGY", "price": "0.29", "vat": "19", "step_size": 1}
                    ]
                }
            ],
        },
        segment=SegmentKind.FLEET,
        segment_ref=contract,
        idle_fee=None,
        brand_currency="EUR",
        created_by="finance@example.com",
    )


async def test_fleets_are_listed_searched_and_exported(database: Database, make_brand, client_for):
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        spree = await add_fleet_account(db_session, contract="SPREE-1")
        await add_card(db_session, "AA-1", account_id=spree.id)
        havel = await add_fleet_account(
            db_session,
            name="Havel Transporte GmbH",
            email="ap@havel.example",
            vat_id=None,
            buyer_reference=None,
            payment_terms_days=1,
        )
        await add_driver(db_session, "Lena Fischer", "lena@example.com")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        listed = await client.get("/portal/fleets", headers=HTML)
        searched = await client.get("/portal/fleets?q=spree-log", headers=HTML)
        exported = await client.get("/portal/fleets?format=csv", headers=HTML)
    assert listed.status_code == 200
    assert rows(listed.text, "fleets-table") == [
        [
            "Havel Transporte GmbH",
            "ap@havel.example",
            "—",
            "—",
            "One invoice per month",
            "1 day",
            "0",
        ],
        [
            "Spree Logistik GmbH",
            "ap@spree-logistik.example",
            "DE811111111",
            "SPREE-1",
            "One invoice per month",
            "30 days",
            "1",
        ],
    ]
    assert [r[0] for r in rows(searched.text, "fleets-table")] == ["Spree Logistik GmbH"]
    lines = exported.text.split("\r\n")
    assert lines[0] == (
        "id,name,email,vat_id,buyer_reference,contract,invoicing,payment_terms_days,city,"
        "country,cards,created_at"
    )
    assert [line.rsplit(",", 1)[0] for line in lines[1:-1]] == [
        f"{havel.id},Havel Transporte GmbH,ap@havel.example,,,,monthly,1,Berlin,DE,0",
        f"{spree.id},Spree Logistik GmbH,ap@spree-logistik.example,DE811111111,PO-4711,"
        "SPREE-1,monthly,30,Berlin,DE,1",
    ]


async def test_a_fleet_is_created_with_its_contract_and_a_bad_form_writes_nothing(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_contract_tariff(db_session, "FLEET-HAVEL", "HAVEL-2026")
        await add_contract_tariff(db_session, "FLEET-SPREE", "SPREE-1")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        form = await client.get("/portal/fleets/new", headers=HTML)
        token = csrf_token(form.text)
        bad = await client.post(
            "/portal/fleets",
            data={
                **FLEET_FORM,
                "_csrf_token": token,
                "vat_id": "222222222",
                "payment_terms_days": "180",
                "invoicing": "weekly",
                "locale": "xx_XX",
            },
            headers=HTML,
        )
        async with database.tenant_transaction(brand.key) as db_session:
            after_bad = await db_session.scalar(select(func.count()).select_from(CustomerAccount))
        created = await client.post(
            "/portal/fleets", data={**FLEET_FORM, "_csrf_token": token}, headers=HTML
        )
        async with database.tenant_transaction(brand.key) as db_session:
            fleet = await db_session.scalar(select(CustomerAccount))
        assert fleet is not None
        page = await client.get(f"/portal/fleets/{fleet.id}", headers=HTML)
    assert '<option value="HAVEL-2026">' in form.text
    assert '<option value="SPREE-1">' in form.text
    assert 'value="30"' in form.text  # the usual terms, prefilled
    assert bad.status_code == 400
    assert field_error(bad.text, "vat_id") == "Enter a VAT id such as DE123456789."
    assert field_error(bad.text, "payment_terms_days") == "Enter a number of days from 0 to 120."
    assert field_error(bad.text, "invoicing") == "Choose how the account is invoiced."
    assert field_error(bad.text, "locale") == "Choose one of the languages offered."
    assert 'value="Havel Transporte GmbH"' in bad.text
    assert after_bad == 0
    assert (created.status_code, created.headers["location"]) == (
        303,
        f"/portal/fleets/{fleet.id}",
    )
    assert (
        fleet.kind,
        fleet.name,
        fleet.vat_id,
        fleet.buyer_reference,
        fleet.invoicing,
        fleet.payment_terms_days,
        fleet.contract,
        fleet.city,
    ) == (
        AccountKind.FLEET,
        "Havel Transporte GmbH",
        "DE222222222",
        "PO-2026-17",
        Invoicing.MONTHLY,
        45,
        "HAVEL-2026",
        "Potsdam",
    )
    assert 'data-testid="segment">FLEET:HAVEL-2026<' in page.text
    assert [r[0] for r in rows(page.text, "contract-tariffs")] == ["FLEET-HAVEL"]
    assert await audit_actions(database, brand) == [
        (
            "portal.customer_account.create",
            "ops@example.com",
            {"kind": "fleet", "contract": "HAVEL-2026"},
        )
    ]


async def test_a_fleets_billing_details_and_contract_are_edited(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        fleet = await add_fleet_account(db_session, locale="en_GB")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        form = await client.get(f"/portal/fleets/{fleet.id}/edit", headers=HTML)
        edited = await client.post(
            f"/portal/fleets/{fleet.id}",
            data={
                **FLEET_FORM,
                "_csrf_token": csrf_token(form.text),
                "name": "Spree Logistik GmbH",
                "contract": "",
                "payment_terms_days": "14",
            },
            headers=HTML,
        )
        page = await client.get(f"/portal/fleets/{fleet.id}", headers=HTML)
    assert 'value="PO-4711"' in form.text
    assert edited.status_code == 303
    assert "No contract: the cards&#39; sessions get the brand&#39;s fleet prices." in page.text
    assert "<dt>Language of documents</dt><dd>English</dd>" in page.text
    assert "<dt>Invoicing</dt><dd>One invoice per month</dd>" in page.text
    assert await audit_actions(database, brand) == [
        (
            "portal.customer_account.update",
            "ops@example.com",
            {
                "changes": [
                    "buyer_reference",
                    "city",
                    "email",
                    "payment_terms_days",
                    "postal_code",
                    "street",
                    "vat_id",
                ]
            },
        )
    ]


async def test_a_fleet_page_shows_cards_what_they_name_and_this_months_usage(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    now = utcnow()
    async with database.tenant_transaction(brand.key) as db_session:
        fleet = await add_fleet_account(db_session, contract="SPREE-1")
        await add_card(
            db_session,
            "AA-1",
            account_id=fleet.id,
            driver_name="Tom Berg",
            vehicle="B-SL 1234",
            cost_centre="CC-10",
            label="Van 1",
        )
        await add_card(
            db_session,
            "AA-2",
            account_id=fleet.id,
            driver_name="Ute Kern",
            vehicle="B-SL 1234",
            cost_centre="CC-10",
            status=IdTokenStatus.BLOCKED,
        )
        await add_card(db_session, "AA-3", account_id=fleet.id, driver_name="ute kern")
        await add_card(db_session, "ZZ-9", driver_name="Not in the fleet")
        station = await add_station(db_session, await add_location(db_session), "CS-1")
        for n, (card, started, energy) in enumerate(
            (
                ("AA-1", now, Decimal("12500.5")),
                ("AA-2", now, Decimal("7000")),
                ("AA-1", now.replace(day=1) - timedelta(days=2), Decimal("9000")),  # last month
                ("ZZ-9", now, Decimal("5000")),  # another account's card
            )
        ):
            db_session.add(
                ChargingSession(
                    charging_station_id=station.id,
                    protocol="ocpp2.0.1",
                    transaction_id=f"tx-{n}",
                    status=SessionStatus.FINISHED,
                    id_token=card,
                    id_token_type="ISO14443",
                    started_at=started,
                    energy_wh=energy,
                )
            )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/fleets/{fleet.id}", headers=HTML)
        exported = await client.get(f"/portal/fleets/{fleet.id}?format=csv", headers=HTML)
    assert page.status_code == 200
    assert 'data-testid="sessions-month">2<' in page.text
    assert 'data-testid="energy-month">19.5 kWh<' in page.text
    assert 'data-testid="card-count">3<' in page.text
    assert [r[:7] for r in rows(page.text, "cards-table")] == [
        ["AA-1 RFID card (ISO 14443)", "Active", "Van 1", "Tom Berg", "B-SL 1234", "CC-10", "—"],
        ["AA-2 RFID card (ISO 14443)", "Blocked", "—", "Ute Kern", "B-SL 1234", "CC-10", "—"],
        ["AA-3 RFID card (ISO 14443)", "Active", "—", "ute kern", "—", "—", "—"],
    ]
    drivers_table = page.text.split('data-testid="drivers"')[1].split("</table>")[0]
    assert '<th scope="row">Tom Berg</th><td class="num">1</td>' in drivers_table
    assert [r for r in rows(page.text, "main") if len(r) == 2] == [
        ["Tom Berg", "1"],
        ["Ute Kern", "1"],
        ["ute kern", "1"],  # drivers
        ["B-SL 1234", "2"],  # vehicles
        ["CC-10", "2"],  # cost centres
    ]
    assert [line.split(",")[:3] for line in exported.text.split("\r\n")[1:-1]] == [
        ["AA-1", "ISO14443", "Accepted"],
        ["AA-2", "ISO14443", "Blocked"],
        ["AA-3", "ISO14443", "Accepted"],
    ]


async def test_a_card_is_added_to_a_fleet_and_blocked_from_its_page(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        fleet = await add_fleet_account(db_session)
        await add_card(db_session, "AA-1")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/fleets/{fleet.id}", headers=HTML)
        token = csrf_token(page.text)
        bad = await client.post(
            f"/portal/fleets/{fleet.id}/cards",
            data={
                "_csrf_token": token,
                "id_token": "AA-1",
                "type": "ISO14443",
                "driver_name": "Tom Berg",
                "cost_centre": "C" * 61,
            },
            headers=HTML,
        )
        taken = await client.post(
            f"/portal/fleets/{fleet.id}/cards",
            data={"_csrf_token": token, "id_token": "AA-1", "type": "ISO14443"},
            headers=HTML,
        )
        added = await client.post(
            f"/portal/fleets/{fleet.id}/cards",
            data={
                "_csrf_token": token,
                "id_token": "AA-2",
                "type": "ISO14443",
                "driver_name": "Tom Berg",
                "vehicle": "B-SL 1234",
                "cost_centre": "CC-10",
                "label": "",
            },
            headers=HTML,
        )
        async with database.tenant_transaction(brand.key) as db_session:
            card = await db_session.scalar(select(IdToken).where(IdToken.id_token == "AA-2"))
        assert card is not None
        blocked = await client.post(
            f"/portal/drivers/tokens/{card.id}/block",
            data={"_csrf_token": token, "next": f"/portal/fleets/{fleet.id}?page=1"},
            headers=HTML,
        )
        shown = await client.get(f"/portal/fleets/{fleet.id}", headers=HTML)
    assert bad.status_code == 400
    assert field_error(bad.text, "cost_centre") == "At most 60 characters."
    assert 'value="Tom Berg"' in bad.text
    assert taken.status_code == 400
    assert field_error(taken.text, "id_token") == "ISO14443 token AA-1 already exists."
    assert (added.status_code, added.headers["location"]) == (
        303,
        f"/portal/fleets/{fleet.id}#cards",
    )
    assert (card.account_id, card.driver_name, card.vehicle, card.cost_centre, card.label) == (
        fleet.id,
        "Tom Berg",
        "B-SL 1234",
        "CC-10",
        None,
    )
    assert blocked.headers["location"] == f"/portal/fleets/{fleet.id}?page=1"
    assert [r[:2] for r in rows(shown.text, "cards-table")] == [
        ["AA-2 RFID card (ISO 14443)", "Blocked"]
    ]
    assert [a[0] for a in await audit_actions(database, brand)] == [
        "portal.id_token.create",
        "portal.id_token.block",
    ]


async def test_fleets_are_read_only_for_a_read_only_role_and_closed_to_fleet_managers(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        fleet = await add_fleet_account(db_session)
        await add_user(
            db_session, "fm@example.com", PASSWORD, Role.FLEET_MANAGER, fleet_account_id=fleet.id
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "viewer@example.com", PASSWORD)
        page = await client.get(f"/portal/fleets/{fleet.id}", headers=HTML)
        token = csrf_token(page.text)
        writes = [
            (
                await client.post(path, data={**FLEET_FORM, "_csrf_token": token}, headers=HTML)
            ).status_code
            for path in (
                "/portal/fleets",
                f"/portal/fleets/{fleet.id}",
                f"/portal/fleets/{fleet.id}/cards",
            )
        ]
        new_form = await client.get("/portal/fleets/new", headers=HTML)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "fm@example.com", PASSWORD)
        own_fleet = await client.get(f"/portal/fleets/{fleet.id}", headers=HTML)
        fleet_list = await client.get("/portal/fleets", headers=HTML)
    assert page.status_code == 200
    assert 'id="add-card"' not in page.text
    assert writes == [403, 403, 403]
    assert new_form.status_code == 403
    assert (own_fleet.status_code, fleet_list.status_code) == (403, 403)
    async with database.tenant_transaction(brand.key) as db_session:
        assert await db_session.scalar(select(func.count()).select_from(CustomerAccount)) == 1
        assert await db_session.scalar(select(func.count()).select_from(IdToken)) == 0


async def test_another_brands_fleets_answer_404(database: Database, make_brand, client_for):
    brand = await staffed_brand(make_brand, database)
    other = await make_brand()
    async with database.tenant_transaction(other.key) as db_session:
        theirs = await add_fleet_account(db_session)
    async with database.tenant_transaction(brand.key) as db_session:
        mine = await add_fleet_account(db_session)
        driver = await add_driver(db_session, "Lena Fischer", "lena@example.com")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/fleets/{mine.id}", headers=HTML)
        token = csrf_token(page.text)
        reads = [
            (await client.get(path, headers=HTML)).status_code
            for path in (
                f"/portal/fleets/{theirs.id}",
                f"/portal/fleets/{theirs.id}?format=csv",
                f"/portal/fleets/{theirs.id}/edit",
                f"/portal/fleets/{driver.id}",  # a driver is no fleet
            )
        ]
        writes = [
            (await client.post(path, data={**data, "_csrf_token": token}, headers=HTML)).status_code
            for path, data in (
                (f"/portal/fleets/{theirs.id}", FLEET_FORM),
                (f"/portal/fleets/{theirs.id}/cards", {"id_token": "X-1", "type": "ISO14443"}),
            )
        ]
    assert reads == [404, 404, 404, 404]
    assert writes == [404, 404]
    async with database.tenant_transaction(other.key) as db_session:
        assert await db_session.scalar(select(func.count()).select_from(IdToken)) == 0
        stored = await db_session.get(CustomerAccount, theirs.id)
        assert stored is not None
        assert stored.name == "Spree Logistik GmbH"
