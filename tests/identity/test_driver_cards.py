"""Driver identity: the driver's cards (linking by claim code, blocking) and deleting an
account."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from tests.identity.test_drivers import LOCALES, PASSWORD, count, password_sign_in, signed_up
from voltlane.core.db import Database
from voltlane.core.errors import RateLimitedError
from voltlane.identity.drivers import cards, deletion
from voltlane.identity.drivers.errors import CardNotFoundError, DriverFormError
from voltlane.models.tenant import (
    AccountKind,
    AuditEntry,
    CustomerAccount,
    DriverEmailLink,
    DriverLogin,
    DriverSession,
    IdToken,
    IdTokenStatus,
    IdTokenType,
    Invoicing,
    PushSubscription,
)
from voltlane.tenancy import TenantInfo

SECRET = "test-secret-key"

# -- cards ------------------------------------------------------------------------------------


async def add_card(
    database: Database, brand: TenantInfo, number: str, **extra: object
) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        card = IdToken(id_token=number, type=IdTokenType.ISO14443, **extra)
        db_session.add(card)
        await db_session.flush()
        return card.id


async def claim(
    database: Database, brand: TenantInfo, account_id: uuid.UUID, number: str, code: str
) -> IdToken:
    """A claim in its own transaction, committed on refusal too (as a request is): the
    failed attempt counts."""
    async with database.tenant_transaction(brand.key) as db_session:
        try:
            return await cards.claim_card(
                db_session,
                account_id,
                number=number,
                code=code,
                secret_key=SECRET,
                tenant_key=brand.key,
                ip="203.0.113.9",
            )
        except (DriverFormError, RateLimitedError) as refused:
            failure = refused
    raise failure


def code_of(brand: TenantInfo, number: str) -> str:
    return cards.claim_code(SECRET, brand.key, IdToken(id_token=number, type=IdTokenType.ISO14443))


async def test_an_unassigned_card_is_linked_with_its_printed_claim_code(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    login = await signed_up(database, brand)
    other = await signed_up(database, brand, email="max@example.com")
    card_id = await add_card(database, brand, "04A1B2C3D4")
    taken_id = await add_card(database, brand, "04FFFF0001", account_id=other.account_id)
    code = code_of(brand, "04A1B2C3D4")
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)

    with pytest.raises(DriverFormError) as bad_code:
        await claim(database, brand, login.account_id, "04A1B2C3D4", wrong)
    with pytest.raises(DriverFormError) as taken:
        await claim(database, brand, login.account_id, "04FFFF0001", code_of(brand, "04FFFF0001"))
    with pytest.raises(DriverFormError) as malformed:
        await claim(database, brand, login.account_id, "", "12ab")
    linked = await claim(database, brand, login.account_id, "04 A1B2C3D4", code)

    assert len(code) == 6
    assert code.isdigit()
    refusal = {"code": "This card cannot be linked. Check the number and the code."}
    assert bad_code.value.errors == refusal
    assert taken.value.errors == refusal
    assert malformed.value.errors == {
        "number": "Enter the number printed on the card.",
        "code": "Enter the 6-digit code printed with the card.",
    }
    assert (linked.id, linked.account_id, linked.status) == (
        card_id,
        login.account_id,
        IdTokenStatus.ACCEPTED,
    )
    async with database.tenant_session(brand.key) as db_session:
        taken_card = await db_session.get(IdToken, taken_id)
    assert taken_card is not None
    assert taken_card.account_id == other.account_id


async def test_card_claims_are_throttled_after_five_failures(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    login = await signed_up(database, brand)
    await add_card(database, brand, "04A1B2C3D4")
    code = code_of(brand, "04A1B2C3D4")
    for attempt in range(cards.CLAIM_MAX_FAILURES):
        with pytest.raises(DriverFormError):
            await claim(database, brand, login.account_id, "04A1B2C3D4", f"{attempt:06d}")
    with pytest.raises(RateLimitedError) as throttled:
        await claim(database, brand, login.account_id, "04A1B2C3D4", code)
    assert 0 < throttled.value.retry_after <= 3601
    async with database.tenant_session(brand.key) as db_session:
        card = await db_session.scalar(select(IdToken))
    assert card is not None
    assert card.account_id is None


async def test_a_driver_unblocks_only_a_card_they_blocked(database: Database, make_brand) -> None:
    brand = await make_brand(locales=LOCALES)
    login = await signed_up(database, brand)
    other = await signed_up(database, brand, email="max@example.com")
    own = await add_card(database, brand, "04000001", account_id=login.account_id)
    by_brand = await add_card(
        database, brand, "04000002", account_id=login.account_id, status=IdTokenStatus.BLOCKED
    )
    foreign = await add_card(database, brand, "04000003", account_id=other.account_id)
    async with database.tenant_transaction(brand.key) as db_session:
        blocked = await cards.block_card(db_session, login.account_id, own, ip=None)
        blocked_status = blocked.status
    async with database.tenant_transaction(brand.key) as db_session:
        unblocked = await cards.unblock_card(db_session, login.account_id, own, ip=None)
        unblocked_status = unblocked.status
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(cards.CardBlockedByBrandError):
            await cards.unblock_card(db_session, login.account_id, by_brand, ip=None)
        with pytest.raises(CardNotFoundError):
            await cards.block_card(db_session, login.account_id, foreign, ip=None)
        listed = [c.id_token for c in await cards.cards_of(db_session, login.account_id)]
        actions = list(await db_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert (blocked_status, unblocked_status) == (IdTokenStatus.BLOCKED, IdTokenStatus.ACCEPTED)
    assert listed == ["04000001", "04000002"]
    assert actions == ["driver.card.block", "driver.card.unblock"]
    async with database.tenant_session(brand.key) as db_session:
        untouched = await db_session.get(IdToken, foreign)
    assert untouched is not None
    assert untouched.status is IdTokenStatus.ACCEPTED


# -- deleting an account -------------------------------------------------------------------------


async def test_deleting_an_account_erases_personal_data_and_keeps_the_account_row(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    login = await signed_up(database, brand)
    other = await signed_up(database, brand, email="max@example.com")
    card_id = await add_card(
        database, brand, "04000001", account_id=login.account_id, label="Lena's Zoe"
    )
    other_card = await add_card(database, brand, "04000009", account_id=other.account_id)
    async with database.tenant_transaction(brand.key) as db_session:
        account = await db_session.get(CustomerAccount, login.account_id)
        assert account is not None
        account.street, account.postal_code, account.city = "Torstraße 1", "10119", "Berlin"
        account.vat_id = "DE123456789"
        db_session.add(
            PushSubscription(
                account_id=login.account_id,
                endpoint="https://push.example/lena",
                p256dh="k",
                auth="a",
            )
        )
        session = await password_sign_in(db_session, "lena@example.com", PASSWORD)
        identity = session.identity
        assert identity is not None
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(DriverFormError) as wrong:
            await deletion.delete_account(db_session, identity, password="not it at all")
    async with database.tenant_transaction(brand.key) as db_session:
        await deletion.delete_account(db_session, identity, password=PASSWORD, ip="203.0.113.9")

    assert wrong.value.errors == {"password": "The password is not correct."}
    async with database.tenant_session(brand.key) as db_session:
        account = await db_session.get(CustomerAccount, login.account_id)
        card = await db_session.get(IdToken, card_id)
        kept_card = await db_session.get(IdToken, other_card)
        logins = list(await db_session.scalars(select(DriverLogin.email)))
        links_left = await db_session.scalar(
            select(func.count())
            .select_from(DriverEmailLink)
            .where(DriverEmailLink.login_id == login.id)
        )
        pushes = await db_session.scalar(select(func.count()).select_from(PushSubscription))
        audit = await db_session.scalar(
            select(AuditEntry).where(AuditEntry.action == "driver.account_deleted")
        )
    assert account is not None
    assert (account.name, account.email, account.street, account.postal_code, account.city) == (
        "Deleted account",
        None,
        None,
        None,
        None,
    )
    assert (account.vat_id, account.kind, account.country, account.invoicing) == (
        None,
        AccountKind.DRIVER,
        "DE",
        Invoicing.PER_SESSION,
    )
    assert card is not None
    assert (card.account_id, card.status, card.label) == (None, IdTokenStatus.BLOCKED, None)
    assert kept_card is not None
    assert kept_card.account_id == other.account_id
    assert logins == ["max@example.com"]
    assert (links_left, pushes) == (0, 0)
    assert await count(database, brand, DriverSession) == 0
    assert audit is not None
    assert (audit.entity, audit.entity_id, audit.actor_email, audit.detail) == (
        "customer_account",
        str(login.account_id),
        None,
        {"cards_unlinked": 1},
    )
    # The address is free again: a new sign-up makes a new account.
    again = await signed_up(database, brand)
    assert again.account_id != login.account_id
    assert await count(database, brand, CustomerAccount) == 3
