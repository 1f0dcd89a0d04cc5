"""Every query of the station domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, distinct, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from voltlane.models.platform import GatewayNode, StationPresence
from voltlane.models.tenant import (
    ChargingStation,
    CommandStatus,
    Connector,
    Evse,
    Location,
    OcppFrame,
    RegistrationStatus,
    StationCommand,
    StationEvent,
)
from voltlane.station.schemas import (
    NetworkCounts,
    StationFilter,
    StationListItem,
)


class StationRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def location_by_name(self, name: str) -> Location | None:
        return await self.db_session.scalar(select(Location).where(Location.name == name))

    async def station_by_identity(self, station_id: str) -> ChargingStation | None:
        return await self.db_session.scalar(
            select(ChargingStation).where(ChargingStation.station_id == station_id)
        )

    async def pending_count(self) -> int:
        return int(
            await self.db_session.scalar(
                select(func.count())
                .select_from(ChargingStation)
                .where(ChargingStation.registration_status == RegistrationStatus.PENDING)
            )
            or 0
        )

    async def station_for_update(self, pk: uuid.UUID) -> ChargingStation:
        station = await self.db_session.get(ChargingStation, pk, with_for_update=True)
        if station is None:
            raise LookupError(f"charging station {pk} is gone")
        return station

    async def update_connector_status(
        self,
        station_pk: uuid.UUID,
        evse_id: int,
        connector_id: int,
        *,
        status: str,
        at: datetime,
        error_code: str | None,
    ) -> bool:
        """Set the status unless a newer report is already stored; True when it changed."""
        evse_pk = (
            select(Evse.id)
            .where(Evse.charging_station_id == station_pk, Evse.evse_id == evse_id)
            .scalar_subquery()
        )
        result = await self.db_session.execute(
            update(Connector)
            .where(
                Connector.evse_pk == evse_pk,
                Connector.connector_id == connector_id,
                or_(Connector.status_at.is_(None), Connector.status_at <= at),
            )
            .values(status=status, status_at=at, error_code=error_code)
        )
        return bool(getattr(result, "rowcount", 0))

    async def counts(self) -> NetworkCounts:
        row = (
            await self.db_session.execute(
                select(
                    select(func.count()).select_from(Location).scalar_subquery(),
                    select(func.count()).select_from(ChargingStation).scalar_subquery(),
                    select(func.count()).select_from(Evse).scalar_subquery(),
                    select(func.count()).select_from(Connector).scalar_subquery(),
                )
            )
        ).one()
        return NetworkCounts(*(int(v) for v in row))

    # -- the operator API's reads -------------------------------------------------------
    async def location(self, pk: uuid.UUID) -> Location | None:
        return await self.db_session.get(Location, pk)

    async def locations(self, *, limit: int, offset: int) -> tuple[list[Location], int]:
        total = await self.db_session.scalar(select(func.count()).select_from(Location))
        rows = await self.db_session.scalars(
            select(Location).order_by(Location.name, Location.id).limit(limit).offset(offset)
        )
        return list(rows), int(total or 0)

    @staticmethod
    def _with_evses(stmt: Select[ChargingStation]) -> Select[ChargingStation]:
        # populate_existing: a station created in this transaction gets its new EVSEs too.
        return stmt.options(
            selectinload(ChargingStation.evses).selectinload(Evse.connectors)
        ).execution_options(populate_existing=True)

    async def station_row(self, pk: uuid.UUID) -> ChargingStation | None:
        """A station alone (its EVSEs are not loaded)."""
        return await self.db_session.get(ChargingStation, pk)

    async def station(self, pk: uuid.UUID) -> ChargingStation | None:
        """A station with its EVSEs and their connectors loaded."""
        return await self.db_session.scalar(
            self._with_evses(select(ChargingStation).where(ChargingStation.id == pk))
        )

    async def stations_page(
        self,
        *,
        location_id: uuid.UUID | None,
        registration_status: RegistrationStatus | None,
        limit: int,
        offset: int,
    ) -> tuple[list[ChargingStation], int]:
        filters = []
        if location_id is not None:
            filters.append(ChargingStation.location_id == location_id)
        if registration_status is not None:
            filters.append(ChargingStation.registration_status == registration_status)
        total = await self.db_session.scalar(
            select(func.count()).select_from(ChargingStation).where(*filters)
        )
        rows = await self.db_session.scalars(
            self._with_evses(
                select(ChargingStation)
                .where(*filters)
                .order_by(ChargingStation.station_id)
                .limit(limit)
                .offset(offset)
            )
        )
        return list(rows), int(total or 0)

    async def evse(self, pk: uuid.UUID) -> Evse | None:
        """An EVSE with its connectors loaded."""
        return await self.db_session.scalar(
            select(Evse)
            .where(Evse.id == pk)
            .options(selectinload(Evse.connectors))
            .execution_options(populate_existing=True)
        )

    async def location_of_evse(self, evse_pk: uuid.UUID) -> uuid.UUID | None:
        """The location of the EVSE's station (None: no such EVSE, or a station unplaced)."""
        return await self.db_session.scalar(
            select(ChargingStation.location_id)
            .join(Evse, Evse.charging_station_id == ChargingStation.id)
            .where(Evse.id == evse_pk)
        )

    async def evse_by_emi3(self, emi3_id: str) -> Evse | None:
        return await self.db_session.scalar(select(Evse).where(Evse.emi3_id == emi3_id))

    async def next_evse_id(self, station_pk: uuid.UUID) -> int:
        highest = await self.db_session.scalar(
            select(func.max(Evse.evse_id)).where(Evse.charging_station_id == station_pk)
        )
        return int(highest or 0) + 1

    async def connector(self, pk: uuid.UUID) -> Connector | None:
        return await self.db_session.get(Connector, pk)

    async def next_connector_id(self, evse_pk: uuid.UUID) -> int:
        highest = await self.db_session.scalar(
            select(func.max(Connector.connector_id)).where(Connector.evse_pk == evse_pk)
        )
        return int(highest or 0) + 1

    async def commands(
        self, station_pk: uuid.UUID, *, limit: int, offset: int
    ) -> tuple[list[StationCommand], int]:
        total = await self.db_session.scalar(
            select(func.count())
            .select_from(StationCommand)
            .where(StationCommand.charging_station_id == station_pk)
        )
        rows = await self.db_session.scalars(
            select(StationCommand)
            .where(StationCommand.charging_station_id == station_pk)
            .order_by(StationCommand.created_at.desc(), StationCommand.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows), int(total or 0)


async def connected_station_ids(
    platform_session: AsyncSession, tenant_key: str, station_ids: list[str], *, since: datetime
) -> set[str]:
    """Which of a brand's stations hold a socket on a gateway node alive since ``since``."""
    if not station_ids:
        return set()
    rows = await platform_session.scalars(
        select(StationPresence.station_id)
        .join(GatewayNode, GatewayNode.node_id == StationPresence.node_id)
        .where(
            StationPresence.tenant_key == tenant_key,
            StationPresence.station_id.in_(station_ids),
            GatewayNode.heartbeat_at > since,
        )
    )
    return set(rows)


# -- the operator portal's reads ---------------------------------------------------------
async def station_list(
    db_session: AsyncSession,
    filters: StationFilter,
    *,
    only: list[str] | None,
    excluding: list[str] | None,
    limit: int,
    offset: int,
) -> list[StationListItem]:
    """Stations by station id with their site (if any) and EVSE/connector totals, narrowed by
    ``filters`` and to the station ids in ``only`` / not in ``excluding`` when given."""
    conditions = []
    if filters.search:
        conditions.append(
            or_(
                ChargingStation.station_id.icontains(filters.search, autoescape=True),
                Location.name.icontains(filters.search, autoescape=True),
                Location.city.icontains(filters.search, autoescape=True),
            )
        )
    if filters.registration_status is not None:
        conditions.append(ChargingStation.registration_status == filters.registration_status)
    if filters.protocol:
        conditions.append(ChargingStation.protocol == filters.protocol)
    if only is not None:
        conditions.append(ChargingStation.station_id.in_(only))
    if excluding:
        conditions.append(ChargingStation.station_id.not_in(excluding))
    rows = await db_session.execute(
        select(
            ChargingStation.id,
            ChargingStation.station_id,
            ChargingStation.location_id,
            Location.name,
            Location.city,
            ChargingStation.vendor,
            ChargingStation.model,
            ChargingStation.protocol,
            ChargingStation.security_profile,
            ChargingStation.registration_status,
            func.count(distinct(Evse.id)),
            func.count(Connector.id),
            func.max(Connector.max_electric_power),
        )
        .outerjoin(Location, Location.id == ChargingStation.location_id)
        .outerjoin(Evse, Evse.charging_station_id == ChargingStation.id)
        .outerjoin(Connector, Connector.evse_pk == Evse.id)
        .where(*conditions)
        .group_by(ChargingStation.id, Location.id)
        .order_by(ChargingStation.station_id)
        .limit(limit)
        .offset(offset)
    )
    return [
        StationListItem(
            id=r[0],
            station_id=r[1],
            location_id=r[2],
            location_name=r[3],
            city=r[4],
            vendor=r[5],
            model=r[6],
            protocol=r[7],
            security_profile=r[8],
            registration_status=str(r[9]),
            evse_count=int(r[10]),
            connector_count=int(r[11]),
            max_power_w=r[12],
        )
        for r in rows
    ]


async def brand_connected_ids(
    platform_session: AsyncSession, tenant_key: str, *, since: datetime
) -> list[str]:
    """Every station id of a brand holding a socket on a gateway node alive since ``since``."""
    rows = await platform_session.scalars(
        select(StationPresence.station_id)
        .join(GatewayNode, GatewayNode.node_id == StationPresence.node_id)
        .where(StationPresence.tenant_key == tenant_key, GatewayNode.heartbeat_at > since)
    )
    return list(rows)


async def station_connected_at(
    platform_session: AsyncSession, tenant_key: str, station_id: str, *, since: datetime
) -> datetime | None:
    """When the station's current connection opened, if it is held by a live node."""
    return await platform_session.scalar(
        select(StationPresence.connected_at)
        .join(GatewayNode, GatewayNode.node_id == StationPresence.node_id)
        .where(
            StationPresence.tenant_key == tenant_key,
            StationPresence.station_id == station_id,
            GatewayNode.heartbeat_at > since,
        )
    )


async def last_frame_at(db_session: AsyncSession, station_id: str) -> datetime | None:
    """The time of the station's newest logged frame, in or out."""
    return await db_session.scalar(
        select(func.max(OcppFrame.at)).where(OcppFrame.station_id == station_id)
    )


async def station_events_of(
    db_session: AsyncSession, station_pk: uuid.UUID, kinds: tuple[str, ...], *, limit: int
) -> list[StationEvent]:
    """A station's newest events of the given kinds, newest first."""
    rows = await db_session.scalars(
        select(StationEvent)
        .where(StationEvent.charging_station_id == station_pk, StationEvent.kind.in_(kinds))
        .order_by(StationEvent.at.desc(), StationEvent.id.desc())
        .limit(limit)
    )
    return list(rows)


async def latest_command(
    db_session: AsyncSession, station_pk: uuid.UUID, action: str, status: CommandStatus
) -> StationCommand | None:
    """The station's newest command of ``action`` that ended in ``status``."""
    return await db_session.scalar(
        select(StationCommand)
        .where(
            StationCommand.charging_station_id == station_pk,
            StationCommand.action == action,
            StationCommand.status == status,
        )
        .order_by(StationCommand.created_at.desc(), StationCommand.id.desc())
        .limit(1)
    )


async def latest_report(
    db_session: AsyncSession, station_pk: uuid.UUID, *, limit: int
) -> list[StationEvent]:
    """The NotifyReport messages of the station's newest report (its newest requestId), in
    the order the station numbered them."""
    newest = await db_session.scalar(
        select(StationEvent.payload["requestId"].astext)
        .where(
            StationEvent.charging_station_id == station_pk,
            StationEvent.action == "NotifyReport",
        )
        .order_by(StationEvent.at.desc(), StationEvent.id.desc())
        .limit(1)
    )
    if newest is None:
        return []
    rows = await db_session.scalars(
        select(StationEvent)
        .where(
            StationEvent.charging_station_id == station_pk,
            StationEvent.action == "NotifyReport",
            StationEvent.payload["requestId"].astext == newest,
        )
        .order_by(StationEvent.payload["seqNo"].as_integer(), StationEvent.id)
        .limit(limit)
    )
    return list(rows)
