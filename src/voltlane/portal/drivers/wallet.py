"""Staff adjust a driver's prepaid wallet from the driver's page: a goodwill credit or a
correction, in the brand's currency, typed the way the brand's language writes amounts.

Only staff with the finance permission may; the wallet service refuses a debit beyond the
balance under the account's lock, and the move is audited in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import localcontext
from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import wallets
from voltlane.core.errors import ConflictError
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import WalletReason
from voltlane.portal.drivers.account_page import driver_context
from voltlane.portal.drivers.common import DRIVERS
from voltlane.portal.drivers.forms import Errors
from voltlane.portal.numbers import parse_localized
from voltlane.portal.pages import MAX_INPUT, audit, read_form, render
from voltlane.tariff.rounding import minor_unit_exponent
from voltlane.web.auth import requires
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_, request_locale

FINANCE = {"finance": Provide(requires(Permission.FINANCE_WRITE))}


def parse_amount(raw: str, locale: str, currency: str) -> tuple[int | None, str | None]:
    """A positive amount typed in ``locale`` ("12,50" in German) as exact minor units of
    ``currency``, or the message shown beside the field."""
    if not raw:
        return None, N_("Enter an amount.")
    try:
        value = parse_localized(raw, locale)
    except ValueError:
        return None, N_("Enter an amount written like the example.")
    with localcontext(prec=MAX_INPUT + 10):  # scaled exactly, however many digits were typed
        minor = value.scaleb(minor_unit_exponent(currency))
    if minor != minor.to_integral_value():
        return None, N_("The currency has no smaller unit than that.")
    if minor <= 0:
        return None, N_("Enter an amount greater than zero.")
    if minor > wallets.MAX_ADJUSTMENT:
        return None, N_("That amount is too large for one adjustment.")
    return int(minor), None


def adjustment_form(
    form: Mapping[str, str], locale: str, currency: str
) -> tuple[dict[str, Any], Errors]:
    """The signed amount, reason, note and form key of a wallet form, and what is wrong."""
    values: dict[str, Any] = {}
    errors: Errors = {}
    direction = form.get("direction", "")
    if direction not in {"credit", "debit"}:
        errors["direction"] = N_("Choose credit or debit.")
    amount, error = parse_amount(form.get("amount", ""), locale, currency)
    if error is not None:
        errors["amount"] = error
    elif amount is not None:
        values["amount"] = -amount if direction == "debit" else amount
    try:
        values["reason"] = WalletReason(form.get("reason", ""))
    except ValueError:
        errors["reason"] = N_("Choose a reason.")
    else:
        if values["reason"] is WalletReason.GOODWILL and direction == "debit":
            errors["reason"] = N_("A goodwill credit adds money; choose correction to debit.")
    note = form.get("note", "")
    if not note:
        errors["note"] = N_("Say why the wallet is adjusted.")
    elif len(note) > wallets.MAX_NOTE:
        errors["note"] = N_("At most 200 characters.")
    else:
        values["note"] = note
    try:
        values["reference"] = uuid.UUID(form.get("reference", ""))
    except ValueError:
        # Without the form's key the form cannot be recognised when sent again.
        values["reference"] = uuid.uuid4()
    return values, errors


class WalletRoutes:
    """The wallet form's route on a driver's page (mixed into the Drivers controller)."""

    @post("/{account_id:uuid}/wallet", dependencies=FINANCE, status_code=303)
    async def adjust_wallet(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        finance: NamedDependency[StaffIdentity],
        account_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        account = await DRIVERS.account(db_session, account_id)
        brand = current_tenant(request)
        form = await read_form(request)
        # Typed the way the page writes numbers: the brand's language unless the staff
        # member chose another of the brand's languages.
        values, errors = adjustment_form(form, request_locale(request, brand), brand.currency)
        if not errors:
            adjustment = wallets.WalletAdjustment(
                currency=brand.currency,
                staff_user_id=finance.user_id,
                staff_email=finance.email,
                **values,
            )
            try:
                async with db_session.begin_nested():
                    entry, booked = await wallets.adjust_wallet(db_session, account.id, adjustment)
                    if booked:
                        await audit(
                            db_session,
                            request,
                            finance,
                            action="portal.wallet.adjust",
                            entity="customer_account",
                            entity_id=account.id,
                            detail={
                                "entry_id": str(entry.id),
                                "amount": entry.amount,
                                "currency": entry.currency,
                                "reason": adjustment.reason.value,
                                "note": entry.note,
                            },
                        )
                return Redirect(f"/portal/drivers/{account.id}#wallet-heading", status_code=303)
            except wallets.WalletBalanceError:
                errors = {"amount": N_("A debit may not take the balance below zero.")}
            except wallets.InvalidAdjustmentError as exc:
                errors = {exc.field or "_form": exc.detail}
            except ConflictError:
                errors = {"_form": N_("This form was sent for another driver. Send it again.")}
                form = {k: v for k, v in form.items() if k != "reference"}
        context = await driver_context(
            db_session, request, account, wallet_form=form, wallet_errors=errors
        )
        return render(request, finance, "portal/drivers/show.html", context, status_code=400)
