"""Changing a brand's profile from its portal: display name, short name, colours, languages,
the legal details its documents print and its payment provider.

The profile lives on the platform row (``tenants.profile``), where the tenant file seeded it.
What the portal changed is remembered under ``portal_edited``, so a later ``tenants sync``
of the file keeps the brand's own edits instead of undoing them.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import msgspec
from babel import Locale, UnknownLocaleError
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import ValidationError
from voltlane.core.text import N_
from voltlane.models.platform import Tenant
from voltlane.tenancy.errors import TenantNotFoundError
from voltlane.tenancy.repository import TenantRepository
from voltlane.tenancy.schemas import TenantInfo
from voltlane.tenancy.spec import COLOR_RE, Legal

EDITED_KEY = "portal_edited"
# The colours a brand may set from its portal (theme tokens; the rest stay the theme's).
COLOR_TOKENS = (
    "color-primary",
    "color-on-primary",
    "color-background",
    "color-surface",
    "color-text",
)
# Languages Voltlane has catalogs for: a brand offers locales of these languages only.
CATALOG_LANGUAGES = ("en", "de", "fr")
MAX_NAME = 120
MAX_SHORT_NAME = 12
PAYMENT_PROVIDERS = ("stripe", "adyen")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class InvalidProfileError(ValidationError):
    title = "Invalid brand profile"


@dataclass(frozen=True, slots=True)
class BrandUpdate:
    name: str
    short_name: str
    colors: dict[str, str]  # token -> #rrggbb; a token left out falls back to the theme


@dataclass(frozen=True, slots=True)
class LanguagesUpdate:
    locale: str
    locales: tuple[str, ...]


def check_brand(update: BrandUpdate) -> dict[str, str]:
    """Errors by field of a brand update (empty when valid)."""
    errors: dict[str, str] = {}
    if not update.name.strip():
        errors["name"] = N_("Enter the brand's name.")
    elif len(update.name.strip()) > MAX_NAME:
        errors["name"] = N_("At most 120 characters.")
    if not update.short_name.strip():
        errors["short_name"] = N_("Enter a short name (for the home screen).")
    elif len(update.short_name.strip()) > MAX_SHORT_NAME:
        errors["short_name"] = N_("At most 12 characters.")
    for token, value in update.colors.items():
        if token not in COLOR_TOKENS:
            errors[token] = N_("Not a colour the portal sets.")
        elif not COLOR_RE.fullmatch(value):
            errors[token] = N_("Enter a colour as #rrggbb.")
    return errors


def check_languages(update: LanguagesUpdate) -> dict[str, str]:
    """Errors by field of a languages update (empty when valid)."""
    errors: dict[str, str] = {}
    for code in (update.locale, *update.locales):
        try:
            language = Locale.parse(code).language
        except (ValueError, UnknownLocaleError):
            language = None
        if language not in CATALOG_LANGUAGES:
            errors["locales"] = N_("Choose among English, German and French.")
    if not update.locales:
        errors["locales"] = N_("Offer at least one language.")
    elif update.locale not in update.locales:
        errors["locale"] = N_("The default language must be one of those offered.")
    return errors


def check_legal(values: dict[str, str | None]) -> tuple[Legal | None, dict[str, str]]:
    """The legal details as the tenant file's ``[legal]`` would hold them, or the errors."""
    errors: dict[str, str] = {}
    if not values.get("entity"):
        errors["entity"] = N_("Enter the legal entity that issues the documents.")
    if not values.get("address"):
        errors["address"] = N_("Enter the address as printed in the footer.")
    email = values.get("email")
    if email and not EMAIL_RE.fullmatch(email):
        errors["email"] = N_("Enter a valid e-mail address.")
    if errors:
        return None, errors
    try:
        legal = msgspec.convert({k: v for k, v in values.items() if v}, Legal, strict=True)
    except msgspec.ValidationError as exc:
        field = str(exc).rsplit("$.", 1)[-1].rstrip("`")
        messages = {
            "country": N_("Enter a country as two capital letters (DE)."),
            "iban": N_("Enter an IBAN without spaces (DE89370400440532013000)."),
            "bic": N_("Enter a BIC of 8 or 11 characters."),
        }
        return None, {field: messages.get(field, N_("This value is not valid."))}
    return legal, {}


