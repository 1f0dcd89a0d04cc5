"""The fleet manager's cards: add one to their fleet, block and unblock their own cards;
audited. Another fleet's card is not found."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import fleet_reports
from voltlane.charging import tokens
from voltlane.core.errors import VoltlaneError
from voltlane.identity import service as identity
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import IdTokenStatus, IdTokenType
from voltlane.portal.fleet_portal import (
    CARDS,
    FLEET_DEPENDENCIES,
    FLEET_HOME,
    fleet_list,
    fleet_of,
    fleet_page,
    text_filter,
)
from voltlane.portal.pages import Format, PageNumber
from voltlane.web.context import client_ip
from voltlane.web.i18n import N_

# The card kinds a fleet hands out; app and central tokens are the brand's business.
CARD_TYPES = (
    (IdTokenType.ISO14443.value, N_("RFID card (ISO 14443)")),
    (IdTokenType.ISO15693.value, N_("RFID card (ISO 15693)")),
    (IdTokenType.KEY_CODE.value, N_("Key code")),
    (IdTokenType.EMAID.value, N_("Contract ID (eMAID)")),
)
# Optional texts of a card: (field, longest, the error when longer).
CARD_TEXT_FIELDS = (
    ("label", tokens.MAX_LABEL, N_("At most 120 characters.")),
    ("driver_name", tokens.MAX_DRIVER, N_("At most 120 characters.")),
    ("vehicle", tokens.MAX_VEHICLE, N_("At most 40 characters.")),
    ("cost_centre", tokens.MAX_COST_CENTRE, N_("At most 60 characters.")),
)


class FleetCardsController(Controller):
    path = FLEET_HOME
    include_in_schema = False
    dependencies = FLEET_DEPENDENCIES

    @get("/cards")
    async def cards(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        manager: NamedDependency[StaffIdentity],
        driver: FromQuery[str] = "",
        status: FromQuery[IdTokenStatus | None] = None,
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        account_id = fleet_of(manager)
        filters = {"driver": text_filter(driver), "status": status.value if status else ""}

        async def fetch(limit: int, offset: int) -> Sequence[Any]:
            return await fleet_reports.list_cards(
                db_session,
                account_id,
                driver=filters["driver"],
                status=status,
                limit=limit,
                offset=offset,
            )

        return await fleet_list(
            request, db_session, manager, CARDS, fetch, page=page, format=format, filters=filters
        )

    @get("/cards/new")
    async def new_card(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        manager: NamedDependency[StaffIdentity],
    ) -> Response[str]:
        return await self._card_form(request, db_session, manager, {}, {})

    async def _card_form(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        manager: StaffIdentity,
        values: Mapping[str, str],
        errors: Mapping[str, str],
        *,
        status_code: int = 200,
    ) -> Response[str]:
        return await fleet_page(
            request,
            db_session,
            manager,
            "portal/fleet/new_card.html",
            {"values": values, "errors": errors, "card_types": CARD_TYPES},
            status_code=status_code,
        )

    @post("/cards", status_code=303)
    async def add_card(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        manager: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        account_id = fleet_of(manager)
        form = await request.form()
        values = {
            name: str(form.get(name) or "").strip()
            for name in ("id_token", "type", *(f for f, _, _ in CARD_TEXT_FIELDS))
        }
        errors: dict[str, str] = {}
        if not values["id_token"]:
            errors["id_token"] = N_("Enter the card number.")
        elif len(values["id_token"]) > tokens.MAX_ID_TOKEN or not values["id_token"].isprintable():
            errors["id_token"] = N_("A card number has 1 to 36 printable characters.")
        if values["type"] not in {value for value, _ in CARD_TYPES}:
            errors["type"] = N_("Choose the kind of card.")
        errors.update(
            (field, message)
            for field, limit, message in CARD_TEXT_FIELDS
            if len(values[field]) > limit
        )
        if not errors:
            try:
                card = await tokens.create_token(
                    db_session,
                    tokens.IdTokenCreate(
                        id_token=values["id_token"],
                        type=IdTokenType(values["type"]),
                        label=values["label"] or None,
                        account_id=account_id,
                        driver_name=values["driver_name"] or None,
                        vehicle=values["vehicle"] or None,
                        cost_centre=values["cost_centre"] or None,
                    ),
                )
            except tokens.DuplicateIdTokenError:
                errors["id_token"] = N_("This card number is already in use.")
            except VoltlaneError as exc:
                errors[exc.field or "id_token"] = exc.detail
            else:
                await identity.audit_staff(
                    db_session,
                    manager,
                    action="fleet.card.create",
                    entity="id_token",
                    entity_id=card.id,
                    detail={"id_token": card.id_token, "account_id": str(account_id)},
                    ip=client_ip(request),
                )
                return Redirect(f"{FLEET_HOME}/cards", status_code=303)
        return await self._card_form(request, db_session, manager, values, errors, status_code=400)

    @post("/cards/{card_id:uuid}/block", status_code=303)
    async def block_card(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        manager: NamedDependency[StaffIdentity],
        card_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        return await self._set_status(request, db_session, manager, card_id, IdTokenStatus.BLOCKED)

    @post("/cards/{card_id:uuid}/unblock", status_code=303)
    async def unblock_card(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        manager: NamedDependency[StaffIdentity],
        card_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        return await self._set_status(request, db_session, manager, card_id, IdTokenStatus.ACCEPTED)

    async def _set_status(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        manager: StaffIdentity,
        card_id: uuid.UUID,
        status: IdTokenStatus,
    ) -> Response[Any]:
        card = await fleet_reports.set_card_status(db_session, fleet_of(manager), card_id, status)
        await identity.audit_staff(
            db_session,
            manager,
            action="fleet.card.block" if status is IdTokenStatus.BLOCKED else "fleet.card.unblock",
            entity="id_token",
            entity_id=card.id,
            detail={"id_token": card.id_token, "status": status.value},
            ip=client_ip(request),
        )
        return Redirect(f"{FLEET_HOME}/cards", status_code=303)
