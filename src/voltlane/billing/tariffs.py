"""Tariff versions and where they apply."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.pricing import (
    idle_fee_from_json,
    idle_fee_to_json,
    ocpi_decimals,
    stored_ocpi,
)
from voltlane.billing.repository import BillingRepository
from voltlane.core.errors import NotFoundError, ValidationError
from voltlane.core.ids import new_id
from voltlane.models.tenant import Connector, Evse, Location, TariffAssignment, TariffVersion
from voltlane.tariff import SegmentKind, TariffError, tariff_from_ocpi, tariff_to_ocpi


async def create_tariff_version(
    db_session: AsyncSession,
    *,
    definition: dict[str, Any],
    segment: SegmentKind,
    segment_ref: str | None,
    idle_fee: dict[str, Any] | None,
    brand_currency: str,
    created_by: str | None,
) -> TariffVersion:
    """Store a new version of the tariff ``definition["id"]`` (an OCPI 2.2.1 Tariff, its
    decimals as Decimal or decimal strings, never floats).

    The definition is validated by the engine and stored in its normalised OCPI shape (decimals
    as strings); it must be in the brand's currency. Versions are never changed afterwards.
    """
    tariff = tariff_from_ocpi(ocpi_decimals(definition))
    if tariff.currency != brand_currency:
        raise TariffError(f"must be the brand's currency {brand_currency}", field="currency")
    if segment is SegmentKind.PUBLIC and segment_ref is not None:
        raise ValidationError("the public segment has no reference", field="segment_ref")
    fee = idle_fee_from_json(idle_fee)
    version = TariffVersion(
        id=new_id(),
        code=tariff.id,
        segment=segment.value,
        segment_ref=segment_ref,
        currency=tariff.currency,
        valid_from=tariff.start_date_time,
        valid_to=tariff.end_date_time,
        definition=stored_ocpi(tariff_to_ocpi(tariff)),
        idle_fee=idle_fee_to_json(fee),
        created_by=created_by,
    )
    BillingRepository(db_session).add_tariff(version)
    await db_session.flush()
    return version


async def assign_tariff(
    db_session: AsyncSession,
    code: str,
    *,
    location_id: uuid.UUID | None = None,
    evse_pk: uuid.UUID | None = None,
    connector_pk: uuid.UUID | None = None,
) -> TariffAssignment:
    """Let tariff ``code`` (all its segments and versions) price sessions at one scope: a
    connector, an EVSE, a location, or (no scope) the whole brand. Assigning twice is a
    no-op."""
    repo = BillingRepository(db_session)
    if sum(x is not None for x in (location_id, evse_pk, connector_pk)) > 1:
        raise ValidationError("give one of location_id, evse_id, connector_id", field="scope")
    if not await repo.code_exists(code):
        raise NotFoundError(f"no tariff {code!r}", field="code")
    for model, key, field in (
        (Location, location_id, "location_id"),
        (Evse, evse_pk, "evse_id"),
        (Connector, connector_pk, "connector_id"),
    ):
        if key is not None and await db_session.get(model, key) is None:
            raise NotFoundError(f"no {field.removesuffix('_id')} {key}", field=field)
    return await repo.assign(
        code, location_id=location_id, evse_pk=evse_pk, connector_pk=connector_pk
    )


async def list_tariffs(
    db_session: AsyncSession, *, code: str | None, limit: int, offset: int
) -> tuple[list[TariffVersion], int]:
    """Tariff versions (of one code, or all) by code and age, with the total count."""
    return await BillingRepository(db_session).tariffs(code=code, limit=limit, offset=offset)


async def get_tariff(db_session: AsyncSession, version_id: uuid.UUID) -> TariffVersion:
    version = await BillingRepository(db_session).tariff(version_id)
    if version is None:
        raise NotFoundError(f"no tariff version {version_id}")
    return version


async def list_assignments(db_session: AsyncSession) -> list[TariffAssignment]:
    """Every assignment of the brand, oldest first."""
    return await BillingRepository(db_session).assignments()
