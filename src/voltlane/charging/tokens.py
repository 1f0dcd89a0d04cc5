"""IdTokens a brand accepts: RFID cards, app tokens, eMAIDs, key codes.

What is stored here is what ``charging.service.authorize`` decides on: the status, the expiry
and the group. Tokens are identified by (id_token, type), as in OCPP 2.0.1.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from msgspec import UNSET, UnsetType
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import ensure_utc
from voltlane.core.errors import ConflictError, NotFoundError, ValidationError
from voltlane.core.text import N_
from voltlane.models.tenant import (
    ChargingSession,
    CustomerAccount,
    IdToken,
    IdTokenStatus,
    IdTokenType,
)
from voltlane.station.schemas import Page, changes

MAX_ID_TOKEN = 36  # OCPP 2.0.1 IdToken.idToken is identifierString[36]
MAX_LABEL = 120
# What a fleet invoice prints beside each session of the card.
MAX_DRIVER = 120
MAX_VEHICLE = 40
MAX_COST_CENTRE = 60


class InvalidIdTokenError(ValidationError):
    title = "Invalid IdToken"


class DuplicateIdTokenError(ConflictError):
    title = "IdToken exists"


class IdTokenNotFoundError(NotFoundError):
    title = "Unknown IdToken"


@dataclass(frozen=True, slots=True)
class IdTokenCreate:
    id_token: str
    type: IdTokenType
    status: IdTokenStatus = IdTokenStatus.ACCEPTED
    expires_at: datetime | None = None
    group_id_token: str | None = None
    label: str | None = None
    account_id: uuid.UUID | None = None
    driver_name: str | None = None
    vehicle: str | None = None
    cost_centre: str | None = None


@dataclass(frozen=True, slots=True)
class IdTokenUpdate:
    """A field left UNSET keeps its value; None clears a nullable one."""

    status: IdTokenStatus | UnsetType = UNSET
    expires_at: datetime | UnsetType | None = UNSET
    group_id_token: str | UnsetType | None = UNSET
    label: str | UnsetType | None = UNSET
    account_id: uuid.UUID | UnsetType | None = UNSET
    driver_name: str | UnsetType | None = UNSET
    vehicle: str | UnsetType | None = UNSET
    cost_centre: str | UnsetType | None = UNSET


def _check_identifier(value: str, field: str) -> None:
    if not 1 <= len(value) <= MAX_ID_TOKEN or not value.isprintable() or value != value.strip():
        raise InvalidIdTokenError(
            f"{field}: 1 to {MAX_ID_TOKEN} printable characters without outer spaces.",
            field=field,
        )


def _check_expiry(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return ensure_utc(value)
    except ValueError as exc:
        raise InvalidIdTokenError(
            "expires_at needs a timezone offset.", field="expires_at"
        ) from exc


def _check_label(value: str | None) -> None:
    if value is not None and len(value) > MAX_LABEL:
        raise InvalidIdTokenError(f"label: at most {MAX_LABEL} characters.", field="label")


_BILLING_TEXT = {"driver_name": MAX_DRIVER, "vehicle": MAX_VEHICLE, "cost_centre": MAX_COST_CENTRE}


async def _check_billing(db_session: AsyncSession, values: dict[str, object]) -> None:
    """The account a token is billed to must exist; what its invoices print must fit."""
    for field, limit in _BILLING_TEXT.items():
        value = values.get(field)
        if isinstance(value, str) and not 1 <= len(value.strip()) <= limit:
            raise InvalidIdTokenError(f"{field}: 1 to {limit} characters.", field=field)
    account_id = values.get("account_id")
    if (
        isinstance(account_id, uuid.UUID)
        and await db_session.get(CustomerAccount, account_id) is None
    ):
        raise InvalidIdTokenError(f"No customer account {account_id}.", field="account_id")


async def create_token(db_session: AsyncSession, data: IdTokenCreate) -> IdToken:
    """Add a token the brand's stations will authorize according to its status."""
    _check_identifier(data.id_token, "id_token")
    if data.group_id_token is not None:
        _check_identifier(data.group_id_token, "group_id_token")
    _check_label(data.label)
    await _check_billing(
        db_session,
        {
            "account_id": data.account_id,
            "driver_name": data.driver_name,
            "vehicle": data.vehicle,
            "cost_centre": data.cost_centre,
        },
    )
    expires_at = _check_expiry(data.expires_at)
    existing = await db_session.scalar(
        select(IdToken.id).where(IdToken.id_token == data.id_token, IdToken.type == data.type)
    )
    if existing is not None:
        raise DuplicateIdTokenError(
            N_(
                "%(type)s token %(token)s already exists.",
                type=data.type.value,
                token=data.id_token,
            ),
            field="id_token",
        )
    token = IdToken(
        id_token=data.id_token,
        type=data.type,
        status=data.status,
        expires_at=expires_at,
        group_id_token=data.group_id_token,
        label=data.label,
        account_id=data.account_id,
        driver_name=data.driver_name,
        vehicle=data.vehicle,
        cost_centre=data.cost_centre,
    )
    db_session.add(token)
    await db_session.flush()
    return token


