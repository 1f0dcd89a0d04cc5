"""CDRs module, sender interface (mod_cdrs.asciidoc): a partner reads the charge detail
records of its drivers' sessions (paginated, by ``last_updated`` = when the CDR was made;
CDRs never change, a correction is a credit CDR).

The CDR is the one the billing run made (``billing.cdrs``): its totals, periods and tariff
version are those of the brand's books, in OCPI shape.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from sqlalchemy import Select, String, cast, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.cdrs import auth_method
from voltlane.billing.pricing import tariff_of
from voltlane.models.tenant import (
    Cdr,
    CdrKind,
    ChargingSession,
    Connector,
    Evse,
    Location,
    OcpiPush,
    OcpiToken,
    TariffVersion,
)
from voltlane.ocpi.auth import provide_ocpi_caller
from voltlane.ocpi.location_mapping import coordinate, printable
from voltlane.ocpi.pagination import PageRequest, page_request, page_response
from voltlane.ocpi.protocol import VERSION_PATH, Module, ocpi_datetime
from voltlane.ocpi.session_objects import (
    cdr_token,
    charging_periods,
    connector_id,
    number,
    of_parties,
    price,
)
from voltlane.ocpi.sessions import brand_party, narrowed
from voltlane.station.published import evse_roams
from voltlane.tariff import tariff_to_ocpi
from voltlane.web.context import current_tenant

CDRS_PATH = f"{VERSION_PATH}/cdrs"
# Our charge lines under the CDR's cost totals (mod_cdrs "CDR Object").
COST_TOTALS = {
    "total_fixed_cost": ("FLAT",),
    "total_energy_cost": ("ENERGY",),
    "total_time_cost": ("TIME",),
    "total_parking_cost": ("PARKING_TIME", "IDLE_FEE"),
    "total_reservation_cost": ("RESERVATION_TIME", "RESERVATION_FLAT"),
}


@dataclass(frozen=True, slots=True)
class CdrRow:
    cdr: Cdr
    session: ChargingSession
    token: OcpiToken
    location: Location
    evse: Evse
    connector: Connector | None
    tariff: TariffVersion


def _roaming_cdrs() -> Select[Cdr, ChargingSession, OcpiToken, Location, Evse, TariffVersion]:
    return (
        select(Cdr, ChargingSession, OcpiToken, Location, Evse, TariffVersion)
        .join(ChargingSession, ChargingSession.id == Cdr.session_id)
        .join(OcpiToken, OcpiToken.id == ChargingSession.roaming_token_id)
        .join(Location, Location.id == Cdr.location_id)
        .join(TariffVersion, TariffVersion.id == Cdr.tariff_version_id)
        # CdrLocation.evse_id is the EVSE's eMI3 id (#NA only for a reservation that never
        # became a session): a CDR at an EVSE without one is held back until staff give the
        # EVSE its id (such an EVSE is not published, so it cannot roam by OCPI).
        .join(Evse, Evse.id == ChargingSession.evse_pk)
        .where(evse_roams())
    )


async def partner_cdrs(
    db_session: AsyncSession,
    partner_id: uuid.UUID,
    page: PageRequest,
    parties: frozenset[tuple[str, str]] | None = None,
) -> tuple[list[CdrRow], int]:
    """The partner's CDRs (and credits; of ``parties`` when given) made in the page's
    window, by number."""
    statement = _roaming_cdrs().where(OcpiToken.partner_id == partner_id, of_parties(parties))
    if page.date_from is not None:
        statement = statement.where(Cdr.created_at >= page.date_from)
    if page.date_to is not None:
        statement = statement.where(Cdr.created_at < page.date_to)
    total = await db_session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (
        await db_session.execute(
            statement.order_by(Cdr.number).offset(page.offset).limit(page.limit)
        )
    ).all()
    return await _with_connectors(db_session, rows), int(total or 0)


async def unpushed_cdrs(
    db_session: AsyncSession,
    partner_id: uuid.UUID,
    *,
    since: datetime,
    limit: int,
    skip: frozenset[tuple[str, str]] = frozenset(),
) -> list[CdrRow]:
    """The partner's CDRs (and credits; but those of the parties in ``skip``) made from
    ``since`` that no push has carried yet (a POST owed once per CDR), oldest first."""
    pushed = select(OcpiPush.id).where(
        OcpiPush.partner_id == partner_id,
        OcpiPush.module == Module.CDRS.value,
        OcpiPush.object_id == cast(Cdr.id, String),
    )
    statement = (
        _roaming_cdrs()
        .where(
            OcpiToken.partner_id == partner_id,
            ~of_parties(skip) if skip else true(),
            Cdr.created_at >= since,
            ~pushed.exists(),
        )
        .order_by(Cdr.number)
        .limit(limit)
    )
    return await _with_connectors(db_session, (await db_session.execute(statement)).all())


async def _with_connectors(db_session: AsyncSession, rows: Any) -> list[CdrRow]:
    evse_ids = {evse.id for *_, evse, _ in rows}
    connectors: dict[tuple[uuid.UUID, int], Connector] = {}
    if evse_ids:
        for found_connector in await db_session.scalars(
            select(Connector).where(Connector.evse_pk.in_(evse_ids))
        ):
            connectors[(found_connector.evse_pk, found_connector.connector_id)] = found_connector
    found = []
    for cdr, session, token, location, evse, tariff in rows:
        connector = connectors.get((evse.id, int(connector_id(session))))
        found.append(CdrRow(cdr, session, token, location, evse, connector, tariff))
    return found


def _json_numbers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    return number(value) if isinstance(value, Decimal) else value


def tariff_object(version: TariffVersion, party: tuple[str, str]) -> dict[str, Any]:
    """The OCPI Tariff that priced the CDR: the version as published to partners."""
    shaped = tariff_to_ocpi(tariff_of(version))
    shaped = {"country_code": party[0], "party_id": party[1], **shaped}
    shaped.setdefault("last_updated", ocpi_datetime(version.created_at))
    numbers: dict[str, Any] = _json_numbers(shaped)
    return numbers


def cdr_location(row: CdrRow) -> dict[str, Any]:
    location = row.location
    shaped: dict[str, Any] = {
        "id": str(location.id),
        "name": printable(location.name),
        "address": printable(location.address),
        "city": printable(location.city),
    }
    if location.postal_code:
        shaped["postal_code"] = printable(location.postal_code)
    if location.state:
        shaped["state"] = printable(location.state)
    shaped |= {
        "country": location.country,
        "coordinates": {
            "latitude": coordinate(location.latitude, 10),
            "longitude": coordinate(location.longitude, 11),
        },
        "evse_uid": str(row.evse.id),
        "evse_id": row.evse.emi3_id,
        "connector_id": connector_id(row.session),
    }
    connector = row.connector
    if connector is not None:
        shaped |= {
            "connector_standard": connector.standard.value,
            "connector_format": connector.format.value,
            "connector_power_type": connector.power_type.value,
        }
    return shaped


def cdr_object(row: CdrRow, party: tuple[str, str]) -> dict[str, Any]:
    """The OCPI CDR object (mod_cdrs "CDR Object")."""
    cdr = row.cdr
    sign = -1 if cdr.kind is CdrKind.CREDIT else 1
    priced = cdr.priced
    body: dict[str, Any] = {
        "country_code": party[0],
        "party_id": party[1],
        "id": str(cdr.id),
        "start_date_time": ocpi_datetime(cdr.start_date_time),
        "end_date_time": ocpi_datetime(cdr.end_date_time),
        "session_id": str(cdr.session_id),
        "cdr_token": cdr_token(row.token),
        "auth_method": auth_method(row.session),
    }
    if row.session.authorization_reference:
        body["authorization_reference"] = row.session.authorization_reference
    body |= {
        "cdr_location": cdr_location(row),
        "currency": cdr.currency,
        "tariffs": [tariff_object(row.tariff, party)],
        "charging_periods": charging_periods(priced),
        "total_cost": price(cdr.total_excl_vat, cdr.total_incl_vat, cdr.currency),
    }
    lines = priced.get("lines", [])
    for name, kinds in COST_TOTALS.items():
        chosen = [line for line in lines if line["kind"] in kinds]
        if chosen:
            excl = sign * sum(int(line["excl_vat"]) for line in chosen)
            incl = sign * sum(int(line["incl_vat"]) for line in chosen)
            body[name] = price(excl, incl, cdr.currency)
    body |= {
        "total_energy": number(cdr.total_energy_kwh.normalize()),
        # types.asciidoc: numbers use 4 decimals; hours are stored with 6.
        "total_time": number(cdr.total_time_hours.quantize(Decimal("0.0001"))),
        "total_parking_time": number(cdr.total_parking_time_hours.quantize(Decimal("0.0001"))),
    }
    if cdr.remark:
        body["remark"] = cdr.remark[:255]
    if cdr.kind is CdrKind.CREDIT:
        body["credit"] = True
        body["credit_reference_id"] = str(cdr.credit_of)
    body["last_updated"] = ocpi_datetime(cdr.created_at)
    return body


@get(CDRS_PATH, include_in_schema=False)
async def list_cdrs(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    """The caller's CDRs made from ``date_from`` to ``date_to`` (both optional)."""
    caller = provide_ocpi_caller(request)
    party = brand_party(current_tenant(request))
    page = page_request(request)
    rows, total = await partner_cdrs(db_session, caller.partner_id, page, narrowed(caller))
    return page_response(request, page, [cdr_object(row, party) for row in rows], total)


HANDLERS = [list_cdrs]
