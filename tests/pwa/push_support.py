"""What the web push tests share: VAPID keys in the environment, a signed-in driver, a
charge request, the stored subscriptions."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from tests.fakes.push import b64url
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.identity.drivers.sessions import open_session
from voltlane.models.tenant import (
    AccountKind,
    ChargeRequest,
    ChargeRequestStatus,
    CustomerAccount,
    DriverLogin,
    Evse,
    Invoicing,
    PushSubscription,
)
from voltlane.pwa.push_keys import VapidKeys
from voltlane.tenancy import TenantInfo

SUBJECT = "mailto:push-ops@voltaria.example"
API = "/api/app/v1/push-subscriptions"
JSON = {"content-type": "application/json"}


@pytest.fixture
def vapid(monkeypatch: pytest.MonkeyPatch) -> VapidKeys:
    """A VAPID key pair in the environment; push endpoints on this machine are allowed."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    monkeypatch.setenv("VOLTLANE_VAPID_PRIVATE_KEY", raw)
    monkeypatch.setenv("VOLTLANE_VAPID_SUBJECT", SUBJECT)
    monkeypatch.setenv("VOLTLANE_PUSH_PRIVATE_ENDPOINTS", "1")
    return VapidKeys(key, SUBJECT)


async def add_driver(database: Database, brand: TenantInfo) -> tuple[uuid.UUID, str]:
    """A signed-in driver: their account id and the app session cookie's token."""
    async with database.tenant_transaction(brand.key) as db_session:
        account = CustomerAccount(
            kind=AccountKind.DRIVER,
            name="Amara Okafor",
            email="amara@example.com",
            locale="en_GB",
            country="GB",
            invoicing=Invoicing.PER_SESSION,
        )
        db_session.add(account)
        await db_session.flush()
        login = DriverLogin(
            account_id=account.id,
            email="amara@example.com",
            password_hash="unused: the session is opened directly",
            email_verified_at=utcnow(),
        )
        db_session.add(login)
        await db_session.flush()
        token = await open_session(db_session, login, previous_token=None, user_agent="pytest")
        return account.id, token


async def add_charge_request(
    database: Database,
    brand: TenantInfo,
    *,
    account_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    secret: str = "guest-link-secret",
    locale: str | None = None,
) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        evse_id = await db_session.scalar(select(Evse.id).limit(1))
        request = ChargeRequest(
            evse_id=evse_id,
            account_id=account_id,
            guest_email=None if account_id else "guest@example.com",
            id_token="VLAPP" + secrets.token_hex(7).upper(),
            access_hash=hashlib.sha256(secret.encode()).hexdigest(),
            status=ChargeRequestStatus.CHARGING,
            session_id=session_id,
            locale=locale,
        )
        db_session.add(request)
        await db_session.flush()
        return request.id


async def subscriptions(database: Database, brand: TenantInfo) -> list[tuple[Any, ...]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.execute(
            select(
                PushSubscription.endpoint,
                PushSubscription.account_id,
                PushSubscription.charge_request_id,
            ).order_by(PushSubscription.endpoint)
        )
        return [tuple(r) for r in rows]
