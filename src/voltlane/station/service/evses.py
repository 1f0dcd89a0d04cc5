"""Use cases of EVSEs and connectors."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import NotFoundError
from voltlane.core.text import N_
from voltlane.models.tenant import Connector, Evse
from voltlane.station.errors import InvalidStationError
from voltlane.station.ports import location_changes
from voltlane.station.repository import StationRepository
from voltlane.station.schemas import (
    ConnectorCreate,
    ConnectorUpdate,
    EvseCreate,
    EvseUpdate,
    changes,
)
from voltlane.station.service.checks import (
    check_connector_ratings,
    check_new_emi3_ids,
    new_connector,
)
from voltlane.station.service.stations import station_for_update


async def add_evse(db_session: AsyncSession, station_pk: uuid.UUID, data: EvseCreate) -> Evse:
    """Add an EVSE with its connectors, numbered after the station's last EVSE."""
    station = await station_for_update(db_session, station_pk)  # serialises numbering
    if not data.connectors:
        raise InvalidStationError(N_("An EVSE needs at least one connector."), field="connectors")
    await check_new_emi3_ids(db_session, [data.emi3_id] if data.emi3_id else [])
    repo = StationRepository(db_session)
    evse = Evse(
        charging_station_id=station_pk,
        evse_id=await repo.next_evse_id(station_pk),
        emi3_id=data.emi3_id,
        physical_reference=data.physical_reference,
    )
    db_session.add(evse)
    await db_session.flush()
    for number, connector in enumerate(data.connectors, start=1):
        db_session.add(new_connector(evse.id, number, connector))
    await db_session.flush()
    await location_changes().locations_changed(db_session, [station.location_id])
    return await get_evse(db_session, evse.id)


async def get_evse(db_session: AsyncSession, evse_pk: uuid.UUID) -> Evse:
    """An EVSE with its connectors; NotFoundError when the brand has none such."""
    evse = await StationRepository(db_session).evse(evse_pk)
    if evse is None:
        raise NotFoundError(f"No EVSE {evse_pk}.")
    return evse


async def update_evse(db_session: AsyncSession, evse_pk: uuid.UUID, update: EvseUpdate) -> Evse:
    """Change an EVSE's eMI3 id or physical reference."""
    evse = await get_evse(db_session, evse_pk)
    if isinstance(update.emi3_id, str) and update.emi3_id != evse.emi3_id:
        await check_new_emi3_ids(db_session, [update.emi3_id])
    for field, value in changes(update).items():
        setattr(evse, field, value)
    await db_session.flush()
    await _evse_changed(db_session, evse_pk)
    return await get_evse(db_session, evse_pk)


async def add_connector(
    db_session: AsyncSession, evse_pk: uuid.UUID, data: ConnectorCreate
) -> Connector:
    """Add a connector to an EVSE, numbered after its last connector."""
    evse = await db_session.get(Evse, evse_pk, with_for_update=True)  # serialises numbering
    if evse is None:
        raise NotFoundError(f"No EVSE {evse_pk}.")
    number = await StationRepository(db_session).next_connector_id(evse_pk)
    connector = new_connector(evse_pk, number, data)
    db_session.add(connector)
    await db_session.flush()
    await _evse_changed(db_session, evse_pk)
    return connector


async def get_connector(db_session: AsyncSession, connector_pk: uuid.UUID) -> Connector:
    """A connector; NotFoundError when the brand has none such."""
    connector = await StationRepository(db_session).connector(connector_pk)
    if connector is None:
        raise NotFoundError(f"No connector {connector_pk}.")
    return connector


async def update_connector(
    db_session: AsyncSession, connector_pk: uuid.UUID, update: ConnectorUpdate
) -> Connector:
    """Change a connector's standard, format, power type or ratings."""
    connector = await get_connector(db_session, connector_pk)
    values = changes(update)
    check_connector_ratings(values)
    for field, value in values.items():
        setattr(connector, field, value)
    await db_session.flush()
    await db_session.refresh(connector)  # updated_at is set by the database
    await _evse_changed(db_session, connector.evse_pk)
    return connector


async def _evse_changed(db_session: AsyncSession, evse_pk: uuid.UUID) -> None:
    location_id = await StationRepository(db_session).location_of_evse(evse_pk)
    await location_changes().locations_changed(db_session, [location_id])
