"""The brand's profile in its portal: name, short name and colours, languages, the legal
details its documents print, (owners only) its payment provider, and how its e-mails leave
(read from the tenant file's ``[mail]``, shown but never changed here).

The profile lives on the platform row: each change is written in its own platform
transaction through ``tenancy.profile`` and recorded in the brand's audit log in the
request's transaction. This process sees it at once; other processes within the registry's
cache time.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.providers.registry import brand_environ
from voltlane.core.errors import VoltlaneError
from voltlane.identity import service as identity
from voltlane.identity.notifications import brand_mailer
from voltlane.identity.roles import Permission, has_permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.pages import render
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.tenancy import profile as brand_profile
from voltlane.web.auth import provide_staff, requires
from voltlane.web.context import client_ip, current_tenant, web_state
from voltlane.web.i18n import N_, language_name

SETTINGS = "/portal/settings"
# The locales offered for each language Voltlane has catalogs for.
LOCALE_CHOICES = ("en_GB", "de_DE", "fr_FR")
LEGAL_FIELDS = (
    "entity",
    "address",
    "vat_id",
    "registration",
    "street",
    "postal_code",
    "city",
    "country",
    "email",
    "iban",
    "bic",
)
# What each provider reads from the environment (billing.providers.registry); a brand's own
# account may be set as VOLTLANE_<KEY>_<NAME without VOLTLANE_>.
PROVIDER_ENVIRONMENT = {
    "stripe": ("VOLTLANE_STRIPE_API_KEY", "VOLTLANE_STRIPE_WEBHOOK_SECRET"),
    "adyen": (
        "VOLTLANE_ADYEN_API_KEY",
        "VOLTLANE_ADYEN_MERCHANT_ACCOUNT",
        "VOLTLANE_ADYEN_HMAC_KEY",
    ),
}
COLOR_LABELS = {
    "color-primary": N_("Primary colour"),
    "color-on-primary": N_("Text on the primary colour"),
    "color-background": N_("Page background"),
    "color-surface": N_("Card background"),
    "color-text": N_("Text colour"),
}


def _text(form: Mapping[str, Any], name: str) -> str:
    return str(form.get(name) or "").strip()


def _environment(tenant: TenantInfo, provider: str | None) -> list[tuple[str, bool]]:
    """The variables ``provider`` needs and whether each is set (never their values)."""
    seen = brand_environ(tenant.key, os.environ)
    return [
        (name, bool(seen.get(name, "").strip()))
        for name in PROVIDER_ENVIRONMENT.get(provider or "", ())
    ]


PLATFORM_SMTP_ENV = "VOLTLANE_SMTP_URL"


@dataclass(frozen=True, slots=True)
class MailView:
    """How the brand's e-mails leave, as the settings page shows it: never a URL."""

    sender: str
    sender_from: Literal["mail", "legal", "platform"]  # where the From address comes from
    variable: str  # the environment variable holding the SMTP server's URL
    own_server: bool  # the brand's [mail] names it; else the platform's
    variable_set: bool


def mail_view(tenant: TenantInfo, settings: Settings) -> MailView:
    """The From address in use and whether the SMTP URL's variable is set (the same rule
    the e-mail job follows: ``brand_mailer``), without reading the URL itself."""
    mail = tenant.profile.get("mail") or {}
    legal = tenant.profile.get("legal") or {}
    # No URL goes in: only the sender is taken from the mailer here.
    sender = brand_mailer(
        tenant.name,
        tenant.slug,
        tenant.profile,
        platform_smtp_url=None,
        base_domain=settings.base_domain,
        environ={},
    ).sender
    own = mail.get("smtp_env")
    return MailView(
        sender=sender,
        sender_from="mail" if mail.get("sender") else "legal" if legal.get("email") else "platform",
        variable=own or PLATFORM_SMTP_ENV,
        own_server=bool(own),
        # The platform's URL is read once at start (settings); a brand's at each sending.
        variable_set=bool(os.environ.get(own, "").strip()) if own else bool(settings.smtp_url),
    )


