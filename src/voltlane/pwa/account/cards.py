"""The driver's RFID cards: list, block and unblock, link a card issued without an account."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import RateLimitedError, VoltlaneError
from voltlane.identity.drivers import cards
from voltlane.pwa.account.common import (
    ACCOUNT,
    SIGN_IN_HANDLERS,
    SIGNED_IN,
    Errors,
    errors_of,
    read_form,
    render,
)
from voltlane.pwa.auth import DriverIdentity
from voltlane.web.context import client_ip, current_tenant, web_state
from voltlane.web.i18n import N_

CARDS = f"{ACCOUNT}/cards"
NOTICES = {
    "linked": N_("The card is linked to your account."),
    "blocked": N_("The card is blocked: it cannot start charging."),
    "unblocked": N_("The card is unblocked."),
}


async def _page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    driver: DriverIdentity,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    notice: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    return render(
        request,
        "pwa/account/cards.html",
        {
            "cards": await cards.cards_of(db_session, driver.account_id),
            "values": values or {},
            "errors": errors or {},
            "notice": notice,
        },
        status_code=status_code,
        headers=headers,
    )


class CardsController(Controller):
    path = CARDS
    include_in_schema = False
    dependencies = SIGNED_IN
    exception_handlers = SIGN_IN_HANDLERS

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
        notice: FromQuery[str | None] = None,
    ) -> Response[str]:
        return await _page(request, db_session, driver, notice=NOTICES.get(notice or ""))

    @post("/", status_code=303)
    async def link(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
    ) -> Response[Any]:
        form = await read_form(request)
        values = {"number": form.get("number", ""), "code": form.get("code", "")}
        try:
            await cards.claim_card(
                db_session,
                driver.account_id,
                number=values["number"],
                code=values["code"],
                secret_key=web_state(request).settings.secret_key,
                tenant_key=current_tenant(request).key,
                ip=client_ip(request),
            )
        except RateLimitedError as exc:
            return await _page(
                request,
                db_session,
                driver,
                values=values,
                errors={"code": exc.detail},
                status_code=429,
                headers={"Retry-After": str(exc.retry_after)},
            )
        except VoltlaneError as exc:
            # The failed attempt is committed with this answer: it counts towards the limit.
            return await _page(
                request, db_session, driver, values=values, errors=errors_of(exc), status_code=400
            )
        return Redirect(f"{CARDS}?notice=linked", status_code=303)

    @post("/{card_id:uuid}/block", status_code=303)
    async def block(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
        card_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        await cards.block_card(db_session, driver.account_id, card_id, ip=client_ip(request))
        return Redirect(f"{CARDS}?notice=blocked", status_code=303)

    @post("/{card_id:uuid}/unblock", status_code=303)
    async def unblock(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
        card_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        try:
            await cards.unblock_card(db_session, driver.account_id, card_id, ip=client_ip(request))
        except cards.CardBlockedByBrandError as exc:
            return await _page(
                request,
                db_session,
                driver,
                errors={f"card-{card_id}": exc.detail},
                status_code=409,
            )
        return Redirect(f"{CARDS}?notice=unblocked", status_code=303)
