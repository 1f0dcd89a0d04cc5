"""Roaming: the brand's OCPI partners for operations staff — who is connected, what we owe
them, and the handshake in both directions (a registration token to hand out, or a
partner's versions URL and token to register with).

The portal sits beside the OCPI package and does not import it: the handshake and the
retry arrive through the ``RoamingAdmin`` port, wired in ``app.wire``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.db import Database
from voltlane.identity import service as identity
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import OcpiPartner, OcpiPush, PartnerInitiator, PartnerState, PushState
from voltlane.portal.pages import render
from voltlane.portal.settings import ONCE_COOKIE, once_cookie, take_once
from voltlane.tenancy import TenantInfo
from voltlane.web.auth import http_only_cookie, provide_staff, requires
from voltlane.web.context import client_ip, current_tenant, web_state
from voltlane.web.i18n import N_

ROAMING = "/portal/roaming"
LAST_PUSHES = 50

STATE_LABELS = {
    PartnerState.PENDING: N_("Waiting for the partner"),
    PartnerState.REGISTERED: N_("Connected"),
    PartnerState.SUSPENDED: N_("Suspended"),
    PartnerState.UNREGISTERED: N_("Ended"),
}
INITIATOR_LABELS = {
    PartnerInitiator.US: N_("We registered"),
    PartnerInitiator.THEM: N_("The partner registered"),
}
PUSH_LABELS = {
    PushState.PENDING: N_("Waiting"),
    PushState.SENT: N_("Sent"),
    PushState.FAILED: N_("Failed"),
    PushState.SUPERSEDED: N_("Replaced"),
}


class RoamingAdmin(Protocol):
    """What the portal asks of the OCPI package."""

    def versions_url(self, request: Request[Any, Any, Any]) -> str: ...

    async def issue_token(
        self, database: Database, brand: TenantInfo, name: str
    ) -> tuple[uuid.UUID, str]: ...

    async def register(
        self,
        database: Database,
        brand: TenantInfo,
        secret_key: str,
        *,
        name: str,
        versions_url: str,
        token_a: str,
        our_versions_url: str,
    ) -> tuple[uuid.UUID | None, dict[str, str]]:
        """The new partner, or the errors by form field."""
        ...

    async def rotate(
        self,
        database: Database,
        brand: TenantInfo,
        secret_key: str,
        partner_id: uuid.UUID,
        *,
        our_versions_url: str,
    ) -> str | None:
        """New tokens both ways (PUT on the partner's credentials); the failure, if any."""
        ...

    async def unregister(
        self, database: Database, brand: TenantInfo, secret_key: str, partner_id: uuid.UUID
    ) -> str | None:
        """The partner's refusal, if any (the connection ends here all the same)."""
        ...

    async def set_suspended(
        self, db_session: AsyncSession, partner_id: uuid.UUID, suspended: bool
    ) -> bool: ...

    async def retry(
        self, db_session: AsyncSession, tenant_key: str, push_id: uuid.UUID
    ) -> bool: ...

    async def resync(
        self, db_session: AsyncSession, tenant_key: str, partner_id: uuid.UUID
    ) -> bool:
        """Send every published location to the partner again (a job); False when the
        partner takes no location pushes."""
        ...


_admin: RoamingAdmin | None = None


def set_roaming_admin(admin: RoamingAdmin) -> None:
    global _admin  # noqa: PLW0603 - the port is wired once per process
    _admin = admin


def roaming_admin() -> RoamingAdmin:
    if _admin is None:
        raise RuntimeError("the roaming port is not wired (app.wire)")
    return _admin


async def _push_counts(db_session: AsyncSession) -> dict[uuid.UUID, dict[PushState, int]]:
    rows = await db_session.execute(
        select(OcpiPush.partner_id, OcpiPush.state, func.count())
        .where(OcpiPush.state.in_((PushState.PENDING, PushState.FAILED)))
        .group_by(OcpiPush.partner_id, OcpiPush.state)
    )
    counts: dict[uuid.UUID, dict[PushState, int]] = {}
    for partner_id, state, count in rows.all():
        counts.setdefault(partner_id, {})[state] = count
    return counts


async def _last_pushes(db_session: AsyncSession) -> dict[uuid.UUID, OcpiPush]:
    latest = (
        select(OcpiPush.id)
        .ext(distinct_on(OcpiPush.partner_id))
        .order_by(OcpiPush.partner_id, OcpiPush.created_at.desc(), OcpiPush.id.desc())
    )
    pushes = await db_session.scalars(select(OcpiPush).where(OcpiPush.id.in_(latest)))
    return {push.partner_id: push for push in pushes}


async def _partner(db_session: AsyncSession, partner_id: uuid.UUID) -> OcpiPartner:
    partner = await db_session.get(OcpiPartner, partner_id)
    if partner is None:
        raise NotFoundException("No such partner.")
    return partner


class RoamingController(Controller):
    path = ROAMING
    include_in_schema = False
    dependencies = {
        "staff": Provide(provide_staff),
        "operator": Provide(requires(Permission.STATIONS_WRITE)),
    }

    async def _index(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        operator: StaffIdentity,
        *,
        values: Mapping[str, str] | None = None,
        errors: Mapping[str, str] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        partners = (
            await db_session.scalars(
                select(OcpiPartner).order_by(OcpiPartner.created_at.desc(), OcpiPartner.id)
            )
        ).all()
        return render(
            request,
            operator,
            "portal/roaming/index.html",
            {
                "partners": partners,
                "counts": await _push_counts(db_session),
                "last": await _last_pushes(db_session),
                "states": STATE_LABELS,
                "initiators": INITIATOR_LABELS,
                "push_states": PUSH_LABELS,
                "values": values or {},
                "errors": errors or {},
            },
            status_code=status_code,
        )

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        operator: NamedDependency[StaffIdentity],
    ) -> Response[str]:
        return await self._index(request, db_session, operator)

    async def _audit(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        operator: StaffIdentity,
        action: str,
        *,
        partner_id: uuid.UUID,
        detail: dict[str, Any],
    ) -> None:
        await identity.audit_staff(
            db_session,
            operator,
            action=f"portal.roaming.{action}",
            entity="ocpi_partner",
            entity_id=partner_id,
            detail=detail,
            ip=client_ip(request),
        )

    @post("/tokens", status_code=303)
    async def issue(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        operator: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        form = await request.form()
        name = str(form.get("token_name") or "").strip()
        if not name or len(name) > 100:
            return await self._index(
                request,
                db_session,
                operator,
                values={"token_name": name},
                errors={"token_name": N_("Give the partner a name of at most 100 characters.")},
                status_code=400,
            )
        state = web_state(request)
        partner_id, token = await roaming_admin().issue_token(
            state.database, current_tenant(request), name
        )
        await self._audit(
            request, db_session, operator, "token", partner_id=partner_id, detail={"name": name}
        )
        return Redirect(
            f"{ROAMING}/{partner_id}/token",
            status_code=303,
            cookies=[once_cookie(request, "ocpi_token", partner_id, token)],
        )

    @get("/{partner_id:uuid}/token")
    async def token(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        operator: NamedDependency[StaffIdentity],
        partner_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        partner = await _partner(db_session, partner_id)
        response = render(
            request,
            operator,
            "portal/roaming/token.html",
            {
                "partner": partner,
                "token": take_once(request, "ocpi_token", partner_id),
                "versions_url": roaming_admin().versions_url(request),
            },
            headers={"Cache-Control": "no-store"},
        )
        response.cookies.append(http_only_cookie(request, ONCE_COOKIE, "", 0))
        return response

    @post("/register", status_code=303)
    async def register(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        operator: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        form = await request.form()
        values = {
            name: str(form.get(name) or "").strip() for name in ("name", "versions_url", "token_a")
        }
        state = web_state(request)
        admin = roaming_admin()
        partner_id, errors = await admin.register(
            state.database,
            current_tenant(request),
            state.settings.secret_key,
            name=values["name"],
            versions_url=values["versions_url"],
            token_a=values["token_a"],
            our_versions_url=admin.versions_url(request),
        )
        if partner_id is None:
            values.pop("token_a")  # a secret is not sent back in the page
            return await self._index(
                request, db_session, operator, values=values, errors=errors, status_code=400
            )
        await self._audit(
            request,
            db_session,
            operator,
            "register",
            partner_id=partner_id,
            detail={"name": values["name"], "versions_url": values["versions_url"]},
        )
        return Redirect(f"{ROAMING}/{partner_id}", status_code=303)

    @get("/{partner_id:uuid}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        operator: NamedDependency[StaffIdentity],
        partner_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        return await self._show(request, db_session, operator, partner_id)

    async def _show(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        operator: StaffIdentity,
        partner_id: uuid.UUID,
        *,
        notice: str | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        partner = await _partner(db_session, partner_id)
        pushes = (
            await db_session.scalars(
                select(OcpiPush)
                .where(OcpiPush.partner_id == partner_id)
                .order_by(OcpiPush.created_at.desc(), OcpiPush.id.desc())
                .limit(LAST_PUSHES)
            )
        ).all()
        return render(
            request,
            operator,
            "portal/roaming/show.html",
            {
                "partner": partner,
                "pushes": pushes,
                "states": STATE_LABELS,
                "initiators": INITIATOR_LABELS,
                "push_states": PUSH_LABELS,
                "retryable": (PushState.PENDING, PushState.FAILED),
                "notice": notice,
                "resync_queued": request.query_params.get("resync") == "1",
            },
            status_code=status_code,
        )

    async def _suspend(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        operator: StaffIdentity,
        partner_id: uuid.UUID,
        *,
        suspended: bool,
    ) -> Response[Any]:
        partner = await _partner(db_session, partner_id)
        if not await roaming_admin().set_suspended(db_session, partner.id, suspended):
            return await self._show(
                request,
                db_session,
                operator,
                partner_id,
                notice=N_("The connection is not in a state to change."),
                status_code=409,
            )
        action = "suspend" if suspended else "resume"
        await self._audit(
            request,
            db_session,
            operator,
            action,
            partner_id=partner_id,
            detail={"name": partner.name},
        )
        return Redirect(f"{ROAMING}/{partner_id}", status_code=303)

    @post("/{partner_id:uuid}/suspend", status_code=303)
    async def suspend(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        operator: NamedDependency[StaffIdentity],
        partner_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        return await self._suspend(request, db_session, operator, partner_id, suspended=True)

    @post("/{partner_id:uuid}/resume", status_code=303)
    async def resume(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        operator: NamedDependency[StaffIdentity],
        partner_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        return await self._suspend(request, db_session, operator, partner_id, suspended=False)

    @post("/{partner_id:uuid}/rotate", status_code=303)
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        operator: NamedDependency[StaffIdentity],
        partner_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        partner = await _partner(db_session, partner_id)
        state = web_state(request)
        admin = roaming_admin()
        problem = await admin.rotate(
            state.database,
            current_tenant(request),
            state.settings.secret_key,
            partner.id,
            our_versions_url=admin.versions_url(request),
        )
        if problem is not None:
            return await self._show(
                request, db_session, operator, partner_id, notice=problem, status_code=409
            )
        await self._audit(
            request,
            db_session,
            operator,
            "rotate",
            partner_id=partner_id,
            detail={"name": partner.name},
        )
        return Redirect(f"{ROAMING}/{partner_id}", status_code=303)

    @post("/{partner_id:uuid}/unregister", status_code=303)
    async def unregister(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        operator: NamedDependency[StaffIdentity],
        partner_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        partner = await _partner(db_session, partner_id)
        state = web_state(request)
        problem = await roaming_admin().unregister(
            state.database, current_tenant(request), state.settings.secret_key, partner.id
        )
        await self._audit(
            request,
            db_session,
            operator,
            "unregister",
            partner_id=partner_id,
            detail={"name": partner.name, "partner_refused": problem},
        )
        return Redirect(f"{ROAMING}/{partner_id}", status_code=303)

    @post("/{partner_id:uuid}/resync", status_code=303)
    async def resync(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        operator: NamedDependency[StaffIdentity],
        partner_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        partner = await _partner(db_session, partner_id)
        if not await roaming_admin().resync(db_session, current_tenant(request).key, partner.id):
            return await self._show(
                request,
                db_session,
                operator,
                partner_id,
                notice=N_(
                    "This partner takes no location pushes (it needs to be registered, with a"
                    " locations receiver)."
                ),
                status_code=409,
            )
        await self._audit(
            request,
            db_session,
            operator,
            "resync",
            partner_id=partner_id,
            detail={"name": partner.name},
        )
        return Redirect(f"{ROAMING}/{partner_id}?resync=1", status_code=303)

    @post("/{partner_id:uuid}/pushes/{push_id:uuid}/retry", status_code=303)
    async def retry(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        operator: NamedDependency[StaffIdentity],
        partner_id: FromPath[uuid.UUID],
        push_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        push = await db_session.get(OcpiPush, push_id)
        if push is None or push.partner_id != partner_id:
            raise NotFoundException("No such push.")
        if not await roaming_admin().retry(db_session, current_tenant(request).key, push_id):
            return await self._show(
                request,
                db_session,
                operator,
                partner_id,
                notice=N_("Only a waiting or failed push can be sent again."),
                status_code=409,
            )
        await self._audit(
            request,
            db_session,
            operator,
            "retry",
            partner_id=partner_id,
            detail={"push": str(push_id), "module": push.module, "object": push.object_id},
        )
        return Redirect(f"{ROAMING}/{partner_id}", status_code=303)