async def get_token(db_session: AsyncSession, token_id: uuid.UUID) -> IdToken:
    """The brand's token ``token_id``; IdTokenNotFoundError when it has none such."""
    token = await db_session.get(IdToken, token_id)
    if token is None:
        raise IdTokenNotFoundError(f"No IdToken {token_id}.")
    return token


async def list_tokens(
    db_session: AsyncSession,
    *,
    status: IdTokenStatus | None = None,
    prefix: str | None = None,
    limit: int,
    offset: int,
) -> Page[IdToken]:
    """Tokens by value, filtered by status and by a case-insensitive value prefix."""
    filters = []
    if status is not None:
        filters.append(IdToken.status == status)
    if prefix:
        filters.append(IdToken.id_token.istartswith(prefix, autoescape=True))
    total = await db_session.scalar(select(func.count()).select_from(IdToken).where(*filters))
    rows = await db_session.scalars(
        select(IdToken)
        .where(*filters)
        # Byte order: identifiers sort the same whatever the database's collation.
        .order_by(IdToken.id_token.collate("C"), IdToken.type)
        .limit(limit)
        .offset(offset)
    )
    return Page(list(rows), int(total or 0))


async def update_token(
    db_session: AsyncSession, token_id: uuid.UUID, update: IdTokenUpdate
) -> IdToken:
    """Block, expire, regroup or relabel a token, or bill it to another account; its next
    authorization sees the change, its next sessions go to the account's documents."""
    token = await get_token(db_session, token_id)
    values = changes(update)
    if isinstance(update.expires_at, datetime):
        values["expires_at"] = _check_expiry(update.expires_at)
    if isinstance(update.group_id_token, str):
        _check_identifier(update.group_id_token, "group_id_token")
    if isinstance(update.label, str):
        _check_label(update.label)
    await _check_billing(db_session, values)
    for field, value in values.items():
        setattr(token, field, value)
    await db_session.flush()
    await db_session.refresh(token)  # updated_at is set by the database
    return token


@dataclass(frozen=True, slots=True)
class TokenFilter:
    """What the back office narrows the token list by; None leaves a filter out."""

    status: IdTokenStatus | None = None
    type: IdTokenType | None = None
    account_id: uuid.UUID | None = None
    group_id_token: str | None = None
    # Part of the value, label, driver, vehicle or cost centre (any case).
    text: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.status is not None:
            found.append(IdToken.status == self.status)
        if self.type is not None:
            found.append(IdToken.type == self.type)
        if self.account_id is not None:
            found.append(IdToken.account_id == self.account_id)
        if self.group_id_token is not None:
            found.append(IdToken.group_id_token == self.group_id_token)
        if self.text:
            found.append(
                or_(
                    *(
                        column.icontains(self.text, autoescape=True)
                        for column in (
                            IdToken.id_token,
                            IdToken.label,
                            IdToken.driver_name,
                            IdToken.vehicle,
                            IdToken.cost_centre,
                        )
                    )
                )
            )
        return found


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A token with the name of the account its sessions are billed to."""

    token: IdToken
    account_name: str | None


async def find_tokens(
    db_session: AsyncSession, filters: TokenFilter, *, limit: int, offset: int
) -> list[TokenRow]:
    """Tokens matching ``filters`` by value (byte order) and type, with their account's name."""
    rows = await db_session.execute(
        select(IdToken, CustomerAccount.name)
        .outerjoin(CustomerAccount, CustomerAccount.id == IdToken.account_id)
        .where(*filters.conditions())
        .order_by(IdToken.id_token.collate("C"), IdToken.type)
        .limit(limit)
        .offset(offset)
    )
    return [TokenRow(token, name) for token, name in rows]