# Columns of the platform row the portal may change (beside the profile's keys).
EDITABLE_COLUMNS = ("name", "locale")


async def _locked(db_session: AsyncSession, tenant_key: str) -> Tenant:
    repo = TenantRepository(db_session)
    found = await repo.by_key(tenant_key)
    tenant = await repo.get(found.id, for_update=True) if found is not None else None
    if tenant is None:
        raise TenantNotFoundError(f"no brand {tenant_key!r}")
    return tenant


async def _edit(
    tenant: Tenant,
    db_session: AsyncSession,
    changes: dict[str, Any],
    columns: dict[str, str] | None = None,
) -> TenantInfo:
    edited = set((tenant.profile or {}).get(EDITED_KEY) or []) | set(changes)
    for column, value in (columns or {}).items():
        setattr(tenant, column, value)
        edited.add(column)
    # A new dict: the JSONB column sees an assignment, not an in-place change.
    tenant.profile = {**(tenant.profile or {}), **changes, EDITED_KEY: sorted(edited)}
    await db_session.flush()
    return TenantInfo.from_row(tenant)


async def update_brand(
    db_session: AsyncSession, tenant_key: str, update: BrandUpdate
) -> TenantInfo:
    """Rename the brand and set its colours (platform transaction); the portal, the PWA and
    its manifest show them once the registry's cache of the brand expires."""
    errors = check_brand(update)
    if errors:
        field, message = next(iter(errors.items()))
        raise InvalidProfileError(message, field=field)
    tenant = await _locked(db_session, tenant_key)
    tokens = dict((tenant.profile or {}).get("tokens") or {})
    for token in COLOR_TOKENS:
        tokens.pop(token, None)
    tokens.update(update.colors)
    return await _edit(
        tenant,
        db_session,
        {"short_name": update.short_name.strip(), "tokens": tokens},
        {"name": update.name.strip()},
    )


async def update_languages(
    db_session: AsyncSession, tenant_key: str, update: LanguagesUpdate
) -> TenantInfo:
    """Set the languages the brand offers and its default (platform transaction)."""
    errors = check_languages(update)
    if errors:
        field, message = next(iter(errors.items()))
        raise InvalidProfileError(message, field=field)
    tenant = await _locked(db_session, tenant_key)
    return await _edit(
        tenant, db_session, {"locales": list(update.locales)}, {"locale": update.locale}
    )


async def update_legal(db_session: AsyncSession, tenant_key: str, legal: Legal) -> TenantInfo:
    """Set what the brand's receipts and invoices print as their seller; documents issued
    before keep what they printed."""
    tenant = await _locked(db_session, tenant_key)
    return await _edit(tenant, db_session, {"legal": msgspec.to_builtins(legal)})


async def update_payment_provider(
    db_session: AsyncSession, tenant_key: str, provider: str
) -> TenantInfo:
    """Choose the brand's PSP; its credentials stay in the environment."""
    if provider not in PAYMENT_PROVIDERS:
        raise InvalidProfileError(N_("Choose Stripe or Adyen."), field="provider")
    tenant = await _locked(db_session, tenant_key)
    payments = dict((tenant.profile or {}).get("payments") or {})
    return await _edit(tenant, db_session, {"payments": {**payments, "provider": provider}})


def keep_portal_edits(tenant: Tenant, seeded: dict[str, Any], columns: dict[str, str]) -> None:
    """Store a tenant file's profile and ``columns`` on ``tenant``, except what the brand
    changed in its portal since (a sync never undoes the brand's own edits)."""
    current = tenant.profile or {}
    edited = list(current.get(EDITED_KEY) or [])
    for column, value in columns.items():
        if column not in edited or getattr(tenant, column, None) is None:
            setattr(tenant, column, value)
    kept = {key: current[key] for key in edited if key in current}
    tenant.profile = {**seeded, **kept, **({EDITED_KEY: edited} if edited else {})}


