"""Fleets as the brand's staff see them: accounts, contracts, cards, drivers, usage.

A fleet is a customer account of kind ``fleet``, invoiced monthly; its contract names the
tariff segment FLEET:<contract> its cards' sessions are priced in. Drivers, vehicles and cost
centres are what its cards name. (A fleet manager's own view is ``/portal/fleet``.)
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import accounts
from voltlane.charging import tokens
from voltlane.core.clock import month_of, utcnow
from voltlane.core.errors import VoltlaneError
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import (
    AccountKind,
    CustomerAccount,
    IdTokenStatus,
    IdTokenType,
    Invoicing,
)
from voltlane.portal.drivers.common import (
    READ,
    TOKEN_COLUMNS,
    WRITE,
    AccountPagesController,
    AccountSection,
    domain_error,
)
from voltlane.portal.drivers.forms import FLEET_FIELDS, local_zone, token_form
from voltlane.portal.pages import (
    CSV_MAX_ROWS,
    Format,
    PageNumber,
    Pager,
    audit,
    csv_response,
    read_form,
    render,
)

CARD_FIELDS = ("id_token", "type", "label", "expires_at", "driver_name", "vehicle", "cost_centre")

FLEET_COLUMNS = (
    ("id", lambda r: r.account.id),
    ("name", lambda r: r.account.name),
    ("email", lambda r: r.account.email),
    ("vat_id", lambda r: r.account.vat_id),
    ("buyer_reference", lambda r: r.account.buyer_reference),
    ("contract", lambda r: r.account.contract),
    ("invoicing", lambda r: r.account.invoicing),
    ("payment_terms_days", lambda r: r.account.payment_terms_days),
    ("city", lambda r: r.account.city),
    ("country", lambda r: r.account.country),
    ("cards", lambda r: r.cards),
    ("created_at", lambda r: r.account.created_at),
)


FLEETS = AccountSection(
    AccountKind.FLEET,
    "fleets",
    FLEET_FIELDS,
    FLEET_COLUMNS,
    {"invoicing": Invoicing.MONTHLY, "payment_terms_days": 30},
)


class FleetsController(AccountPagesController):
    path = "/portal/fleets"
    section = FLEETS

    @get("/{account_id:uuid}", dependencies=READ)
    async def show(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        account_id: FromPath[uuid.UUID],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        fleet = await FLEETS.account(db_session, account_id)
        if format == "csv":
            rows = await tokens.find_tokens(
                db_session, tokens.TokenFilter(account_id=fleet.id), limit=CSV_MAX_ROWS, offset=0
            )
            return csv_response("fleet-cards.csv", TOKEN_COLUMNS, rows)
        context = await _fleet_context(db_session, request, fleet, Pager(page))
        return render(
            request,
            reader,
            "portal/fleets/show.html",
            context,
            fragment="portal/fleets/_cards_table.html",
        )

    @post("/{account_id:uuid}/cards", dependencies=WRITE, status_code=303)
    async def add_card(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        account_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        fleet = await FLEETS.account(db_session, account_id)
        form = await read_form(request)
        values, errors = token_form(form, CARD_FIELDS, local_zone(request))
        if not errors:
            try:
                card = await tokens.create_token(
                    db_session, tokens.IdTokenCreate(account_id=fleet.id, **values)
                )
            except VoltlaneError as exc:
                errors = domain_error(exc, CARD_FIELDS)
            else:
                await audit(
                    db_session,
                    request,
                    writer,
                    action="portal.id_token.create",
                    entity="id_token",
                    entity_id=card.id,
                    detail={
                        "type": card.type.value,
                        "status": card.status.value,
                        "fleet": str(fleet.id),
                    },
                )
                return Redirect(f"/portal/fleets/{fleet.id}#cards", status_code=303)
        context = await _fleet_context(db_session, request, fleet, Pager())
        context.update(card_form=form, card_errors=errors)
        return render(request, writer, "portal/fleets/show.html", context, status_code=400)


def this_month(zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The current calendar month in the brand's timezone, as [since, until) instants."""
    first, last = month_of(utcnow().astimezone(zone).date())
    since = datetime.combine(first, time(), zone)
    until = datetime.combine(last + timedelta(days=1), time(), zone)
    return since, until


async def _fleet_context(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    fleet: CustomerAccount,
    pager: Pager,
) -> dict[str, Any]:
    """What a fleet's page shows: details, contract tariffs, usage, cards and what they name."""
    since, until = this_month(local_zone(request))
    of_fleet = tokens.TokenFilter(account_id=fleet.id)
    cards = await tokens.find_tokens(db_session, of_fleet, limit=pager.limit, offset=pager.offset)
    return {
        "fleet": fleet,
        "tariffs": (
            await accounts.contract_tariffs(db_session, fleet.contract) if fleet.contract else []
        ),
        "usage": await tokens.account_usage(db_session, fleet.id, since=since, until=until),
        "month": since,
        "dimensions": await tokens.card_dimensions(db_session, fleet.id),
        "page": pager.page(cards),
        "card_count": await tokens.count_tokens(db_session, of_fleet),
        "blocked": IdTokenStatus.BLOCKED,
        "card_form": {"type": IdTokenType.ISO14443.value},
        "card_errors": {},
    }
