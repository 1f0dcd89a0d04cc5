"""Composition root of the web process: wires settings, database, broker and controllers."""

from __future__ import annotations

import gc
import importlib
from pathlib import Path

import dramatiq
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from voltlane.api import CSRF_EXCLUDE, OPENAPI_COMPONENTS, api_router
from voltlane.api.documents import document_by_link
from voltlane.api.webhooks import payment_webhook
from voltlane.charging.ports import set_roaming_authorizer
from voltlane.core.db import Database
from voltlane.core.notify import NotificationHub
from voltlane.ocpi.errors import ocpi_aware
from voltlane.ocpi.location_pushes import OcpiLocationChanges
from voltlane.ocpi.realtime import OcpiRoamingAuthorizer
from voltlane.ocpi.roaming_admin import OcpiRoamingAdmin
from voltlane.ocpi.routes import ocpi_router
from voltlane.ocpp.translate import OcppTranslator
from voltlane.portal import TEMPLATES as PORTAL_TEMPLATES
from voltlane.portal.alerts import AlertsController
from voltlane.portal.analytics import AnalyticsController
from voltlane.portal.audit import AuditController
from voltlane.portal.auth import PortalAuthController
from voltlane.portal.dashboard import PortalController
from voltlane.portal.drivers import DriversController
from voltlane.portal.finance import finance_router
from voltlane.portal.fleet_cards import FleetCardsController
from voltlane.portal.fleet_portal import FleetPortalController
from voltlane.portal.fleets import FleetsController
from voltlane.portal.roaming import RoamingController, set_roaming_admin
from voltlane.portal.sessions import SessionsController
from voltlane.portal.settings import ApiKeysController
from voltlane.portal.settings_brand import BrandSettingsController
from voltlane.portal.settings_users import UsersController
from voltlane.portal.sites import SitesController
from voltlane.portal.stations import stations_router
from voltlane.portal.tariffs import TariffPortalController
from voltlane.pwa import TEMPLATES as PWA_TEMPLATES
from voltlane.pwa.routes import PWA_HANDLERS
from voltlane.seed import TenantFileSeeder
from voltlane.settings import Settings
from voltlane.station.commands import RESULTS_CHANNEL, DatabaseStationCommands
from voltlane.station.ports import set_location_changes, set_translator
from voltlane.tenancy import TenantRegistry
from voltlane.tenancy.branding import ThemeCatalog
from voltlane.tenancy.ports import set_seeder
from voltlane.web.auth import LoginRequiredError, login_required_handler, provide_db_session
from voltlane.web.brand import BrandController
from voltlane.web.health import healthz, metrics
from voltlane.web.language import choose_language
from voltlane.web.observability import observability_middleware
from voltlane.web.problems import EXCEPTION_HANDLERS
from voltlane.web.state import WebState
from voltlane.web.templating import STATIC_DIR, Renderer
from voltlane.web.tenant import tenant_middleware
from voltlane.worker.broker import BrokerSink, build_broker
from voltlane.worker.outbox import OutboxRelay, install_relay

# Every module that declares tasks; imported so enqueue() and workers know them.
TASK_MODULES = (
    "voltlane.tenancy.tasks",
    "voltlane.identity.tasks",
    "voltlane.billing.tasks",
    "voltlane.billing.payment_tasks",
    "voltlane.billing.invoice_tasks",
    "voltlane.billing.charge_requests.tasks",
    "voltlane.monitoring.tasks",
    "voltlane.pwa.tasks",
    "voltlane.ocpi.tasks",
    "voltlane.ocpi.location_tasks",
    "voltlane.ocpi.cdr_tasks",
    "voltlane.ocpi.command_tasks",
    "voltlane.ocpi.chargingprofile_tasks",
    "voltlane.smart_charging.tasks",
)

STATIC_MAX_AGE = 365 * 24 * 3600
# OCPI partners authenticate with a token header, never with cookies.
OCPI_CSRF_EXCLUDE = "^/ocpi/"


