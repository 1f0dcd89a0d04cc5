"""A session's segment for the site's priority weights is read as billing reads it: a
fleet account's card is ``fleet`` or, when the site weighs its contract, ``fleet:<ref>``;
another brand card ``member``; no known account still ``member``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from tests.factories import add_fleet_account, add_location, add_session_16, add_station
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AccountKind,
    ChargingSession,
    CustomerAccount,
    Evse,
    IdToken,
    IdTokenStatus,
    ProfileSupport,
    StationProfileSupport,
)
from voltlane.smart_charging import site_state
from voltlane.smart_charging import sites as service
from voltlane.smart_charging.sites import SiteInput
from voltlane.tenancy import TenantInfo

D = Decimal
WEIGHTS = {"fleet": 10, "fleet:RV-2026-7": 30, "member": 5, "public": -5}


async def _charging(database: Database, brand: TenantInfo) -> uuid.UUID:
    now = utcnow()
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        site = await service.create_site(
            db_session,
            SiteInput(
                name="Depot",
                capacity_a=D(100),
                safe_limit_a=D(40),
                segment_priorities=WEIGHTS,
            ),
        )
        contracted = await add_fleet_account(db_session, contract="RV-2026-7")
        plain_fleet = await add_fleet_account(db_session, name="Ohne Vertrag", contract=None)
        member = await add_fleet_account(db_session, kind=AccountKind.DRIVER, name="Ada")
        cards = {
            "S-CONTRACT": contracted,
            "S-FLEET": plain_fleet,
            "S-MEMBER": member,
            "S-UNKNOWN": None,
        }
        for card, account in cards.items():
            station = await add_station(db_session, location, card)
            evse_pk = await db_session.scalar(
                select(Evse.id).where(Evse.charging_station_id == station.id)
            )
            assert evse_pk is not None
            await service.assign_evse(db_session, site.id, evse_pk, priority=1)
            db_session.add(
                StationProfileSupport(
                    charging_station_id=station.id,
                    status=ProfileSupport.SUPPORTED,
                    checked_at=now - timedelta(hours=1),
                )
            )
            session_id = await add_session_16(
                db_session,
                station,
                id_tag=f"CARD-{card}",
                started_at=now - timedelta(minutes=5),
                meter_start_wh=0,
            )
            session = await db_session.get(ChargingSession, session_id)
            assert session is not None
            assert session.id_token_type is not None
            if account is not None:
                db_session.add(
                    IdToken(
                        id_token=f"CARD-{card}",
                        type=session.id_token_type,
                        status=IdTokenStatus.ACCEPTED,
                        account_id=account.id,
                    )
                )
        return site.id


async def test_fleet_and_fleet_contract_weigh_as_the_site_says(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    site_id = await _charging(database, brand)
    now = utcnow()
    async with database.tenant_session(brand.key) as db_session:
        state = await site_state.load(db_session, site_id, now)
        kinds = {a.name: a.kind for a in await db_session.scalars(select(CustomerAccount))}
    assert kinds["Ada"] is AccountKind.DRIVER
    assert state is not None
    _, demands, live, _ = site_state.demands(state, site_id, now)
    assert {live[d.key].slot.station_id: d.priority for d in demands} == {  # type: ignore[index]
        "S-CONTRACT": 31,
        "S-FLEET": 11,
        "S-MEMBER": 6,
        "S-UNKNOWN": 6,
    }
