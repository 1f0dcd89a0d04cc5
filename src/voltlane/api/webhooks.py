"""Payment webhooks: the brand's PSP tells what became of its payments.

No API key: the PSP signs the raw body and that signature is the authentication
(``billing.record_webhook`` verifies it before anything is written). The path is under
``/api/`` so the portal's CSRF check leaves it alone.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.payments import record_webhook
from voltlane.billing.providers import provider_for
from voltlane.web.context import current_tenant


@post(
    "/api/webhooks/payments",
    summary="Payment events from the brand's PSP (Stripe or Adyen), verified on the raw body",
    tags=["Webhooks"],
    status_code=200,
)
async def payment_webhook(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    provider = provider_for(current_tenant(request))
    body = await request.body()
    stored = await record_webhook(db_session, provider, body, dict(request.headers))
    if provider.name == "adyen":
        # Adyen retries a notification until it reads exactly this.
        return Response("[accepted]", media_type="text/plain")
    return Response({"received": True, "stored": len(stored)})
