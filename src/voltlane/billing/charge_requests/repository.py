"""Every query of charge requests: charging points by their printed code, the requests
themselves, and what the live screen and the receipt read."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ColumnElement, String, and_, case, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.charge_requests.schemas import ConnectorInfo, EvseInfo
from voltlane.models.tenant import (
    AccountKind,
    Cdr,
    CdrKind,
    ChargeRequest,
    ChargeRequestStatus,
    ChargingSession,
    ChargingStation,
    Connector,
    CustomerAccount,
    Evse,
    IdToken,
    IdTokenStatus,
    Invoice,
    InvoiceKind,
    Location,
    Payment,
    PaymentStatus,
    RegistrationStatus,
    SessionSettlement,
    SessionStatus,
    StationCommand,
    Subscription,
    SubscriptionPlan,
)


def _canonical_code() -> ColumnElement[str]:
    """The canonical code (see codes.evse_code), computed the same way in SQL."""
    return case(
        (
            Evse.emi3_id.is_not(None),
            func.upper(func.replace(func.replace(Evse.emi3_id, "*", ""), " ", "")),
        ),
        else_=func.upper(func.replace(ChargingStation.station_id, "*", ""))
        + "-"
        + cast(Evse.evse_id, String),
    )


_EMI3_SHORT = "^[A-Z]{2}[A-Z0-9]{3}E"

OPEN = (ChargeRequestStatus.AUTHORIZING, ChargeRequestStatus.STARTING, ChargeRequestStatus.CHARGING)


class ChargeRequestRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    def add(self, row: object) -> None:
        self.db_session.add(row)

    # -- charging points -----------------------------------------------------------------
    async def evse_pks_by_code(self, code: str) -> list[tuple[uuid.UUID, bool]]:
        """EVSEs whose canonical code is ``code`` (True) or whose eMI3 short form is (False);
        only EVSEs of approved stations at a location."""
        canonical = _canonical_code()
        rows = await self.db_session.execute(
            select(Evse.id, canonical == code)
            .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
            .where(
                ChargingStation.location_id.is_not(None),
                ChargingStation.registration_status == RegistrationStatus.ACCEPTED,
                or_(
                    canonical == code,
                    and_(
                        Evse.emi3_id.is_not(None),
                        canonical.regexp_match(_EMI3_SHORT),
                        func.substr(canonical, 6) == code,
                    ),
                ),
            )
            .limit(5)
        )
        return [(pk, bool(exact)) for pk, exact in rows.all()]

    async def evse_info(self, evse_pk: uuid.UUID) -> EvseInfo | None:
        row = (
            await self.db_session.execute(
                select(
                    Evse.id,
                    Evse.evse_id,
                    Evse.emi3_id,
                    ChargingStation.id,
                    ChargingStation.station_id,
                    ChargingStation.protocol,
                    Location.id,
                    Location.name,
                    Location.address,
                    Location.city,
                    Location.timezone,
                )
                .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
                .join(Location, Location.id == ChargingStation.location_id)
                .where(Evse.id == evse_pk)
            )
        ).first()
        if row is None:
            return None
        connectors = await self.db_session.execute(
            select(
                Connector.id,
                Connector.connector_id,
                Connector.standard,
                Connector.format,
                Connector.power_type,
                Connector.max_electric_power,
                Connector.status,
            )
            .where(Connector.evse_pk == evse_pk)
            .order_by(Connector.connector_id)
        )
        return EvseInfo(
            pk=row[0],
            evse_id=row[1],
            emi3_id=row[2],
            station_pk=row[3],
            station_id=row[4],
            protocol=row[5],
            location_id=row[6],
            location_name=row[7],
            address=row[8],
            city=row[9],
            timezone=row[10],
            connectors=tuple(
                ConnectorInfo(
                    pk=c[0],
                    connector_id=c[1],
                    standard=c[2].value,
                    format=c[3].value,
                    power_type=c[4].value,
                    max_power_w=c[5],
                    status=c[6],
                )
                for c in connectors.all()
            ),
        )

    # -- requests -------------------------------------------------------------------------
    async def request(
        self, request_id: uuid.UUID, *, for_update: bool = False
    ) -> ChargeRequest | None:
        stmt = select(ChargeRequest).where(ChargeRequest.id == request_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.db_session.scalar(stmt.execution_options(populate_existing=True))

    async def open_requests_of(self, account_id: uuid.UUID) -> list[ChargeRequest]:
        """The account's requests that are being paid, started or charged, newest first
        (a guest's requests are not the account's)."""
        return list(
            await self.db_session.scalars(
                select(ChargeRequest)
                .where(
                    ChargeRequest.account_id == account_id,
                    ChargeRequest.guest_email.is_(None),
                    ChargeRequest.status.in_(OPEN),
                )
                .order_by(ChargeRequest.created_at.desc())
                .limit(10)
            )
        )

    async def requests_to_check(self, abandoned_before: datetime) -> list[uuid.UUID]:
        """Requests the sweep looks at: starting ones (linked, or past their plug-in time),
        charging ones (their session may have ended) and ones left authorizing."""
        rows = await self.db_session.scalars(
            select(ChargeRequest.id)
            .where(
                ChargeRequest.status.in_(OPEN),
                or_(
                    ChargeRequest.status != ChargeRequestStatus.AUTHORIZING,
                    ChargeRequest.updated_at < abandoned_before,
                ),
            )
            .order_by(ChargeRequest.created_at)
            .limit(500)
        )
        return list(rows)

    async def session_of_token(
        self, station_pk: uuid.UUID, id_token: str
    ) -> ChargingSession | None:
        """The session the station reported with the request's token (the first one)."""
        return await self.db_session.scalar(
            select(ChargingSession)
            .where(
                ChargingSession.charging_station_id == station_pk,
                ChargingSession.id_token == id_token,
            )
            .order_by(ChargingSession.started_at, ChargingSession.seq)
            .limit(1)
        )

    async def session(self, session_id: uuid.UUID) -> ChargingSession | None:
        return await self.db_session.get(ChargingSession, session_id, populate_existing=True)

    async def request_of_session(self, session_id: uuid.UUID) -> ChargeRequest | None:
        return await self.db_session.scalar(
            select(ChargeRequest).where(ChargeRequest.session_id == session_id)
        )

    async def starting_request_of_token(
        self, id_token: str, *, for_update: bool = False
    ) -> ChargeRequest | None:
        stmt = select(ChargeRequest).where(
            ChargeRequest.id_token == id_token,
            ChargeRequest.status == ChargeRequestStatus.STARTING,
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self.db_session.scalar(stmt)

    # -- tokens and accounts -------------------------------------------------------------
    async def id_token(self, value: str) -> IdToken | None:
        return await self.db_session.scalar(select(IdToken).where(IdToken.id_token == value))

    async def block_token(self, value: str) -> None:
        await self.db_session.execute(
            update(IdToken).where(IdToken.id_token == value).values(status=IdTokenStatus.BLOCKED)
        )

    async def account(self, account_id: uuid.UUID) -> CustomerAccount | None:
        return await self.db_session.get(CustomerAccount, account_id)

    async def plans_of(self, account_id: uuid.UUID) -> list[tuple[str, date, date | None]]:
        rows = await self.db_session.execute(
            select(SubscriptionPlan.code, Subscription.starts_on, Subscription.ends_on)
            .join(SubscriptionPlan, SubscriptionPlan.id == Subscription.plan_id)
            .where(Subscription.account_id == account_id)
            .order_by(Subscription.starts_on)
        )
        return [(code, starts, ends) for code, starts, ends in rows.all()]

    async def is_fleet(self, account_id: uuid.UUID) -> bool:
        kind = await self.db_session.scalar(
            select(CustomerAccount.kind).where(CustomerAccount.id == account_id)
        )
        return kind is AccountKind.FLEET

    # -- money ----------------------------------------------------------------------------
    async def payment_of(self, request_id: uuid.UUID) -> Payment | None:
        return await self.db_session.scalar(
            select(Payment)
            .where(Payment.charge_request_id == request_id)
            .execution_options(populate_existing=True)
        )

    async def charging_on_holds(self) -> list[tuple[uuid.UUID, uuid.UUID, int]]:
        """Charges running on a hold on the driver's card: (request, session, amount held)."""
        rows = await self.db_session.execute(
            select(ChargeRequest.id, ChargeRequest.session_id, Payment.amount_authorized)
            .join(Payment, Payment.charge_request_id == ChargeRequest.id)
            .join(ChargingSession, ChargingSession.id == ChargeRequest.session_id)
            .where(
                ChargeRequest.status == ChargeRequestStatus.CHARGING,
                Payment.status == PaymentStatus.AUTHORIZED,
                Payment.amount_authorized > 0,
                ChargingSession.status == SessionStatus.ACTIVE,
            )
            .order_by(ChargeRequest.created_at)
            .limit(1000)
        )
        return [(request, session, held) for request, session, held in rows if session]

    async def stop_asked_since(self, requested_by: str, since: datetime) -> bool:
        """Whether a stop was asked for by ``requested_by`` since ``since``."""
        found = await self.db_session.scalar(
            select(StationCommand.id)
            .where(StationCommand.requested_by == requested_by, StationCommand.created_at >= since)
            .limit(1)
        )
        return found is not None

    async def holds_left(self, failed_before: datetime) -> list[uuid.UUID]:
        """Failed or cancelled requests whose hold is still on the card (their release did
        not get through), failed before ``failed_before``."""
        rows = await self.db_session.scalars(
            select(ChargeRequest.id)
            .join(Payment, Payment.charge_request_id == ChargeRequest.id)
            .where(
                ChargeRequest.status.in_(
                    [ChargeRequestStatus.FAILED, ChargeRequestStatus.CANCELLED]
                ),
                ChargeRequest.updated_at < failed_before,
                Payment.status.in_([PaymentStatus.AUTHORIZED, PaymentStatus.REQUIRES_ACTION]),
            )
            .limit(100)
        )
        return list(rows)

    async def payment_of_session(self, session_id: uuid.UUID) -> Payment | None:
        return await self.db_session.scalar(
            select(Payment)
            .where(Payment.session_id == session_id)
            .execution_options(populate_existing=True)
        )

    async def cdr_of_session(self, session_id: uuid.UUID) -> Cdr | None:
        return await self.db_session.scalar(
            select(Cdr).where(Cdr.session_id == session_id, Cdr.kind == CdrKind.CDR)
        )

    async def settlement(self, cdr_id: uuid.UUID) -> SessionSettlement | None:
        return await self.db_session.get(SessionSettlement, cdr_id)

    async def receipt_of_session(self, session_id: uuid.UUID) -> Invoice | None:
        return await self.db_session.scalar(
            select(Invoice).where(
                Invoice.session_id == session_id, Invoice.kind == InvoiceKind.RECEIPT
            )
        )
