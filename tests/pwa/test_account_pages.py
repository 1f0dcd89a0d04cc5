"""The driver's account pages over HTTP on a brand's host: the home, details, language,
sessions with receipts, cards, deleting the account, and another brand's host."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from tests.billing.test_invoicing import Meter, charge, charging_brand, issue, rate_all
from tests.ocpp.conftest import add_token, gateway, open_charger
from tests.pwa.test_account import (
    HTML,
    LOCALES,
    PASSWORD,
    count,
    driver,
    field_error,
    host,
    post_form,
    sign_in,
    sign_up_form,
)
from voltlane.core.db import Database
from voltlane.identity.drivers import cards
from voltlane.models.tenant import (
    CustomerAccount,
    IdToken,
    IdTokenStatus,
    IdTokenType,
    Invoice,
)
from voltlane.settings import Settings

__all__ = ["gateway", "open_charger"]

# -- account pages ---------------------------------------------------------------------------


async def test_the_account_home_links_every_part_of_the_account(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    await driver(database, brand, verified=False)
    async with client_for(host(brand)) as client:
        await sign_in(client, "lena@example.com")
        home = await client.get("/account", headers=HTML)
        resend = await post_form(client, "/account/verify", {}, page="/account")
    assert home.status_code == 200
    for path in (
        "/account/history",
        "/account/cards",
        "/account/payment-methods",
        "/account/subscription",
        "/account/wallet",
        "/account/profile",
        "/account/delete",
    ):
        assert f'href="{path}"' in home.text
    assert "Until then you cannot start charging on your account." in home.text
    assert (resend.status_code, resend.headers["location"]) == (
        303,
        "/account?notice=verify_sent",
    )


async def test_profile_errors_stand_beside_their_fields_and_saved_details_print_next(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    login = await driver(database, brand)
    async with client_for(host(brand)) as client:
        await sign_in(client, "lena@example.com")
        bad = await post_form(
            client,
            "/account/profile",
            {
                "name": "",
                "street": "x" * 201,
                "postal_code": "",
                "city": "",
                "country": "ZZ",
                "vat_id": "123",
            },
        )
        saved = await post_form(
            client,
            "/account/profile",
            {
                "name": "Lena Fischer-Weber",
                "street": "Torstraße 1",
                "postal_code": "10119",
                "city": "Berlin",
                "country": "DE",
                "vat_id": "de 123 456 789",
            },
        )
    assert bad.status_code == 400
    assert field_error("name", "Enter your name.") in bad.text
    assert field_error("street", "At most 200 characters.") in bad.text
    assert field_error("country", "Choose your country.") in bad.text
    assert (
        field_error("vat_id", "Enter a VAT id with its country prefix, e.g. DE123456789.")
        in bad.text
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/account?notice=profile")
    async with database.tenant_session(brand.key) as db_session:
        account = await db_session.get(CustomerAccount, login.account_id)
    assert account is not None
    assert (account.name, account.street, account.postal_code, account.city, account.vat_id) == (
        "Lena Fischer-Weber",
        "Torstraße 1",
        "10119",
        "Berlin",
        "DE123456789",
    )


async def test_the_chosen_language_is_saved_and_the_pages_follow_it(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    login = await driver(database, brand)
    async with client_for(host(brand)) as client:
        await sign_in(client, "lena@example.com")
        refused = await post_form(client, "/account/language", {"locale": "fr_FR"}, page="/account")
        chosen = await post_form(client, "/account/language", {"locale": "de_DE"}, page="/account")
        page = await client.get("/account", headers=HTML)
    assert refused.status_code == 400
    assert field_error("locale", "Choose one of the languages offered.") in refused.text
    assert (chosen.status_code, chosen.headers["location"]) == (303, "/account?notice=language")
    assert "vl_lang=de_DE" in chosen.headers["set-cookie"]
    assert '<html lang="de">' in page.text
    async with database.tenant_session(brand.key) as db_session:
        account = await db_session.get(CustomerAccount, login.account_id)
    assert account is not None
    assert account.locale == "de_DE"


# -- history and receipts ------------------------------------------------------------------------


async def test_history_lists_the_drivers_sessions_with_their_receipts(
    database: Database, make_brand, client_for, open_charger
) -> None:
    brand = await charging_brand(database, make_brand, locales=LOCALES)
    lena = await driver(database, brand)
    other = await driver(database, brand, "max@example.com", name="Max Muster")
    await add_token(database, brand, "RFID0001", account_id=lena.account_id)
    await add_token(database, brand, "RFID0002", account_id=other.account_id)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    await charge(cp, meter, "RFID0001", "2026-11-24T10:00:00Z", "2026-11-24T10:45:00Z", 7_250)
    await charge(cp, meter, "RFID0002", "2026-11-24T11:00:00Z", "2026-11-24T11:30:00Z", 2_000)
    await charge(cp, meter, "RFID0001", "2026-11-24T12:00:00Z", "2026-11-24T12:20:00Z", 10_000)
    await rate_all(database, brand)
    issued = await issue(database, brand)
    by_account = {r.account_id: r for r in issued}
    async with database.tenant_session(brand.key) as db_session:
        lenas = list(
            await db_session.scalars(
                select(Invoice)
                .where(Invoice.account_id == lena.account_id)
                .order_by(Invoice.number)
            )
        )
    other_receipt = by_account[other.account_id]

    async with client_for(host(brand)) as client:
        await sign_in(client, "lena@example.com")
        history = await client.get("/account/history", headers=HTML)
        receipt = await client.get(f"/account/receipts/{lenas[0].id}", headers=HTML)
        pdf = await client.get(f"/account/receipts/{lenas[0].id}/pdf")
        foreign = await client.get(f"/account/receipts/{other_receipt.id}", headers=HTML)
        foreign_pdf = await client.get(f"/account/receipts/{other_receipt.id}/pdf")
    other_brand = await make_brand(locales=LOCALES)
    await driver(database, other_brand)
    async with client_for(host(other_brand)) as elsewhere:
        await sign_in(elsewhere, "lena@example.com")
        cross_brand = await elsewhere.get(f"/account/receipts/{lenas[0].id}", headers=HTML)

    assert history.status_code == 200
    rows = re.findall(r'<li class="card account-session">(.*?)</li>', history.text, re.S)
    assert len(rows) == 2
    # Newest first: 10 kWh at 12:00 UTC (13:00 in Berlin), then 7.25 kWh at 10:00 UTC.
    assert "24 Nov 2026, 13:00:00" in rows[0]
    assert "10.00 kWh" in rows[0]
    assert "24 Nov 2026, 11:00:00" in rows[1]
    assert "7.25 kWh" in rows[1]
    assert "€3.96" in rows[1]
    assert "Payment open" in rows[1]
    assert f'href="/account/receipts/{lenas[0].id}"' in rows[1]
    assert "RFID0002" not in history.text
    assert str(other_receipt.id) not in history.text
    assert receipt.status_code == 200
    assert f'<span data-testid="receipt-number">{lenas[0].number}</span>' in receipt.text
    assert '<dd data-testid="receipt-total"><strong>€3.96</strong></dd>' in receipt.text
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF")
    assert f'filename="{lenas[0].number}.pdf"' in pdf.headers["content-disposition"]
    assert (foreign.status_code, foreign_pdf.status_code, cross_brand.status_code) == (
        404,
        404,
        404,
    )


# -- cards ------------------------------------------------------------------------------------


async def test_cards_are_listed_blocked_unblocked_and_linked_by_their_printed_code(
    database: Database, make_brand, client_for, settings: Settings
) -> None:
    brand = await make_brand(locales=LOCALES)
    lena = await driver(database, brand)
    other = await driver(database, brand, "max@example.com")
    await add_token(database, brand, "04000001", account_id=lena.account_id, label="My car")
    await add_token(database, brand, "04000009", account_id=other.account_id)
    await add_token(database, brand, "04A1B2C3")
    async with database.tenant_session(brand.key) as db_session:
        ids = {t.id_token: t.id for t in await db_session.scalars(select(IdToken))}
    code = cards.claim_code(
        settings.secret_key, brand.key, IdToken(id_token="04A1B2C3", type=IdTokenType.ISO14443)
    )
    async with client_for(host(brand)) as client:
        await sign_in(client, "lena@example.com")
        listed = await client.get("/account/cards/", headers=HTML)
        empty = await post_form(client, "/account/cards/", {"number": "", "code": ""})
        wrong = await post_form(client, "/account/cards/", {"number": "04A1B2C3", "code": "000000"})
        linked = await post_form(client, "/account/cards/", {"number": "04A1B2C3", "code": code})
        blocked = await post_form(
            client, f"/account/cards/{ids['04000001']}/block", {}, page="/account/cards/"
        )
        unblocked = await post_form(
            client, f"/account/cards/{ids['04000001']}/unblock", {}, page="/account/cards/"
        )
        foreign = await post_form(
            client, f"/account/cards/{ids['04000009']}/block", {}, page="/account/cards/"
        )
        after = await client.get("/account/cards/", headers=HTML)
    assert listed.status_code == 200
    assert "My car" in listed.text
    assert "04000001" in listed.text
    assert "04000009" not in listed.text
    assert field_error("number", "Enter the number printed on the card.") in empty.text
    assert field_error("code", "Enter the 6-digit code printed with the card.") in empty.text
    assert wrong.status_code == 400
    assert field_error("code", "This card cannot be linked. Check the number and the code.") in (
        wrong.text
    )
    assert (linked.status_code, linked.headers["location"]) == (303, "/account/cards?notice=linked")
    assert blocked.headers["location"] == "/account/cards?notice=blocked"
    assert unblocked.headers["location"] == "/account/cards?notice=unblocked"
    assert foreign.status_code == 404
    assert "04A1B2C3" in after.text
    async with database.tenant_session(brand.key) as db_session:
        tokens = {t.id_token: t for t in await db_session.scalars(select(IdToken))}
    assert tokens["04A1B2C3"].account_id == lena.account_id
    assert tokens["04000001"].status is IdTokenStatus.ACCEPTED
    assert tokens["04000009"].status is IdTokenStatus.ACCEPTED


# -- deleting the account --------------------------------------------------------------------------


async def test_deleting_the_account_signs_out_and_frees_the_address(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    login = await driver(database, brand)
    await add_token(database, brand, "04000001", account_id=login.account_id)
    async with client_for(host(brand)) as client:
        await sign_in(client, "lena@example.com")
        unconfirmed = await post_form(client, "/account/delete/", {"password": ""})
        wrong = await post_form(
            client, "/account/delete/", {"password": "not it at all", "confirm": "1"}
        )
        deleted = await post_form(
            client, "/account/delete/", {"password": PASSWORD, "confirm": "1"}
        )
        after = await client.get("/account", headers=HTML)
        again = await sign_in(client, "lena@example.com")
        new = await post_form(client, "/account/sign-up", sign_up_form())
    assert unconfirmed.status_code == 400
    assert field_error("password", "Enter your password.") in unconfirmed.text
    assert (
        field_error("confirm", "Tick the box to confirm that your account is deleted.")
        in unconfirmed.text
    )
    assert field_error("password", "The password is not correct.") in wrong.text
    assert (deleted.status_code, deleted.headers["location"]) == (
        303,
        "/account/sign-in?notice=deleted",
    )
    assert (
        'vl_driver=""' in deleted.headers["set-cookie"]
        or "vl_driver=;" in deleted.headers["set-cookie"]
    )
    assert after.status_code == 303
    assert again.status_code == 400
    assert new.status_code == 303
    async with database.tenant_session(brand.key) as db_session:
        old = await db_session.get(CustomerAccount, login.account_id)
        card = await db_session.scalar(select(IdToken))
    assert old is not None
    assert (old.name, old.email) == ("Deleted account", None)
    assert card is not None
    assert (card.account_id, card.status) == (None, IdTokenStatus.BLOCKED)
    assert await count(database, brand, CustomerAccount) == 2


# -- another brand's host ------------------------------------------------------------------------


async def test_nothing_of_one_brand_is_reachable_on_another_brands_host(
    database: Database, make_brand, client_for
) -> None:
    brand_a = await make_brand(locales=LOCALES)
    brand_b = await make_brand(locales=LOCALES)
    lena_a = await driver(database, brand_a)
    max_b = await driver(database, brand_b, "max@example.com")
    await add_token(database, brand_b, "04BBBB01", account_id=max_b.account_id)
    async with database.tenant_session(brand_b.key) as db_session:
        card_b = await db_session.scalar(select(IdToken.id))
    async with client_for(host(brand_b)) as on_b:
        wrong_host = await sign_in(on_b, "lena@example.com")
        await sign_in(on_b, "max@example.com")
        b_cookie = on_b.cookies["vl_driver"]
    async with client_for(host(brand_a)) as on_a:
        on_a.cookies.set("vl_driver", b_cookie, domain=host(brand_a))
        foreign_session = await on_a.get("/account", headers=HTML)
        await sign_in(on_a, "lena@example.com")
        receipt = await on_a.get(f"/account/receipts/{uuid.uuid4()}", headers=HTML)
        card = await post_form(on_a, f"/account/cards/{card_b}/block", {}, page="/account/cards/")
    assert wrong_host.status_code == 400
    assert foreign_session.status_code == 303
    assert (receipt.status_code, card.status_code) == (404, 404)
    assert lena_a.account_id != max_b.account_id
    async with database.tenant_session(brand_b.key) as db_session:
        status = await db_session.scalar(select(IdToken.status))
    assert status is IdTokenStatus.ACCEPTED
