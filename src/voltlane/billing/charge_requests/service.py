"""Opening a charge request from the driver app: who pays, the secret of the request's link,
the token the remote start will carry, and the PSP's hosted card page.

A request moves awaiting_payment -> authorizing -> starting -> charging -> finished, or ends
failed/cancelled. Each step is idempotent and may be asked for again (a reload, a second
tab, the sweep): the request row is locked while its status changes, and only the step that
moves a request into failed or cancelled releases its hold, so a hold is released once.

Calls to the PSP and to the charger run outside any transaction (no connection or lock is
held while waiting on the network): each use case takes the ``Database`` and opens short
transactions of its own, as billing.payments does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.charge_requests.offers import hold_amount
from voltlane.billing.charge_requests.repository import ChargeRequestRepository
from voltlane.billing.charge_requests.schemas import AccountPayment, EvseInfo, Opened, PayWith
from voltlane.billing.charge_requests.sessions import APP_TOKEN
from voltlane.billing.payment_methods import default_payment_method, payment_customer
from voltlane.billing.providers import PaymentProvider
from voltlane.billing.settlement import wallet_of
from voltlane.core.db import Database
from voltlane.core.errors import NotFoundError, ValidationError
from voltlane.identity.service import EMAIL_RE, normalise_email
from voltlane.models.tenant import ChargeRequest, ChargeRequestStatus
from voltlane.tenancy import TenantInfo

# The token a remote start carries: 20 characters fit a 1.6 idTag, which chargers compare
# without regard to case, so capitals and digits only.
TOKEN_PREFIX = APP_TOKEN
_TOKEN_ALPHABET = string.ascii_uppercase + string.digits
_TOKEN_LENGTH = 20


class ChargeRequestNotFoundError(NotFoundError):
    title = "Charge request not found"


class InvalidChargeRequestError(ValidationError):
    title = "Invalid charge request"


def access_hash(secret: str) -> str:
    """What the table keeps of a request's link secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(request: ChargeRequest, secret: str | None) -> bool:
    """Whether ``secret`` opens ``request`` (constant-time)."""
    if not secret:
        return False
    return hmac.compare_digest(access_hash(secret), request.access_hash)


def _new_token() -> str:
    body = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(_TOKEN_LENGTH - 3))
    return TOKEN_PREFIX + body


def check_email(text: str) -> str:
    """A guest's e-mail address for the receipt, normalised; InvalidChargeRequestError
    (field ``email``) when it is not one."""
    email = normalise_email(text)
    if not EMAIL_RE.fullmatch(email) or len(email) > 254:
        raise InvalidChargeRequestError("Enter a valid e-mail address.", field="email")
    return email


async def open_request(
    db_session: AsyncSession,
    evse: EvseInfo,
    *,
    locale: str,
    guest_email: str | None = None,
    account_id: uuid.UUID | None = None,
    wallet: bool = False,
    card: bool = False,
) -> Opened:
    """A new request to charge at ``evse``: a guest's (``guest_email``, pays by card on the
    PSP's hosted page) or an account's (``account_id``: paid from the wallet, with the saved
    default ``card``, or with a card entered on the hosted page and saved)."""
    if (guest_email is None) == (account_id is None):
        raise InvalidChargeRequestError("A request is a guest's or an account's.")
    secret = secrets.token_urlsafe(24)
    ready = account_id is not None and (wallet or card)
    request = ChargeRequest(
        id=uuid.uuid4(),
        evse_id=evse.pk,
        account_id=account_id,
        guest_email=check_email(guest_email) if guest_email is not None else None,
        id_token=_new_token(),
        access_hash=access_hash(secret),
        status=ChargeRequestStatus.AUTHORIZING if ready else ChargeRequestStatus.AWAITING_PAYMENT,
        locale=locale,
        wallet=wallet and account_id is not None,
    )
    ChargeRequestRepository(db_session).add(request)
    await db_session.flush()
    return Opened(request, secret)


async def account_payment(
    db_session: AsyncSession, tenant: TenantInfo, account_id: uuid.UUID
) -> AccountPayment:
    """How a signed-in driver pays a charge now: from the wallet when its balance covers the
    hold (settled from it after the session, no PSP involved), else with the default card
    of the brand's PSP, else with a card entered and saved on the way."""
    balance, _ = await wallet_of(db_session, account_id, tenant.currency, limit=0)
    method = await default_payment_method(db_session, account_id)
    payments = tenant.profile.get("payments")
    provider = payments.get("provider") if isinstance(payments, dict) else None
    card = method if method is not None and method.provider == provider else None
    if balance >= hold_amount(tenant):
        pay_with = PayWith.WALLET
    elif card is not None:
        pay_with = PayWith.CARD
    else:
        pay_with = PayWith.NEW_CARD
    return AccountPayment(pay_with, balance, card.label if card is not None else None)


async def open_requests(db_session: AsyncSession, account_id: uuid.UUID) -> list[ChargeRequest]:
    """The driver's charges being paid, started or charged now, newest first."""
    return await ChargeRequestRepository(db_session).open_requests_of(account_id)


async def load_request(
    repo: ChargeRequestRepository, request_id: uuid.UUID, *, for_update: bool = False
) -> ChargeRequest:
    request = await repo.request(request_id, for_update=for_update)
    if request is None:
        raise ChargeRequestNotFoundError(f"No charge request {request_id}.")
    return request


async def begin_card_entry(
    database: Database,
    tenant: TenantInfo,
    request_id: uuid.UUID,
    *,
    provider: PaymentProvider,
    return_url: str,
    cancel_url: str,
) -> str:
    """Open the PSP's hosted card page for a request awaiting payment; returns where to send
    the driver. Raises ProviderError when the PSP does not open one."""
    async with database.tenant_transaction(tenant.key) as db_session:
        repo = ChargeRequestRepository(db_session)
        request = await load_request(repo, request_id)
        if request.status is not ChargeRequestStatus.AWAITING_PAYMENT:
            raise InvalidChargeRequestError("This charge does not wait for a card.")
        email = request.guest_email
        if email is None and request.account_id is not None:
            account = await repo.account(request.account_id)
            email = account.email if account is not None else None
        customer = await _psp_customer(db_session, request, provider)
        locale = request.locale or tenant.locale
    # No money moves on a card page: a repeated request opens a second page, never a
    # second charge, so the key only has to be unique per attempt.
    entry = await provider.start_card_entry(
        reference=str(request_id),
        customer=customer,
        email=email,
        return_url=return_url,
        cancel_url=cancel_url,
        locale=locale,
        idempotency_key=f"voltlane-card-entry-{request_id}-{secrets.token_hex(6)}",
    )
    async with database.tenant_transaction(tenant.key) as db_session:
        request = await load_request(
            ChargeRequestRepository(db_session), request_id, for_update=True
        )
        if request.status is ChargeRequestStatus.AWAITING_PAYMENT:
            request.card_entry_ref = entry.reference
    return entry.redirect_url


async def _psp_customer(
    db_session: AsyncSession, request: ChargeRequest, provider: PaymentProvider
) -> str | None:
    """The PSP customer an account's cards belong to, so a new card joins it."""
    if request.guest_email is not None or request.account_id is None:
        return None
    return await payment_customer(db_session, request.account_id, provider.name)
