"""Tariff versions and where they apply."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.pricing import (
    idle_fee_from_json,
    idle_fee_to_json,
    ocpi_decimals,
    stored_ocpi,
    tariff_of,
)
from voltlane.billing.repository import BillingRepository
from voltlane.billing.tariff_repository import AssignedPlace, Place, TariffRepository
from voltlane.core.errors import NotFoundError, ValidationError
from voltlane.core.ids import new_id
from voltlane.models.tenant import Connector, Evse, Location, TariffAssignment, TariffVersion
from voltlane.tariff import (
    PricedSession,
    SampleSession,
    Segment,
    SegmentKind,
    Tariff,
    TariffError,
    TariffSet,
    price_sample,
    select_tariff,
    tariff_from_ocpi,
    tariff_to_ocpi,
)


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


class VersionStatus(StrEnum):
    CURRENT = "current"  # prices the segment's sessions that start now
    SCHEDULED = "scheduled"  # takes over from its valid-from
    PAST = "past"  # ended, or superseded by a later version of its segment


@dataclass(frozen=True, slots=True)
class VersionView:
    """A stored version with its engine tariff (idle fee included) and its status now."""

    version: TariffVersion
    tariff: Tariff
    segment: Segment
    status: VersionStatus


@dataclass(frozen=True, slots=True)
class TariffOverview:
    """A tariff code: its versions (by segment, newest first) and where it applies."""

    code: str
    versions: list[VersionView]
    places: list[AssignedPlace]

    def version(self, version_id: uuid.UUID) -> VersionView | None:
        return next((v for v in self.versions if v.version.id == version_id), None)


_SEGMENT_ORDER = list(SegmentKind)
_ALWAYS = datetime.min.replace(tzinfo=UTC)


def _segment_of(version: TariffVersion) -> Segment:
    return Segment(SegmentKind(version.segment), version.segment_ref)


def _views(versions: list[TariffVersion], now: datetime) -> list[VersionView]:
    """The versions of one code with their status: the one select_tariff picks for its own
    segment now is current; one that starts later is scheduled; the others are past."""
    by_segment: dict[Segment, list[tuple[Tariff, TariffVersion]]] = {}
    for version in versions:
        by_segment.setdefault(_segment_of(version), []).append((tariff_of(version), version))
    views = []
    for segment, pairs in by_segment.items():
        only = TariffSet({segment: tuple(t for t, _ in pairs)})
        try:
            current: Tariff | None = select_tariff(only, segment, at=now)
        except TariffError:
            current = None
        for tariff, version in pairs:
            if tariff is current:
                status = VersionStatus.CURRENT
            elif tariff.start_date_time is not None and tariff.start_date_time > now:
                status = VersionStatus.SCHEDULED
            else:
                status = VersionStatus.PAST
            views.append(VersionView(version, tariff, segment, status))
    views.sort(
        key=lambda v: (
            _SEGMENT_ORDER.index(v.segment.kind),
            v.segment.ref or "",
            -(v.tariff.start_date_time or _ALWAYS).timestamp(),
            -v.version.created_at.timestamp(),
        )
    )
    return views


async def list_tariff_overviews(
    db_session: AsyncSession, *, now: datetime, limit: int, offset: int
) -> list[TariffOverview]:
    """One page of the brand's tariffs by code, each with its versions' status at ``now``
    and the places it is assigned to."""
    repo = TariffRepository(db_session)
    codes = await repo.codes(limit=limit, offset=offset)
    return await _overviews(repo, codes, now)


async def _overviews(
    repo: TariffRepository, codes: list[str], now: datetime
) -> list[TariffOverview]:
    versions: dict[str, list[TariffVersion]] = {code: [] for code in codes}
    for version in await repo.versions(codes):
        versions[version.code].append(version)
    places: dict[str, list[AssignedPlace]] = {code: [] for code in codes}
    for assigned in await repo.assigned_places(codes):
        places[assigned.code].append(assigned)
    return [TariffOverview(code, _views(versions[code], now), places[code]) for code in codes]


async def tariff_overview(db_session: AsyncSession, code: str, *, now: datetime) -> TariffOverview:
    """The tariff ``code`` of this brand with its versions and places; NotFoundError if the
    brand has no such tariff."""
    overviews = await _overviews(TariffRepository(db_session), [code], now)
    if not overviews[0].versions:
        raise NotFoundError(f"no tariff {code!r}")
    return overviews[0]


async def tariff_code_exists(db_session: AsyncSession, code: str) -> bool:
    """Whether the brand has any version of tariff ``code``."""
    return await BillingRepository(db_session).code_exists(code)


async def assignment_places(db_session: AsyncSession) -> list[Place]:
    """Every place a tariff can be assigned to: the brand, its locations, EVSEs, connectors."""
    return await TariffRepository(db_session).places()


def preview_price(tariff: Tariff, sample: SampleSession) -> PricedSession:
    """What ``sample`` would cost under ``tariff`` (unsaved input included), computed by the
    engine that prices CDRs."""
    return price_sample(tariff, sample)


async def preview_tariff(
    db_session: AsyncSession, code: str, segment: Segment, sample: SampleSession
) -> tuple[VersionView, PricedSession]:
    """What ``sample`` would cost under tariff ``code`` for a driver of ``segment``: the
    version that select_tariff picks at the sample's start (with the CDR's fallbacks from
    the segment to MEMBER and PUBLIC), priced by the engine. TariffError when none is in
    force then; NotFoundError for an unknown code."""
    overview = await tariff_overview(db_session, code, now=sample.start)
    tariffs: dict[Segment, tuple[Tariff, ...]] = {}
    for view in sorted(overview.versions, key=lambda v: v.version.created_at):
        tariffs[view.segment] = (*tariffs.get(view.segment, ()), view.tariff)
    chosen = select_tariff(TariffSet(tariffs), segment, at=sample.start)
    view = next(v for v in overview.versions if v.tariff is chosen)
    return view, price_sample(chosen, sample)


async def unassign_tariff(
    db_session: AsyncSession, code: str, assignment_id: uuid.UUID
) -> TariffAssignment:
    """Stop tariff ``code`` pricing sessions at the place of assignment ``assignment_id``:
    sessions priced from now on (live costs, CDRs of sessions still running) take the tariffs
    of the next wider place. NotFoundError if the brand's tariff ``code`` has no such
    assignment."""
    repo = TariffRepository(db_session)
    assignment = await repo.assignment(code, assignment_id)
    if assignment is None:
        raise NotFoundError(f"no assignment {assignment_id} of tariff {code!r}")
    await repo.remove_assignment(assignment)
    return assignment
