"""What stations tell the platform about themselves: boots, statuses, notifications.

Used by the OCPP gateway for every protocol version; the gateway maps each version's
messages onto these calls.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.core.group_commit import RowSet, Statement, insert_rows, rows_of
from voltlane.identity.passwords import hash_station_password
from voltlane.models.tenant import (
    ChargingStation,
    Connector,
    Evse,
    RegistrationStatus,
    StationEvent,
)
from voltlane.station.errors import InvalidStationError, PendingLimitError
from voltlane.station.ports import location_changes
from voltlane.station.repository import StationRepository
from voltlane.station.service import MAX_STATION_PASSWORD, MIN_STATION_PASSWORD, STATION_ID_RE

MAX_PENDING_STATIONS = 50


async def load_station(db_session: AsyncSession, station_id: str) -> ChargingStation | None:
    """The station a charger identifies as, for authentication at connect time."""
    return await StationRepository(db_session).station_by_identity(station_id)


async def auto_commission(
    db_session: AsyncSession, *, station_id: str, password: str, security_profile: int
) -> ChargingStation:
    """Record an unknown station that the brand lets in as Pending, awaiting approval.

    Its first password is kept (hashed), so only that charger can come back as it.
    """
    if not STATION_ID_RE.fullmatch(station_id):
        raise InvalidStationError("Station id is not valid.", field="station_id")
    if not MIN_STATION_PASSWORD <= len(password) <= MAX_STATION_PASSWORD:
        raise InvalidStationError("Station password length is not valid.", field="password")
    if await StationRepository(db_session).pending_count() >= MAX_PENDING_STATIONS:
        # Anyone can knock; only so many may wait at the door.
        raise PendingLimitError(
            f"{MAX_PENDING_STATIONS} stations already wait for approval; approve or remove some."
        )
    station = ChargingStation(
        station_id=station_id,
        location_id=None,
        security_profile=security_profile,
        password_hash=hash_station_password(password),
        registration_status=RegistrationStatus.PENDING,
        password_changed_at=utcnow(),
    )
    db_session.add(station)
    await db_session.flush()
    return station


async def record_boot(
    db_session: AsyncSession,
    station_pk: uuid.UUID,
    *,
    protocol: str,
    vendor: str | None,
    model: str | None,
    serial_number: str | None,
    firmware_version: str | None,
    info: dict[str, Any],
) -> RegistrationStatus:
    """BootNotification: keep what the station says it is; answer with its registration."""
    station = await StationRepository(db_session).station_for_update(station_pk)
    station.protocol = protocol
    station.vendor = vendor or station.vendor
    station.model = model or station.model
    station.serial_number = serial_number or station.serial_number
    station.firmware_version = firmware_version or station.firmware_version
    station.boot_info = info
    station.last_boot_at = utcnow()
    await db_session.flush()
    return station.registration_status


async def record_status(
    db_session: AsyncSession,
    station_pk: uuid.UUID,
    *,
    evse_id: int,
    connector_id: int,
    status: str,
    at: datetime,
    error_code: str | None,
    payload: dict[str, Any],
) -> None:
    """StatusNotification: the connector takes the status unless a newer one is known
    (reports replayed out of order must not turn back the clock); each report is kept, and
    whoever follows the location hears of it."""
    repo = StationRepository(db_session)
    if evse_id > 0:
        told = await location_changes().status_writes(
            db_session.info["database"],
            db_session.info["tenant_key"],
            _report(
                station_pk,
                evse_id=evse_id,
                connector_id=connector_id,
                status=status,
                at=at,
                error_code=error_code,
            ),
        )
        for statement, rows in told:
            if isinstance(statement, RowSet):
                await db_session.execute(
                    statement.statement, {"rows": json.dumps(rows, default=str)}
                )
            else:
                await db_session.execute(statement, rows)
        await repo.update_connector_status(
            station_pk, evse_id, connector_id, status=status, at=at, error_code=error_code
        )
    db_session.add(
        StationEvent(
            charging_station_id=station_pk,
            kind="status",
            action="StatusNotification",
            at=at,
            payload=payload,
        )
    )
    await db_session.flush()


def _report(
    station_pk: uuid.UUID,
    *,
    evse_id: int,
    connector_id: int,
    status: str,
    at: datetime,
    error_code: str | None,
) -> dict[str, Any]:
    """A status report as the batched connector update reads it."""
    return {
        "b_station": station_pk,
        "b_evse": evse_id,
        "b_connector": connector_id,
        "b_status": status,
        "b_at": at,
        "b_error": error_code,
    }


# Statements of the batched status path (module constants: merged by the group commit).
_REPORTED = rows_of(
    "reported",
    b_station=Evse.charging_station_id.type,
    b_evse=Evse.evse_id.type,
    b_connector=Connector.connector_id.type,
    b_status=Connector.status.type,
    b_at=Connector.status_at.type,
    b_error=Connector.error_code.type,
)
# The newest report per connector of a batch; an older one never replaces a newer status.
_LATEST = (
    select(_REPORTED)
    .ext(distinct_on(_REPORTED.c.b_station, _REPORTED.c.b_evse, _REPORTED.c.b_connector))
    .order_by(
        _REPORTED.c.b_station,
        _REPORTED.c.b_evse,
        _REPORTED.c.b_connector,
        _REPORTED.c.b_at.desc(),
    )
    .subquery("latest")
)
UPDATE_CONNECTOR_STATUS = RowSet(
    update(Connector)
    .where(
        Evse.charging_station_id == _LATEST.c.b_station,
        Evse.evse_id == _LATEST.c.b_evse,
        Connector.evse_pk == Evse.id,
        Connector.connector_id == _LATEST.c.b_connector,
        or_(Connector.status_at.is_(None), Connector.status_at <= _LATEST.c.b_at),
    )
    .values(status=_LATEST.c.b_status, status_at=_LATEST.c.b_at, error_code=_LATEST.c.b_error)
)
INSERT_STATION_EVENT = RowSet(
    insert_rows(StationEvent, "charging_station_id", "kind", "action", "at", "payload")
)


async def status_writes(
    database: Database,
    tenant_key: str,
    station_pk: uuid.UUID,
    *,
    evse_id: int,
    connector_id: int,
    status: str,
    at: datetime,
    error_code: str | None,
    payload: dict[str, Any],
) -> list[tuple[Statement, list[dict[str, Any]]]]:
    """StatusNotification as writes for a group commit; same effect as :func:`record_status`.

    The writes that tell of the report come first: a batch runs its statements in the
    order they first appear, so those see the statuses the batch replaces.
    """
    writes: list[tuple[Statement, list[dict[str, Any]]]] = [
        (
            INSERT_STATION_EVENT,
            [
                {
                    "charging_station_id": station_pk,
                    "kind": "status",
                    "action": "StatusNotification",
                    "at": at,
                    "payload": payload,
                }
            ],
        )
    ]
    if evse_id > 0:
        report = _report(
            station_pk,
            evse_id=evse_id,
            connector_id=connector_id,
            status=status,
            at=at,
            error_code=error_code,
        )
        told = await location_changes().status_writes(database, tenant_key, report)
        writes = [*told, *writes, (UPDATE_CONNECTOR_STATUS, [report])]
    return writes


async def record_event(
    db_session: AsyncSession,
    station_pk: uuid.UUID,
    *,
    kind: str,
    action: str,
    at: datetime | None,
    payload: dict[str, Any],
) -> None:
    """Any other notification (firmware, logs, security, reports, events, data transfer)."""
    db_session.add(
        StationEvent(
            charging_station_id=station_pk,
            kind=kind,
            action=action,
            at=at or utcnow(),
            payload=payload,
        )
    )
    await db_session.flush()
