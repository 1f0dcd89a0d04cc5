"""Roaming sessions for tests: a registered partner with its token C, its driver's token,
and a session charged at one of the brand's stations with that token."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from tests.factories import add_location, add_session_16
from tests.ocpi.emi3_support import add_roaming_station
from voltlane import billing
from voltlane.charging import service as charging
from voltlane.charging.schemas import Sample, StationRef
from voltlane.charging.service import ensure_id_token
from voltlane.core.db import Database
from voltlane.models.platform import CredentialKind
from voltlane.models.tenant import ChargingSession, OcpiPartner, OcpiToken, PartnerState
from voltlane.ocpi.partners import add_credential, seal_partner_token
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo

_REGISTERS = itertools.count(1_000_000, 1_000_000)
T0 = datetime.fromisoformat("2026-03-02T10:00:00+00:00")


@dataclass(frozen=True, slots=True)
class Partner:
    id: uuid.UUID
    token: str  # the token C it presents to us
    country_code: str
    party_id: str


async def add_partner(
    database: Database,
    secret_key: str,
    brand: TenantInfo,
    *,
    country_code: str = "NL",
    party_id: str = "MSP",
    receiver_base: str | None = None,
) -> Partner:
    """A REGISTERED eMSP with sessions and cdrs RECEIVER endpoints under ``receiver_base``."""
    endpoints = (
        [
            {"identifier": module, "role": "RECEIVER", "url": f"{receiver_base}/{module}"}
            for module in ("sessions", "cdrs")
        ]
        if receiver_base
        else []
    )
    async with database.tenant_transaction(brand.key) as db_session:
        partner = OcpiPartner(
            name=f"{party_id} Mobility",
            state=PartnerState.REGISTERED,
            initiated_by="them",
            country_code=country_code,
            party_id=party_id,
            roles=[{"role": "EMSP", "country_code": country_code, "party_id": party_id}],
            version="2.2.1",
            endpoints=endpoints,
            token_sealed=seal_partner_token(secret_key, f"their-token-{party_id}"),
        )
        db_session.add(partner)
        await db_session.flush()
        partner_id = partner.id
    token = f"token-c-{brand.key}-{party_id}"
    async with database.platform_transaction() as platform:
        await add_credential(
            platform,
            tenant_key=brand.key,
            partner_id=partner_id,
            token=token,
            kind=CredentialKind.ACCESS,
        )
    return Partner(partner_id, token, country_code, party_id)


async def add_roaming_token(
    database: Database, brand: TenantInfo, partner: Partner, uid: str
) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        token = OcpiToken(
            partner_id=partner.id,
            country_code=partner.country_code,
            party_id=partner.party_id,
            uid=uid,
            type="RFID",
            contract_id=f"{partner.country_code}-{partner.party_id}-C{uid}",
            issuer=f"{partner.party_id} Mobility",
            valid=True,
            whitelist="ALLOWED",
            last_updated=T0,
        )
        db_session.add(token)
        await db_session.flush()
        return token.id


async def add_tariff(
    database: Database,
    brand: TenantInfo,
    code: str,
    energy_price: str,
    *,
    segment: SegmentKind = SegmentKind.PUBLIC,
    segment_ref: str | None = None,
) -> None:
    """A per-kWh tariff (19 % VAT) assigned brand-wide."""
    definition: dict[str, Any] = {
        "id": code,
        "currency": "EUR",
        "elements": [
            {
                "price_components": [
                    {"type": "ENERGY", "price": energy_price, "vat": "19", "step_size": 1}
                ]
            }
        ],
    }
    async with database.tenant_transaction(brand.key) as db_session:
        await billing.create_tariff_version(
            db_session,
            definition=definition,
            segment=segment,
            segment_ref=segment_ref,
            idle_fee=None,
            brand_currency="EUR",
            created_by="finance@example.com",
        )
        await billing.assign_tariff(db_session, code)


@dataclass(frozen=True, slots=True)
class Site:
    location_id: uuid.UUID
    station: Any


async def add_site(database: Database, brand: TenantInfo, station_id: str) -> Site:
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session, "Hafen")
        station = await add_roaming_station(db_session, brand, location, station_id)
        return Site(location.id, station)


async def charge(
    database: Database,
    brand: TenantInfo,
    site: Site,
    *,
    id_tag: str,
    roaming_token_id: uuid.UUID | None,
    wh: int = 12_000,
    stop: bool = True,
    authorization_reference: str | None = "AUTH-1",
    start: datetime = T0,
) -> uuid.UUID:
    """A 1.6 session at connector 1 from ``start``: ``wh`` over an hour, stopped when
    ``stop``; roaming with ``roaming_token_id`` as the OCPP authorization would mark it."""
    # Each session its own register start: a 1.6 start's natural key includes it.
    register = next(_REGISTERS)
    async with database.tenant_transaction(brand.key) as db_session:
        # Until the OCPP authorization asks partners, the card must be known to be accepted.
        await ensure_id_token(db_session, id_token=id_tag, token_type="ISO14443", label=None)
        session_id = await add_session_16(
            db_session,
            site.station,
            id_tag=id_tag,
            started_at=start,
            meter_start_wh=register,
            readings=((start + timedelta(minutes=30), register + wh // 2, None),),
            stop=(start + timedelta(hours=1), register + wh, "Local") if stop else None,
        )
        await db_session.execute(
            update(ChargingSession)
            .where(ChargingSession.id == session_id)
            .values(
                roaming_token_id=roaming_token_id,
                authorization_reference=authorization_reference,
            )
        )
    return session_id


async def rate(database: Database, brand: TenantInfo, session_id: uuid.UUID) -> uuid.UUID:
    """The billing run's CDR of the session."""
    async with database.tenant_transaction(brand.key) as db_session:
        cdr = await billing.rate_session(db_session, session_id)
        assert cdr is not None
        return cdr.id


