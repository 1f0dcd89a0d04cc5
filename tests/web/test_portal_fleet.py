"""The fleet manager's portal: their own fleet's drivers, cards, sessions, invoices and cost
centres, and nothing of another fleet, another brand or the brand's staff pages."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from tests.billing.test_invoicing import (
    NOW,
    OCTOBER,
    Meter,
    charge,
    charging_brand,
    fleet_account,
    rate_all,
)
from tests.factories import add_user
from tests.ocpp.conftest import add_token, gateway, open_charger
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane.billing.invoicing import invoice_account
from voltlane.core.db import Database
from voltlane.models.tenant import AuditEntry, ChargingSession, IdToken, IdTokenStatus, Role
from voltlane.tenancy import TenantInfo

__all__ = ["gateway", "open_charger"]

PASSWORD = "correct horse battery"
MANAGER = "fuhrpark@spree-logistik.example"
OTHER_FLEET = {"name": "Havel Transporte GmbH", "vat_id": "DE822222222"}


async def fleet_with_manager(database: Database, brand: TenantInfo) -> tuple[uuid.UUID, uuid.UUID]:
    """Spree Logistik (managed by MANAGER, cards FLEET01 of Jana Weber and FLEET02 of Ole
    Brandt) and Havel Transporte (card OTHER01); returns both accounts' ids."""
    spree = await fleet_account(database, brand)
    other = await fleet_account(database, brand, **OTHER_FLEET)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(
            db_session, MANAGER, PASSWORD, Role.FLEET_MANAGER, "Mira Hahn", fleet_account_id=spree
        )
    await add_token(
        database,
        brand,
        "FLEET01",
        account_id=spree,
        label="Spree 1",
        driver_name="Jana Weber",
        vehicle="B-SL 101E",
        cost_centre="Sales",
    )
    await add_token(
        database,
        brand,
        "FLEET02",
        account_id=spree,
        driver_name="Ole Brandt",
        vehicle="B-SL 202E",
        cost_centre="Service",
    )
    await add_token(database, brand, "OTHER01", account_id=other, driver_name="Max Havel")
    return spree, other


async def card_id(database: Database, brand: TenantInfo, value: str) -> uuid.UUID:
    async with database.tenant_session(brand.key) as db_session:
        found = await db_session.scalar(select(IdToken.id).where(IdToken.id_token == value))
    assert found is not None
    return found


async def statuses(database: Database, brand: TenantInfo) -> dict[str, IdTokenStatus]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.execute(select(IdToken.id_token, IdToken.status))
    return dict(rows.all())


