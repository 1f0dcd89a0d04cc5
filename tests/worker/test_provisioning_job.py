"""A brand created while the platform runs is provisioned by the worker and served at once."""

from __future__ import annotations

import asyncio
import time

import dramatiq

from tests.factories import brand_spec
from voltlane.core.db import Database
from voltlane.models.platform import TenantStatus
from voltlane.settings import Settings
from voltlane.tenancy import service as tenancy
from voltlane.worker.broker import BrokerSink
from voltlane.worker.outbox import OutboxRelay, install_relay
from voltlane.worker.runtime import WorkerRuntime


async def _status(database: Database, slug: str) -> TenantStatus:
    async with database.platform_session() as db_session:
        return (await tenancy.get_tenant(db_session, slug)).status


async def test_tenancy_provision_job_runs_on_a_real_worker(
    database: Database, settings: Settings, database_url: str, broker: dramatiq.Broker, client_for
) -> None:
    spec = brand_spec(name="Late Arrival")
    host = f"{spec.slug}.localhost"
    runtime = WorkerRuntime(settings, database_url, broker)
    relay = OutboxRelay(BrokerSink(broker))
    # No periodic jobs: their catch-up would reach every brand of the test database.
    await asyncio.to_thread(runtime.start, threads=1, relay=relay, schedules=False)
    install_relay(relay)
    try:
        async with client_for(host) as client:
            before = await client.get("/portal/login")
        async with database.platform_transaction() as db_session:
            info, _ = await tenancy.register_tenant(db_session, spec)
            await tenancy.request_provisioning(db_session, info.id)
        # Generous: on a loaded machine the worker may first work off other tests' jobs.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if await _status(database, spec.slug) is TenantStatus.ACTIVE:
                break
            await asyncio.sleep(0.1)
        async with client_for(host) as client:
            after = await client.get("/portal/login", headers={"accept": "text/html"})
    finally:
        install_relay(None)
        await asyncio.to_thread(runtime.stop)
    assert before.status_code == 404
    assert await _status(database, spec.slug) is TenantStatus.ACTIVE
    assert after.status_code == 200
    assert '<span class="brand-name" data-testid="brand-name">Late Arrival</span>' in after.text
