"""The hold on the driver's card before a start: the card from the PSP's hosted page (saved
for an account), or the account's default card, pre-authorized for the brand's amount;
3-D Secure followed to the bank's page; then the start."""

from __future__ import annotations

import uuid

from voltlane.billing.charge_requests.offers import hold_amount
from voltlane.billing.charge_requests.repository import ChargeRequestRepository
from voltlane.billing.charge_requests.schemas import Progress, Step
from voltlane.billing.charge_requests.service import load_request
from voltlane.billing.charge_requests.sessions import fail, link_session
from voltlane.billing.charge_requests.starts import start
from voltlane.billing.payment_methods import NewCard, default_payment_method, save_card
from voltlane.billing.payments import pre_authorize_charge
from voltlane.billing.providers import (
    PaymentProvider,
    ProviderDeclinedError,
    ProviderUnavailableError,
)
from voltlane.core.db import Database
from voltlane.models.tenant import ChargeRequest, ChargeRequestStatus, Payment, PaymentStatus
from voltlane.station.ports import StationCommands
from voltlane.tenancy import TenantInfo


async def advance(
    database: Database,
    tenant: TenantInfo,
    request_id: uuid.UUID,
    *,
    provider: PaymentProvider | None,
    commands: StationCommands,
) -> Progress:
    """Take a request as far as it can go now: the card from the hosted page, the hold on
    it, then the remote start (waiting for the charger's definite answer). Safe to call
    again at any point; returns what the driver should see or do next."""
    async with database.tenant_transaction(tenant.key) as db_session:
        repo = ChargeRequestRepository(db_session)
        request = await load_request(repo, request_id)
        await link_session(db_session, request)
        payment = await repo.payment_of(request_id)
    if request.status is ChargeRequestStatus.AWAITING_PAYMENT:
        if request.card_entry_ref is None or provider is None:
            return Progress(request, Step.CARD_PAGE)
        return await _take_card(database, tenant, request, provider, commands)
    if request.status is not ChargeRequestStatus.AUTHORIZING:
        return Progress(request, Step.SHOW)
    if request.wallet:
        started = await start(database, tenant, request_id, commands, provider=provider)
        return Progress(started, Step.SHOW)
    if provider is None:
        raise ProviderUnavailableError("the brand has no payment provider")
    # Back from the bank's page: the PSP tells whether the hold is authorized now.
    back_from_bank = payment is not None and payment.status is PaymentStatus.REQUIRES_ACTION
    if payment is None or payment.status is not PaymentStatus.AUTHORIZED:
        method, customer = await _method_to_charge(database, tenant, request, payment)
        if method is None:
            return Progress(request, Step.CARD_PAGE)
        payment = await pre_authorize_charge(
            database,
            tenant.key,
            request_id,
            provider=provider,
            amount=hold_amount(tenant),
            currency=tenant.currency,
            payment_method=method,
            customer=customer,
        )
    return await _after_authorization(
        database,
        tenant,
        request_id,
        payment,
        provider=provider,
        commands=commands,
        to_bank=not back_from_bank,
    )


async def _method_to_charge(
    database: Database, tenant: TenantInfo, request: ChargeRequest, payment: Payment | None
) -> tuple[str | None, str | None]:
    """The card a hold is asked on: the one of an earlier attempt, else the account's
    default card (a guest's card always comes from the hosted page)."""
    if payment is not None and payment.payment_method_ref is not None:
        return payment.payment_method_ref, payment.customer_ref
    if request.guest_email is not None or request.account_id is None:
        return None, None
    async with database.tenant_transaction(tenant.key) as db_session:
        method = await default_payment_method(db_session, request.account_id)
    if method is None:
        return None, None
    return method.payment_method_ref, method.customer_ref


async def _take_card(
    database: Database,
    tenant: TenantInfo,
    request: ChargeRequest,
    provider: PaymentProvider,
    commands: StationCommands,
) -> Progress:
    """The driver came back from the hosted card page: the card they entered, saved for an
    account, then the hold on it."""
    assert request.card_entry_ref is not None
    try:
        entered = await provider.finish_card_entry(request.card_entry_ref)
    except ProviderUnavailableError:
        return Progress(request, Step.PSP_UNAVAILABLE)
    except ProviderDeclinedError:
        failed = await fail(database, tenant.key, request.id, "card_declined", provider=None)
        return Progress(failed, Step.SHOW)
    if entered is None:
        return Progress(request, Step.CARD_NOT_ENTERED)
    async with database.tenant_transaction(tenant.key) as db_session:
        repo = ChargeRequestRepository(db_session)
        current = await load_request(repo, request.id, for_update=True)
        if current.status is not ChargeRequestStatus.AWAITING_PAYMENT:
            return Progress(current, Step.SHOW)  # the other tab got here first
        if current.guest_email is None and current.account_id is not None:
            await save_card(
                db_session,
                current.account_id,
                NewCard(
                    provider=provider.name,
                    payment_method=entered.payment_method,
                    customer=entered.customer,
                    label=entered.label,
                    expires=entered.expires,
                ),
            )
        current.status = ChargeRequestStatus.AUTHORIZING
    payment = await pre_authorize_charge(
        database,
        tenant.key,
        request.id,
        provider=provider,
        amount=hold_amount(tenant),
        currency=tenant.currency,
        payment_method=entered.payment_method,
        customer=entered.customer,
    )
    return await _after_authorization(
        database, tenant, request.id, payment, provider=provider, commands=commands
    )


def action_url(action: dict[str, object] | None) -> str | None:
    """Where the bank's 3-D Secure page is, if the PSP's action names one: a redirect
    (Stripe ``redirect_to_url.url``, Adyen ``url``) or the page Stripe's own script would
    open (``use_stripe_sdk.stripe_js``)."""
    if not action:
        return None
    candidates: list[object] = [action.get("url")]
    for key, inner in (("redirect_to_url", "url"), ("use_stripe_sdk", "stripe_js")):
        nested = action.get(key)
        if isinstance(nested, dict):
            candidates.append(nested.get(inner))
    return next(
        (c for c in candidates if isinstance(c, str) and c.startswith(("https://", "http://"))),
        None,
    )


async def _after_authorization(
    database: Database,
    tenant: TenantInfo,
    request_id: uuid.UUID,
    payment: Payment,
    *,
    provider: PaymentProvider,
    commands: StationCommands,
    to_bank: bool = True,
) -> Progress:
    """The request after its hold was asked for: started when authorized; for 3-D Secure
    the bank's page (``to_bank``; a driver back from it sees the request and its link)."""
    if payment.status is PaymentStatus.AUTHORIZED:
        started = await start(database, tenant, request_id, commands, provider=provider)
        return Progress(started, Step.SHOW)
    if payment.status is PaymentStatus.PENDING:
        async with database.tenant_transaction(tenant.key) as db_session:
            request = await load_request(ChargeRequestRepository(db_session), request_id)
        return Progress(request, Step.PSP_UNAVAILABLE)
    if payment.status is PaymentStatus.REQUIRES_ACTION:
        url = action_url(payment.action)
        if url is not None:
            async with database.tenant_transaction(tenant.key) as db_session:
                request = await load_request(ChargeRequestRepository(db_session), request_id)
            return Progress(request, Step.BANK_ACTION if to_bank else Step.SHOW, url)
        # A challenge the PSP can only run in its own script: this app cannot show it.
        failed = await fail(
            database, tenant.key, request_id, "authentication_required", provider=provider
        )
        return Progress(failed, Step.SHOW)
    failed = await fail(database, tenant.key, request_id, "card_declined", provider=provider)
    return Progress(failed, Step.SHOW)
