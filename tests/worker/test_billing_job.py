"""A session stopped at a charger is rated by the worker: its CDR appears without anyone asking."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from tests.billing.test_cdrs import brand_charging_at_039, charge_16, stop_16
from tests.ocpp.conftest import gateway, open_charger
from voltlane.core.db import Database
from voltlane.models.tenant import Cdr
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.worker.broker import BrokerSink, build_broker
from voltlane.worker.outbox import OutboxRelay, install_relay
from voltlane.worker.runtime import WorkerRuntime

__all__ = ["gateway", "open_charger"]


async def _cdrs(database: Database, brand: TenantInfo) -> list[Cdr]:
    async with database.tenant_session(brand.key) as db_session:
        return list((await db_session.scalars(select(Cdr))).all())


async def test_billing_rate_session_job_makes_the_cdr_on_a_real_worker(
    database: Database,
    settings: Settings,
    database_url: str,
    make_brand,
    open_charger,
) -> None:
    brand = await brand_charging_at_039(database, make_brand)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    # A broker of its own: stopping a worker closes its broker.
    broker = build_broker(None, database_url)
    runtime = WorkerRuntime(settings, database_url, broker)
    relay = OutboxRelay(BrokerSink(broker))
    # No periodic jobs: their catch-up would reach every brand of the test database.
    await asyncio.to_thread(runtime.start, threads=1, relay=relay, schedules=False)
    install_relay(relay)
    try:
        await stop_16(cp, await charge_16(cp))
        # One worker thread shares the queue with jobs other tests left behind: on a loaded
        # machine the rating can take a while to come up.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if await _cdrs(database, brand):
                break
            await asyncio.sleep(0.1)
    finally:
        install_relay(None)
        await asyncio.to_thread(runtime.stop)

    [cdr] = await _cdrs(database, brand)
    # 7.25 kWh x 0.39 = 2.8275 -> 2.83 net, VAT 19 % = 0.5377 -> 0.54, 3.37 in total.
    assert (cdr.tariff_code, cdr.total_excl_vat, cdr.total_vat, cdr.total_incl_vat) == (
        "AC-STD",
        283,
        54,
        337,
    )
