"""Invoicing through the API: accounts, cards billed to them, documents, links, credit notes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

import voltlane.identity.tasks  # noqa: F401 - registers identity.send_notification
from tests.api.conftest import issue_key
from tests.billing.test_invoicing import (
    NOW,
    OCTOBER,
    Meter,
    charge,
    charging_brand,
    fleet_account,
    one_rated_session,
    rate_all,
)
from tests.billing.test_payments import fake_stripe
from tests.fakes.webhooks import STRIPE_WEBHOOK_SECRET
from tests.ocpp.conftest import add_token, gateway, open_charger
from voltlane.billing.invoicing import Links, invoice_account, issue_documents, mail_document
from voltlane.core.db import Database
from voltlane.models.tenant import Notification
from voltlane.settings import Settings
from voltlane.worker import outbox as outbox_module
from voltlane.worker.models import OutboxMessage

__all__ = ["fake_stripe", "gateway", "open_charger"]

FLEET = {
    "kind": "fleet",
    "name": "Spree Logistik GmbH",
    "locale": "de_DE",
    "country": "DE",
    "invoicing": "monthly",
    "email": "ap@spree-logistik.example",
    "street": "Am Ostbahnhof 9",
    "postal_code": "10243",
    "city": "Berlin",
    "vat_id": "DE811111111",
    "buyer_reference": "PO-4711",
    "payment_terms_days": 30,
}


async def test_a_fleet_account_and_its_cards_are_managed_through_the_api(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)

    async with api_for(brand, key) as client:
        created = await client.post("/api/v1/customer-accounts", json=FLEET)
        account_id = created.json()["id"]
        bad_country = await client.post(
            "/api/v1/customer-accounts", json={**FLEET, "country": "Germany"}
        )
        bad_locale = await client.post(
            "/api/v1/customer-accounts", json={**FLEET, "locale": "xx_XX"}
        )
        card = await client.post(
            "/api/v1/id-tokens",
            json={
                "id_token": "FLEET01",
                "type": "ISO14443",
                "account_id": account_id,
                "driver_name": "Jana Weber",
                "vehicle": "B-SL 101E",
                "cost_centre": "Sales",
            },
        )
        unknown_account = await client.post(
            "/api/v1/id-tokens",
            json={"id_token": "FLEET02", "type": "ISO14443", "account_id": str(uuid.uuid4())},
        )
        moved = await client.patch(
            f"/api/v1/id-tokens/{card.json()['id']}", json={"cost_centre": "Service"}
        )
        renamed = await client.patch(
            f"/api/v1/customer-accounts/{account_id}", json={"payment_terms_days": 45}
        )
        listed = await client.get("/api/v1/customer-accounts", params={"kind": "fleet"})
        opted_in = await client.patch(
            f"/api/v1/customer-accounts/{account_id}", json={"redeem_points": True}
        )
        loyalty = await client.get(f"/api/v1/customer-accounts/{account_id}/loyalty")
        no_account = await client.get(f"/api/v1/customer-accounts/{uuid.uuid4()}/loyalty")

    assert created.status_code == 201, created.text
    assert {k: created.json()[k] for k in FLEET} == FLEET
    assert (bad_country.status_code, bad_country.json()["field"]) == (422, "country")
    assert (bad_locale.status_code, bad_locale.json()["field"]) == (422, "locale")
    assert card.status_code == 201, card.text
    assert (card.json()["account_id"], card.json()["driver_name"]) == (account_id, "Jana Weber")
    assert (unknown_account.status_code, unknown_account.json()["field"]) == (422, "account_id")
    assert moved.json()["cost_centre"] == "Service"
    assert renamed.json()["payment_terms_days"] == 45
    assert [a["id"] for a in listed.json()["items"]] == [account_id]
    assert (created.json()["redeem_points"], opted_in.json()["redeem_points"]) == (False, True)
    assert loyalty.json() == {"balance": 0, "entries": []}
    assert no_account.status_code == 404


async def test_a_fleets_invoice_is_listed_and_opens_as_pdf_and_ubl_by_its_link(
    database: Database, make_brand, api_for, open_charger
) -> None:
    brand = await charging_brand(database, make_brand)
    other_brand = await make_brand()
    account = await fleet_account(database, brand)
    await add_token(database, brand, "FLEET01", account_id=account, cost_centre="Sales")
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await charge(cp, Meter(), "FLEET01", "2026-10-02T08:00:00Z", "2026-10-02T09:00:00Z", 10_000)
    await rate_all(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        invoice = await invoice_account(db_session, brand, account, OCTOBER, now=NOW)
    assert invoice is not None
    key = await issue_key(database, brand)

    async with api_for(brand, key) as client:
        listed = await client.get(
            "/api/v1/invoices", params={"kind": "invoice", "account_id": str(account)}
        )
        pdf = await client.get(f"/api/v1/invoices/{invoice.id}/pdf")
    [item] = listed.json()["items"]
    async with api_for(brand, None) as anonymous:
        by_link = await anonymous.get(item["ubl_url"])
        pdf_by_link = await anonymous.get(item["pdf_url"])
        tampered = await anonymous.get(item["pdf_url"].replace("/pdf", "/ubl").replace("-", "_"))
        unknown = await anonymous.get(item["pdf_url"].replace(str(invoice.id), str(uuid.uuid4())))
        no_key = await anonymous.get(f"/api/v1/invoices/{invoice.id}/pdf")
    async with api_for(other_brand, None) as elsewhere:
        other_host = await elsewhere.get(item["pdf_url"])

    assert (item["number"], item["kind"], item["total_excl_vat"], item["total_vat"]) == (
        "INV-2026-000001",
        "invoice",
        440,
        84,
    )
    assert (item["total_incl_vat"], item["paid"], item["payable"]) == (524, 0, 524)
    assert (item["period_start"], item["period_end"], item["due_date"]) == (
        "2026-10-01",
        "2026-10-31",
        "2026-12-24",
    )
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'inline; filename="INV-2026-000001.pdf"'
    assert pdf.content.startswith(b"%PDF-")
    assert pdf_by_link.content == pdf.content
    assert by_link.status_code == 200
    assert by_link.headers["content-type"].startswith("application/xml")
    assert b"<cbc:ID>INV-2026-000001</cbc:ID>" in by_link.content
    assert b'<cbc:PayableAmount currencyID="EUR">5.24</cbc:PayableAmount>' in by_link.content
    for refused in (tampered, unknown, other_host):
        assert refused.status_code == 404
        assert refused.headers["content-type"] == "application/problem+json"
    assert no_key.status_code == 401


async def test_a_receipt_is_credited_once_through_the_api(
    database: Database, make_brand, api_for, open_charger
) -> None:
    brand = await one_rated_session(database, make_brand, open_charger)
    async with database.tenant_transaction(brand.key) as db_session:
        (receipt,) = await issue_documents(db_session, brand, now=NOW)
    key = await issue_key(database, brand)

    async with api_for(brand, key) as client:
        credited = await client.post(
            f"/api/v1/invoices/{receipt.id}/credit", json={"reason": "Charger fault"}
        )
        again = await client.post(
            f"/api/v1/invoices/{receipt.id}/credit", json={"reason": "Charger fault"}
        )
        of_credit = await client.post(
            f"/api/v1/invoices/{credited.json()['id']}/credit", json={"reason": "x"}
        )
        empty_reason = await client.post(
            f"/api/v1/invoices/{receipt.id}/credit", json={"reason": ""}
        )
        listed = await client.get("/api/v1/invoices")

    assert credited.status_code == 201, credited.text
    body: dict[str, Any] = credited.json()
    assert (body["number"], body["kind"], body["corrects_id"], body["total_incl_vat"]) == (
        "CRN-2026-000001",
        "credit_note",
        str(receipt.id),
        396,
    )
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "RCT-2026-000001 has been credited in full already",
    )
    assert (of_credit.status_code, of_credit.json()["detail"]) == (
        409,
        "a credit note cannot be credited",
    )
    assert empty_reason.status_code == 422
    assert [i["number"] for i in listed.json()["items"]] == ["CRN-2026-000001", "RCT-2026-000001"]


async def test_an_invoice_run_is_queued_for_the_month_of_the_day_given(
    database: Database, make_brand, api_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module, "_relay", None)
    brand = await make_brand()
    key = await issue_key(database, brand)

    async with api_for(brand, key) as client:
        queued = await client.post("/api/v1/invoice-runs", json={"period_start": "2026-10-15"})
        bad = await client.post("/api/v1/invoice-runs", json={"period_start": "October"})
    async with database.tenant_session(brand.key) as db_session:
        jobs = (
            await db_session.scalars(
                select(OutboxMessage).where(OutboxMessage.actor_name == "billing.invoice_brand")
            )
        ).all()

    assert (queued.status_code, queued.json()) == (
        202,
        {"period_start": "2026-10-01", "status": "queued"},
    )
    assert bad.status_code == 422
    assert [j.message["kwargs"] for j in jobs] == [
        {"tenant": brand.key, "period_start": "2026-10-01"}
    ]


async def test_plans_and_subscriptions_through_the_api(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)

    async with api_for(brand, key) as client:
        account = (await client.post("/api/v1/customer-accounts", json=FLEET)).json()
        plan = await client.post(
            "/api/v1/subscription-plans",
            json={
                "code": "PLUS",
                "name": "Plus",
                "monthly_fee": "9.99",
                "vat_rate": "19",
                "included_kwh": 50,
            },
        )
        duplicate = await client.post(
            "/api/v1/subscription-plans",
            json={"code": "PLUS", "name": "Plus", "monthly_fee": "9.99", "vat_rate": "19"},
        )
        negative = await client.post(
            "/api/v1/subscription-plans",
            json={"code": "MINUS", "name": "Minus", "monthly_fee": "-1", "vat_rate": "19"},
        )
        negative_kwh = await client.post(
            "/api/v1/subscription-plans",
            json={
                "code": "LESS",
                "name": "Less",
                "monthly_fee": "1",
                "vat_rate": "19",
                "included_kwh": -5,
            },
        )
        path = f"/api/v1/customer-accounts/{account['id']}/subscriptions"
        subscribed = await client.post(path, json={"plan_code": "PLUS", "starts_on": "2026-10-16"})
        overlapping = await client.post(path, json={"plan_code": "PLUS", "starts_on": "2026-11-01"})
        unknown_plan = await client.post(
            path, json={"plan_code": "GOLD", "starts_on": "2027-01-01"}
        )
        ended = await client.post(
            f"/api/v1/subscriptions/{subscribed.json()['id']}/end", json={"ends_on": "2026-12-31"}
        )
        listed = await client.get(path)

    assert plan.status_code == 201, plan.text
    keys = ("code", "currency", "monthly_fee", "vat_rate", "included_kwh")
    assert {k: plan.json()[k] for k in keys} == {
        "code": "PLUS",
        "currency": "EUR",
        "monthly_fee": "9.9900",
        "vat_rate": "19.00",
        "included_kwh": 50,
    }
    assert (duplicate.status_code, duplicate.json()["field"]) == (409, "code")
    assert (negative.status_code, negative.json()["field"]) == (422, "monthly_fee")
    assert negative_kwh.status_code == 422, negative_kwh.text
    assert subscribed.status_code == 201, subscribed.text
    assert (overlapping.status_code, overlapping.json()["field"]) == (409, "starts_on")
    assert (unknown_plan.status_code, unknown_plan.json()["field"]) == (404, "plan_code")
    assert ended.json()["ends_on"] == "2026-12-31"
    assert [(s["starts_on"], s["ends_on"]) for s in listed.json()] == [("2026-10-16", "2026-12-31")]


async def test_a_wallet_is_topped_up_and_read_through_the_api(
    database: Database, make_brand, api_for, fake_stripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = fake_stripe
    brand = await make_brand(payments="stripe")
    prefix = f"VOLTLANE_{brand.key.upper()}_"
    monkeypatch.setenv(f"{prefix}STRIPE_API_KEY", "sk_test_brand")
    monkeypatch.setenv(f"{prefix}STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET)
    monkeypatch.setenv(f"{prefix}STRIPE_API_BASE", url)
    key = await issue_key(database, brand)

    async with api_for(brand, key) as client:
        account = (
            await client.post("/api/v1/customer-accounts", json={**FLEET, "kind": "driver"})
        ).json()
        path = f"/api/v1/customer-accounts/{account['id']}/wallet"
        topped = await client.post(
            f"{path}/top-ups", json={"amount": 2500, "payment_method": "pm_card_visa"}
        )
        zero = await client.post(f"{path}/top-ups", json={"amount": 0, "payment_method": "x"})
        unknown = await client.post(
            f"/api/v1/customer-accounts/{uuid.uuid4()}/wallet/top-ups",
            json={"amount": 100, "payment_method": "pm_card_visa"},
        )
        wallet = await client.get(path)

    assert topped.status_code == 201, topped.text
    assert (
        topped.json()["purpose"],
        topped.json()["status"],
        topped.json()["amount_captured"],
    ) == (
        "wallet_topup",
        "captured",
        2500,
    )
    assert (zero.status_code, zero.json()["field"]) == (422, "amount")
    assert unknown.status_code == 404
    body = wallet.json()
    assert (body["currency"], body["balance"]) == ("EUR", 2500)
    assert [(e["kind"], e["amount"], e["reference"]) for e in body["entries"]] == [
        ("topup", 2500, topped.json()["id"])
    ]


async def test_the_mail_of_an_invoice_carries_links_that_open_it(
    database: Database, make_brand, api_for, open_charger, settings: Settings
) -> None:
    brand = await charging_brand(database, make_brand)
    account = await fleet_account(database, brand)
    await add_token(database, brand, "FLEET01", account_id=account)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await charge(cp, Meter(), "FLEET01", "2026-10-02T08:00:00Z", "2026-10-02T09:00:00Z", 10_000)
    await rate_all(database, brand)
    links = Links("https://charge.example", settings.secret_key)
    async with database.tenant_transaction(brand.key) as db_session:
        invoice = await invoice_account(db_session, brand, account, OCTOBER, now=NOW)
        assert invoice is not None
        mailed = await mail_document(db_session, brand, invoice, links)
        again = await mail_document(db_session, brand, invoice, links)
    async with database.tenant_session(brand.key) as db_session:
        [mail] = (await db_session.scalars(select(Notification))).all()
    pdf_link = next(
        line.removeprefix("PDF: ") for line in mail.body.splitlines() if line.startswith("PDF: ")
    )
    async with api_for(brand, None) as anonymous:
        opened = await anonymous.get(pdf_link.removeprefix("https://charge.example"))

    assert (mailed, again) == (True, True)
    assert (mail.kind, mail.recipient, mail.subject) == (
        "document.invoice",
        "ap@spree-logistik.example",
        f"{brand.name}: Ihre Rechnung INV-2026-000001",
    )
    assert "beträgt 5,24\xa0€, fällig am 24.12.2026." in mail.body
    assert pdf_link.startswith(f"https://charge.example/documents/{invoice.id}/")
    assert opened.status_code == 200
    assert opened.headers["content-type"] == "application/pdf"
