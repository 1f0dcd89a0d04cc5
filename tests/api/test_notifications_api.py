"""Support sees the e-mails written to customers and sends an unsent one again."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

import voltlane.identity.tasks  # noqa: F401 - registers identity.send_notification
from tests.api.conftest import issue_key
from tests.fakes.smtp import smtp_server
from voltlane.core.db import Database
from voltlane.core.mail import SmtpServer
from voltlane.identity.notifications import queue_email, send_notification
from voltlane.tenancy import TenantInfo
from voltlane.worker import outbox as outbox_module
from voltlane.worker.models import OutboxMessage


async def write(database: Database, brand: TenantInfo, reference: str, recipient: str) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        found = await queue_email(
            db_session,
            brand.key,
            kind="test.hello",
            reference=reference,
            recipient=recipient,
            subject=f"Hello {reference}",
            body="Hello",
        )
    assert found is not None
    return found


async def test_support_lists_mails_and_resends_an_unsent_one(
    database: Database, make_brand, api_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module, "_relay", None)
    brand = await make_brand()
    sent = await write(database, brand, "a", "lena@example.com")
    unsent = await write(database, brand, "b", "Lena@Example.com")
    await write(database, brand, "c", "ole@example.com")
    with smtp_server() as (_, url):
        await send_notification(
            database,
            brand.key,
            sent,
            server=SmtpServer.parse(url),
            sender_name="V",
            sender="v@x.io",
        )
    await send_notification(
        database, brand.key, unsent, server=None, sender_name="V", sender="v@x.io"
    )
    key = await issue_key(database, brand)

    async with api_for(brand, key) as client:
        lena = await client.get("/api/v1/notifications", params={"recipient": "LENA@example.com"})
        waiting = await client.get(
            "/api/v1/notifications", params={"recipient": "lena@example.com", "unsent": "true"}
        )
        resent = await client.post(f"/api/v1/notifications/{unsent}/resend")
        twice = await client.post(f"/api/v1/notifications/{sent}/resend")
        unknown = await client.post(f"/api/v1/notifications/{uuid.uuid4()}/resend")
    async with database.tenant_session(brand.key) as db_session:
        jobs = (
            await db_session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.actor_name == "identity.send_notification"
                )
            )
        ).all()

    assert lena.json()["total"] == 2
    assert [(n["subject"], n["sent_at"] is None) for n in lena.json()["items"]] == [
        ("Hello b", True),
        ("Hello a", False),
    ]
    [item] = waiting.json()["items"]
    assert (item["id"], item["attempts"], item["last_error"]) == (
        str(unsent),
        1,
        "no SMTP server configured (VOLTLANE_SMTP_URL)",
    )
    assert resent.status_code == 202
    assert twice.status_code == 409
    assert unknown.status_code == 404
    # One job per written mail, and one more for the resend.
    assert [j.message["kwargs"]["notification_id"] for j in jobs].count(str(unsent)) == 2