class BrandSettingsController(Controller):
    path = SETTINGS
    include_in_schema = False
    dependencies = {
        "staff": Provide(provide_staff),
        "admin": Provide(requires(Permission.SETTINGS_WRITE)),
    }

    def _page(
        self,
        request: Request[Any, Any, Any],
        admin: StaffIdentity,
        *,
        values: Mapping[str, Any] | None = None,
        errors: Mapping[str, str] | None = None,
        status_code: int = 200,
        fragment: str | None = None,
    ) -> Response[str]:
        tenant = current_tenant(request)
        branding = web_state(request).themes.branding(tenant)
        legal = tenant.profile.get("legal") or {}
        payments = tenant.profile.get("payments") or {}
        provider = payments.get("provider") if isinstance(payments, dict) else None
        current: dict[str, Any] = {
            "name": tenant.name,
            "short_name": tenant.short_name,
            **{token: branding.tokens.get(token, "") for token in brand_profile.COLOR_TOKENS},
            "locale": tenant.locale,
            "locales": list(tenant.locales),
            **{field: legal.get(field) or "" for field in LEGAL_FIELDS},
            "provider": provider or "",
            **(values or {}),
        }
        choices = list(dict.fromkeys([*LOCALE_CHOICES, *tenant.locales]))
        owner = has_permission(admin.role, Permission.OWNERSHIP)
        return render(
            request,
            admin,
            "portal/settings/index.html",
            {
                "values": current,
                "errors": errors or {},
                "colors": [(t, COLOR_LABELS[t]) for t in brand_profile.COLOR_TOKENS],
                "locale_choices": [(code, language_name(code)) for code in choices],
                "legal_fields": LEGAL_FIELDS,
                "owner": owner,
                "environment": _environment(tenant, provider) if owner else [],
                "mail": mail_view(tenant, web_state(request).settings),
                "tenant": tenant,
            },
            status_code=status_code,
            fragment=fragment,
        )

    async def _save(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        admin: StaffIdentity,
        write: Callable[[AsyncSession, str], Awaitable[TenantInfo]],
        *,
        action: str,
        detail: dict[str, Any],
    ) -> Response[Any]:
        """Write the change on the platform row (its own transaction), forget the cached
        brand, audit it in the request's transaction and show the settings again."""
        async with web_state(request).database.platform_transaction() as platform:
            await write(platform, current_tenant(request).key)
        web_state(request).registry.invalidate()
        await identity.audit_staff(
            db_session,
            admin,
            action=action,
            entity="brand",
            entity_id=current_tenant(request).key,
            detail=detail,
            ip=client_ip(request),
        )
        return Redirect(SETTINGS, status_code=303)

    @get("/")
    async def index(
        self, request: Request[Any, Any, Any], admin: NamedDependency[StaffIdentity]
    ) -> Response[str]:
        return self._page(request, admin)

    @get("/mail")
    async def mail(
        self, request: Request[Any, Any, Any], admin: NamedDependency[StaffIdentity]
    ) -> Response[str]:
        """How the brand's e-mails leave, checked again: the section alone for HTMX, the
        settings page otherwise."""
        return self._page(request, admin, fragment="portal/settings/_mail.html")

    @post("/brand", status_code=303)
    async def brand(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        form = await request.form()
        update = brand_profile.BrandUpdate(
            name=_text(form, "name"),
            short_name=_text(form, "short_name"),
            colors={t: _text(form, t) for t in brand_profile.COLOR_TOKENS if _text(form, t)},
        )
        errors = brand_profile.check_brand(update)
        if errors:
            values = {"name": update.name, "short_name": update.short_name, **update.colors}
            return self._page(request, admin, values=values, errors=errors, status_code=400)
        return await self._save(
            request,
            db_session,
            admin,
            lambda platform, key: brand_profile.update_brand(platform, key, update),
            action="portal.settings.brand",
            detail={"name": update.name, "short_name": update.short_name, "colors": update.colors},
        )

    @post("/logo", status_code=303)
    async def logo(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        form = await request.form()
        upload = form.get("logo")
        data = (
            await upload.read(brand_profile.MAX_LOGO_BYTES + 1)
            if isinstance(upload, UploadFile)
            else b""
        )
        try:
            brand_profile.logo_svg(data)
        except VoltlaneError as exc:
            return self._page(request, admin, errors={"logo": exc.detail}, status_code=400)
        return await self._save(
            request,
            db_session,
            admin,
            lambda platform, key: brand_profile.update_logo(platform, key, data),
            action="portal.settings.logo",
            detail={
                "bytes": len(data),
                "format": "png" if data.startswith(brand_profile.PNG_SIGNATURE) else "svg",
            },
        )

    @post("/languages", status_code=303)
    async def languages(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        form = await request.form()
        update = brand_profile.LanguagesUpdate(
            locale=_text(form, "locale"),
            locales=tuple(str(v) for v in form.getall("locales", []) if v),
        )
        errors = brand_profile.check_languages(update)
        if errors:
            values = {"locale": update.locale, "locales": list(update.locales)}
            return self._page(request, admin, values=values, errors=errors, status_code=400)
        return await self._save(
            request,
            db_session,
            admin,
            lambda platform, key: brand_profile.update_languages(platform, key, update),
            action="portal.settings.languages",
            detail={"locale": update.locale, "locales": list(update.locales)},
        )

    @post("/legal", status_code=303)
    async def legal(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        form = await request.form()
        values: dict[str, str | None] = {f: _text(form, f) or None for f in LEGAL_FIELDS}
        legal, errors = brand_profile.check_legal(values)
        if legal is None:
            shown = {f: v or "" for f, v in values.items()}
            return self._page(request, admin, values=shown, errors=errors, status_code=400)
        return await self._save(
            request,
            db_session,
            admin,
            lambda platform, key: brand_profile.update_legal(platform, key, legal),
            action="portal.settings.legal",
            detail={"changes": sorted(f for f, v in values.items() if v)},
        )

    @post(
        "/payments",
        status_code=303,
        dependencies={"owner": Provide(requires(Permission.OWNERSHIP))},
    )
    async def payments(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        owner: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        form = await request.form()
        provider = _text(form, "provider")
        if provider not in brand_profile.PAYMENT_PROVIDERS:
            return self._page(
                request,
                owner,
                values={"provider": provider},
                errors={"provider": N_("Choose Stripe or Adyen.")},
                status_code=400,
            )
        return await self._save(
            request,
            db_session,
            owner,
            lambda platform, key: brand_profile.update_payment_provider(platform, key, provider),
            action="portal.settings.payments",
            detail={"provider": provider},
        )
