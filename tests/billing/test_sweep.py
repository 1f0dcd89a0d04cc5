"""The periodic sweep: CDRs for sessions left unrated, captures still owed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.billing.providers.test_providers import stripe_at
from tests.billing.test_cdrs import (
    ENERGY_039,
    add_tariff,
    charge_16,
    ocpi_tariff,
    only_session,
    stop_16,
)
from tests.billing.test_payments import add_cdr, fake_stripe, finished_session, pre_authorize
from tests.ocpp.conftest import add_ocpp_station, add_token, gateway, open_charger
from voltlane import billing
from voltlane.billing import payments
from voltlane.billing import tasks as billing_tasks
from voltlane.core.db import Database
from voltlane.models.tenant import Cdr
from voltlane.settings import Settings
from voltlane.worker import JobContext
from voltlane.worker import outbox as outbox_module
from voltlane.worker.models import OutboxMessage

__all__ = ["fake_stripe", "gateway", "open_charger"]


async def _queued(database: Database, actor: str, tenant: str) -> list[dict[str, str]]:
    async with database.platform_session() as db_session:
        rows = await db_session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.actor_name == actor,
                OutboxMessage.message["kwargs"]["tenant"].astext == tenant,
            )
        )
        return [row.message["kwargs"] for row in rows]


async def test_a_session_without_a_tariff_is_rated_by_the_sweep_once_one_is_assigned(
    database: Database,
    settings: Settings,
    make_brand,
    open_charger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox_module, "_relay", None)
    jobs = JobContext(database=database, settings=settings)
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP16")
    await add_token(database, brand, "RFID0001")
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await stop_16(cp, await charge_16(cp))
    session = await only_session(database, brand)
    with pytest.raises(billing.NoTariffError):
        await billing_tasks.rate(jobs, tenant=brand.key, session_id=str(session.id))
    await add_tariff(database, brand, ocpi_tariff("AC-STD", ENERGY_039))

    await billing_tasks.sweep(jobs)
    await billing_tasks.rate_pending_of(jobs, tenant=brand.key)
    async with database.tenant_session(brand.key) as db_session:
        cdrs = (await db_session.scalars(select(Cdr))).all()

    assert await _queued(database, billing_tasks.RATE_PENDING, brand.key) == [{"tenant": brand.key}]
    assert await _queued(database, billing_tasks.CAPTURE_OWED, brand.key) == [{"tenant": brand.key}]
    # 7.25 kWh x 0.39 = 2.8275 -> 2.83 net, 0.54 VAT.
    assert [(c.session_id, c.total_excl_vat, c.total_vat) for c in cdrs] == [(session.id, 283, 54)]


async def test_a_cdr_whose_payment_is_still_authorized_gets_a_capture_job(
    database: Database,
    settings: Settings,
    make_brand,
    fake_stripe,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox_module, "_relay", None)
    _fake, url = fake_stripe
    brand = await make_brand()
    session_id = await finished_session(database, brand)
    await pre_authorize(database, brand, session_id, stripe_at(url), "pm_card_visa")
    cdr_id = await add_cdr(database, brand, session_id, total=1234)

    await billing_tasks.capture_owed(
        JobContext(database=database, settings=settings), tenant=brand.key
    )

    assert await _queued(database, payments.CAPTURE_PAYMENT_TASK, brand.key) == [
        {"tenant": brand.key, "cdr_id": str(cdr_id)}
    ]
