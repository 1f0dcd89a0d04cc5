"""Versions module: the versions we speak and the endpoints of 2.2.1
(version_information_endpoint.asciidoc). Open to CREDENTIALS_TOKEN_A."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from voltlane.ocpi.auth import ACCEPTS_TOKEN_A
from voltlane.ocpi.endpoints import ENDPOINTS
from voltlane.ocpi.envelope import ocpi_response
from voltlane.ocpi.protocol import VERSION, VERSION_PATH, VERSIONS_PATH
from voltlane.ocpi.urls import module_url, public_base


@get(VERSIONS_PATH, opt={ACCEPTS_TOKEN_A: True}, include_in_schema=False, sync_to_thread=False)
def list_versions(request: Request[Any, Any, Any]) -> Response[Any]:
    return ocpi_response([{"version": VERSION, "url": public_base(request) + VERSION_PATH}])


@get(VERSION_PATH, opt={ACCEPTS_TOKEN_A: True}, include_in_schema=False, sync_to_thread=False)
def version_details(request: Request[Any, Any, Any]) -> Response[Any]:
    return ocpi_response(
        {
            "version": VERSION,
            "endpoints": [
                {
                    "identifier": endpoint.module.value,
                    "role": endpoint.role.value,
                    "url": module_url(request, endpoint.path),
                }
                for endpoint in ENDPOINTS
            ],
        }
    )
