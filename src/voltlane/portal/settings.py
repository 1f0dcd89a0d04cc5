"""Settings of the brand: its API keys (users and roles are in ``settings_users``, the brand
profile in ``settings_brand``).

A new user's initial password and a new API key's secret are shown once: the POST seals
them (AES-GCM under the server key) into a short-lived cookie, redirects, and the page that
shows them clears it, so a reload or the back button never shows them again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.sealing import SealError, seal, unseal
from voltlane.identity import api_keys
from voltlane.identity import service as identity
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.listing import ListView, list_response
from voltlane.portal.pages import Format, PageNumber, render
from voltlane.web.auth import http_only_cookie, provide_staff, requires
from voltlane.web.context import client_ip, web_state
from voltlane.web.i18n import N_

SETTINGS = "/portal/settings"
ONCE_COOKIE = "vl_once"
ONCE_SECONDS = 300

API_KEY_COLUMNS = (
    ("prefix", lambda k: k.prefix),
    ("name", lambda k: k.name),
    ("access", lambda _k: "operator_api"),
    ("created_by", lambda k: k.created_by),
    ("created_at", lambda k: k.created_at),
    ("last_used_at", lambda k: k.last_used_at),
    ("revoked_at", lambda k: k.revoked_at),
)

API_KEYS = ListView(
    "api-keys.csv",
    API_KEY_COLUMNS,
    "portal/settings/api_keys.html",
    "portal/settings/_api_keys.html",
)


def once_cookie(request: Request[Any, Any, Any], kind: str, ref: uuid.UUID, secret: str) -> Any:
    payload = json.dumps({"kind": kind, "id": str(ref), "secret": secret}).encode()
    sealed = seal(web_state(request).settings.secret_key, payload)
    return http_only_cookie(request, ONCE_COOKIE, sealed, ONCE_SECONDS)


def take_once(request: Request[Any, Any, Any], kind: str, ref: uuid.UUID) -> str | None:
    """The secret sealed for ``kind`` ``ref`` by the redirecting POST, if still there."""
    token = request.cookies.get(ONCE_COOKIE)
    if not token:
        return None
    try:
        payload = json.loads(unseal(web_state(request).settings.secret_key, token))
    except (SealError, ValueError):
        return None
    if payload.get("kind") != kind or payload.get("id") != str(ref):
        return None
    secret = payload.get("secret")
    return secret if isinstance(secret, str) else None


def shown_once(
    request: Request[Any, Any, Any],
    admin: StaffIdentity,
    kind: str,
    ref: uuid.UUID,
    *,
    title: str,
    subject: str,
    back: str,
) -> Response[str]:
    """The page that shows a new secret once (or says it was shown), clearing its cookie."""
    response = render(
        request,
        admin,
        "portal/settings/secret.html",
        {
            "title": title,
            "subject": subject,
            "secret": take_once(request, kind, ref),
            "back": back,
            "kind": kind,
        },
        headers={"Cache-Control": "no-store"},
    )
    response.cookies.append(http_only_cookie(request, ONCE_COOKIE, "", 0))
    return response


class ApiKeysController(Controller):
    path = SETTINGS
    include_in_schema = False
    dependencies = {
        "staff": Provide(provide_staff),
        "admin": Provide(requires(Permission.SETTINGS_WRITE)),
    }

    @get("/api-keys")
    async def api_keys_index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        return await self._api_keys(request, db_session, admin, page=page, format=format)

    async def _api_keys(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        admin: StaffIdentity,
        *,
        page: int = 1,
        format: str = "html",  # noqa: A002 - the query parameter's name
        name: str = "",
        errors: Mapping[str, str] | None = None,
    ) -> Response[Any]:

        async def fetch(limit: int, offset: int) -> Sequence[Any]:
            return await api_keys.list_api_keys_page(db_session, limit=limit, offset=offset)

        return await list_response(
            request,
            admin,
            API_KEYS,
            fetch,
            page=page,
            format=format,
            errors=errors,
            context={"name": name},
        )

    @post("/api-keys", status_code=303)
    async def create_api_key(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        form = await request.form()
        name = str(form.get("name") or "").strip()
        errors: dict[str, str] = {}
        if not name:
            errors["name"] = N_("Enter a name that says who uses the key.")
        elif len(name) > api_keys.MAX_NAME:
            errors["name"] = N_("At most 120 characters.")
        if errors:
            return await self._api_keys(request, db_session, admin, name=name, errors=errors)
        key, secret = await api_keys.create_api_key(db_session, name=name, created_by=admin.email)
        await identity.audit_staff(
            db_session,
            admin,
            action="portal.api_key.create",
            entity="api_key",
            entity_id=key.id,
            detail={"name": key.name, "prefix": key.prefix},
            ip=client_ip(request),
        )
        return Redirect(
            f"{SETTINGS}/api-keys/{key.id}/created",
            status_code=303,
            cookies=[once_cookie(request, "api_key", key.id, secret)],
        )

    @get("/api-keys/{key_id:uuid}/created")
    async def api_key_created(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
        key_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        key = await api_keys.get_api_key(db_session, key_id)
        return shown_once(
            request,
            admin,
            "api_key",
            key.id,
            title=N_("API key created"),
            subject=key.name,
            back=f"{SETTINGS}/api-keys",
        )

    @post("/api-keys/{key_id:uuid}/revoke", status_code=303)
    async def revoke_api_key(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
        key_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        key = await api_keys.revoke_api_key(db_session, key_id)
        await identity.audit_staff(
            db_session,
            admin,
            action="portal.api_key.revoke",
            entity="api_key",
            entity_id=key.id,
            detail={"name": key.name, "prefix": key.prefix},
            ip=client_ip(request),
        )
        return Redirect(f"{SETTINGS}/api-keys", status_code=303)
