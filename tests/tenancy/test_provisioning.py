"""Provisioning and migrations: from empty, twice, with per-tenant failure reports."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.pool import NullPool

from tests.factories import brand_spec, unique_key
from voltlane.core.db import Database, sync_engine
from voltlane.identity.passwords import verify_station_password
from voltlane.models.platform import TenantStatus
from voltlane.models.tenant import (
    ChargingStation,
    Connector,
    CustomerAccount,
    Evse,
    IdToken,
    Location,
    OperatorUser,
    Role,
    TariffAssignment,
    TariffVersion,
)
from voltlane.seed import TenantFileSeeder, demo_station_password
from voltlane.settings import Settings
from voltlane.tenancy import service as tenancy
from voltlane.tenancy.migrations import head, migrate_tenants
from voltlane.tenancy.ports import get_seeder, set_seeder
from voltlane.tenancy.spec import load_specs

TENANT_TABLES = [
    "alembic_version",
    "alert_rules",
    "alerts",
    "api_keys",
    "audit_log",
    "cdrs",
    "charge_requests",
    "charging_allocations",
    "charging_sessions",
    "charging_stations",
    "charging_targets",
    "connectors",
    "customer_accounts",
    "driver_email_links",
    "driver_logins",
    "driver_sessions",
    "ev_discharge_offers",
    "evse_profile_releases",
    "evses",
    "id_tokens",
    "invoice_cdrs",
    "invoice_counters",
    "invoices",
    "locations",
    "login_attempts",
    "loyalty_entries",
    "meter_samples",
    "notifications",
    "ocpi_client_infos",
    "ocpi_commands",
    "ocpi_partners",
    "ocpi_pushes",
    "ocpi_tokens",
    "ocpp_frames",
    "operator_users",
    "payment_operations",
    "payments",
    "planned_downtimes",
    "push_deliveries",
    "push_subscriptions",
    "session_limits",
    "session_settlements",
    "site_evses",
    "site_readings",
    "site_schedules",
    "sites",
    "staff_sessions",
    "station_commands",
    "station_events",
    "station_profile_support",
    "station_state_periods",
    "stored_payment_methods",
    "subscription_charges",
    "subscription_plans",
    "subscriptions",
    "tariff_assignments",
    "tariffs",
    "transaction_events",
    "wallet_entries",
    "webhook_events",
]


async def _tables(database: Database, schema: str) -> list[str]:
    async with database.platform_session() as db_session:
        rows = await db_session.scalars(
            text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = :s ORDER BY table_name"
            ),
            {"s": schema},
        )
        return list(rows)


async def _counts(database: Database, key: str) -> tuple[int, ...]:
    counts = []
    async with database.tenant_session(key) as db_session:
        for model in (OperatorUser, Location, ChargingStation, Evse, Connector):
            counts.append(await db_session.scalar(select(func.count()).select_from(model)))
    return tuple(int(c or 0) for c in counts)


async def test_provisioning_from_empty_twice_is_idempotent(
    database: Database, settings: Settings
) -> None:
    spec = next(s for s in load_specs(settings.tenants_dir) if s.key == "voltaria")
    previous = get_seeder()
    set_seeder(TenantFileSeeder(settings.tenants_dir, demo_password="demo password 123"))
    try:
        async with database.platform_transaction() as db_session:
            info, created = await tenancy.register_tenant(db_session, spec)
        assert (created, info.status) == (True, TenantStatus.PROVISIONING)
        first = await tenancy.provision_tenant(database, settings.migrations_dir, info.id)
        counts_first = await _counts(database, "voltaria")

        async with database.platform_transaction() as db_session:
            again, created_again = await tenancy.register_tenant(db_session, spec)
        second = await tenancy.provision_tenant(database, settings.migrations_dir, again.id)
        counts_second = await _counts(database, "voltaria")
    finally:
        set_seeder(previous)

    assert created_again is False
    assert (first.status, second.status) == (TenantStatus.ACTIVE, TenantStatus.ACTIVE)
    assert await _tables(database, "tenant_voltaria") == TENANT_TABLES
    # 3 demo users (one the demo fleet's manager), 3 locations, 6 stations, 8 EVSEs,
    # 9 connectors: once, not twice.
    assert counts_first == counts_second == (3, 3, 6, 8, 9)
    async with database.tenant_session("voltaria") as db_session:
        station = await db_session.scalar(
            select(ChargingStation).where(ChargingStation.station_id == "VLT-BER-001")
        )
    async with database.tenant_session("voltaria") as db_session:
        simulators = (
            await db_session.execute(
                select(ChargingStation.station_id, ChargingStation.protocol)
                .where(ChargingStation.protocol.is_not(None))
                .order_by(ChargingStation.station_id)
            )
        ).all()
        fleet_manager = (
            await db_session.execute(
                select(OperatorUser.email, CustomerAccount.name)
                .join(CustomerAccount, CustomerAccount.id == OperatorUser.fleet_account_id)
                .where(OperatorUser.role == Role.FLEET_MANAGER)
            )
        ).all()
        tokens = (
            await db_session.execute(
                select(IdToken.id_token, CustomerAccount.name, IdToken.cost_centre)
                .outerjoin(CustomerAccount, CustomerAccount.id == IdToken.account_id)
                .order_by(IdToken.id_token)
            )
        ).all()
        tariffs = (
            await db_session.execute(
                select(TariffVersion.code, TariffVersion.segment).order_by(TariffVersion.segment)
            )
        ).all()
        assignments = (
            await db_session.execute(select(TariffAssignment.code, TariffAssignment.location_id))
        ).all()
    assert [tuple(r) for r in simulators] == [
        ("VLT-SIM-16", "ocpp1.6"),
        ("VLT-SIM-201", "ocpp2.0.1"),
        ("VLT-SIM-21", "ocpp2.1"),
    ]
    assert [tuple(r) for r in fleet_manager] == [
        ("fuhrpark@spree-logistik.example", "Spree Logistik GmbH")
    ]
    # Two ad-hoc cards, two fleet cards billed monthly to the demo fleet, the demo app
    # driver's card, seeded once.
    assert [tuple(r) for r in tokens] == [
        ("VLTDEMO0001", None, None),
        ("VLTDEMO0002", None, None),
        ("VLTFLEET001", "Spree Logistik GmbH", "Zustellung Mitte"),
        ("VLTFLEET002", "Spree Logistik GmbH", "Kundendienst"),
        ("VLTLENA0001", "Lena Fischer", None),
    ]
    # The demo price list, seeded once and assigned to the whole brand.
    assert [tuple(r) for r in tariffs] == [("VLT-AC", "MEMBER"), ("VLT-AC", "PUBLIC")]
    assert [tuple(r) for r in assignments] == [("VLT-AC", None)]
    # Demo chargers can connect: their password is derived, listed in demo.json, hashed here.
    assert station is not None
    assert verify_station_password(
        station.password_hash, demo_station_password("demo password 123", "voltaria", "VLT-BER-001")
    )
    async with database.platform_session() as db_session:
        version = await db_session.scalar(
            text("SELECT version_num FROM tenant_voltaria.alembic_version")
        )
    assert version == head(settings.migrations_dir, "tenant")


async def test_register_refuses_a_domain_of_another_brand(database: Database, make_brand) -> None:
    host = f"{unique_key('h')}.example"
    await make_brand(domains=[host])
    async with database.platform_transaction() as db_session:
        with pytest.raises(tenancy.TenantConflictError, match="belongs to another brand"):
            await tenancy.register_tenant(db_session, brand_spec(domains=[host]))


async def test_migration_runner_reports_failures_per_tenant(
    database: Database, settings: Settings, make_brand
) -> None:
    healthy = await make_brand()
    broken = unique_key("b")
    # A schema whose tables clash with the first migration: upgrading it must fail alone.
    async with database.platform_transaction() as db_session:
        await db_session.execute(text(f'CREATE SCHEMA "tenant_{broken}"'))
        await db_session.execute(text(f'CREATE TABLE "tenant_{broken}".locations (x int)'))
    engine = sync_engine(database.url, poolclass=NullPool)
    try:
        report = migrate_tenants(engine, settings.migrations_dir, [broken, healthy.key])
    finally:
        engine.dispose()
    assert report.up_to_date == [healthy.key]
    assert report.upgraded == []
    assert list(report.failed) == [broken]
    assert 'relation "locations" already exists' in report.failed[broken]
    # All or nothing: the failed schema kept no half-applied migration.
    assert await _tables(database, f"tenant_{broken}") == ["locations"]


async def test_a_failed_provisioning_is_recorded_on_the_brand(
    database: Database, settings: Settings
) -> None:
    spec = brand_spec()

    class FailingSeeder:
        async def seed(self, db_session: object, tenant: object) -> None:
            raise RuntimeError("seed data unreadable")

    previous = get_seeder()
    set_seeder(FailingSeeder())
    try:
        async with database.platform_transaction() as db_session:
            info, _ = await tenancy.register_tenant(db_session, spec)
        with pytest.raises(RuntimeError, match="seed data unreadable"):
            await tenancy.provision_tenant(database, settings.migrations_dir, info.id)
    finally:
        set_seeder(previous)
    async with database.platform_session() as db_session:
        brands = {b.key: b for b in await tenancy.list_tenants(db_session)}
    assert brands[spec.key].status is TenantStatus.FAILED
