"""The operator REST API under /api/v1 on every brand host, authenticated by API keys."""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide
from litestar.openapi.spec import Components, SecurityScheme

from voltlane.api.accounts import CustomerAccountController
from voltlane.api.auth import SECURITY_SCHEME, provide_caller, require_api_key
from voltlane.api.billing import CdrController, TariffAssignmentController, TariffController
from voltlane.api.commands import command_router
from voltlane.api.errors import EXCEPTION_HANDLERS
from voltlane.api.evses import EvseController
from voltlane.api.invoices import InvoiceController, InvoiceRunController
from voltlane.api.locations import LocationController
from voltlane.api.notifications import NotificationController
from voltlane.api.payments import PaymentController
from voltlane.api.sites import DepartureTargetController, SiteController
from voltlane.api.stations import StationController
from voltlane.api.subscriptions import SubscriptionController
from voltlane.api.tokens import IdTokenController

API_PATH = "/api/v1"
# The CSRF middleware leaves the API alone: it authenticates by header, never by cookie.
CSRF_EXCLUDE = "^/api/"

OPENAPI_COMPONENTS = Components(
    security_schemes={
        SECURITY_SCHEME: SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="vl_<prefix>_<secret>",
            description="An API key of the brand whose host serves the request.",
        )
    }
)


def api_router() -> Router:
    """Every /api/v1 endpoint, behind the API-key guard, with problem-details errors."""
    return Router(
        path=API_PATH,
        route_handlers=[
            LocationController,
            StationController,
            EvseController,
            IdTokenController,
            TariffController,
            TariffAssignmentController,
            CdrController,
            PaymentController,
            CustomerAccountController,
            InvoiceController,
            InvoiceRunController,
            SubscriptionController,
            NotificationController,
            SiteController,
            DepartureTargetController,
            command_router(),
        ],
        guards=[require_api_key],
        dependencies={"caller": Provide(provide_caller, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        security=[{SECURITY_SCHEME: []}],
    )