async def count_tokens(db_session: AsyncSession, filters: TokenFilter) -> int:
    """How many tokens match ``filters``."""
    total = await db_session.scalar(
        select(func.count()).select_from(IdToken).where(*filters.conditions())
    )
    return int(total or 0)


@dataclass(frozen=True, slots=True)
class TokenGroup:
    """A group id (OCPP groupIdToken) and the tokens that carry it."""

    group_id_token: str
    tokens: int
    blocked: int
    accounts: int


async def token_groups(
    db_session: AsyncSession, *, text: str | None, limit: int, offset: int
) -> list[TokenGroup]:
    """The group ids tokens carry (containing ``text``, any case), by id, with how many
    tokens carry each, how many of those are blocked and how many accounts they bill."""
    stmt = select(
        IdToken.group_id_token,
        func.count(),
        func.count().filter(IdToken.status == IdTokenStatus.BLOCKED),
        func.count(IdToken.account_id.distinct()),
    ).where(IdToken.group_id_token.is_not(None))
    if text:
        stmt = stmt.where(IdToken.group_id_token.icontains(text, autoescape=True))
    rows = await db_session.execute(
        stmt.group_by(IdToken.group_id_token)
        .order_by(IdToken.group_id_token.collate("C"))
        .limit(limit)
        .offset(offset)
    )
    return [
        TokenGroup(str(group), int(n), int(blocked), int(accounts))
        for group, n, blocked, accounts in rows
    ]


@dataclass(frozen=True, slots=True)
class CardDimensions:
    """What an account's cards name, each value with the number of cards naming it."""

    drivers: list[tuple[str, int]]
    vehicles: list[tuple[str, int]]
    cost_centres: list[tuple[str, int]]


async def card_dimensions(db_session: AsyncSession, account_id: uuid.UUID) -> CardDimensions:
    """The drivers, vehicles and cost centres the account's cards name, alphabetically."""
    found: list[list[tuple[str, int]]] = []
    for column in (IdToken.driver_name, IdToken.vehicle, IdToken.cost_centre):
        rows = await db_session.execute(
            select(column, func.count())
            .where(IdToken.account_id == account_id, column.is_not(None))
            .group_by(column)
            .order_by(func.lower(column), column)
        )
        found.append([(str(value), int(n)) for value, n in rows])
    return CardDimensions(*found)


@dataclass(frozen=True, slots=True)
class Usage:
    sessions: int
    energy_wh: Decimal


async def account_usage(
    db_session: AsyncSession, account_id: uuid.UUID, *, since: datetime, until: datetime
) -> Usage:
    """The charging sessions of the account's cards started in [since, until) and the energy
    they charged (running ones so far)."""
    row = (
        await db_session.execute(
            select(func.count(), func.coalesce(func.sum(ChargingSession.energy_wh), 0))
            .join(
                IdToken,
                (IdToken.id_token == ChargingSession.id_token)
                & (IdToken.type == ChargingSession.id_token_type),
            )
            .where(
                IdToken.account_id == account_id,
                ChargingSession.started_at >= since,
                ChargingSession.started_at < until,
            )
        )
    ).one()
    return Usage(int(row[0]), Decimal(row[1] or 0))
