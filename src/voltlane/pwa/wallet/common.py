"""What the money pages of the driver app share: the signed-in driver, rendering, forms,
amounts typed in the brand's language, paging, the brand's calendar day."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import NumberFormatError, format_decimal, get_currency_symbol, parse_decimal
from litestar import Request, Response
from litestar.params import QueryParameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.pwa.auth import DriverIdentity, sign_in_url, signed_in_driver
from voltlane.tariff.rounding import from_minor, minor_unit_exponent
from voltlane.tenancy import TenantInfo
from voltlane.web.context import current_tenant, web_state
from voltlane.web.i18n import N_, request_locale

T = TypeVar("T")

PAGE_SIZE = 20
MAX_PAGE = 10_000
MAX_INPUT = 200  # longer form values are cut before they are checked

PageNumber = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)]
Errors = dict[str, str]


async def driver_of(
    request: Request[Any, Any, Any], db_session: AsyncSession
) -> DriverIdentity | Response[Any]:
    """The signed-in driver, or the response that sends the browser to sign in first (and
    back to this page afterwards)."""
    driver = await signed_in_driver(request, db_session)
    if driver is not None:
        return driver
    target = sign_in_url(request.url.path)
    if request.headers.get("hx-request") == "true":
        return Response(b"", status_code=401, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def render(
    request: Request[Any, Any, Any],
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
) -> Response[str]:
    """A money page of the app; never cached (it shows balances)."""
    return web_state(request).renderer.render(
        request,
        template,
        context,
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def see_other(path: str) -> Redirect:
    """Post/redirect/get: a reload of the page that follows never sends the form again."""
    return Redirect(path, status_code=303)


async def read_form(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The submitted fields as trimmed strings (files and repeated names ignored)."""
    form = await request.form()
    return {key: value.strip()[:MAX_INPUT] for key, value in form.items() if isinstance(value, str)}


def public_url(request: Request[Any, Any, Any], path: str) -> str:
    """An absolute URL on this brand host: where a PSP's page sends the browser back."""
    scheme = web_state(request).settings.public_scheme
    return f"{scheme}://{request.headers.get('host', '')}{path}"


def parse_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def locale_of(request: Request[Any, Any, Any]) -> str:
    return request_locale(request, current_tenant(request))


def brand_today(brand: TenantInfo) -> date:
    """Today in the brand's timezone: plans start and end on the brand's calendar days."""
    return utcnow().astimezone(ZoneInfo(brand.timezone)).date()


def amount_example(minor: int, currency: str, locale: str) -> str:
    """An amount as a driver types it in ``locale`` ("25,00" in German, "25.00" in English)."""
    digits = minor_unit_exponent(currency)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(from_minor(minor, currency), format=pattern, locale=locale)


def parse_amount(raw: str, currency: str, locale: str) -> tuple[int | None, str | None]:
    """An amount typed in the driver's language ("25,00" in German) as minor units of
    ``currency``, or the message that says what is wrong with it."""
    text = raw.replace("\u00a0", " ")
    for mark in (get_currency_symbol(currency, locale=locale), currency):
        text = text.replace(mark, "")
    text = text.strip()
    if not text:
        return None, N_("Enter an amount.")
    try:
        value = parse_decimal(text, locale=locale, strict=True)
    except NumberFormatError:
        return None, N_("Enter an amount such as %(example)s.")
    if not value.is_finite():
        return None, N_("Enter an amount such as %(example)s.")
    minor = value.scaleb(minor_unit_exponent(currency))
    if minor != minor.to_integral_value():
        return None, N_("Enter at most two decimals.")
    if minor <= 0:
        return None, N_("Enter an amount greater than zero.")
    if minor > Decimal(10**12):
        return None, N_("Enter an amount from %(least)s to %(most)s.")
    return int(minor), None


@dataclass(frozen=True, slots=True)
class PageOf(Generic[T]):
    """One page of a list (newest first) and whether there is an older one."""

    items: list[T]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @staticmethod
    def of(rows: Sequence[T], number: int) -> PageOf[T]:
        """``rows`` fetched with ``limit_of`` / ``offset_of`` (one more than a page)."""
        return PageOf(list(rows[:PAGE_SIZE]), number, len(rows) > PAGE_SIZE)


def limit_of(_number: int) -> int:
    return PAGE_SIZE + 1


def offset_of(number: int) -> int:
    return (number - 1) * PAGE_SIZE


def notice_of(code: str | None, notices: Mapping[str, str]) -> str | None:
    """The sentence a redirect asked the page to show (``?notice=<code>``), if it knows it."""
    return notices.get(code) if code else None


def day_text(day: date, locale: str) -> str:
    """A calendar day as the driver reads it ("1. Dezember 2026", "1 December 2026")."""
    return format_date(day, format="long", locale=locale)