async def audit_actions(database: Database, brand: TenantInfo) -> list[tuple[Any, ...]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.execute(
            select(AuditEntry.actor_email, AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.action.startswith("fleet."))
            .order_by(AuditEntry.id)
        )
    return [tuple(row) for row in rows]


async def test_a_fleet_manager_lands_on_their_drivers_and_exports_drivers_and_cards(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await fleet_with_manager(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        signed_in = await sign_in(client, MANAGER, PASSWORD)
        landing = await client.get(signed_in.headers["location"], headers=HTML)
        drivers_csv = await client.get("/portal/fleet?format=csv", headers=HTML)
        cards_csv = await client.get("/portal/fleet/cards?format=csv", headers=HTML)
        one_driver = await client.get("/portal/fleet/cards?driver=Ole+Brandt", headers=HTML)

    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/portal/fleet")
    assert landing.status_code == 200
    assert "<h1>Spree Logistik GmbH</h1>" in landing.text
    assert '<a href="/portal/fleet" aria-current="page">My fleet</a>' in landing.text
    assert '<th scope="row">Jana Weber</th>' in landing.text
    assert "Max Havel" not in landing.text
    assert drivers_csv.headers["content-disposition"] == 'attachment; filename="fleet-drivers.csv"'
    assert drivers_csv.text.split("\r\n") == [
        "driver,cards,active_cards,vehicles",
        "Jana Weber,1,1,B-SL 101E",
        "Ole Brandt,1,1,B-SL 202E",
        "",
    ]
    created = cards_csv.text.split("\r\n")[1].rsplit(",", 1)[1]
    assert cards_csv.text.split("\r\n")[0] == (
        "card,type,status,label,driver,vehicle,cost_centre,created_at"
    )
    assert cards_csv.text.split("\r\n")[1] == (
        f"FLEET01,ISO14443,Accepted,Spree 1,Jana Weber,B-SL 101E,Sales,{created}"
    )
    assert cards_csv.text.split("\r\n")[2].startswith(
        "FLEET02,ISO14443,Accepted,,Ole Brandt,B-SL 202E,Service,"
    )
    assert len(cards_csv.text.split("\r\n")) == 4
    assert 'data-card="FLEET02"' in one_driver.text
    assert 'data-card="FLEET01"' not in one_driver.text


async def test_a_fleet_manager_adds_blocks_and_unblocks_only_their_own_cards(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    elsewhere = await make_brand()
    spree, _other = await fleet_with_manager(database, brand)
    await add_token(database, elsewhere, "FOREIGN1")
    other_card = await card_id(database, brand, "OTHER01")
    foreign_card = await card_id(database, elsewhere, "FOREIGN1")

    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, MANAGER, PASSWORD)
        form = await client.get("/portal/fleet/cards/new", headers=HTML)
        token = csrf_token(form.text)
        empty = await client.post(
            "/portal/fleet/cards",
            data={"id_token": "", "type": "ISO14443", "vehicle": "X" * 41, "_csrf_token": token},
            headers=HTML,
        )
        taken = await client.post(
            "/portal/fleet/cards",
            data={"id_token": "OTHER01", "type": "ISO14443", "_csrf_token": token},
            headers=HTML,
        )
        added = await client.post(
            "/portal/fleet/cards",
            data={
                "id_token": "FLEET03",
                "type": "ISO14443",
                "label": "Spree 3",
                "driver_name": "Jana Weber",
                "vehicle": "B-SL 303E",
                "cost_centre": "Sales",
                "_csrf_token": token,
            },
            headers=HTML,
        )
        new_id = await card_id(database, brand, "FLEET03")
        blocked = await client.post(
            f"/portal/fleet/cards/{new_id}/block", data={"_csrf_token": token}, headers=HTML
        )
        after_block = await client.get("/portal/fleet/cards?status=Blocked", headers=HTML)
        unblocked = await client.post(
            f"/portal/fleet/cards/{new_id}/unblock", data={"_csrf_token": token}, headers=HTML
        )
        other_fleets = await client.post(
            f"/portal/fleet/cards/{other_card}/block", data={"_csrf_token": token}, headers=HTML
        )
        other_brands = await client.post(
            f"/portal/fleet/cards/{foreign_card}/block", data={"_csrf_token": token}, headers=HTML
        )

    assert empty.status_code == 400
    assert '<p class="field-error" id="id_token-error">Enter the card number.</p>' in empty.text
    assert '<p class="field-error" id="vehicle-error">At most 40 characters.</p>' in empty.text
    assert 'value="' + "X" * 41 + '"' in empty.text
    assert taken.status_code == 400
    assert (
        '<p class="field-error" id="id_token-error">This card number is already in use.</p>'
        in taken.text
    )
    assert (added.status_code, added.headers["location"]) == (303, "/portal/fleet/cards")
    assert (blocked.status_code, unblocked.status_code) == (303, 303)
    assert 'data-card="FLEET03"' in after_block.text
    assert 'data-card="FLEET01"' not in after_block.text
    assert (other_fleets.status_code, other_brands.status_code) == (404, 404)
    assert await statuses(database, brand) == {
        "FLEET01": IdTokenStatus.ACCEPTED,
        "FLEET02": IdTokenStatus.ACCEPTED,
        "FLEET03": IdTokenStatus.ACCEPTED,
        "OTHER01": IdTokenStatus.ACCEPTED,
    }
    assert await statuses(database, elsewhere) == {"FOREIGN1": IdTokenStatus.ACCEPTED}
    async with database.tenant_session(brand.key) as db_session:
        card = await db_session.get(IdToken, new_id)
    assert card is not None
    assert (card.account_id, card.driver_name, card.vehicle, card.cost_centre) == (
        spree,
        "Jana Weber",
        "B-SL 303E",
        "Sales",
    )
    assert await audit_actions(database, brand) == [
        (MANAGER, "fleet.card.create", {"id_token": "FLEET03", "account_id": str(spree)}),
        (MANAGER, "fleet.card.block", {"id_token": "FLEET03", "status": "Blocked"}),
        (MANAGER, "fleet.card.unblock", {"id_token": "FLEET03", "status": "Accepted"}),
    ]


async def test_a_fleet_manager_reads_sessions_invoices_and_cost_centres_of_their_fleet_only(
    database: Database, make_brand, client_for, open_charger
) -> None:
    brand = await charging_brand(database, make_brand)
    spree, other = await fleet_with_manager(database, brand)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    await charge(cp, meter, "FLEET01", "2026-10-02T08:00:00Z", "2026-10-02T09:00:00Z", 10_000)
    await charge(cp, meter, "FLEET02", "2026-10-03T10:00:00Z", "2026-10-03T10:30:00Z", 5_000)
    await charge(cp, meter, "OTHER01", "2026-10-04T10:00:00Z", "2026-10-04T10:30:00Z", 2_000)
    await rate_all(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        spree_invoice = await invoice_account(db_session, brand, spree, OCTOBER, now=NOW)
        other_invoice = await invoice_account(db_session, brand, other, OCTOBER, now=NOW)
        rows = await db_session.execute(select(ChargingSession.id_token, ChargingSession.id))
        sessions = dict(rows.all())
    assert spree_invoice is not None
    assert other_invoice is not None

    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, MANAGER, PASSWORD)
        all_csv = await client.get("/portal/fleet/sessions?format=csv", headers=HTML)
        by_driver = await client.get("/portal/fleet/sessions?driver=Jana+Weber", headers=HTML)
        by_vehicle = await client.get("/portal/fleet/sessions?vehicle=B-SL+202E", headers=HTML)
        from_third = await client.get(
            "/portal/fleet/sessions?since=2026-10-03&until=2026-10-31&format=csv", headers=HTML
        )
        bad_dates = await client.get(
            "/portal/fleet/sessions?since=2026-10-05&until=2026-10-01", headers=HTML
        )
        invoices = await client.get("/portal/fleet/invoices", headers=HTML)
        invoices_csv = await client.get("/portal/fleet/invoices?format=csv", headers=HTML)
        pdf = await client.get(f"/portal/fleet/invoices/{spree_invoice.id}/pdf", headers=HTML)
        ubl = await client.get(f"/portal/fleet/invoices/{spree_invoice.id}/ubl", headers=HTML)
        other_pdf = await client.get(f"/portal/fleet/invoices/{other_invoice.id}/pdf", headers=HTML)
        unknown_ubl = await client.get(f"/portal/fleet/invoices/{uuid.uuid4()}/ubl", headers=HTML)
        costs = await client.get("/portal/fleet/costs?month=2026-10", headers=HTML)
        costs_csv = await client.get("/portal/fleet/costs?month=2026-10&format=csv", headers=HTML)
        bad_month = await client.get("/portal/fleet/costs?month=October", headers=HTML)

    header = (
        "session_id,started_at,stopped_at,status,station_id,card,driver,vehicle,cost_centre,"
        "energy_wh,total_excl_vat,total_incl_vat,currency,credited"
    )
    ole = (
        f"{sessions['FLEET02']},2026-10-03T10:00:00+00:00,2026-10-03T10:30:00+00:00,finished,"
        "CP16,FLEET02,Ole Brandt,B-SL 202E,Service,5000.000,245,292,EUR,no"
    )
    jana = (
        f"{sessions['FLEET01']},2026-10-02T08:00:00+00:00,2026-10-02T09:00:00+00:00,finished,"
        "CP16,FLEET01,Jana Weber,B-SL 101E,Sales,10000.000,440,524,EUR,no"
    )
    assert all_csv.text.split("\r\n") == [header, ole, jana, ""]
    assert from_third.text.split("\r\n") == [header, ole, ""]
    assert f'data-session-id="{sessions["FLEET01"]}"' in by_driver.text
    assert f'data-session-id="{sessions["FLEET02"]}"' not in by_driver.text
    assert f'data-session-id="{sessions["FLEET02"]}"' in by_vehicle.text
    assert f'data-session-id="{sessions["FLEET01"]}"' not in by_vehicle.text
    assert bad_dates.status_code == 400
    assert (
        '<p class="field-error" id="until-error">The last day comes before the first.</p>'
        in bad_dates.text
    )
    assert 'data-invoice="INV-2026-000001"' in invoices.text
    assert "INV-2026-000002" not in invoices.text
    assert invoices_csv.text.split("\r\n") == [
        "number,kind,issue_date,due_date,period_start,period_end,total_excl_vat,total_vat,"
        "total_incl_vat,paid,currency",
        "INV-2026-000001,invoice,2026-11-24,2026-12-24,2026-10-01,2026-10-31,685,130,815,0,EUR",
        "",
    ]
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'attachment; filename="INV-2026-000001.pdf"'
    assert pdf.content.startswith(b"%PDF-")
    assert ubl.headers["content-type"].startswith("application/xml")
    assert b"<cbc:ID>INV-2026-000001</cbc:ID>" in ubl.content
    assert (other_pdf.status_code, unknown_ubl.status_code) == (404, 404)
    assert "INV-2026-000002" not in other_pdf.text
    assert '<th scope="row">Sales</th>' in costs.text
    assert costs_csv.headers["content-disposition"] == (
        'attachment; filename="fleet-costs-2026-10.csv"'
    )
    assert costs_csv.text.split("\r\n") == [
        "cost_centre,sessions,energy_kwh,total_excl_vat,total_vat,total_incl_vat,currency",
        "Sales,1,10.000000,440,84,524,EUR",
        "Service,1,5.000000,245,47,292,EUR",
        "",
    ]
    assert bad_month.status_code == 400
    assert '<p class="field-error" id="month-error">Enter a month as YYYY-MM.</p>' in (
        bad_month.text
    )


async def test_a_fleet_manager_gets_403_on_staff_pages_and_staff_get_403_on_the_fleet_portal(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await fleet_with_manager(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "owner@example.com", PASSWORD, Role.OWNER)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, MANAGER, PASSWORD)
        home = await client.get("/portal/", headers=HTML)
        staff_pages = [
            (await client.get(path, headers=HTML)).status_code
            for path in (
                "/portal/stations",
                "/portal/settings",
                "/portal/settings/users",
                "/portal/audit",
            )
        ]
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "owner@example.com", PASSWORD)
        fleet_page = await client.get("/portal/fleet", headers=HTML)
        fleet_csv = await client.get("/portal/fleet/cards?format=csv", headers=HTML)
    assert (home.status_code, home.headers["location"]) == (303, "/portal/fleet")
    assert staff_pages == [403, 403, 403, 403]
    assert (fleet_page.status_code, fleet_csv.status_code) == (403, 403)
    assert "Spree" not in fleet_page.text
