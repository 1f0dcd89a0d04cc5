"""Smart charging sites: external readings in, the site with its current allocations out,
and departure targets for fleet sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import Meta
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.auth import ApiCaller
from voltlane.api.common import audit
from voltlane.core.clock import utcnow
from voltlane.core.errors import NotFoundError
from voltlane.models.tenant import ReadingKind, Site
from voltlane.smart_charging import overview
from voltlane.smart_charging import sites as service
from voltlane.smart_charging.sites import InvalidSiteError
from voltlane.web.context import current_tenant

UNKNOWN_SESSION = "This charging session does not exist."
EVSE_NOT_IN_SITE = "This EVSE is not in the site."
Instant = Annotated[datetime, Meta(tz=True)]
Amps = Annotated[Decimal, Meta(description="Amperes, 0.1 A steps")]


class PhaseCurrents(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Amperes on each phase (a single-phase site sends 0 on L2 and L3)."""

    l1_a: Amps
    l2_a: Amps = Decimal(0)
    l3_a: Amps = Decimal(0)


class BatteryReading(PhaseCurrents, forbid_unknown_fields=True, kw_only=True):
    """Discharge per phase (negative while the battery charges) and its state of charge."""

    soc_percent: Annotated[Decimal, Meta(description="0 to 100")] | None = None


class ReadingsIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a site meter or energy manager reports; each input given is stored."""

    measured_at: Instant
    building_load: PhaseCurrents | None = None
    solar: PhaseCurrents | None = None
    battery: BatteryReading | None = None


class ReadingOut(msgspec.Struct, kw_only=True):
    kind: str
    l1_a: Decimal
    l2_a: Decimal
    l3_a: Decimal
    soc_percent: Decimal | None
    measured_at: datetime
    stale: bool


class ReadingsStored(msgspec.Struct, kw_only=True):
    # Inputs dated before the stored ones of their kind are ignored, never an error.
    stored: list[str]
    ignored: list[str]


class SiteEvseOut(msgspec.Struct, kw_only=True):
    evse_pk: uuid.UUID
    station_id: str
    evse_id: int
    priority: int
    max_current_a: Decimal | None
    phases: str


class AllocationOut(msgspec.Struct, kw_only=True):
    session_id: uuid.UUID
    station_id: str
    evse_id: int | None
    limit_a: Decimal
    phases: int
    status: str
    decided_at: datetime
    # OCPP 2.1 V2X: the most the car may feed back, per phase (None: no discharge).
    discharge_limit_a: Decimal | None
    power_w: Decimal | None
    current_a: Decimal | None


class SiteSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    location_id: uuid.UUID | None
    timezone: str
    phases: int
    voltage_v: int
    capacity_a: Decimal
    safe_limit_a: Decimal
    min_current_a: Decimal
    mode: str
    segment_priorities: dict[str, int]
    discharge_limit_a: Decimal | None

    @classmethod
    def of(cls, site: Site) -> SiteSummary:
        return cls(
            id=site.id,
            name=site.name,
            parent_id=site.parent_id,
            location_id=site.location_id,
            timezone=site.timezone,
            phases=site.phases,
            voltage_v=site.voltage_v,
            capacity_a=site.capacity_a,
            safe_limit_a=site.safe_limit_a,
            min_current_a=site.min_current_a,
            mode=str(site.mode),
            segment_priorities=dict(site.segment_priorities),
            discharge_limit_a=site.discharge_limit_a,
        )


class SiteDetail(SiteSummary, kw_only=True):
    available_a: list[Decimal]
    evses: list[SiteEvseOut]
    readings: list[ReadingOut]
    allocations: list[AllocationOut]


class SitePage(msgspec.Struct):
    items: list[SiteSummary]
    total: int


class DepartureTarget(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    energy_wh: Annotated[int, Meta(ge=1, le=1_000_000)]
    departure_at: Instant


class DepartureTargetOut(msgspec.Struct, kw_only=True):
    session_id: uuid.UUID
    energy_wh: int
    departure_at: datetime


def _detail(view: overview.SiteView) -> SiteDetail:
    summary = msgspec.structs.asdict(SiteSummary.of(view.site))
    return SiteDetail(
        **summary,
        available_a=list(view.available_a),
        evses=[SiteEvseOut(**vars(evse)) for evse in view.evses],
        readings=[
            ReadingOut(
                kind=r.kind,
                l1_a=r.per_phase_a[0],
                l2_a=r.per_phase_a[1],
                l3_a=r.per_phase_a[2],
                soc_percent=r.soc_percent,
                measured_at=r.measured_at,
                stale=r.stale,
            )
            for r in view.readings
        ],
        allocations=[AllocationOut(**vars(a)) for a in view.allocations],
    )


class SiteController(Controller):
    path = "/sites"
    tags = ["Smart charging"]

    @get("/", summary="List sites and circuits")
    async def list_(self, db_session: NamedDependency[AsyncSession]) -> SitePage:
        found = await overview.list_sites(db_session)
        return SitePage([SiteSummary.of(site) for site in found], len(found))

    @get(
        "/{site_id:uuid}",
        summary="Get a site with its EVSEs, latest readings and current allocations",
    )
    async def get_one(
        self, db_session: NamedDependency[AsyncSession], site_id: FromPath[uuid.UUID]
    ) -> SiteDetail:
        return _detail(await overview.site_view(db_session, site_id, now=utcnow()))

    @delete(
        "/{site_id:uuid}/evses/{evse_pk:uuid}",
        summary="Take an EVSE out of a site",
        description=(
            "The EVSE (its evse_pk, as the site lists it) leaves the site, as Remove does in "
            "the portal: its station is asked to clear the site's TxDefaultProfile and any "
            "TxProfile on it, again after each reconnection until it answers. 404 when the "
            "site does not exist or the EVSE is not in it."
        ),
    )
    async def remove_evse(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        site_id: FromPath[uuid.UUID],
        evse_pk: FromPath[uuid.UUID],
    ) -> None:
        view = await overview.site_view(db_session, site_id, now=utcnow())
        if not any(evse.evse_pk == evse_pk for evse in view.evses):
            raise NotFoundError(EVSE_NOT_IN_SITE)
        await service.unassign_evse(db_session, evse_pk, tenant_key=current_tenant(request).key)
        await audit(
            db_session,
            request,
            caller,
            action="api.site.evse.remove",
            entity="site",
            entity_id=site_id,
            detail={"evse_pk": str(evse_pk)},
        )

    @post("/{site_id:uuid}/readings", summary="Report building load, solar and battery")
    async def readings(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        site_id: FromPath[uuid.UUID],
        data: JSONBody[ReadingsIn],
    ) -> ReadingsStored:
        inputs: list[tuple[ReadingKind, PhaseCurrents]] = [
            (kind, value)
            for kind, value in (
                (ReadingKind.BUILDING_LOAD, data.building_load),
                (ReadingKind.SOLAR, data.solar),
                (ReadingKind.BATTERY, data.battery),
            )
            if value is not None
        ]
        await service.get_site(db_session, site_id)
        if not inputs:
            raise InvalidSiteError({"building_load": "Send building_load, solar or battery."})
        stored: list[str] = []
        ignored: list[str] = []
        for kind, value in inputs:
            try:
                row = await service.record_reading(
                    db_session,
                    site_id,
                    kind=kind.value,
                    per_phase_a=[value.l1_a, value.l2_a, value.l3_a],
                    soc_percent=value.soc_percent if isinstance(value, BatteryReading) else None,
                    measured_at=data.measured_at,
                )
            except InvalidSiteError as error:
                # The body nests each input: name the field as the client wrote it.
                raise InvalidSiteError(
                    {
                        name if name == "measured_at" else f"{kind.value}.{name}": message
                        for name, message in error.errors.items()
                    }
                ) from error
            (stored if row is not None else ignored).append(kind.value)
        await audit(
            db_session,
            request,
            caller,
            action="api.site.readings",
            entity="site",
            entity_id=site_id,
            detail={"stored": stored, "ignored": ignored, "measured_at": data.measured_at},
        )
        return ReadingsStored(stored=stored, ignored=ignored)


class DepartureTargetController(Controller):
    path = "/sessions"
    tags = ["Smart charging"]

    @put("/{session_id:uuid}/departure-target", summary="Set a session's departure target")
    async def set_target(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        session_id: FromPath[uuid.UUID],
        data: JSONBody[DepartureTarget],
    ) -> DepartureTargetOut:
        try:
            target = await service.set_target(
                db_session, session_id, energy_wh=data.energy_wh, departure_at=data.departure_at
            )
        except InvalidSiteError as error:
            # Another brand's session, or none at all: not found, like any id of the path.
            if error.errors.get("session_id") == UNKNOWN_SESSION:
                raise NotFoundError(UNKNOWN_SESSION) from error
            raise
        await audit(
            db_session,
            request,
            caller,
            action="api.session.departure_target",
            entity="charging_session",
            entity_id=session_id,
            detail={"energy_wh": data.energy_wh, "departure_at": data.departure_at},
        )
        return DepartureTargetOut(
            session_id=target.session_id,
            energy_wh=target.energy_wh,
            departure_at=target.departure_at,
        )