def load_tasks() -> None:
    for module in TASK_MODULES:
        importlib.import_module(module)


def wire(settings: Settings, *, demo_password: str | None) -> None:
    """Connect the ports that lower layers call upwards (process-wide, idempotent)."""
    load_tasks()
    set_seeder(TenantFileSeeder(settings.tenants_dir, demo_password=demo_password))
    set_translator(OcppTranslator())
    set_location_changes(OcpiLocationChanges(settings.base_domain))
    set_roaming_authorizer(OcpiRoamingAuthorizer(settings.secret_key, settings.base_domain))
    set_roaming_admin(OcpiRoamingAdmin())


def create_app(
    settings: Settings,
    *,
    database_url: str,
    broker: dramatiq.Broker | None = None,
    demo_password: str | None = None,
    registry_ttl: float = 5.0,
    freeze_heap: bool = False,
) -> Litestar:
    """The Litestar app serving every brand: portal, driver app, brand assets, probes."""
    wire(settings, demo_password=demo_password)
    database = Database(database_url, pool_size=settings.db_pool_size)
    hub = NotificationHub(database_url)
    broker = broker or build_broker(settings.broker_url, database_url)
    install_relay(OutboxRelay(BrokerSink(broker)))
    themes = ThemeCatalog(settings.themes_dir, settings.tenants_dir)
    state = WebState(
        settings=settings,
        database=database,
        registry=TenantRegistry(database, settings.base_domain, ttl=registry_ttl),
        themes=themes,
        renderer=Renderer(themes, [PORTAL_TEMPLATES, PWA_TEMPLATES]),
        broker=broker,
        commands=DatabaseStationCommands(database, hub, secret_key=settings.secret_key),
    )

    async def listen() -> None:
        await hub.start([RESULTS_CHANNEL])
        if freeze_heap:
            # What exists once the app has started (modules, templates, caches) lives as long
            # as the process: keep it out of the interpreter's full collections, which would
            # otherwise walk it on every third large response (bench.ocpi_locations).
            gc.collect()
            gc.freeze()

    async def dispose() -> None:
        await hub.stop()
        await database.dispose()

    return Litestar(
        route_handlers=[
            healthz,
            metrics,
            BrandController,
            PortalAuthController,
            PortalController,
            AlertsController,
            AnalyticsController,
            DriversController,
            FleetsController,
            SessionsController,
            stations_router,
            SitesController,
            TariffPortalController,
            FleetPortalController,
            FleetCardsController,
            BrandSettingsController,
            ApiKeysController,
            UsersController,
            RoamingController,
            AuditController,
            finance_router,
            choose_language,
            *PWA_HANDLERS,
            api_router(),
            ocpi_router(),
            payment_webhook,
            document_by_link,
            create_static_files_router(
                path="/static",
                directories=[Path(STATIC_DIR)],
                # URLs carry a content hash (?v=...), so a year is safe.
                cache_control=CacheControlHeader(max_age=STATIC_MAX_AGE, public=True),
                include_in_schema=False,
                send_as_attachment=False,
            ),
        ],
        state=State({"web": state}),
        dependencies={"db_session": Provide(provide_db_session)},
        middleware=[observability_middleware, tenant_middleware],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="vl_csrf",
            cookie_secure=settings.public_scheme == "https",
            cookie_samesite="lax",
            header_name="x-csrftoken",
            exclude=[CSRF_EXCLUDE, OCPI_CSRF_EXCLUDE],
        ),
        exception_handlers=ocpi_aware(
            {**EXCEPTION_HANDLERS, LoginRequiredError: login_required_handler}
        ),
        openapi_config=OpenAPIConfig(
            title="Voltlane", version="0.1.0", path="/schema", components=OPENAPI_COMPONENTS
        ),
        logging_config=None,
        on_startup=[listen],
        on_shutdown=[dispose],
        request_max_body_size=1_048_576,
        debug=False,
    )
