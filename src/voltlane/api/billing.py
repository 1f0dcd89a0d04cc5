"""Tariffs, where they apply, the live cost of a session and its CDR."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import Meta
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane import billing
from voltlane.api.auth import ApiCaller
from voltlane.api.common import DEFAULT_LIMIT, Limit, Offset, audit
from voltlane.models.tenant import Cdr, TariffAssignment, TariffVersion
from voltlane.tariff import SegmentKind
from voltlane.web.context import current_tenant

Code = Annotated[str, Meta(min_length=1, max_length=36)]
Reason = Annotated[str, Meta(min_length=1, max_length=255)]


class IdleFeeBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Blocking fee once charging stopped and the EV stays plugged in (excl. VAT)."""

    price_per_minute: Decimal
    grace: Annotated[int, Meta(ge=0, description="Seconds free after charging")] = 0
    step_size: Annotated[int, Meta(ge=1, description="Billed in steps of seconds")] = 60
    cap: Decimal | None = None
    vat: Decimal | None = None


class TariffCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # An OCPI 2.2.1 Tariff object; its "id" is the tariff code. Its numbers are read from the
    # raw body as exact decimals (see TariffController.create).
    definition: dict[str, Any]
    segment: SegmentKind = SegmentKind.PUBLIC
    segment_ref: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    idle_fee: IdleFeeBody | None = None


class TariffRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    segment: str
    segment_ref: str | None
    currency: str
    valid_from: datetime | None
    valid_to: datetime | None
    definition: dict[str, Any]
    idle_fee: dict[str, Any] | None
    created_at: datetime

    @classmethod
    def of(cls, v: TariffVersion) -> TariffRead:
        return cls(
            id=v.id,
            code=v.code,
            segment=v.segment,
            segment_ref=v.segment_ref,
            currency=v.currency,
            valid_from=v.valid_from,
            valid_to=v.valid_to,
            definition=v.definition,
            idle_fee=v.idle_fee,
            created_at=v.created_at,
        )


class TariffPage(msgspec.Struct):
    items: list[TariffRead]
    total: int


class AssignmentCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """No scope: the brand's default. Otherwise exactly one of the three."""

    code: Code
    location_id: uuid.UUID | None = None
    evse_id: uuid.UUID | None = None
    connector_id: uuid.UUID | None = None


class AssignmentRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    location_id: uuid.UUID | None
    evse_id: uuid.UUID | None
    connector_id: uuid.UUID | None

    @classmethod
    def of(cls, a: TariffAssignment) -> AssignmentRead:
        return cls(
            id=a.id,
            code=a.code,
            location_id=a.location_id,
            evse_id=a.evse_pk,
            connector_id=a.connector_pk,
        )


class CdrRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: int
    kind: str
    credit_of: uuid.UUID | None
    session_id: uuid.UUID
    charging_station_id: uuid.UUID
    location_id: uuid.UUID | None
    evse_id: int | None
    connector_id: int | None
    id_token: str | None
    auth_method: str
    segment: str
    tariff_code: str
    tariff_version_id: uuid.UUID
    currency: str
    start_date_time: datetime
    end_date_time: datetime
    total_energy_kwh: Decimal
    total_time_hours: Decimal
    total_parking_time_hours: Decimal
    total_excl_vat: int
    total_vat: int
    total_incl_vat: int
    priced: dict[str, Any]
    signed_data: list[Any] | None
    remark: str | None
    created_at: datetime

    @classmethod
    def of(cls, c: Cdr) -> CdrRead:
        return cls(
            id=c.id,
            number=c.number,
            kind=c.kind.value,
            credit_of=c.credit_of,
            session_id=c.session_id,
            charging_station_id=c.charging_station_id,
            location_id=c.location_id,
            evse_id=c.evse_id,
            connector_id=c.connector_id,
            id_token=c.id_token,
            auth_method=c.auth_method,
            segment=c.segment,
            tariff_code=c.tariff_code,
            tariff_version_id=c.tariff_version_id,
            currency=c.currency,
            start_date_time=c.start_date_time,
            end_date_time=c.end_date_time,
            total_energy_kwh=c.total_energy_kwh,
            total_time_hours=c.total_time_hours,
            total_parking_time_hours=c.total_parking_time_hours,
            total_excl_vat=c.total_excl_vat,
            total_vat=c.total_vat,
            total_incl_vat=c.total_incl_vat,
            priced=c.priced,
            signed_data=c.signed_data,
            remark=c.remark,
            created_at=c.created_at,
        )


