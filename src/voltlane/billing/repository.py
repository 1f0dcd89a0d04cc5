"""Every query of the billing domain."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Table,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.util import AliasedClass
from sqlalchemy.schema import CreateTable, DropTable

from voltlane.charging.energy import REGISTER
from voltlane.models.platform import Tenant
from voltlane.models.tenant import (
    SIGNED_SAMPLE,
    AccountKind,
    Cdr,
    CdrKind,
    ChargeRequest,
    ChargingSession,
    ChargingStation,
    Connector,
    CustomerAccount,
    Evse,
    IdToken,
    Location,
    MeterSample,
    OcpiPartner,
    OcpiToken,
    SessionStatus,
    StationEvent,
    Subscription,
    SubscriptionPlan,
    TariffAssignment,
    TariffVersion,
    TransactionEventRecord,
)

POWER = "Power.Active.Import"


@dataclass(frozen=True, slots=True)
class Customer:
    """The account a card is billed to, as far as prices go."""

    fleet: bool
    contract: str | None  # the fleet contract: tariffs of segment FLEET with this ref
    plans: list[PlanPeriod]
    # The card is a guest's charge from the app (a charge request with a guest's e-mail):
    # billed to an account made for the receipt, priced as anyone walking up.
    guest: bool = False
    account_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class PlanPeriod:
    """An account's subscription to a plan, from ``starts_on`` to ``ends_on`` (inclusive)."""

    code: str
    starts_on: date
    ends_on: date | None
    included_kwh: int = 0  # the plan's allowance per billing month

    def covers(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


CURRENT = "Current.Import"


class SessionRow(NamedTuple):
    """A charging session as pricing and rating read it: plain values, no ORM object (a
    billing run reads thousands)."""

    id: uuid.UUID
    charging_station_id: uuid.UUID
    evse_pk: uuid.UUID | None
    evse_id: int | None
    connector_id: int | None
    protocol: str
    status: SessionStatus
    id_token: str | None
    id_token_type: str | None
    remote_start_id: int | None
    offline: bool
    started_at: datetime | None
    stopped_at: datetime | None
    meter_start_wh: Decimal | None
    energy_wh: Decimal | None
    energy_review: str | None
    roaming_token_id: uuid.UUID | None


_SESSION_COLUMNS = tuple(getattr(ChargingSession, name) for name in SessionRow._fields)


class SampleRow(NamedTuple):
    """A meter sample as pricing reads it (register, power and current values)."""

    sampled_at: datetime
    measurand: str
    phase: str | None
    unit: str | None
    value: Decimal | None


_SAMPLE_COLUMNS = tuple(getattr(MeterSample, name) for name in SampleRow._fields)
_PRICED_MEASURANDS = MeterSample.measurand.in_([REGISTER, POWER, CURRENT])


# One CDR per session, one credit per CDR: each partial unique index named by its literal
# predicate (a bound parameter cannot match it once psycopg prepares the statement and
# PostgreSQL plans it generically, from about its 11th use on a connection).
def _one_cdr_per_session(statement: Insert) -> Insert:
    return statement.on_conflict_do_nothing(
        index_elements=["session_id"], index_where=text("kind = 'CDR'")
    )


_INSERT_CDRS = _one_cdr_per_session(insert(Cdr))
_INSERT_CREDIT = insert(Cdr).on_conflict_do_nothing(
    index_elements=["credit_of"], index_where=text("kind = 'CREDIT'")
)


def _among(column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column = ANY(values)``: the values of a batch as one array parameter. An ``IN`` of a
    batch's 500 ids is a statement of 500 placeholders that psycopg parsed again on every
    batch (too long for its cache) and could not prepare; this statement is the same for
    every batch."""
    among: ColumnElement[bool] = column == any_(
        bindparam(None, list(values), type_=ARRAY(column.type))
    )
    return among


def _unrated(
    session: type[ChargingSession] | AliasedClass[ChargingSession],
) -> tuple[ColumnElement[bool], ...]:
    """A finished session without a CDR whose energy is not under review: what a billing
    run rates. Literal predicates, as in the partial indexes they must match: a bound
    parameter cannot, once psycopg prepares the statement and PostgreSQL plans it
    generically."""
    rated = select(Cdr.id).where(
        Cdr.session_id == session.id, Cdr.kind == literal_column(f"'{CdrKind.CDR}'")
    )
    return (
        session.status == literal_column(f"'{SessionStatus.FINISHED}'"),
        session.stopped_at.is_not(None),  # (always so for a finished session)
        session.energy_wh.is_not(None),
        ~rated.exists(),
    )


@functools.cache
def _staging_table(names: tuple[str, ...]) -> Table:
    """The temporary table a batch of CDRs with these columns is copied into, made once: a
    new Table per batch was a new entry in SQLAlchemy's statement cache each time (compiled
    again, and kept with its columns until the cache let it go), which made every full
    garbage collection of a long run slower."""
    return Table(
        "cdr_batch",
        MetaData(),
        *(Column(name, Cdr.__table__.c[name].type) for name in names),
        Column("ordinal", Integer),
        prefixes=["TEMPORARY"],
    )


_JSONB_COLUMNS = frozenset(c.name for c in Cdr.__table__.c if isinstance(c.type, JSONB))


class CdrRows:
    """The CDRs of a batch as rows of COPY values, made as each is priced, with the JSON
    columns (priced breakdown, signed data) encoded by msgspec (a sixth of the CPU of
    json.dumps): a batch holds strings until it is written, not some ten dictionaries and
    lists per CDR that the garbage collector walks, promotes and walks again."""

    __slots__ = ("json_at", "names", "rows")

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()
        self.json_at: tuple[int, ...] = ()
        self.rows: list[tuple[Any, ...]] = []

    def add(self, values: dict[str, Any]) -> None:
        """Add the column values of one CDR (every CDR of a batch has the same columns)."""
        if not self.names:
            self.names = tuple(values)
            self.json_at = tuple(i for i, n in enumerate(self.names) if n in _JSONB_COLUMNS)
        row = [values[name] for name in self.names]
        for i in self.json_at:
            if row[i] is not None:
                row[i] = msgspec.json.encode(row[i]).decode()
        self.rows.append(tuple(row))


def codes_by_scope(assignments: list[TariffAssignment]) -> dict[str, list[str]]:
    """Assigned codes by the scope they are assigned at ("connector" ... "brand")."""
    found: dict[str, list[str]] = {}
    for row in assignments:
        scope = (
            "connector"
            if row.connector_pk
            else "evse"
            if row.evse_pk
            else "location"
            if row.location_id
            else "brand"
        )
        found.setdefault(scope, []).append(row.code)
    return found


class BillingRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    # -- customers -------------------------------------------------------------------------
    async def customers_of_tokens(
        self, tokens: set[tuple[str, str]]
    ) -> dict[tuple[str, str], Customer]:
        """What prices the sessions of these cards: their accounts' fleet contracts and
        subscription periods, and whether the card is a guest's charge from the app, by card
        (cards without an account are left out)."""
        if not tokens:
            return {}
        rows = await self.db_session.execute(
            select(
                IdToken.id_token,
                IdToken.type,
                CustomerAccount.kind,
                CustomerAccount.contract,
                ChargeRequest.guest_email.is_not(None),
                SubscriptionPlan.code,
                Subscription.starts_on,
                Subscription.ends_on,
                SubscriptionPlan.included_kwh,
                CustomerAccount.id,
            )
            .join(CustomerAccount, CustomerAccount.id == IdToken.account_id)
            .outerjoin(ChargeRequest, ChargeRequest.id_token == IdToken.id_token)
            .outerjoin(Subscription, Subscription.account_id == CustomerAccount.id)
            .outerjoin(SubscriptionPlan, SubscriptionPlan.id == Subscription.plan_id)
            # By value alone (one array parameter); the card's type is matched below.
            .where(_among(IdToken.id_token, sorted({value for value, _ in tokens})))
            .order_by(Subscription.starts_on)
        )
        found: dict[tuple[str, str], Customer] = {}
        for (
            value,
            kind,
            account_kind,
            contract,
            guest,
            code,
            starts_on,
            ends_on,
            kwh,
            account,
        ) in rows:
            if (value, str(kind)) not in tokens:
                continue
            customer = found.setdefault(
                (value, str(kind)),
                Customer(
                    account_kind is AccountKind.FLEET,
                    contract,
                    [],
                    guest=bool(guest),
                    account_id=account,
                ),
            )
            if code is not None:
                customer.plans.append(PlanPeriod(code, starts_on, ends_on, kwh))
        return found

    # -- included energy -------------------------------------------------------------------
    async def brand_timezone(self) -> str:
        """The timezone of the brand this session's schema belongs to (its billing months)."""
        key = self.db_session.info.get("tenant_key")
        zone = await self.db_session.scalar(select(Tenant.timezone).where(Tenant.key == key))
        return zone or "UTC"

    async def lock_accounts(self, account_ids: set[uuid.UUID]) -> None:
        """Lock the accounts' rows, in primary-key order, until the transaction ends: CDRs
        rated meanwhile for one of them wait, so two never use the same allowance."""
        if account_ids:
            await self.db_session.execute(
                select(CustomerAccount.id)
                .where(CustomerAccount.id.in_(sorted(account_ids)))
                .order_by(CustomerAccount.id)
                .with_for_update()
            )

    async def included_used(
        self,
        account_id: uuid.UUID,
        since: datetime,
        before: datetime,
        session_id: uuid.UUID | None = None,
    ) -> int:
        """Wh of plan allowance the CDRs of the account's cards ended in [since, before) used,
        but for session ``session_id``'s own; a credit (its included energy negated) gives
        its CDR's back."""
        used = await self.db_session.scalar(
            select(func.coalesce(func.sum(Cdr.included_energy_wh), 0))
            .join(
                IdToken,
                and_(IdToken.id_token == Cdr.id_token, IdToken.type == Cdr.id_token_type),
            )
            .where(
                IdToken.account_id == account_id,
                Cdr.session_id != session_id if session_id is not None else true(),
                Cdr.end_date_time >= since,
                Cdr.end_date_time < before,
            )
        )
        return int(used or 0)

    # -- tariffs ---------------------------------------------------------------------------
    def add_tariff(self, version: TariffVersion) -> None:
        self.db_session.add(version)

    async def tariff(self, version_id: uuid.UUID) -> TariffVersion | None:
        return await self.db_session.get(TariffVersion, version_id)

    async def tariffs(
        self, *, code: str | None, limit: int, offset: int
    ) -> tuple[list[TariffVersion], int]:
        stmt = select(TariffVersion)
        if code is not None:
            stmt = stmt.where(TariffVersion.code == code)
        total = await self.db_session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.db_session.scalars(
            stmt.order_by(TariffVersion.code, TariffVersion.created_at).limit(limit).offset(offset)
        )
        return list(rows), int(total or 0)

    async def code_exists(self, code: str) -> bool:
        found = await self.db_session.scalar(
            select(TariffVersion.id).where(TariffVersion.code == code).limit(1)
        )
        return found is not None

    async def versions_of(self, codes: list[str]) -> list[TariffVersion]:
        if not codes:
            return []
        return list(
            await self.db_session.scalars(
                select(TariffVersion)
                .where(TariffVersion.code.in_(codes))
                .order_by(TariffVersion.created_at)
            )
        )

    async def assign(
        self,
        code: str,
        *,
        location_id: uuid.UUID | None,
        evse_pk: uuid.UUID | None,
        connector_pk: uuid.UUID | None,
    ) -> TariffAssignment:
        """The assignment of ``code`` at the scope, created unless it exists."""
        await self.db_session.execute(
            insert(TariffAssignment)
            .values(
                id=uuid.uuid4(),
                code=code,
                location_id=location_id,
                evse_pk=evse_pk,
                connector_pk=connector_pk,
            )
            .on_conflict_do_nothing()
        )
        found = await self.db_session.scalar(
            select(TariffAssignment).where(
                TariffAssignment.code == code,
                TariffAssignment.location_id.is_not_distinct_from(location_id),
                TariffAssignment.evse_pk.is_not_distinct_from(evse_pk),
                TariffAssignment.connector_pk.is_not_distinct_from(connector_pk),
            )
        )
        assert found is not None
        return found

    async def assignments(self) -> list[TariffAssignment]:
        return list(
            await self.db_session.scalars(
                select(TariffAssignment).order_by(TariffAssignment.created_at)
            )
        )

    async def assigned_codes(
        self,
        *,
        location_id: uuid.UUID | None,
        evse_pk: uuid.UUID | None,
        connector_pk: uuid.UUID | None,
    ) -> dict[str, list[str]]:
        """Codes assigned to the brand (key "brand") and to each given scope."""
        scopes = [
            and_(
                TariffAssignment.location_id.is_(None),
                TariffAssignment.evse_pk.is_(None),
                TariffAssignment.connector_pk.is_(None),
            )
        ]
        if location_id is not None:
            scopes.append(TariffAssignment.location_id == location_id)
        if evse_pk is not None:
            scopes.append(TariffAssignment.evse_pk == evse_pk)
        if connector_pk is not None:
            scopes.append(TariffAssignment.connector_pk == connector_pk)
        rows = await self.db_session.scalars(select(TariffAssignment).where(or_(*scopes)))
        return codes_by_scope(list(rows))

    async def assignments_at(
        self,
        location_ids: set[uuid.UUID],
        evse_pks: set[uuid.UUID],
        connector_pks: set[uuid.UUID],
    ) -> list[TariffAssignment]:
        """The brand's assignments and those at any of the given places, in one query
        (``codes_by_scope`` then picks a place's)."""
        return list(
            await self.db_session.scalars(
                select(TariffAssignment).where(
                    or_(
                        and_(
                            TariffAssignment.location_id.is_(None),
                            TariffAssignment.evse_pk.is_(None),
                            TariffAssignment.connector_pk.is_(None),
                        ),
                        TariffAssignment.location_id.in_(location_ids),
                        TariffAssignment.evse_pk.in_(evse_pks),
                        TariffAssignment.connector_pk.in_(connector_pks),
                    )
                )
            )
        )

    # -- what a session needs to be priced -------------------------------------------------
    async def session(
        self, session_id: uuid.UUID, *, for_update: bool = False
    ) -> ChargingSession | None:
        stmt = select(ChargingSession).where(ChargingSession.id == session_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.db_session.scalar(stmt)

    async def roaming_party(self, token_id: uuid.UUID) -> str | None:
        """``CC*PID`` of the partner whose token authorized a roaming session (the ref of
        its ROAMING segment); None when the partner reported no party."""
        row = (
            await self.db_session.execute(
                select(OcpiPartner.country_code, OcpiPartner.party_id)
                .join(OcpiToken, OcpiToken.partner_id == OcpiPartner.id)
                .where(OcpiToken.id == token_id)
            )
        ).first()
        if row is None or row.country_code is None or row.party_id is None:
            return None
        return f"{row.country_code}*{row.party_id}"

    async def sessions(self, session_ids: list[uuid.UUID]) -> list[ChargingSession]:
        """The sessions of ``session_ids``, in that order."""
        if not session_ids:
            return []
        found = {
            s.id: s
            for s in await self.db_session.scalars(
                select(ChargingSession).where(ChargingSession.id.in_(session_ids))
            )
        }
        return [found[i] for i in session_ids if i in found]

    async def session_rows(self, session_ids: list[uuid.UUID]) -> list[SessionRow]:
        """What pricing reads of the sessions of ``session_ids``, in that order."""
        if not session_ids:
            return []
        rows = await self.db_session.execute(
            select(*_SESSION_COLUMNS).where(_among(ChargingSession.id, session_ids))
        )
        found = {row[0]: SessionRow._make(row) for row in rows}
        return [found[i] for i in session_ids if i in found]

    async def place(
        self, station: uuid.UUID, evse_pk: uuid.UUID | None, connector_id: int | None
    ) -> tuple[uuid.UUID | None, str | None, uuid.UUID | None]:
        """The station's location id and timezone, and the connector's primary key."""
        row = (
            await self.db_session.execute(
                select(ChargingStation.location_id, Location.timezone)
                .outerjoin(Location, Location.id == ChargingStation.location_id)
                .where(ChargingStation.id == station)
            )
        ).first()
        connector_pk = None
        if evse_pk is not None:
            connector_pk = await self.db_session.scalar(
                select(Connector.id)
                .where(Connector.evse_pk == evse_pk, Connector.connector_id == (connector_id or 1))
                .limit(1)
            )
        if row is None:
            return None, None, connector_pk
        return row[0], row[1], connector_pk

    async def places_of(
        self, keys: set[tuple[uuid.UUID, uuid.UUID | None, int | None]]
    ) -> dict[
        tuple[uuid.UUID, uuid.UUID | None, int | None],
        tuple[uuid.UUID | None, str | None, uuid.UUID | None],
    ]:
        """``place`` of many (station, EVSE, connector id) in two queries."""
        stations = {
            row[0]: (row[1], row[2])
            for row in await self.db_session.execute(
                select(ChargingStation.id, ChargingStation.location_id, Location.timezone)
                .outerjoin(Location, Location.id == ChargingStation.location_id)
                .where(ChargingStation.id.in_({k[0] for k in keys}))
            )
        }
        evses = {k[1] for k in keys if k[1] is not None}
        connectors: dict[tuple[uuid.UUID | None, int], uuid.UUID] = {
            (row[0], row[1]): row[2]
            for row in await self.db_session.execute(
                select(Connector.evse_pk, Connector.connector_id, Connector.id).where(
                    Connector.evse_pk.in_(evses)
                )
            )
        }
        found = {}
        for station, evse_pk, connector_id in keys:
            location_id, zone = stations.get(station, (None, None))
            connector_pk = connectors.get((evse_pk, connector_id or 1))
            found[(station, evse_pk, connector_id)] = (location_id, zone, connector_pk)
        return found

    async def max_powers(self, evse_pks: set[uuid.UUID]) -> dict[uuid.UUID | None, int | None]:
        """``max_power`` of many EVSEs in one query."""
        rows = await self.db_session.execute(
            select(Connector.evse_pk, func.max(Connector.max_electric_power))
            .where(Connector.evse_pk.in_(evse_pks))
            .group_by(Connector.evse_pk)
        )
        found: dict[uuid.UUID | None, int | None] = {}
        found.update(dict.fromkeys(evse_pks))
        found.update((evse_pk, power) for evse_pk, power in rows)
        return found

    async def max_power(self, evse_pk: uuid.UUID | None) -> int | None:
        if evse_pk is None:
            return None
        return await self.db_session.scalar(
            select(func.max(Connector.max_electric_power))
            .join(Evse, Evse.id == Connector.evse_pk)
            .where(Evse.id == evse_pk)
        )

    async def samples(self, session_id: uuid.UUID) -> list[SampleRow]:
        """The session's register, power and current samples, in the order they were taken."""
        return (await self.samples_of([session_id]))[session_id]

    async def samples_of(self, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[SampleRow]]:
        """``samples`` of many sessions in one query."""
        found: dict[uuid.UUID, list[SampleRow]] = {i: [] for i in session_ids}
        rows = await self.db_session.execute(
            select(MeterSample.session_id, *_SAMPLE_COLUMNS)
            .where(_among(MeterSample.session_id, session_ids), _PRICED_MEASURANDS)
            .order_by(MeterSample.sampled_at, MeterSample.id)
        )
        for session_id, *sample in rows:
            found[session_id].append(SampleRow._make(sample))
        return found

    async def signed_of(
        self, session_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[tuple[datetime, str, Any]]]:
        """``signed_samples`` of many sessions in one query."""
        found: dict[uuid.UUID, list[tuple[datetime, str, Any]]] = {i: [] for i in session_ids}
        rows = await self.db_session.execute(
            select(
                MeterSample.session_id,
                MeterSample.sampled_at,
                MeterSample.measurand,
                MeterSample.signed_data,
            )
            .where(_among(MeterSample.session_id, session_ids), SIGNED_SAMPLE)
            .order_by(MeterSample.sampled_at, MeterSample.id)
        )
        for session_id, at, measurand, data in rows:
            found[session_id].append((at, measurand, data))
        return found

    async def status_events_of(
        self, stations: list[uuid.UUID], since: datetime, until: datetime
    ) -> dict[uuid.UUID, list[tuple[datetime, dict[str, Any]]]]:
        """``status_events`` of many stations over one time range, in one query."""
        found: dict[uuid.UUID, list[tuple[datetime, dict[str, Any]]]] = {s: [] for s in stations}
        rows = await self.db_session.execute(
            select(StationEvent.charging_station_id, StationEvent.at, StationEvent.payload)
            .where(
                StationEvent.charging_station_id.in_(stations),
                StationEvent.kind == "status",
                StationEvent.at >= since,
                StationEvent.at <= until,
            )
            .order_by(StationEvent.at, StationEvent.id)
        )
        for station, at, payload in rows:
            found[station].append((at, payload))
        return found

    async def transaction_events_of(
        self, session_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[tuple[datetime, dict[str, Any]]]]:
        """``transaction_events`` of many sessions in one query (none for none: a batch of
        1.6 sessions asks for no 2.x events)."""
        found: dict[uuid.UUID, list[tuple[datetime, dict[str, Any]]]] = {i: [] for i in session_ids}
        if not session_ids:
            return found
        rows = await self.db_session.execute(
            select(
                TransactionEventRecord.session_id,
                TransactionEventRecord.timestamp,
                TransactionEventRecord.payload,
            )
            .where(_among(TransactionEventRecord.session_id, session_ids))
            .order_by(TransactionEventRecord.timestamp, TransactionEventRecord.seq_no)
        )
        for session_id, at, payload in rows:
            found[session_id].append((at, payload))
        return found

    async def signed_samples(self, session_id: uuid.UUID) -> list[tuple[datetime, str, Any]]:
        rows = await self.db_session.execute(
            select(MeterSample.sampled_at, MeterSample.measurand, MeterSample.signed_data)
            .where(MeterSample.session_id == session_id, SIGNED_SAMPLE)
            .order_by(MeterSample.sampled_at, MeterSample.id)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def status_events(
        self, station: uuid.UUID, since: datetime, until: datetime | None
    ) -> list[tuple[datetime, dict[str, Any]]]:
        stmt = select(StationEvent.at, StationEvent.payload).where(
            StationEvent.charging_station_id == station,
            StationEvent.kind == "status",
            StationEvent.at >= since,
        )
        if until is not None:
            stmt = stmt.where(StationEvent.at <= until)
        rows = await self.db_session.execute(stmt.order_by(StationEvent.at, StationEvent.id))
        return [(r[0], r[1]) for r in rows]

    async def transaction_events(
        self, session_id: uuid.UUID
    ) -> list[tuple[datetime, dict[str, Any]]]:
        rows = await self.db_session.execute(
            select(TransactionEventRecord.timestamp, TransactionEventRecord.payload)
            .where(TransactionEventRecord.session_id == session_id)
            .order_by(TransactionEventRecord.timestamp, TransactionEventRecord.seq_no)
        )
        return [(r[0], r[1]) for r in rows]

    # -- CDRs ------------------------------------------------------------------------------
    async def insert_cdrs(self, batch: CdrRows) -> int:
        """Insert the CDRs of many sessions in one statement (sessions that have one already
        are skipped); how many were inserted."""
        if not batch.rows:
            return 0
        # COPY into a temporary table, then one INSERT ... SELECT that keeps the conflict
        # rule: a multi-row VALUES of a whole batch has some 13,000 parameters, and merely
        # parsing such a statement cost psycopg more CPU than pricing the batch.
        names = list(batch.names)
        staged = _staging_table(batch.names)
        await self.db_session.execute(CreateTable(staged))
        connection = await self.db_session.connection()
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        statement = f"COPY cdr_batch ({', '.join([*names, 'ordinal'])}) FROM STDIN"
        async with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for ordinal, row in enumerate(batch.rows):
                await copy.write_row((*row, ordinal))
        # In the batch's order, so the CDR numbers follow the order the sessions were rated.
        chosen = select(*(staged.c[name] for name in names)).order_by(staged.c.ordinal)
        result = await self.db_session.execute(
            _one_cdr_per_session(insert(Cdr).from_select(names, chosen)).returning(Cdr.id)
        )
        inserted = len(result.all())
        await self.db_session.execute(DropTable(staged))
        return inserted

    async def insert_cdr(self, values: dict[str, Any]) -> uuid.UUID | None:
        """Insert a CDR unless its session (or, for a credit, its CDR) has one already."""
        statement = _INSERT_CREDIT if values["kind"] is CdrKind.CREDIT else _INSERT_CDRS
        return await self.db_session.scalar(statement.values(**values).returning(Cdr.id))

    async def cdr(self, cdr_id: uuid.UUID) -> Cdr | None:
        return await self.db_session.get(Cdr, cdr_id)

    async def cdr_of_session(self, session_id: uuid.UUID) -> Cdr | None:
        return await self.db_session.scalar(
            select(Cdr).where(Cdr.session_id == session_id, Cdr.kind == CdrKind.CDR)
        )

    async def credit_of(self, cdr_id: uuid.UUID) -> Cdr | None:
        return await self.db_session.scalar(select(Cdr).where(Cdr.credit_of == cdr_id))

    async def cdrs(
        self, *, since: datetime | None, limit: int, offset: int
    ) -> tuple[list[Cdr], int]:
        stmt = select(Cdr)
        if since is not None:
            stmt = stmt.where(Cdr.created_at >= since)
        total = await self.db_session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.db_session.scalars(stmt.order_by(Cdr.number).limit(limit).offset(offset))
        return list(rows), int(total or 0)

    async def unrated_sessions(
        self, limit: int, *, after: tuple[datetime, uuid.UUID] | None = None
    ) -> list[tuple[uuid.UUID, datetime]]:
        """Finished sessions without a CDR in the order they ended (by ``(stopped_at, id)``,
        after ``after`` when given), with their ``stopped_at``, locked for this transaction:
        runs in parallel (several workers) skip each other's sessions instead of pricing them
        twice."""
        key = (ChargingSession.stopped_at, ChargingSession.id)
        stmt = select(*key).where(*_unrated(ChargingSession))
        if after is not None:
            stmt = stmt.where(tuple_(*key) > tuple_(*after))
        else:
            # A run's first batch: walked from the start of the index, it would probe the CDRs
            # of every session rated before the first one that is not (1.1 s at 200,000);
            # the earliest end without a CDR, found by one hash anti-join, is cheaper (0.36 s).
            earlier = aliased(ChargingSession)
            first = select(func.min(earlier.stopped_at)).where(*_unrated(earlier))
            stmt = stmt.where(ChargingSession.stopped_at >= first.scalar_subquery())
        rows = await self.db_session.execute(
            stmt.order_by(*key).limit(limit).with_for_update(skip_locked=True, of=ChargingSession)
        )
        return [(session_id, stopped_at) for stopped_at, session_id in rows if stopped_at]
