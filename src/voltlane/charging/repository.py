"""Every query of the charging domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, TextClause, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.charging.energy import REGISTER
from voltlane.charging.schemas import Sample
from voltlane.core.db import tenant_text
from voltlane.models.tenant import (
    ChargingSession,
    Connector,
    Evse,
    IdToken,
    IdTokenStatus,
    MeterSample,
    SessionStatus,
    TransactionEventRecord,
)

# A 1.6 start in one round trip: the session numbered from its own sequence (the number is
# the transactionId), and its Transaction.Begin register reading. Nothing when the start
# key exists already (a retry racing the first attempt).
_START_SQL = """
WITH number AS (
    SELECT nextval(pg_get_serial_sequence('{schema}.charging_sessions', 'seq')) AS seq
), started AS (
    INSERT INTO {schema}.charging_sessions (
        id, seq, transaction_id, charging_station_id, evse_pk, evse_id, connector_id,
        protocol, start_key, id_token, id_token_type, group_id_token, reservation_id,
        started_at, meter_start_wh, energy_wh, status, offline, start_response,
        roaming_token_id, authorization_reference, remote_start_id
    )
    SELECT :id, number.seq, number.seq::text, :station, :evse_pk, :evse_id, 1,
        :protocol, :start_key, :id_token, :id_token_type, :group_id_token, :reservation_id,
        :started_at, :meter_start_wh, 0, 'active', false, :start_response,
        :roaming_token_id, :authorization_reference, :remote_start_id
    FROM number
    ON CONFLICT (charging_station_id, start_key) DO NOTHING
    RETURNING id, seq
), reading AS (
    INSERT INTO {schema}.meter_samples (
        session_id, charging_station_id, evse_id, sampled_at, measurand, unit, value, context
    )
    SELECT started.id, :station, :evse_id, :started_at, :measurand, 'Wh', :meter_start_wh,
        'Transaction.Begin'
    FROM started
    ON CONFLICT DO NOTHING
)
SELECT seq FROM started
"""
# The end of a session held live, in one statement: its last samples, the session finished
# unless it was already, and (only then) the job that rates it. The count of sessions it
# finished (0 for a repeated stop).
_FINISH_SQL = """
WITH samples AS (
    INSERT INTO {schema}.meter_samples (
        session_id, charging_station_id, evse_id, sampled_at, measurand, phase, location,
        context, unit, value, signed_data
    )
    SELECT :session, :station, :evse_id, s.sampled_at, s.measurand, s.phase, s.location,
        s.context, s.unit, s.value, s.signed_data
    FROM jsonb_to_recordset(:samples) AS s(
        sampled_at timestamptz, measurand text, phase text, location text, context text,
        unit text, value numeric, signed_data jsonb
    )
    ON CONFLICT DO NOTHING
), finished AS (
    UPDATE {schema}.charging_sessions
    SET status = 'finished', stopped_at = :stopped_at, meter_stop_wh = :meter_stop_wh,
        stop_reason = :stop_reason, stop_id_token = :stop_id_token, energy_wh = :energy_wh,
        energy_review = :energy_review, updated_at = now()
    WHERE id = :session AND status = 'active'
    RETURNING id
), job AS (
    INSERT INTO platform.outbox (message_id, queue_name, actor_name, message)
    SELECT :message_id, :queue_name, :actor_name, :message FROM finished
)
SELECT count(*) FROM finished
"""
_statements: dict[tuple[str, str], TextClause] = {}


def _statement(tenant_key: str, sql: str, *json_params: str) -> TextClause:
    """``sql`` for one brand, built once."""
    statement = _statements.get((tenant_key, sql))
    if statement is None:
        statement = tenant_text(tenant_key, sql).bindparams(
            *(bindparam(name, type_=JSONB) for name in json_params)
        )
        _statements[(tenant_key, sql)] = statement
    return statement


def _token_decision(
    *, typed: bool, excepting: bool
) -> Select[IdTokenStatus, datetime | None, str | None, bool]:
    busy = (
        select(ChargingSession.id)
        .where(
            ChargingSession.id_token == bindparam("t_value"),
            ChargingSession.status == SessionStatus.ACTIVE,
        )
        .limit(1)
    )
    if excepting:
        busy = busy.where(ChargingSession.id != bindparam("t_except"))
    stmt = select(
        IdToken.status,
        IdToken.expires_at,
        IdToken.group_id_token,
        busy.exists().label("busy"),
    ).where(IdToken.id_token == bindparam("t_value"))
    if typed:
        stmt = stmt.where(IdToken.type == bindparam("t_type"))
    return stmt.order_by(IdToken.created_at).limit(1)


# Built once: authorization runs at every Authorize, start and stop.
_TOKEN_DECISION = {
    (typed, excepting): _token_decision(typed=typed, excepting=excepting)
    for typed in (False, True)
    for excepting in (False, True)
}


class ChargingRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def id_token(self, value: str, type_: str | None) -> IdToken | None:
        stmt = select(IdToken).where(IdToken.id_token == value)
        if type_ is not None:
            stmt = stmt.where(IdToken.type == type_)
        return await self.db_session.scalar(stmt.order_by(IdToken.created_at).limit(1))

    async def token_decision(
        self, value: str, type_: str | None, *, except_session: uuid.UUID | None = None
    ) -> tuple[IdTokenStatus, datetime | None, str | None, bool] | None:
        """Status, expiry, group of a token and whether it is in an active session: one
        round trip (None when the token is unknown)."""
        statement = _TOKEN_DECISION[(type_ is not None, except_session is not None)]
        row = (
            await self.db_session.execute(
                statement, {"t_value": value, "t_type": type_, "t_except": except_session}
            )
        ).first()
        return (row[0], row[1], row[2], bool(row[3])) if row is not None else None

    async def start_key_answer(
        self, station: uuid.UUID, key: str
    ) -> tuple[int, dict[str, Any] | None] | None:
        row = (
            await self.db_session.execute(
                select(ChargingSession.seq, ChargingSession.start_response).where(
                    ChargingSession.charging_station_id == station,
                    ChargingSession.start_key == key,
                )
            )
        ).first()
        return (row[0], row[1]) if row is not None else None

    async def insert_started_v16(
        self,
        *,
        session_id: uuid.UUID,
        station: uuid.UUID,
        evse_pk: uuid.UUID | None,
        evse_id: int,
        protocol: str,
        start_key: str,
        id_token: str,
        id_token_type: str,
        group_id_token: str | None,
        reservation_id: int | None,
        started_at: datetime,
        meter_start_wh: Decimal,
        start_response: dict[str, Any],
        roaming_token_id: uuid.UUID | None = None,
        authorization_reference: str | None = None,
        remote_start_id: int | None = None,
    ) -> int | None:
        """Insert a started 1.6 session with its start reading; its number (the 1.6
        transactionId), or None when the start key exists already."""
        seq: int | None = await self.db_session.scalar(
            _statement(self.db_session.info["tenant_key"], _START_SQL, "start_response"),
            {
                "id": session_id,
                "station": station,
                "evse_pk": evse_pk,
                "evse_id": evse_id,
                "protocol": protocol,
                "start_key": start_key,
                "id_token": id_token,
                "id_token_type": id_token_type,
                "group_id_token": group_id_token,
                "reservation_id": reservation_id,
                "started_at": started_at,
                "meter_start_wh": meter_start_wh,
                "measurand": REGISTER,
                "start_response": start_response,
                "roaming_token_id": roaming_token_id,
                "authorization_reference": authorization_reference,
                "remote_start_id": remote_start_id,
            },
        )
        return seq

    async def finish_held(
        self,
        *,
        session_id: uuid.UUID,
        station: uuid.UUID,
        evse_id: int,
        samples: list[Sample],
        stopped_at: datetime,
        meter_stop_wh: Decimal,
        stop_reason: str,
        stop_id_token: str | None,
        energy_wh: Decimal | None,
        energy_review: str | None,
        job: dict[str, Any],
    ) -> bool:
        """Store a held session's last samples and finish it with ``job`` (an outbox row)
        unless it ended already, in one statement; True when this call ended it."""
        finished: int = await self.db_session.scalar(
            _statement(self.db_session.info["tenant_key"], _FINISH_SQL, "samples", "message"),
            {
                "session": session_id,
                "station": station,
                "evse_id": evse_id,
                "samples": [
                    {
                        "sampled_at": s.sampled_at.isoformat(),
                        "measurand": s.measurand,
                        "phase": s.phase,
                        "location": s.location,
                        "context": s.context,
                        "unit": s.unit,
                        "value": None if s.value is None else str(s.value),
                        "signed_data": s.signed_data,
                    }
                    for s in samples
                ],
                "stopped_at": stopped_at,
                "meter_stop_wh": meter_stop_wh,
                "stop_reason": stop_reason,
                "stop_id_token": stop_id_token,
                "energy_wh": energy_wh,
                "energy_review": energy_review,
                **job,
            },
        )
        return finished > 0

    async def set_session(self, session_id: uuid.UUID, **values: Any) -> None:
        await self.db_session.execute(
            update(ChargingSession).where(ChargingSession.id == session_id).values(**values)
        )

    async def active_session_of_token(
        self, value: str, *, except_session: uuid.UUID | None
    ) -> ChargingSession | None:
        stmt = select(ChargingSession).where(
            ChargingSession.id_token == value, ChargingSession.status == SessionStatus.ACTIVE
        )
        if except_session is not None:
            stmt = stmt.where(ChargingSession.id != except_session)
        return await self.db_session.scalar(stmt.limit(1))

    async def session_by_start_key(self, station: uuid.UUID, key: str) -> ChargingSession | None:
        return await self.db_session.scalar(
            select(ChargingSession).where(
                ChargingSession.charging_station_id == station, ChargingSession.start_key == key
            )
        )

    async def session_by_transaction(
        self, station: uuid.UUID, transaction_id: str, *, for_update: bool = False
    ) -> ChargingSession | None:
        stmt = select(ChargingSession).where(
            ChargingSession.charging_station_id == station,
            ChargingSession.transaction_id == transaction_id,
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self.db_session.scalar(stmt)

    async def active_sessions(
        self, station: uuid.UUID, *, evse_id: int | None = None, id_token: str | None = None
    ) -> list[ChargingSession]:
        stmt = select(ChargingSession).where(
            ChargingSession.charging_station_id == station,
            ChargingSession.status == SessionStatus.ACTIVE,
        )
        if evse_id is not None:
            stmt = stmt.where(ChargingSession.evse_id == evse_id)
        if id_token is not None:
            stmt = stmt.where(ChargingSession.id_token == id_token)
        return list(await self.db_session.scalars(stmt.order_by(ChargingSession.started_at)))

    async def evse(self, station: uuid.UUID, evse_id: int) -> tuple[uuid.UUID, int | None] | None:
        """The EVSE's primary key and its largest connector power in W."""
        row = (
            await self.db_session.execute(
                select(Evse.id, func.max(Connector.max_electric_power))
                .outerjoin(Connector, Connector.evse_pk == Evse.id)
                .where(Evse.charging_station_id == station, Evse.evse_id == evse_id)
                .group_by(Evse.id)
            )
        ).first()
        return (row[0], row[1]) if row is not None else None

    async def add_samples(
        self,
        *,
        station: uuid.UUID,
        evse_id: int,
        session_id: uuid.UUID | None,
        samples: list[Sample],
    ) -> int:
        """Insert samples; a sample already stored (natural key) is skipped."""
        if not samples:
            return 0
        rows: list[dict[str, Any]] = [
            {
                "session_id": session_id,
                "charging_station_id": station,
                "evse_id": evse_id,
                "sampled_at": s.sampled_at,
                "measurand": s.measurand,
                "phase": s.phase,
                "location": s.location,
                "context": s.context,
                "unit": s.unit,
                "value": s.value,
                "signed_data": s.signed_data,
            }
            for s in samples
        ]
        result = await self.db_session.execute(
            insert(MeterSample).on_conflict_do_nothing().returning(MeterSample.id), rows
        )
        return len(result.all())

    async def register_readings(
        self, session_id: uuid.UUID
    ) -> list[tuple[datetime, Any, str | None]]:
        rows = await self.db_session.execute(
            select(MeterSample.sampled_at, MeterSample.value, MeterSample.unit).where(
                MeterSample.session_id == session_id,
                MeterSample.measurand == REGISTER,
                MeterSample.phase.is_(None),
                MeterSample.value.is_not(None),
            )
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def transaction_event(
        self, station: uuid.UUID, transaction_id: str, seq_no: int
    ) -> TransactionEventRecord | None:
        return await self.db_session.scalar(
            select(TransactionEventRecord).where(
                TransactionEventRecord.charging_station_id == station,
                TransactionEventRecord.transaction_id == transaction_id,
                TransactionEventRecord.seq_no == seq_no,
            )
        )

    async def session(self, session_id: uuid.UUID) -> ChargingSession | None:
        return await self.db_session.get(ChargingSession, session_id)

    async def sessions_of_station(self, station: uuid.UUID) -> list[ChargingSession]:
        return list(
            await self.db_session.scalars(
                select(ChargingSession)
                .where(ChargingSession.charging_station_id == station)
                .order_by(ChargingSession.seq)
            )
        )
