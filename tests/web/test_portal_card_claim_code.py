"""Staff who manage cards read the claim code of a card the brand issued without an account
on its page in the portal, print it with the card, and a driver links the card with it."""

from __future__ import annotations

import re
from typing import Any

from tests.factories import add_user
from tests.web.helpers import HTML, sign_in
from tests.web.test_portal_drivers import PASSWORD, add_card, add_driver, staffed_brand
from voltlane.core.db import Database
from voltlane.identity.drivers import cards
from voltlane.models.tenant import IdTokenType, Role
from voltlane.settings import Settings

CODE_RE = re.compile(r'<p data-testid="claim-code">Claim code: (\d{6})</p>')


def shown_code(html: str) -> str | None:
    match = CODE_RE.search(html)
    return match.group(1) if match else None


async def test_staff_who_manage_cards_read_the_claim_code_of_an_unlinked_card_only(
    database: Database, settings: Settings, make_brand: Any, client_for: Any
) -> None:
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "support@example.com", PASSWORD, Role.SUPPORT)
        await add_user(db_session, "finance@example.com", PASSWORD, Role.FINANCE)
        lena = await add_driver(db_session, "Lena Fischer", "lena@example.com")
        issued = await add_card(db_session, "04AA01")
        linked = await add_card(db_session, "04AA02", account_id=lena.id)
        app_token = await add_card(db_session, "APP-0001", type=IdTokenType.CENTRAL)
    expected = cards.claim_code(settings.secret_key, brand.key, issued)
    pages: dict[str, dict[str, Any]] = {}
    for email in ("ops@example.com", "support@example.com", "finance@example.com"):
        async with client_for(f"{brand.slug}.localhost") as client:
            await sign_in(client, email, PASSWORD)
            pages[email] = {
                name: await client.get(f"/portal/drivers/tokens/{card.id}/edit", headers=HTML)
                for name, card in (("issued", issued), ("linked", linked), ("app", app_token))
            }
            pages[email]["list"] = await client.get("/portal/drivers/tokens", headers=HTML)

    assert len(expected) == 6
    for email in ("ops@example.com", "support@example.com"):
        seen = pages[email]
        assert [seen[name].status_code for name in ("issued", "linked", "app")] == [200] * 3
        assert shown_code(seen["issued"].text) == expected
        assert "the driver links the card to their account in the app" in seen["issued"].text
        # Linked already, or not a card a driver can claim: no code.
        assert 'data-testid="claim-code"' not in seen["linked"].text
        assert 'data-testid="claim-code"' not in seen["app"].text
        assert 'data-testid="claim-code"' not in seen["list"].text
    # Finance reads drivers but does not manage cards: the card's page is not theirs.
    assert pages["finance@example.com"]["issued"].status_code == 403
    assert expected not in pages["finance@example.com"]["list"].text

    # The printed code links the card to the driver's account in the app.
    async with database.tenant_transaction(brand.key) as db_session:
        mia = await add_driver(db_session, "Mia Wolf", "mia@example.com")
        claimed = await cards.claim_card(
            db_session,
            mia.id,
            number="04AA01",
            code=expected,
            secret_key=settings.secret_key,
            tenant_key=brand.key,
            ip="192.0.2.1",
        )
    assert (claimed.id, claimed.account_id) == (issued.id, mia.id)


async def test_a_read_only_user_never_sees_a_claim_code(
    database: Database, settings: Settings, make_brand: Any, client_for: Any
) -> None:
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        issued = await add_card(db_session, "04AA01")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "viewer@example.com", PASSWORD)
        page = await client.get(f"/portal/drivers/tokens/{issued.id}/edit", headers=HTML)
        listing = await client.get("/portal/drivers/tokens", headers=HTML)
    assert page.status_code == 403
    assert listing.status_code == 200
    assert "04AA01" in listing.text
    assert cards.claim_code(settings.secret_key, brand.key, issued) not in listing.text