# How the partner MSP's driver's card appears in its Session and CDR objects.
MSP_CDR_TOKEN = {
    "country_code": "NL",
    "party_id": "MSP",
    "uid": "04AABB",
    "type": "RFID",
    "contract_id": "NL-MSP-C04AABB",
}


@dataclass(frozen=True, slots=True)
class Scene:
    msp: Partner
    other: Partner
    site: Site
    mine: uuid.UUID  # MSP's driver's session
    theirs: uuid.UUID  # OTH's driver's session
    own: uuid.UUID  # the brand's own driver's session


async def roaming_scene(
    database: Database,
    secret_key: str,
    brand: TenantInfo,
    station_id: str,
    *,
    receiver_base: str | None = None,
    stop: bool = True,
) -> Scene:
    """Partners MSP (receivers under ``receiver_base``) and OTH (none), the public tariff
    at 0.49 and MSP's roaming tariff at 0.40 a kWh, and three charges at one site (see
    ``charge``): of MSP's driver 04AABB, of OTH's driver 04CCDD, of the brand's OWN-CARD."""
    msp = await add_partner(
        database, secret_key, brand, party_id="MSP", receiver_base=receiver_base
    )
    other = await add_partner(database, secret_key, brand, party_id="OTH")
    await add_tariff(database, brand, "PUBLIC-049", "0.49")
    await add_tariff(
        database, brand, "ROAM-MSP", "0.40", segment=SegmentKind.ROAMING, segment_ref="NL*MSP"
    )
    site = await add_site(database, brand, station_id)
    sessions = [
        await charge(
            database,
            brand,
            site,
            id_tag=id_tag,
            roaming_token_id=(
                await add_roaming_token(database, brand, partner, id_tag) if partner else None
            ),
            stop=stop,
        )
        for id_tag, partner in (("04AABB", msp), ("04CCDD", other), ("OWN-CARD", None))
    ]
    return Scene(msp, other, site, *sessions)


async def _station_and_session(
    db_session: Any, site: Site, session_id: uuid.UUID
) -> tuple[StationRef, ChargingSession]:
    session = await db_session.get(ChargingSession, session_id)
    assert session is not None
    return StationRef(site.station.id, site.station.station_id, "ocpp1.6"), session


async def read_meter(
    database: Database, brand: TenantInfo, site: Site, session_id: uuid.UUID, at: datetime, wh: int
) -> None:
    """A 1.6 MeterValues of the session: ``wh`` charged since its start, at ``at``."""
    async with database.tenant_transaction(brand.key) as db_session:
        station, session = await _station_and_session(db_session, site, session_id)
        assert session.meter_start_wh is not None
        register = session.meter_start_wh + wh
        await charging.meter_values(
            db_session,
            station,
            evse_id=1,
            transaction_id=session.transaction_id,
            samples=[Sample(at, "Energy.Active.Import.Register", Decimal(register), "Wh")],
        )


async def stop_charge(
    database: Database, brand: TenantInfo, site: Site, session_id: uuid.UUID, at: datetime, wh: int
) -> None:
    """A 1.6 StopTransaction of the session with ``wh`` charged in all, at ``at``."""
    async with database.tenant_transaction(brand.key) as db_session:
        station, session = await _station_and_session(db_session, site, session_id)
        assert session.meter_start_wh is not None
        await charging.stop_transaction_v16(
            db_session,
            station,
            transaction_id=int(session.transaction_id),
            meter_stop_wh=int(session.meter_start_wh) + wh,
            timestamp=at,
            reason="Local",
            id_tag=session.id_token,
            transaction_data=[],
        )
