"""Deleting a driver's account (GDPR art. 17).

Gone: the login (with its sessions and e-mail links), the name, address, e-mail and VAT id
on the customer account, the browser push subscriptions, the saved payment methods, and the
links in e-mails waiting in the outbox. Each saved card is also detached at the PSP that
stores it, by the billing job the driver's own removal of a card uses (enqueued by name:
billing sits above identity), retried while the PSP is unreachable. The account's cards are
unlinked, blocked and lose their labels. Kept, because the law requires it: the documents
already issued (they stay as issued, with the name they printed), and the account row
itself, anonymised, because those documents, payments and ledgers refer to it. The address
is free to sign up again.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.text import N_
from voltlane.identity.drivers.errors import DriverFormError, DriverNotFoundError
from voltlane.identity.drivers.links import LINK_REMOVED, email_kind
from voltlane.identity.drivers.repository import DriverRepository
from voltlane.identity.drivers.schemas import DriverIdentity
from voltlane.identity.passwords import verify_password
from voltlane.identity.service import audit
from voltlane.models.tenant import IdTokenStatus
from voltlane.worker import enqueue

DELETED_NAME = "Deleted account"
# billing.payment_methods.DETACH_PAYMENT_METHOD_TASK (a job name: the upward signal).
DETACH_PAYMENT_METHOD_TASK = "billing.detach_payment_method"


async def delete_account(
    db_session: AsyncSession,
    driver: DriverIdentity,
    *,
    password: str | None,
    reauthenticated: bool = False,
    ip: str | None = None,
) -> None:
    """Erase the driver's personal data, confirmed by their password (or, for a driver
    without one, by signing in again at their provider: ``reauthenticated``)."""
    repo = DriverRepository(db_session)
    login = await repo.login(driver.login_id)
    account = await repo.account(driver.account_id)
    if login is None or account is None:
        raise DriverNotFoundError(f"no driver {driver.login_id}")
    if not reauthenticated and not verify_password(login.password_hash, password or ""):
        raise DriverFormError({"password": N_("The password is not correct.")})
    links = await repo.links_of(login.id)
    await repo.redact_emails(
        [(email_kind(link.purpose), link.token_hash) for link in links], LINK_REMOVED
    )
    cards = await repo.cards_of(account.id)
    for card in cards:
        card.account_id = None
        if card.status is IdTokenStatus.ACCEPTED:
            card.status = IdTokenStatus.BLOCKED
        card.label = card.driver_name = card.vehicle = card.cost_centre = None
    await repo.delete_push_subscriptions(account.id)
    for method in await repo.payment_methods_of(account.id):
        enqueue(
            db_session,
            DETACH_PAYMENT_METHOD_TASK,
            tenant=db_session.info["tenant_key"],
            provider=method.provider,
            payment_method=method.payment_method_ref,
            customer=method.customer_ref,
        )
    await repo.delete_payment_methods(account.id)
    account.name = DELETED_NAME
    account.email = None
    account.street = account.street2 = account.postal_code = account.city = None
    account.vat_id = account.buyer_reference = None
    account.redeem_points = False
    await repo.delete_login(login)
    await audit(
        db_session,
        action="driver.account_deleted",
        entity="customer_account",
        entity_id=account.id,
        detail={"cards_unlinked": len(cards)},
        ip=ip,
    )
    await db_session.flush()
