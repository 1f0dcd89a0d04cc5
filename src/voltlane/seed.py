"""Seeds a provisioned brand from its tenant file: demo staff and demo network.

Runs on every provisioning and sync, so each step creates only what is missing. Demo data
is seeded only in demo mode; demo staff share one password from the environment or from
the demo data directory (never from the tenant file).
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import logging
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane import billing
from voltlane.billing import accounts as billing_accounts
from voltlane.charging import service as charging
from voltlane.identity import api_keys
from voltlane.identity import service as identity
from voltlane.identity.drivers import accounts as drivers
from voltlane.models.tenant import AccountKind, Invoicing, Role
from voltlane.smart_charging import overview as smart_charging
from voltlane.smart_charging import sites
from voltlane.station import service as stations
from voltlane.station.schemas import ConnectorCreate, EvseCreate, LocationCreate, StationCreate
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import DemoSite, TenantSpec, load_specs

log = logging.getLogger(__name__)


def demo_station_password(demo_password: str, tenant_key: str, station_id: str) -> str:
    """The Basic-auth password of a demo station: derived, so `voltlane run` can list it in
    demo.json on every start without storing it (24 URL-safe characters)."""
    digest = hmac.new(demo_password.encode(), f"{tenant_key}/{station_id}".encode(), "sha256")
    return base64.urlsafe_b64encode(digest.digest()).decode()[:24]


def demo_api_key_secret(demo_password: str, tenant_key: str) -> str:
    """The secret of a brand's demo API key: derived like the station passwords (43
    URL-safe characters, 256 bits), so demo.json can list the key on every start."""
    digest = hmac.new(demo_password.encode(), f"api/{tenant_key}".encode(), "sha256")
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


async def _seed_sites(db_session: AsyncSession, demo_sites: list[DemoSite]) -> None:
    """Each demo site that does not exist yet (by name), with its EVSEs."""
    existing = {site.name for site in await smart_charging.list_sites(db_session)}
    for demo_site in demo_sites:
        if demo_site.name in existing:
            continue
        location = (
            None
            if demo_site.location is None
            else await stations.find_location(db_session, demo_site.location)
        )
        site = await sites.create_site(
            db_session,
            sites.SiteInput(
                name=demo_site.name,
                capacity_a=Decimal(demo_site.capacity_a),
                safe_limit_a=Decimal(demo_site.safe_limit_a),
                phases=demo_site.phases,
                min_current_a=Decimal(demo_site.min_current_a),
                allocation_period_s=demo_site.allocation_period_s,
                location_id=None if location is None else location.id,
                discharge_limit_a=None
                if demo_site.discharge_limit_a is None
                else Decimal(demo_site.discharge_limit_a),
            ),
        )
        for demo_evse in demo_site.evses:
            found = await stations.find_station(db_session, demo_evse.station_id)
            assert found is not None, "checked with the tenant file: seeded above"
            station = await stations.get_station(db_session, found.id)
            evse = next(e for e in station.evses if e.evse_id == demo_evse.evse_id)
            await sites.assign_evse(
                db_session,
                site.id,
                evse.id,
                priority=demo_evse.priority,
                phases=demo_evse.phases,
            )


class TenantFileSeeder:
    """Implements ``tenancy.ports.Seeder`` from ``tenants/*.toml``."""

    def __init__(self, tenants_dir: Path, *, demo_password: str | None) -> None:
        self.tenants_dir = tenants_dir
        self.demo_password = demo_password

    def _spec(self, key: str) -> TenantSpec | None:
        if not self.tenants_dir.is_dir():
            return None
        return next((s for s in load_specs(self.tenants_dir) if s.key == key), None)

    async def seed(self, db_session: AsyncSession, tenant: TenantInfo) -> None:
        spec = self._spec(tenant.key)
        if spec is None or self.demo_password is None:
            return
        for loc in spec.demo.locations:
            location = await stations.find_location(db_session, loc.name)
            if location is None:
                location = await stations.create_location(
                    db_session,
                    LocationCreate(
                        name=loc.name,
                        address=loc.address,
                        city=loc.city,
                        postal_code=loc.postal_code,
                        country=loc.country,
                        latitude=Decimal(str(loc.latitude)),
                        longitude=Decimal(str(loc.longitude)),
                        timezone=loc.timezone,
                        opening_hours=loc.opening_hours,
                    ),
                )
            for st in loc.stations:
                if await stations.find_station(db_session, st.station_id) is not None:
                    continue
                station, _password = await stations.create_station(
                    db_session,
                    location,
                    password=demo_station_password(self.demo_password, tenant.key, st.station_id),
                    data=StationCreate(
                        station_id=st.station_id,
                        vendor=st.vendor,
                        model=st.model,
                        serial_number=st.serial_number,
                        security_profile=st.security_profile,
                        evses=tuple(
                            EvseCreate(
                                emi3_id=e.emi3_id,
                                physical_reference=e.physical_reference,
                                connectors=tuple(
                                    ConnectorCreate(
                                        standard=c.standard,
                                        format=c.format,
                                        power_type=c.power_type,
                                        max_voltage=c.max_voltage,
                                        max_amperage=c.max_amperage,
                                        max_electric_power=c.max_electric_power,
                                    )
                                    for c in e.connectors
                                ),
                            )
                            for e in st.evses
                        ),
                    ),
                )
                # A simulator station is known to speak this version before it connects.
                station.protocol = st.protocol
        await _seed_sites(db_session, spec.demo.sites)
        with contextlib.suppress(api_keys.DuplicateApiKeyError):  # seeded on an earlier run
            async with db_session.begin_nested():
                await api_keys.create_api_key(
                    db_session,
                    name="Demo API key",
                    created_by="demo seed",
                    secret=demo_api_key_secret(self.demo_password, tenant.key),
                )
        account_ids = {}
        for account in spec.demo.accounts:
            row = await billing_accounts.ensure_account(
                db_session,
                billing_accounts.AccountCreate(
                    kind=AccountKind(account.kind),
                    name=account.name,
                    locale=account.locale,
                    country=account.country,
                    invoicing=Invoicing(account.invoicing),
                    email=account.email,
                    street=account.street,
                    postal_code=account.postal_code,
                    city=account.city,
                    vat_id=account.vat_id,
                    buyer_reference=account.buyer_reference,
                    payment_terms_days=account.payment_terms_days,
                ),
            )
            account_ids[account.name] = row.id
        # Staff after the accounts: a fleet manager belongs to one of them.
        for user in spec.demo.users:
            await identity.ensure_operator_user(
                db_session,
                email=user.email,
                name=user.name,
                password=self.demo_password,
                role=Role(user.role),
                fleet_account_id=account_ids[user.account] if user.account else None,
            )
        for login in spec.demo.drivers:
            await drivers.ensure_demo_login(
                db_session,
                account_id=account_ids[login.account],
                email=login.email,
                password=self.demo_password,
            )
        for token in spec.demo.id_tokens:
            await charging.ensure_id_token(
                db_session,
                id_token=token.id_token,
                token_type=token.type,
                label=token.label,
                account_id=account_ids[token.account] if token.account else None,
                driver_name=token.driver_name,
                vehicle=token.vehicle,
                cost_centre=token.cost_centre,
            )
        for tariff in spec.demo.tariffs:
            code = str(tariff.definition.get("id"))
            existing, _ = await billing.list_tariffs(db_session, code=code, limit=200, offset=0)
            if any(v.segment == tariff.segment for v in existing):
                continue
            await billing.create_tariff_version(
                db_session,
                definition=tariff.definition,
                segment=SegmentKind(tariff.segment),
                segment_ref=None,
                idle_fee=tariff.idle_fee,
                brand_currency=tenant.currency,
                created_by="demo seed",
            )
            await billing.assign_tariff(db_session, code)
        log.info("tenant seeded", extra={"tenant": tenant.key})
