"""Absolute URLs of this brand's OCPI endpoints, as partners must call them."""

from __future__ import annotations

from typing import Any

from litestar import Request

from voltlane.ocpi.protocol import VERSION_PATH, VERSIONS_PATH
from voltlane.web.context import web_state


def public_base(request: Request[Any, Any, Any]) -> str:
    """``https://<brand host>``: the scheme the platform is published under, the host the
    partner called."""
    scheme = web_state(request).settings.public_scheme
    return f"{scheme}://{request.headers.get('host', '')}"


def versions_url(request: Request[Any, Any, Any]) -> str:
    return public_base(request) + VERSIONS_PATH


def module_url(request: Request[Any, Any, Any], path: str) -> str:
    """The URL of a module endpoint: ``path`` after ``/ocpi/2.2.1``."""
    return public_base(request) + VERSION_PATH + path
