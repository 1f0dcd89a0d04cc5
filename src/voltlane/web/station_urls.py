"""Where a station connects, as the operator API and the portal show it."""

from __future__ import annotations

from typing import Any

from litestar import Request

from voltlane.models.tenant import ChargingStation
from voltlane.station import service as stations
from voltlane.tenancy.registry import normalise_host
from voltlane.web.context import current_tenant, web_state


def ocpp_url(request: Request[Any, Any, Any], station: ChargingStation) -> str:
    """This brand host's name, the gateway's port, and wss on the TLS port for profiles 2-3
    (TLS is mandatory there) or when the platform is served over https, else ws."""
    settings = web_state(request).settings
    tls = station.security_profile >= 2 or settings.public_scheme == "https"
    return stations.station_ocpp_url(
        scheme="wss" if tls else "ws",
        host=normalise_host(request.headers.get("host")) or "",
        port=settings.ocpp_tls_port if tls else settings.ocpp_port,
        tenant_key=current_tenant(request).key,
        station_id=station.station_id,
    )