class CdrPage(msgspec.Struct):
    items: list[CdrRead]
    total: int


class CreditCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason


class TariffController(Controller):
    path = "/tariffs"
    tags = ["Tariffs"]

    @post("/", summary="Add a tariff version (an OCPI 2.2.1 Tariff) for a customer segment")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        data: JSONBody[TariffCreate],
    ) -> TariffRead:
        # The decoded body has the definition's numbers as floats: read them exactly instead.
        exact = json.loads(await request.body(), parse_float=Decimal)
        version = await billing.create_tariff_version(
            db_session,
            definition=exact["definition"],
            segment=data.segment,
            segment_ref=data.segment_ref,
            idle_fee=msgspec.to_builtins(data.idle_fee) if data.idle_fee else None,
            brand_currency=current_tenant(request).currency,
            created_by=caller.actor,
        )
        await db_session.refresh(version)
        await audit(
            db_session,
            request,
            caller,
            action="api.tariff.create",
            entity="tariff",
            entity_id=version.id,
            detail={"code": version.code, "segment": version.segment},
        )
        return TariffRead.of(version)

    @get("/", summary="List tariff versions")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        code: FromQuery[str | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> TariffPage:
        rows, total = await billing.list_tariffs(db_session, code=code, limit=limit, offset=offset)
        return TariffPage([TariffRead.of(v) for v in rows], total)

    @get("/{version_id:uuid}", summary="Get a tariff version")
    async def get_one(
        self, db_session: NamedDependency[AsyncSession], version_id: FromPath[uuid.UUID]
    ) -> TariffRead:
        return TariffRead.of(await billing.get_tariff(db_session, version_id))


class TariffAssignmentController(Controller):
    path = "/tariff-assignments"
    tags = ["Tariffs"]

    @post("/", summary="Price sessions at a connector, EVSE, location or the brand by a tariff")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        data: JSONBody[AssignmentCreate],
    ) -> AssignmentRead:
        assignment = await billing.assign_tariff(
            db_session,
            data.code,
            location_id=data.location_id,
            evse_pk=data.evse_id,
            connector_pk=data.connector_id,
        )
        await audit(
            db_session,
            request,
            caller,
            action="api.tariff.assign",
            entity="tariff_assignment",
            entity_id=assignment.id,
            detail={"code": data.code},
        )
        return AssignmentRead.of(assignment)

    @get("/", summary="List tariff assignments")
    async def list_(self, db_session: NamedDependency[AsyncSession]) -> list[AssignmentRead]:
        return [AssignmentRead.of(a) for a in await billing.list_assignments(db_session)]


class CdrController(Controller):
    tags = ["CDRs"]

    @get("/sessions/{session_id:uuid}/cost", summary="What a session has cost so far")
    async def live_cost(
        self, db_session: NamedDependency[AsyncSession], session_id: FromPath[uuid.UUID]
    ) -> dict[str, Any]:
        return billing.priced_json(await billing.live_cost(db_session, session_id))

    @post("/sessions/{session_id:uuid}/cdr", summary="The CDR of a finished session (made once)")
    async def rate(
        self, db_session: NamedDependency[AsyncSession], session_id: FromPath[uuid.UUID]
    ) -> CdrRead:
        cdr = await billing.rate_session(db_session, session_id)
        if cdr is None:
            raise billing.SessionNotRatableError("the session's energy needs review first")
        return CdrRead.of(cdr)

    @get("/cdrs", summary="List CDRs and credits, oldest first")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        since: FromQuery[datetime | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> CdrPage:
        rows, total = await billing.list_cdrs(db_session, since=since, limit=limit, offset=offset)
        return CdrPage([CdrRead.of(c) for c in rows], total)

    @get("/cdrs/{cdr_id:uuid}", summary="Get a CDR")
    async def get_one(
        self, db_session: NamedDependency[AsyncSession], cdr_id: FromPath[uuid.UUID]
    ) -> CdrRead:
        return CdrRead.of(await billing.get_cdr(db_session, cdr_id))

    @post("/cdrs/{cdr_id:uuid}/credit", summary="Cancel a CDR with a credit CDR (once)")
    async def credit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        cdr_id: FromPath[uuid.UUID],
        data: JSONBody[CreditCreate],
    ) -> CdrRead:
        credit = await billing.credit_cdr(db_session, cdr_id, reason=data.reason)
        await audit(
            db_session,
            request,
            caller,
            action="api.cdr.credit",
            entity="cdr",
            entity_id=cdr_id,
            detail={"credit": str(credit.id), "reason": data.reason},
        )
        return CdrRead.of(credit)
