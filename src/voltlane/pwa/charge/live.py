"""One charge request's screens, /charge/live/{id}: paying, starting, the live session
(refreshed every 5 seconds; every 2 while the bank's confirmation is awaited), the stop,
and the receipt once the CDR exists.

Only the driver who started it on their account, or a browser holding its link's secret,
may open a request; anyone else gets 404, as for a request that does not exist. The secret
arrives once in the link (``?k=``) and is then kept in a cookie for that request's pages.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import charge_requests as charges
from voltlane.billing.charge_requests import Step
from voltlane.billing.invoicing import DocumentFormat, document_link
from voltlane.billing.payments import PaymentStateError
from voltlane.billing.providers import ProviderError
from voltlane.core.clock import utcnow
from voltlane.core.errors import NotFoundError
from voltlane.models.tenant import ChargeRequest, ChargeRequestStatus, PaymentStatus
from voltlane.pwa.charge.common import (
    FAILURES,
    NOTICES,
    STOP_OUTCOMES,
    UNKNOWN_FAILURE,
    after_progress,
    bank_link,
    brand_provider,
    clock,
    live_path,
    may_open,
    public_url,
    render,
    secret_cookie,
)
from voltlane.pwa.static_assets import APP_ASSETS
from voltlane.web.context import current_tenant, web_state

PUSH_SCRIPT = "js/push.js"
POLL_SECONDS = 5
# After 3-D Secure the start waits only for the PSP's webhook: look more often.
BANK_POLL_SECONDS = 2
_ENDED = frozenset({ChargeRequestStatus.FAILED, ChargeRequestStatus.CANCELLED})


class ChargeNotFoundError(NotFoundError):
    title = "Charge not found"


async def _opened(
    request: Request[Any, Any, Any], db_session: AsyncSession, request_id: uuid.UUID
) -> ChargeRequest:
    """The request, moved along to its session if the charger reported it since, for a
    visitor who may open it; ChargeNotFoundError for anyone else (nothing is locked or
    changed for them)."""
    try:
        found = await charges.find_request(db_session, request_id)
    except NotFoundError as exc:
        raise ChargeNotFoundError("No such charge.") from exc
    if not await may_open(request, db_session, found):
        raise ChargeNotFoundError("No such charge.")
    return await charges.refreshed_request(db_session, request_id)


def _with_secret(request: Request[Any, Any, Any], request_id: uuid.UUID, secret: str) -> Redirect:
    """Keep the link's secret in a cookie and drop it from the address bar."""
    response = Redirect(request.url.path, status_code=303)
    response.set_cookie(secret_cookie(request, request_id, secret))
    return response


async def _screen(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    charge: ChargeRequest,
    *,
    message: str | None = None,
    fragment: str = "pwa/charge/_state.html",
    status_code: int = 200,
) -> Response[str]:
    tenant = current_tenant(request)
    view = await charges.charge_view(db_session, charge, currency=tenant.currency, now=utcnow())
    polling = charge.status not in _ENDED and not (
        view.receipt is not None and view.receipt.document_id is not None
    )
    waiting_for_bank = (
        charge.status is ChargeRequestStatus.AUTHORIZING
        and view.payment_status == PaymentStatus.REQUIRES_ACTION.value
    )
    return render(
        request,
        "pwa/charge/live.html",
        {
            "view": view,
            "message": message,
            "polling": polling,
            "poll_seconds": BANK_POLL_SECONDS if waiting_for_bank else POLL_SECONDS,
            "plug_in_minutes": charges.plug_in_minutes(),
            "failure": FAILURES.get(charge.failure or "", UNKNOWN_FAILURE),
            "clock": clock,
            "live_path": live_path,
            "charge_path": charges.charge_path,
            "hold": charges.hold_amount(tenant),
            "brand_currency": tenant.currency,
            "pdf_link": _pdf_link(request, view),
            "bank_link": bank_link(request, charge.id, view.bank_url) if view.bank_url else None,
            # Web push comes from its own part of the app: offered only in a build with it.
            "push_script": PUSH_SCRIPT if APP_ASSETS.get(PUSH_SCRIPT) is not None else None,
        },
        fragment=fragment,
        status_code=status_code,
    )


def _pdf_link(request: Request[Any, Any, Any], view: charges.ChargeView) -> str | None:
    receipt = view.receipt
    if receipt is None or receipt.document_id is None:
        return None
    return document_link(
        web_state(request).settings.secret_key,
        current_tenant(request).key,
        receipt.document_id,
        DocumentFormat.PDF,
    )


