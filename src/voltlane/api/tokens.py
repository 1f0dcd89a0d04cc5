"""IdTokens: the cards, app tokens and key codes the brand's stations authorize."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.auth import ApiCaller
from voltlane.api.common import DEFAULT_LIMIT, Limit, Offset, audit, given
from voltlane.charging import tokens
from voltlane.models.tenant import IdToken, IdTokenStatus, IdTokenType

Identifier = Annotated[str, Meta(min_length=1, max_length=tokens.MAX_ID_TOKEN)]
Label = Annotated[str, Meta(max_length=tokens.MAX_LABEL)]
Expiry = Annotated[datetime, Meta(tz=True, description="With a timezone offset")]
Driver = Annotated[str, Meta(min_length=1, max_length=tokens.MAX_DRIVER)]
Vehicle = Annotated[str, Meta(min_length=1, max_length=tokens.MAX_VEHICLE)]
CostCentre = Annotated[str, Meta(min_length=1, max_length=tokens.MAX_COST_CENTRE)]


class IdTokenCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    id_token: Identifier
    type: IdTokenType
    status: IdTokenStatus = IdTokenStatus.ACCEPTED
    expires_at: Expiry | None = None
    group_id_token: Identifier | None = None
    label: Label | None = None
    account_id: uuid.UUID | None = None
    driver_name: Driver | None = None
    vehicle: Vehicle | None = None
    cost_centre: CostCentre | None = None


class IdTokenUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Fields left out keep their value; null clears every field but the status."""

    status: IdTokenStatus | UnsetType = UNSET
    expires_at: Expiry | UnsetType | None = UNSET
    group_id_token: Identifier | UnsetType | None = UNSET
    label: Label | UnsetType | None = UNSET
    account_id: uuid.UUID | UnsetType | None = UNSET
    driver_name: Driver | UnsetType | None = UNSET
    vehicle: Vehicle | UnsetType | None = UNSET
    cost_centre: CostCentre | UnsetType | None = UNSET


class IdTokenRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    id_token: str
    type: IdTokenType
    status: IdTokenStatus
    expires_at: datetime | None
    group_id_token: str | None
    label: str | None
    account_id: uuid.UUID | None
    driver_name: str | None
    vehicle: str | None
    cost_centre: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, token: IdToken) -> IdTokenRead:
        return cls(
            id=token.id,
            id_token=token.id_token,
            type=token.type,
            status=token.status,
            expires_at=token.expires_at,
            group_id_token=token.group_id_token,
            label=token.label,
            account_id=token.account_id,
            driver_name=token.driver_name,
            vehicle=token.vehicle,
            cost_centre=token.cost_centre,
            created_at=token.created_at,
            updated_at=token.updated_at,
        )


class IdTokenPage(msgspec.Struct):
    items: list[IdTokenRead]
    total: int


class IdTokenController(Controller):
    path = "/id-tokens"
    tags = ["IdTokens"]

    @post("/", summary="Add an IdToken")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        data: JSONBody[IdTokenCreate],
    ) -> IdTokenRead:
        token = await tokens.create_token(
            db_session,
            tokens.IdTokenCreate(
                id_token=data.id_token,
                type=data.type,
                status=data.status,
                expires_at=data.expires_at,
                group_id_token=data.group_id_token,
                label=data.label,
                account_id=data.account_id,
                driver_name=data.driver_name,
                vehicle=data.vehicle,
                cost_centre=data.cost_centre,
            ),
        )
        read = IdTokenRead.of(token)
        await audit(
            db_session,
            request,
            caller,
            action="api.id_token.create",
            entity="id_token",
            entity_id=token.id,
            detail={"status": token.status},
        )
        return read

    @get("/", summary="List IdTokens")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[IdTokenStatus | None] = None,
        search: Annotated[
            str | None,
            QueryParameter(max_length=tokens.MAX_ID_TOKEN, description="Prefix of the id_token"),
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> IdTokenPage:
        page = await tokens.list_tokens(
            db_session, status=status, prefix=search, limit=limit, offset=offset
        )
        return IdTokenPage([IdTokenRead.of(t) for t in page.items], page.total)

    @get("/{id_token_pk:uuid}", summary="Get an IdToken")
    async def get_one(
        self, db_session: NamedDependency[AsyncSession], id_token_pk: FromPath[uuid.UUID]
    ) -> IdTokenRead:
        return IdTokenRead.of(await tokens.get_token(db_session, id_token_pk))

    @patch(
        "/{id_token_pk:uuid}",
        summary="Change an IdToken's status, expiry, group, label or billing account",
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        id_token_pk: FromPath[uuid.UUID],
        data: JSONBody[IdTokenUpdate],
    ) -> IdTokenRead:
        update = tokens.IdTokenUpdate(**given(data))
        token = await tokens.update_token(db_session, id_token_pk, update)
        read = IdTokenRead.of(token)
        await audit(
            db_session,
            request,
            caller,
            action="api.id_token.update",
            entity="id_token",
            entity_id=token.id,
            detail={"changes": given(data)},
        )
        return read
