"""E-mails written to drivers and fleet managers, for support: sent or not, and why."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from msgspec import Meta
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.auth import ApiCaller
from voltlane.api.common import DEFAULT_LIMIT, Limit, Offset, audit
from voltlane.identity import notifications
from voltlane.models.tenant import Notification
from voltlane.web.context import current_tenant


class NotificationRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: str
    recipient: str
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None

    @classmethod
    def of(cls, n: Notification) -> NotificationRead:
        return cls(
            id=n.id,
            kind=n.kind,
            recipient=n.recipient,
            subject=n.subject,
            body=n.body,
            created_at=n.created_at,
            sent_at=n.sent_at,
            attempts=n.attempts,
            last_error=n.last_error,
        )


class NotificationPage(msgspec.Struct):
    items: list[NotificationRead]
    total: int


class NotificationController(Controller):
    path = "/notifications"
    tags = ["Notifications"]

    @get("/", summary="E-mails to customers, newest first")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        recipient: Annotated[str | None, Meta(max_length=254)] = None,
        unsent: FromQuery[bool | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> NotificationPage:
        rows, total = await notifications.list_notifications(
            db_session, recipient=recipient, unsent=unsent, limit=limit, offset=offset
        )
        return NotificationPage([NotificationRead.of(n) for n in rows], total)

    @post("/{notification_id:uuid}/resend", summary="Send an unsent e-mail again", status_code=202)
    async def resend(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        notification_id: FromPath[uuid.UUID],
    ) -> NotificationRead:
        notification = await notifications.resend(
            db_session, current_tenant(request).key, notification_id
        )
        await audit(
            db_session,
            request,
            caller,
            action="api.notification.resend",
            entity="notification",
            entity_id=notification_id,
        )
        return NotificationRead.of(notification)