# -- the logo ----------------------------------------------------------------------------

MAX_LOGO_BYTES = 200_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"
# Elements that run code or pull in other documents: an SVG holding one is refused.
_FORBIDDEN_ELEMENTS = {"script", "foreignobject", "iframe", "embed", "object", "handler"}
_HREF_ATTRIBUTES = {"href", "{http://www.w3.org/1999/xlink}href"}
_EXTERNAL = re.compile(r"@import|javascript:|url\(\s*['\"]?(?!#)", re.IGNORECASE)
SCRIPTS_REFUSED = N_("An SVG with scripts or embedded documents is refused.")
LOADS_REFUSED = N_("An SVG that loads other files is refused.")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _safe_reference(value: str) -> bool:
    value = value.strip().lower()
    return value.startswith(("#", "data:image/png", "data:image/jpeg"))


def check_svg(data: bytes) -> str:
    """The SVG as text when it is safe to serve as the brand's logo: well-formed, no DTD or
    entities, no scripts, event handlers, foreign objects or references to other documents."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidProfileError(N_("The SVG must be UTF-8 text."), field="logo") from exc
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise InvalidProfileError(N_("An SVG with a DTD or entities is refused."), field="logo")
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - no DTD, so no entity expansion
    except ElementTree.ParseError as exc:
        raise InvalidProfileError(N_("This is not a well-formed SVG file."), field="logo") from exc
    if root.tag != f"{SVG_NS}svg":
        raise InvalidProfileError(N_("This is not an SVG image."), field="logo")
    for element in root.iter():
        tag = _local(element.tag) if isinstance(element.tag, str) else "script"
        handlers = [name for name in element.attrib if _local(name).startswith("on")]
        if tag in _FORBIDDEN_ELEMENTS or handlers:
            raise InvalidProfileError(SCRIPTS_REFUSED, field="logo")
        texts = [element.text or ""] if tag == "style" else []
        texts += [value for name, value in element.attrib.items() if name not in _HREF_ATTRIBUTES]
        hrefs = [value for name, value in element.attrib.items() if name in _HREF_ATTRIBUTES]
        if any(_EXTERNAL.search(t) for t in texts) or not all(map(_safe_reference, hrefs)):
            raise InvalidProfileError(LOADS_REFUSED, field="logo")
    return text


def png_as_svg(data: bytes) -> str:
    """A PNG logo inside an SVG of its own size, so every brand's logo is one SVG."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise InvalidProfileError(N_("This PNG file is damaged."), field="logo")
    width, height = struct.unpack(">II", data[16:24])
    if not (0 < width <= 4096 and 0 < height <= 4096):
        raise InvalidProfileError(N_("A logo is at most 4096 pixels wide and high."), field="logo")
    encoded = base64.b64encode(data).decode()
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><image width="{width}" height="{height}" '
        f'href="data:image/png;base64,{encoded}"/></svg>'
    )


def logo_svg(data: bytes) -> str:
    """An uploaded logo (SVG or PNG, at most MAX_LOGO_BYTES) as the SVG the brand serves."""
    if not data:
        raise InvalidProfileError(N_("Choose an SVG or PNG file."), field="logo")
    if len(data) > MAX_LOGO_BYTES:
        raise InvalidProfileError(N_("A logo is at most 200 KB."), field="logo")
    if data.startswith(PNG_SIGNATURE):
        return png_as_svg(data)
    return check_svg(data)


async def update_logo(db_session: AsyncSession, tenant_key: str, data: bytes) -> TenantInfo:
    """Replace the brand's logo (checked, a PNG wrapped in SVG); the portal header, the
    driver app and the sign-in page show it at /brand/logo.svg."""
    svg = logo_svg(data)
    tenant = await _locked(db_session, tenant_key)
    return await _edit(tenant, db_session, {"logo_svg": svg})
