"""The OCPI router: every module under ``/ocpi`` behind the credentials token guard, its
errors in the OCPI envelope, its responses with the OCPI headers."""

from __future__ import annotations

from litestar import Router
from litestar.types import ControllerRouterHandler

from voltlane.ocpi import cdrs as cdr_module
from voltlane.ocpi import chargingprofiles, commands, credentials, hubclientinfo, tokens, versions
from voltlane.ocpi import locations as location_module
from voltlane.ocpi import sessions as session_module
from voltlane.ocpi import tariffs as tariff_module
from voltlane.ocpi.auth import require_ocpi_token
from voltlane.ocpi.errors import OCPI_EXCEPTION_HANDLERS
from voltlane.ocpi.headers import ocpi_headers_middleware

# Modules add their handlers here (paths are absolute: /ocpi/...).
OCPI_HANDLERS: list[ControllerRouterHandler] = [
    versions.list_versions,
    versions.version_details,
    *credentials.HANDLERS,
    *session_module.HANDLERS,
    *cdr_module.HANDLERS,
    *location_module.HANDLERS,
    *tariff_module.HANDLERS,
    *tokens.HANDLERS,
    *hubclientinfo.HANDLERS,
    *commands.HANDLERS,
    *chargingprofiles.HANDLERS,
]


def ocpi_router() -> Router:
    return Router(
        path="/",
        route_handlers=OCPI_HANDLERS,
        guards=[require_ocpi_token],
        middleware=[ocpi_headers_middleware],
        exception_handlers=OCPI_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
