"""EVSEs of a station and the connectors of an EVSE."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.auth import ApiCaller
from voltlane.api.common import audit, given
from voltlane.models.tenant import Connector, ConnectorFormat, ConnectorStandard, Evse, PowerType
from voltlane.station import schemas as domain
from voltlane.station import service as stations

Positive = Annotated[int, Meta(gt=0)]
Emi3Id = Annotated[str, Meta(min_length=1, max_length=48, description="eMI3 / OCPI EVSE id")]
PhysicalReference = Annotated[str, Meta(min_length=1, max_length=16)]


class ConnectorCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    standard: ConnectorStandard
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: Annotated[int, Meta(gt=0, description="V")]
    max_amperage: Annotated[int, Meta(gt=0, description="A")]
    max_electric_power: Annotated[int, Meta(gt=0, description="W")] | None = None

    def domain(self) -> domain.ConnectorCreate:
        return domain.ConnectorCreate(
            standard=self.standard,
            format=self.format,
            power_type=self.power_type,
            max_voltage=self.max_voltage,
            max_amperage=self.max_amperage,
            max_electric_power=self.max_electric_power,
        )


class ConnectorUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Fields left out keep their value."""

    standard: ConnectorStandard | UnsetType = UNSET
    format: ConnectorFormat | UnsetType = UNSET
    power_type: PowerType | UnsetType = UNSET
    max_voltage: Positive | UnsetType = UNSET
    max_amperage: Positive | UnsetType = UNSET
    max_electric_power: Positive | UnsetType | None = UNSET


class EvseCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    connectors: Annotated[list[ConnectorCreate], Meta(min_length=1, max_length=16)]
    emi3_id: Emi3Id | None = None
    physical_reference: PhysicalReference | None = None

    def domain(self) -> domain.EvseCreate:
        return domain.EvseCreate(
            connectors=tuple(c.domain() for c in self.connectors),
            emi3_id=self.emi3_id,
            physical_reference=self.physical_reference,
        )


class EvseUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Fields left out keep their value."""

    emi3_id: Emi3Id | UnsetType | None = UNSET
    physical_reference: PhysicalReference | UnsetType | None = UNSET


class ConnectorRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    evse_pk: uuid.UUID
    connector_id: int
    standard: ConnectorStandard
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None
    status: Annotated[str, Meta(description="The last OCPP status the station reported")]
    status_at: datetime | None
    error_code: str | None

    @classmethod
    def of(cls, connector: Connector) -> ConnectorRead:
        return cls(
            id=connector.id,
            evse_pk=connector.evse_pk,
            connector_id=connector.connector_id,
            standard=connector.standard,
            format=connector.format,
            power_type=connector.power_type,
            max_voltage=connector.max_voltage,
            max_amperage=connector.max_amperage,
            max_electric_power=connector.max_electric_power,
            status=connector.status,
            status_at=connector.status_at,
            error_code=connector.error_code,
        )


class EvseRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    charging_station_id: uuid.UUID
    evse_id: int
    emi3_id: str | None
    physical_reference: str | None
    connectors: list[ConnectorRead]

    @classmethod
    def of(cls, evse: Evse) -> EvseRead:
        return cls(
            id=evse.id,
            charging_station_id=evse.charging_station_id,
            evse_id=evse.evse_id,
            emi3_id=evse.emi3_id,
            physical_reference=evse.physical_reference,
            connectors=[ConnectorRead.of(c) for c in evse.connectors],
        )


class EvseController(Controller):
    path = "/"
    tags = ["EVSEs and connectors"]

    @post("/stations/{charging_station_id:uuid}/evses", summary="Add an EVSE to a station")
    async def create_evse(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        charging_station_id: FromPath[uuid.UUID],
        data: JSONBody[EvseCreate],
    ) -> EvseRead:
        evse = await stations.add_evse(db_session, charging_station_id, data.domain())
        read = EvseRead.of(evse)
        await audit(
            db_session,
            request,
            caller,
            action="api.evse.create",
            entity="evse",
            entity_id=evse.id,
            detail={"charging_station_id": charging_station_id, "evse_id": evse.evse_id},
        )
        return read

    @patch("/evses/{evse_pk:uuid}", summary="Change an EVSE")
    async def update_evse(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        evse_pk: FromPath[uuid.UUID],
        data: JSONBody[EvseUpdate],
    ) -> EvseRead:
        update = domain.EvseUpdate(**given(data))
        evse = await stations.update_evse(db_session, evse_pk, update)
        read = EvseRead.of(evse)
        await audit(
            db_session,
            request,
            caller,
            action="api.evse.update",
            entity="evse",
            entity_id=evse.id,
            detail={"changes": domain.changes(update)},
        )
        return read

    @post("/evses/{evse_pk:uuid}/connectors", summary="Add a connector to an EVSE")
    async def create_connector(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        evse_pk: FromPath[uuid.UUID],
        data: JSONBody[ConnectorCreate],
    ) -> ConnectorRead:
        connector = await stations.add_connector(db_session, evse_pk, data.domain())
        read = ConnectorRead.of(connector)
        await audit(
            db_session,
            request,
            caller,
            action="api.connector.create",
            entity="connector",
            entity_id=connector.id,
            detail={"evse_pk": evse_pk, "connector_id": connector.connector_id},
        )
        return read

    @patch("/connectors/{connector_pk:uuid}", summary="Change a connector")
    async def update_connector(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        connector_pk: FromPath[uuid.UUID],
        data: JSONBody[ConnectorUpdate],
    ) -> ConnectorRead:
        update = domain.ConnectorUpdate(**given(data))
        connector = await stations.update_connector(db_session, connector_pk, update)
        read = ConnectorRead.of(connector)
        await audit(
            db_session,
            request,
            caller,
            action="api.connector.update",
            entity="connector",
            entity_id=connector.id,
            detail={"changes": domain.changes(update)},
        )
        return read
