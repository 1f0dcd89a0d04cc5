"""Jinja2 rendering in each brand's theme: one cached environment per template search path.

Lookup order is tenant -> theme -> base. Templates receive plain data only (DTOs, never ORM
objects with lazy relationships), so rendering can never trigger a query.
"""

from __future__ import annotations

import gettext
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal
from litestar import MediaType, Request, Response
from litestar.utils.scope.state import ScopeState

from voltlane.core.text import Message
from voltlane.tariff.rounding import from_minor
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.branding import Branding, ThemeCatalog
from voltlane.web.context import TENANT_STATE_KEY
from voltlane.web.i18n import language_name, request_locale, template_gettext, translations

STATIC_DIR = Path(__file__).parent / "static"
WEB_TEMPLATES = Path(__file__).parent / "templates"
# Globals that packages above the web layer add to every environment (the driver app's
# hashed asset URLs); filled at import time, before the first page is rendered.
TEMPLATE_GLOBALS: dict[str, Any] = {}


class StaticAssets:
    """URLs of shared static files with a content hash, so they can be cached for a year."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.directory = directory
        self._versions: dict[str, str] = {}

    def url(self, name: str) -> str:
        version = self._versions.get(name)
        if version is None:
            path = (self.directory / name).resolve()
            if not path.is_file() or not path.is_relative_to(self.directory.resolve()):
                raise jinja2.TemplateRuntimeError(f"unknown static file {name!r}")
            version = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            self._versions[name] = version
        return f"/static/{name}?v={version}"


class Renderer:
    """Renders pages and fragments for the brand of the request."""

    def __init__(self, themes: ThemeCatalog, base_dirs: Sequence[Path]) -> None:
        self.themes = themes
        self.base_dirs = (*base_dirs, WEB_TEMPLATES)
        self.static = StaticAssets()
        self._environments: dict[tuple[Path, ...], jinja2.Environment] = {}

    def environment(self, branding: Branding) -> jinja2.Environment:
        search = (*branding.template_dirs, *self.base_dirs)
        env = self._environments.get(search)
        if env is None:
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader([str(p) for p in search]),
                autoescape=jinja2.select_autoescape(["html", "xml", "svg"], default=True),
                undefined=jinja2.StrictUndefined,
                extensions=["jinja2.ext.i18n"],
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
            env.globals["static"] = self.static.url
            env.globals.update(TEMPLATE_GLOBALS)
            self._environments[search] = env
        return env

    def branding_for(self, request: Request[Any, Any, Any]) -> Branding | None:
        tenant = request.scope.get("state", {}).get(TENANT_STATE_KEY)
        return self.themes.branding(tenant) if tenant is not None else None

    def context(self, request: Request[Any, Any, Any], branding: Branding) -> dict[str, Any]:
        tenant = request.scope.get("state", {}).get(TENANT_STATE_KEY)
        locale = (
            request_locale(request, tenant) if isinstance(tenant, TenantInfo) else branding.locale
        )
        languages = tenant.locales if isinstance(tenant, TenantInfo) else (branding.locale,)
        zone = ZoneInfo(tenant.timezone if isinstance(tenant, TenantInfo) else "UTC")
        csrf = ScopeState.from_scope(request.scope).csrf_token
        csrf_value = csrf if isinstance(csrf, str) else ""
        return {
            "brand": branding,
            "request_path": request.url.path,
            "csrf_token": csrf_value,
            "locale": locale,
            "lang": Locale.parse(locale).language,
            "languages": [(code, language_name(code)) for code in languages],
            **template_gettext(locale),
            "number": lambda value, fmt=None: format_decimal(
                Decimal(value), format=fmt, locale=locale
            ),
            # Times in the brand's timezone; money from integer minor units.
            "datetime": lambda value, fmt="medium": (
                format_datetime(value.astimezone(zone), format=fmt, tzinfo=zone, locale=locale)
                if isinstance(value, datetime)
                else ""
            ),
            "money": lambda minor, currency: format_currency(
                from_minor(int(minor), currency), currency, locale=locale
            ),
            "price": lambda unit_price, currency: format_currency(
                Decimal(unit_price).normalize(),
                currency,
                locale=locale,
                currency_digits=False,
                decimal_quantization=False,
            ),
            "is_htmx": request.headers.get("hx-request") == "true",
        }

    def render(
        self,
        request: Request[Any, Any, Any],
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        fragment: str | None = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response[str]:
        """The full page, or ``fragment`` alone for an HTMX request (``HX-Request``)."""
        branding = self.branding_for(request)
        if branding is None:
            raise RuntimeError("render() needs a brand-resolved request")
        name = fragment if fragment and request.headers.get("hx-request") == "true" else template
        env = self.environment(branding)
        html = env.get_template(name).render({**self.context(request, branding), **(context or {})})
        response_headers = {"Vary": "HX-Request", **(headers or {})}
        return Response(
            html, status_code=status_code, media_type=MediaType.HTML, headers=response_headers
        )

    def error_page(
        self,
        request: Request[Any, Any, Any],
        *,
        status: int,
        title: str,
        detail: str | None,
        fallback_title: str,
    ) -> str | None:
        """The brand's error page in the reader's language: ``title`` where the catalog
        translates it (else ``fallback_title``, the status's), ``detail`` only where it does,
        so a German page never shows an English sentence."""
        branding = self.branding_for(request)
        if branding is None:
            return None
        context = self.context(request, branding)
        catalog = translations(context["locale"])
        shown_title = in_language(catalog, title) or in_language(catalog, fallback_title)
        return (
            self.environment(branding)
            .get_template("error.html")
            .render(
                {
                    **context,
                    "status": status,
                    "title": shown_title or fallback_title,
                    "detail": in_language(catalog, detail),
                }
            )
        )


def in_language(catalog: gettext.NullTranslations, text: str | None) -> str | None:
    """``text`` translated by ``catalog`` and its values filled in; None where the catalog
    has no translation for it (English, the source language, has no catalog: every text is
    its own)."""
    if text is None:
        return None
    if isinstance(text, Message) and text.plural is not None and text.num is not None:
        english = text.msgid if text.num == 1 else text.plural
        translated = catalog.ngettext(text.msgid, text.plural, text.num)
    else:
        english = text.msgid if isinstance(text, Message) else text
        translated = catalog.gettext(english)
    if translated == english and type(catalog) is not gettext.NullTranslations:
        return None
    return translated % dict(text.values) if isinstance(text, Message) else translated
