"""Factories: build what a test needs with explicit values, no fixtures-of-fixtures."""

from __future__ import annotations

import tempfile
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.charging import service as charging
from voltlane.charging.repository import ChargingRepository
from voltlane.charging.schemas import Sample, StationRef
from voltlane.identity import service as identity
from voltlane.models.tenant import (
    AccountKind,
    ChargingStation,
    ConnectorFormat,
    ConnectorStandard,
    CustomerAccount,
    Invoicing,
    Location,
    OperatorUser,
    PowerType,
    Role,
)
from voltlane.station import service as stations
from voltlane.station.schemas import ConnectorCreate, EvseCreate, LocationCreate, StationCreate
from voltlane.tenancy.spec import Legal, Loyalty, Ocpi, Payments, TenantSpec, validate_spec

REPO = Path(__file__).resolve().parents[1]


def pg_data_root() -> Path:
    """A fresh directory a private PostgreSQL can live in.

    As root the server runs as the ``postgres`` user, who cannot enter pytest's 0700
    temporary directories; this one is traversable (its contents stay private to postgres).
    """
    root = Path(tempfile.mkdtemp(prefix="voltlane-pg-"))
    root.chmod(0o755)
    return root


def unique_key(prefix: str = "t") -> str:
    """A fresh tenant key (``^[a-z0-9]{4,32}$``) so tests never share a brand."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def brand_spec(
    key: str | None = None,
    *,
    slug: str | None = None,
    name: str | None = None,
    theme: str = "aurora",
    locale: str = "en_GB",
    locales: list[str] | None = None,
    currency: str = "EUR",
    timezone: str = "Europe/Berlin",
    domains: list[str] | None = None,
    payments: Literal["stripe", "adyen"] | None = None,
    legal: Legal | None = None,
    payment_options: dict[str, Any] | None = None,
    loyalty: Loyalty | None = None,
    ocpi: Ocpi | None = None,
) -> TenantSpec:
    key = key or unique_key()
    spec = TenantSpec(
        key=key,
        slug=slug or key,
        name=name or f"Brand {key}",
        theme=theme,
        locale=locale,
        locales=locales or [],
        currency=currency,
        timezone=timezone,
        domains=domains or [],
        payments=Payments(provider=payments, **(payment_options or {})) if payments else None,
        legal=legal,
        loyalty=loyalty,
        ocpi=ocpi,
    )
    return validate_spec(spec, themes_dir=REPO / "themes")


async def add_location(
    db_session: AsyncSession, name: str = "Depot", **overrides: object
) -> Location:
    data = {
        "name": name,
        "address": "Hafenstraße 1",
        "city": "Hamburg",
        "country": "DEU",
        "latitude": Decimal("53.5461"),
        "longitude": Decimal("9.9661"),
        "timezone": "Europe/Berlin",
        "postal_code": "20359",
    }
    data.update(overrides)
    return await stations.create_location(db_session, LocationCreate(**data))  # type: ignore[arg-type]


def ac_evse(count: int = 1) -> tuple[EvseCreate, ...]:
    connector = ConnectorCreate(
        standard=ConnectorStandard.IEC_62196_T2,
        format=ConnectorFormat.SOCKET,
        power_type=PowerType.AC_3_PHASE,
        max_voltage=400,
        max_amperage=32,
        max_electric_power=22000,
    )
    return tuple(EvseCreate(connectors=(connector,)) for _ in range(count))


async def add_station(
    db_session: AsyncSession, location: Location, station_id: str, *, evses: int = 1
) -> ChargingStation:
    station, _password = await stations.create_station(
        db_session, location, StationCreate(station_id=station_id, evses=ac_evse(evses))
    )
    return station


async def add_user(
    db_session: AsyncSession,
    email: str,
    password: str = "correct horse battery",
    role: Role = Role.OPERATIONS,
    name: str = "Alex Operator",
    fleet_account_id: uuid.UUID | None = None,
) -> OperatorUser:
    return await identity.create_operator_user(
        db_session,
        email=email,
        name=name,
        password=password,
        role=role,
        fleet_account_id=fleet_account_id,
    )


async def add_fleet_account(db_session: AsyncSession, **overrides: Any) -> CustomerAccount:
    """A fleet customer billed monthly, with the details its invoices need."""
    values: dict[str, Any] = {
        "kind": AccountKind.FLEET,
        "name": "Spree Logistik GmbH",
        "email": "ap@spree-logistik.example",
        "locale": "de_DE",
        "street": "Am Ostbahnhof 9",
        "postal_code": "10243",
        "city": "Berlin",
        "country": "DE",
        "vat_id": "DE811111111",
        "buyer_reference": "PO-4711",
        "invoicing": Invoicing.MONTHLY,
        "payment_terms_days": 30,
        **overrides,
    }
    account = CustomerAccount(**values)
    db_session.add(account)
    await db_session.flush()
    return account


# A seller whose documents can be issued: the address in parts, a VAT id and a bank account.
BERLIN_SELLER = Legal(
    entity="Voltaria Laden GmbH",
    address="Torstraße 110, 10119 Berlin",
    vat_id="DE300000001",
    registration="HRB 200001 B",
    street="Torstraße 110",
    postal_code="10119",
    city="Berlin",
    country="DE",
    email="rechnung@voltaria.example",
    iban="DE89370400440532013000",
    bic="COBADEFFXXX",
)


async def add_session_16(
    db_session: AsyncSession,
    station: ChargingStation,
    *,
    id_tag: str,
    started_at: datetime,
    meter_start_wh: int,
    readings: tuple[tuple[datetime, int, int | None], ...] = (),
    stop: tuple[datetime, int, str] | None = None,
    signed_data: Any | None = None,
) -> uuid.UUID:
    """A session charged at connector 1 of ``station`` as an OCPP 1.6 station reports it,
    through the charging service: the start, register readings (with power in W when given,
    the first reading carrying ``signed_data``) and, when ``stop`` is given, the stop (time,
    register, reason)."""
    station_ref = StationRef(station.id, station.station_id, "ocpp1.6")
    evse = await ChargingRepository(db_session).evse(station.id, 1)
    started = await charging.start_transaction_v16(
        db_session,
        station_ref,
        connector_id=1,
        id_tag=id_tag,
        meter_start_wh=meter_start_wh,
        timestamp=started_at,
        reservation_id=None,
        evse=evse,
    )
    assert started.session_id is not None
    for index, (at, wh, power_w) in enumerate(readings):
        samples = [
            Sample(
                at,
                "Energy.Active.Import.Register",
                Decimal(wh),
                "Wh",
                signed_data=signed_data if index == 0 else None,
            )
        ]
        if power_w is not None:
            samples.append(Sample(at, "Power.Active.Import", Decimal(power_w), "W"))
        await charging.meter_values(
            db_session,
            station_ref,
            evse_id=1,
            transaction_id=str(started.transaction_id),
            samples=samples,
        )
    if stop is not None:
        await charging.stop_transaction_v16(
            db_session,
            station_ref,
            transaction_id=started.transaction_id,
            meter_stop_wh=stop[1],
            timestamp=stop[0],
            reason=stop[2],
            id_tag=id_tag,
            transaction_data=[],
        )
    return started.session_id
