"""A driver account's page: what it shows, for the page itself and for each of its forms
shown again with their errors."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import settlement, subscriptions
from voltlane.billing.settlement import LoyaltyPolicy
from voltlane.charging import tokens
from voltlane.core.clock import utcnow
from voltlane.models.tenant import CustomerAccount
from voltlane.tariff.rounding import minor_unit_exponent
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_, request_locale

LATEST = 10  # wallet and loyalty moves on a driver's page
CARDS = 500  # tokens listed on a driver's page

DIRECTION_OPTIONS = (("credit", N_("Credit (add money)")), ("debit", N_("Debit (take money)")))
REASON_OPTIONS = (("goodwill", N_("Goodwill credit")), ("correction", N_("Correction")))


def amount_example(locale: str, currency: str) -> str:
    """1,250.50 written the way ``locale`` writes amounts of ``currency``."""
    digits = minor_unit_exponent(currency)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(Decimal("1250.5"), format=pattern, locale=locale)


async def driver_context(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    account: CustomerAccount,
    *,
    wallet_form: Mapping[str, str] | None = None,
    wallet_errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What a driver's page shows: billing details, tokens, subscriptions, wallet, points;
    the wallet form filled in from ``wallet_form`` when it comes back with errors."""
    brand = current_tenant(request)
    held = await subscriptions.subscriptions_of(db_session, account.id)
    plans = await subscriptions.list_plans(db_session)
    balance, moves = await settlement.wallet_of(
        db_session, account.id, brand.currency, limit=LATEST
    )
    points, point_moves = await settlement.loyalty_of(db_session, account.id, limit=LATEST)
    cards = await tokens.find_tokens(
        db_session, tokens.TokenFilter(account_id=account.id), limit=CARDS, offset=0
    )
    today = utcnow().astimezone(ZoneInfo(brand.timezone)).date()
    wallet = dict(wallet_form or {})
    # A new key for each form shown: the same form sent twice books one adjustment.
    wallet.setdefault("reference", str(uuid.uuid4()))
    return {
        "account": account,
        "tokens": [row.token for row in cards],
        "subscriptions": held,
        "open_subscription": next((s for s in held if s.ends_on is None), None),
        "plans": {plan.id: plan for plan in plans},
        "plan_options": [(p.code, f"{p.name} ({p.code})") for p in plans if p.active],
        "currency": brand.currency,
        "wallet_balance": balance,
        "wallet_moves": moves,
        "wallet_form": wallet,
        "wallet_errors": dict(wallet_errors or {}),
        "direction_options": DIRECTION_OPTIONS,
        "reason_options": REASON_OPTIONS,
        "amount_example": amount_example(request_locale(request, brand), brand.currency),
        "loyalty": LoyaltyPolicy.of(brand) is not None or bool(point_moves),
        "points": points,
        "point_moves": point_moves,
        "today": today.isoformat(),
        "subscribe_form": {},
        "subscribe_errors": {},
        "end_form": {},
        "end_errors": {},
    }