class ChargeLiveController(Controller):
    path = "/charge/live/{request_id:uuid}"
    include_in_schema = False

    @get("/")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        request_id: FromPath[uuid.UUID],
        k: FromQuery[str | None] = None,
        notice: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """The charge as it stands: paying, starting, charging, the receipt, or why not."""
        charge = await self._with_link(request, db_session, request_id, k)
        if isinstance(charge, Response):
            return charge
        return await _screen(request, db_session, charge, message=NOTICES.get(notice or ""))

    @get("/status")
    async def status(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        request_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        """The live part of the screen, polled every 5 seconds; while the hold waits for
        the bank's confirmation every 2, each poll moving the charge on (to the start) as
        soon as the PSP's word has arrived, so the driver need not tap anything."""
        charge = await _opened(request, db_session, request_id)
        if await charges.waits_for_bank(db_session, charge):
            await db_session.commit()
            # Not moved on now: the next poll asks again; the screen shows where it stands.
            with contextlib.suppress(ProviderError, PaymentStateError):
                await charges.advance(
                    web_state(request).database,
                    current_tenant(request),
                    request_id,
                    provider=brand_provider(request),
                    commands=web_state(request).commands,
                )
            charge = await _opened(request, db_session, request_id)
        return await _screen(request, db_session, charge)

    @get("/card")
    async def card(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        request_id: FromPath[uuid.UUID],
        k: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Back from the PSP's card page (or the bank's): the card, the hold, the start."""
        charge = await self._with_link(request, db_session, request_id, k)
        if isinstance(charge, Response):
            return charge
        return await self._advance(request, db_session, charge)

    @post("/retry", status_code=303)
    async def retry(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        request_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Try the step that could not be done (the PSP did not answer, say) again."""
        charge = await _opened(request, db_session, request_id)
        return await self._advance(request, db_session, charge)

    @post("/pay", status_code=303)
    async def pay(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        request_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """To the PSP's card page (again) for a charge that waits for a card."""
        charge = await _opened(request, db_session, request_id)
        provider = brand_provider(request)
        if charge.status is not ChargeRequestStatus.AWAITING_PAYMENT or provider is None:
            return Redirect(live_path(request_id), status_code=303)
        await db_session.commit()
        try:
            target = await charges.begin_card_entry(
                web_state(request).database,
                current_tenant(request),
                request_id,
                provider=provider,
                return_url=public_url(request, live_path(request_id, "/card")),
                cancel_url=public_url(request, live_path(request_id)),
            )
        except ProviderError:
            target = live_path(request_id, "?notice=card_page_failed")
        return Redirect(target, status_code=303)

    @post("/cancel", status_code=303)
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        request_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """The driver gives up before the charger started: nothing is charged."""
        await _opened(request, db_session, request_id)
        await db_session.commit()
        await charges.cancel(
            web_state(request).database,
            current_tenant(request).key,
            request_id,
            provider=brand_provider(request),
        )
        return Redirect(live_path(request_id), status_code=303)

    @post("/stop")
    async def stop(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        request_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        """RemoteStop through the command path; the screen says what the charger answered."""
        await _opened(request, db_session, request_id)
        # End the reading transaction: no connection waits idle while the charger answers.
        await db_session.commit()
        result = await charges.stop(
            web_state(request).database,
            current_tenant(request).key,
            request_id,
            commands=web_state(request).commands,
        )
        outcome = result.status.value if result is not None else "ended"
        charge = await _opened(request, db_session, request_id)
        return await _screen(
            request,
            db_session,
            charge,
            message=STOP_OUTCOMES.get(outcome, STOP_OUTCOMES["timeout"]),
            # Every answer of the charger is news to show, never an error of the request:
            # HTMX swaps in only successful answers.
            fragment="pwa/charge/_stop.html",
        )

    async def _with_link(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        request_id: uuid.UUID,
        secret: str | None,
    ) -> ChargeRequest | Response[Any]:
        if secret is None:
            return await _opened(request, db_session, request_id)
        try:
            found = await charges.find_request(db_session, request_id)
        except NotFoundError as exc:
            raise ChargeNotFoundError("No such charge.") from exc
        if not charges.secret_matches(found, secret):
            raise ChargeNotFoundError("No such charge.")
        return _with_secret(request, request_id, secret)

    async def _advance(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, charge: ChargeRequest
    ) -> Response[Any]:
        await db_session.commit()
        try:
            progress = await charges.advance(
                web_state(request).database,
                current_tenant(request),
                charge.id,
                provider=brand_provider(request),
                commands=web_state(request).commands,
            )
        except ProviderError:
            progress = charges.Progress(charge, Step.PSP_UNAVAILABLE)
        except PaymentStateError:
            # Another tab cancelled it meanwhile: the screen shows how it ended.
            progress = charges.Progress(charge, Step.SHOW)
        if progress.step is Step.CARD_PAGE:
            return Redirect(live_path(charge.id), status_code=303)
        return after_progress(request, progress)
