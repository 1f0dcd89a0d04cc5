"""The app's web push endpoints: the VAPID public key, subscribe and unsubscribe.

``POST /api/app/v1/push-subscriptions`` takes the browser's ``PushSubscription.toJSON()``;
it is for the signed-in driver's account, or with ``charge_request`` for one charge: the
driver's own, or a guest's proven by the charge's access secret (``access_key``).
These endpoints authenticate by cookie, and ``/api/`` is outside the CSRF middleware: they
accept JSON only (a cross-site form cannot send it) and refuse a foreign ``Origin``.

The live screen of a guest's charge holds the secret in a cookie that the browser sends to
that charge's pages only (``/charge/live/<id>``): from there ``push.js`` posts to
``/charge/live/<id>/push-subscriptions``, which reads it (and the CSRF token).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromPath, JSONBody
from msgspec import Meta
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import NotFoundError, PermissionDeniedError, VoltlaneError
from voltlane.pwa import push
from voltlane.pwa.auth import signed_in_driver
from voltlane.pwa.charge.common import SECRET_COOKIE
from voltlane.pwa.push_keys import private_endpoints_allowed, vapid_keys
from voltlane.web.context import web_state

PUSH_API = "/api/app/v1/push-subscriptions"
CHARGE_PUSH = "/charge/live/{request_id:uuid}/push-subscriptions"

Text = Annotated[str, Meta(min_length=1, max_length=push.MAX_ENDPOINT)]
Key = Annotated[str, Meta(min_length=1, max_length=200)]


class PushUnavailableError(VoltlaneError):
    status = 503
    title = "Notifications unavailable"


class SignInRequiredError(VoltlaneError):
    status = 401
    title = "Sign-in required"


class PushKeysBody(msgspec.Struct, kw_only=True):
    p256dh: Key
    auth: Key


class SubscribeBody(msgspec.Struct, kw_only=True):
    """A browser's PushSubscription as ``toJSON()`` gives it, and whom it is for."""

    endpoint: Text
    keys: PushKeysBody
    expirationTime: float | None = None  # noqa: N815 - the browser's field name
    charge_request: uuid.UUID | None = None
    access_key: Annotated[str, Meta(min_length=1, max_length=200)] | None = None


class UnsubscribeBody(msgspec.Struct, kw_only=True):
    endpoint: Text


class Subscribed(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    owner: Literal["account", "charge_request"]


class PublicKey(msgspec.Struct, kw_only=True):
    public_key: str


def _same_origin_json(request: Request[Any, Any, Any]) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(status_code=415, detail="Send the subscription as application/json.")
    origin = request.headers.get("origin")
    host = request.headers.get("host", "")
    if origin is not None and origin.split("://", 1)[-1] != host:
        raise PermissionDeniedError("This request comes from another site.")


class PushSubscriptionController(Controller):
    path = PUSH_API
    include_in_schema = False

    @get("/key")
    async def public_key(self, request: Request[Any, Any, Any]) -> PublicKey:
        keys = vapid_keys(web_state(request).settings)
        if keys is None:
            raise PushUnavailableError("This installation sends no notifications.")
        return PublicKey(public_key=keys.public_key)

    @post("/", status_code=201)
    async def subscribe(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[SubscribeBody],
    ) -> Subscribed:
        _same_origin_json(request)
        return await _subscribe(
            request, db_session, data, data.charge_request, access_key=data.access_key
        )

    @delete("/", status_code=204)
    async def unsubscribe(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[UnsubscribeBody],
    ) -> None:
        _same_origin_json(request)
        if not await push.delete_subscription(db_session, data.endpoint):
            raise NotFoundError("No such subscription.", field="endpoint")


class ChargePushController(Controller):
    """Subscribing from a charge's live screen, where the guest's secret cookie arrives."""

    path = CHARGE_PUSH
    include_in_schema = False

    @post("/", status_code=201)
    async def subscribe(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[SubscribeBody],
        request_id: FromPath[uuid.UUID],
    ) -> Subscribed:
        _same_origin_json(request)
        return await _subscribe(
            request,
            db_session,
            data,
            request_id,
            # The charge screens' cookie of this charge's link secret (sent to its pages only).
            access_key=request.cookies.get(SECRET_COOKIE) or data.access_key,
        )


async def _subscribe(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    data: SubscribeBody,
    charge_request: uuid.UUID | None,
    *,
    access_key: str | None,
) -> Subscribed:
    if vapid_keys(web_state(request).settings) is None:
        raise PushUnavailableError("This installation sends no notifications.")
    keys = push.check_subscription(
        data.endpoint,
        data.keys.p256dh,
        data.keys.auth,
        private_endpoints=private_endpoints_allowed(),
    )
    driver = await signed_in_driver(request, db_session)
    account_id = driver.account_id if driver is not None else None
    if charge_request is not None:
        owner = await push.charge_request_owner(
            db_session, charge_request, access_key=access_key, account_id=account_id
        )
    elif account_id is not None:
        owner = push.Owner(account_id=account_id)
    else:
        raise SignInRequiredError("Sign in, or subscribe from the screen of your charge.")
    saved = await push.save_subscription(db_session, keys, owner)
    return Subscribed(
        id=saved, owner="account" if owner.account_id is not None else "charge_request"
    )
