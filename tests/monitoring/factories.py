"""Builders for monitoring tests: connections, connector statuses, sessions, samples, CDRs."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.models.platform import GatewayNode, StationPresence
from voltlane.models.tenant import (
    Cdr,
    CdrKind,
    ChargingSession,
    ChargingStation,
    Connector,
    Evse,
    MeterSample,
    SessionStatus,
    StationEvent,
    StationState,
    StationStatePeriod,
    TariffVersion,
)


async def connect(db_session: AsyncSession, tenant_key: str, station: ChargingStation) -> None:
    """The station holds a socket on a live gateway node."""
    node_id = f"node-{uuid.uuid4().hex[:8]}"
    db_session.add(GatewayNode(node_id=node_id, hostname="gw"))
    await db_session.flush()
    db_session.add(
        StationPresence(
            tenant_key=tenant_key,
            station_id=station.station_id,
            node_id=node_id,
            protocol="ocpp1.6",
            connected_at=utcnow(),
            connection_id=str(uuid.uuid4()),
        )
    )
    await db_session.flush()


async def disconnect(db_session: AsyncSession, tenant_key: str, station: ChargingStation) -> None:
    presence = await db_session.get(StationPresence, (tenant_key, station.station_id))
    assert presence is not None
    await db_session.delete(presence)
    await db_session.flush()


async def set_status(
    db_session: AsyncSession,
    station: ChargingStation,
    status: str,
    at: datetime,
    *,
    error_code: str | None = None,
    evse_id: int = 1,
) -> uuid.UUID:
    """Connector 1 of EVSE ``evse_id`` reports ``status``; returns the connector's pk."""
    connector_pk = await db_session.scalar(
        select(Connector.id)
        .join(Evse, Evse.id == Connector.evse_pk)
        .where(Evse.charging_station_id == station.id, Evse.evse_id == evse_id)
    )
    assert connector_pk is not None
    await db_session.execute(
        update(Connector)
        .where(Connector.id == connector_pk)
        .values(status=status, status_at=at, error_code=error_code)
    )
    return connector_pk


async def add_session(
    db_session: AsyncSession,
    station: ChargingStation,
    started_at: datetime,
    stopped_at: datetime | None = None,
    *,
    energy_wh: int = 0,
) -> ChargingSession:
    session = ChargingSession(
        charging_station_id=station.id,
        evse_id=1,
        connector_id=1,
        protocol="ocpp1.6",
        transaction_id=str(uuid.uuid4().int % 10**9),
        status=SessionStatus.ACTIVE if stopped_at is None else SessionStatus.FINISHED,
        id_token="CARD-1",
        started_at=started_at,
        stopped_at=stopped_at,
        meter_start_wh=Decimal(1000),
        energy_wh=Decimal(energy_wh),
    )
    db_session.add(session)
    await db_session.flush()
    return session


async def add_register(
    db_session: AsyncSession, session: ChargingSession, at: datetime, wh: int
) -> None:
    db_session.add(
        MeterSample(
            session_id=session.id,
            charging_station_id=session.charging_station_id,
            evse_id=1,
            sampled_at=at,
            measurand="Energy.Active.Import.Register",
            unit="Wh",
            value=Decimal(wh),
        )
    )
    await db_session.flush()


async def add_security_event(
    db_session: AsyncSession, station: ChargingStation, action: str, received_at: datetime
) -> None:
    db_session.add(
        StationEvent(
            charging_station_id=station.id,
            kind="security",
            action=action,
            at=received_at,
            payload={"reason": "bad password"},
            received_at=received_at,
        )
    )
    await db_session.flush()


async def add_cdr(
    db_session: AsyncSession,
    station: ChargingStation,
    *,
    start: datetime,
    end: datetime,
    kwh: str,
    net: int,
    segment: str = "PUBLIC",
    currency: str = "EUR",
    credit_of: Cdr | None = None,
) -> Cdr:
    """The CDR of a finished session with the given totals (VAT 19 % on top); a credit of
    ``credit_of`` negates them."""
    session_id = (
        credit_of.session_id
        if credit_of
        else (await add_session(db_session, station, start, end, energy_wh=0)).id
    )
    tariff = await db_session.scalar(select(TariffVersion).where(TariffVersion.code == "T-MON"))
    if tariff is None:
        tariff = TariffVersion(code="T-MON", segment="PUBLIC", currency=currency, definition={})
        db_session.add(tariff)
        await db_session.flush()
    sign = -1 if credit_of else 1
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "kind": CdrKind.CREDIT if credit_of else CdrKind.CDR,
        "credit_of": credit_of.id if credit_of else None,
        "session_id": session_id,
        "charging_station_id": station.id,
        "evse_id": 1,
        "connector_id": 1,
        "auth_method": "WHITELIST",
        "segment": segment,
        "tariff_version_id": tariff.id,
        "tariff_code": tariff.code,
        "currency": currency,
        "start_date_time": start,
        "end_date_time": end,
        "total_energy_kwh": sign * Decimal(kwh),
        "total_time_hours": Decimal(1),
        "total_parking_time_hours": Decimal(0),
        "total_excl_vat": sign * net,
        "total_vat": sign * (net * 19 // 100),
        "total_incl_vat": sign * (net + net * 19 // 100),
        "priced": {},
    }
    cdr = Cdr(**values)
    db_session.add(cdr)
    await db_session.flush()
    return cdr


async def add_period(
    db_session: AsyncSession,
    station: ChargingStation,
    state: StationState,
    started_at: datetime,
    ended_at: datetime | None,
    *,
    last_seen_at: datetime | None = None,
) -> None:
    """A stretch of time the station was online or faulted, as detection records it."""
    db_session.add(
        StationStatePeriod(
            id=uuid.uuid4(),
            charging_station_id=station.id,
            state=state,
            started_at=started_at,
            ended_at=ended_at,
            last_seen_at=last_seen_at or ended_at or utcnow(),
        )
    )
    await db_session.flush()
