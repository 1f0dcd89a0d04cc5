"""The language switch shared by the portal and the driver app."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.response import Redirect

from voltlane.core.errors import ValidationError
from voltlane.web.auth import http_only_cookie
from voltlane.web.context import current_tenant
from voltlane.web.i18n import LANGUAGE_COOKIE

ONE_YEAR = 365 * 24 * 3600


def _same_site_path(target: str) -> str:
    """Only a path on this host is a valid place to return to."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@post("/language", status_code=303, include_in_schema=False)
async def choose_language(request: Request[Any, Any, Any]) -> Response[Any]:
    """Remember the visitor's language (one of the brand's) and go back to the page."""
    form = await request.form()
    locale = str(form.get("locale") or "")
    tenant = current_tenant(request)
    if locale not in tenant.locales:
        raise ValidationError(f"Choose one of {', '.join(tenant.locales)}.", field="locale")
    cookie = http_only_cookie(request, LANGUAGE_COOKIE, locale, ONE_YEAR)
    target = _same_site_path(str(form.get("next") or "/"))
    return Redirect(target, status_code=303, cookies=[cookie])
