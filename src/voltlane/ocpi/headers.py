"""Headers every OCPI response carries (transport_and_format "Unique message IDs" and
"Message Routing"): the request's X-Request-ID and X-Correlation-ID echoed (made up when
the request had none), and for a routed request to a functional module the routing headers
turned around. The configuration modules (versions, credentials, hub client info) are not
routed: "routing headers SHALL NOT be used with these modules", so their responses carry
none, whatever the request sent."""

from __future__ import annotations

import uuid

from litestar.datastructures import Headers, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from voltlane.ocpi.routing import routed_path

_ROUTING = (
    ("ocpi-from-country-code", "OCPI-to-country-code"),
    ("ocpi-from-party-id", "OCPI-to-party-id"),
    ("ocpi-to-country-code", "OCPI-from-country-code"),
    ("ocpi-to-party-id", "OCPI-from-party-id"),
)


def ocpi_headers_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_headers = Headers.from_scope(scope)
        echo = {
            "X-Request-ID": request_headers.get("x-request-id") or str(uuid.uuid4()),
            "X-Correlation-ID": request_headers.get("x-correlation-id") or str(uuid.uuid4()),
        }
        for incoming, outgoing in _ROUTING if routed_path(scope["path"]) else ():
            value = request_headers.get(incoming)
            if value:
                echo[outgoing] = value[:3]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in echo.items():
                    headers[name] = value
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
