"""What the finance pages share: lists with their filters read from the query string,
amounts and months typed by a person, the audit entry of a write, the brand's calendar."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from litestar import Request, Response

from voltlane.core.clock import month_of, utcnow
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal import pages
from voltlane.tariff.rounding import minor_unit_exponent
from voltlane.tenancy import TenantInfo
from voltlane.web.i18n import N_

E = TypeVar("E", bound=enum.Enum)

MAX_INPUT = 500  # longer values are cut before they are checked
AMOUNT_RE = re.compile(r"^\d{1,12}(?:[.,]\d{1,3})?$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
# Days a person may ask for: a day after the last or before the first has no midnight in
# every timezone.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9998, 12, 31)


@dataclass
class Filters:
    """A list page's filters as typed (kept in the form and on every page link) and what
    is wrong with them, beside each field."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, request: Request[Any, Any, Any], names: tuple[str, ...]) -> Filters:
        query = request.query_params
        return cls({name: str(query.get(name) or "").strip()[:MAX_INPUT] for name in names})

    def text(self, name: str) -> str | None:
        return self.values[name] or None

    def choice(self, name: str, kind: type[E]) -> E | None:
        raw = self.values[name]
        if not raw:
            return None
        for member in kind:
            if member.value == raw:
                return member
        self.errors[name] = N_("Choose one of the options.")
        return None

    def day(self, name: str) -> date | None:
        raw = self.values[name]
        if not raw:
            return None
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            self.errors[name] = N_("Enter a date as YYYY-MM-DD.")
            return None
        if not FIRST_DAY <= value <= LAST_DAY:
            self.errors[name] = N_("Enter a date between 1970 and 9998.")
            return None
        return value

    def days(self, start: str, end: str) -> tuple[date | None, date | None]:
        """An inclusive range of days; the end may not come before the start."""
        first, last = self.day(start), self.day(end)
        if first is not None and last is not None and last < first:
            self.errors[end] = N_("The end date is before the start date.")
        return first, last


def local_midnight(day: date, brand: TenantInfo) -> datetime:
    """The start of ``day`` in the brand's timezone, in UTC."""
    return datetime.combine(day, time(0), ZoneInfo(brand.timezone)).astimezone(UTC)


def instants(first: date | None, last: date | None, brand: TenantInfo) -> tuple[Any, Any]:
    """An inclusive range of the brand's days as [start, end) instants in UTC."""
    return (
        local_midnight(first, brand) if first is not None else None,
        local_midnight(last + timedelta(days=1), brand) if last is not None else None,
    )


def parse_amount(raw: str, currency: str) -> tuple[int | None, str | None]:
    """A typed amount in the currency's units ("12.50" or "12,50") as minor units, or the
    message that says what is wrong with it."""
    if not AMOUNT_RE.match(raw):
        return None, N_("Enter an amount such as 12.50.")
    try:
        value = Decimal(raw.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None, N_("Enter an amount such as 12.50.")
    minor = value.scaleb(minor_unit_exponent(currency))
    if minor != minor.to_integral_value():
        return None, N_("The currency has no smaller unit than that.")
    if minor <= 0:
        return None, N_("Enter an amount greater than zero.")
    return int(minor), None


def parse_month(raw: str) -> tuple[date | None, str | None]:
    """A month typed as YYYY-MM (what a month field sends) as its first day."""
    match = MONTH_RE.match(raw)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        return None, N_("Enter a month as YYYY-MM.")
    first = date(max(int(match.group(1)), 1), int(match.group(2)), 1)
    if not FIRST_DAY <= first <= LAST_DAY:
        return None, N_("Enter a month between 1970 and 9998.")
    return first, None


def brand_today(brand: TenantInfo) -> date:
    """Today in the brand's timezone."""
    return utcnow().astimezone(ZoneInfo(brand.timezone)).date()


def this_month(brand: TenantInfo) -> date:
    """The first day of the current month in the brand's timezone."""
    return month_of(brand_today(brand))[0]


Columns = Sequence[tuple[str, Callable[[Any], Any]]]


async def list_page(
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    *,
    tab: str,
    fetch: pages.Fetch,
    columns: Columns,
    page: int,
    fmt: str,
    filters: Filters | None = None,
    context: Mapping[str, Any] | None = None,
    status_code: int | None = None,
) -> Response[Any]:
    """A finance tab's list (``portal/finance/<tab>/index.html``, its table for HTMX) or,
    with ``fmt`` csv, all its rows as ``<tab>.csv``; wrong filters are shown beside their
    field with status 400 and no rows. ``status_code`` answers a form of the page that
    was refused."""
    return await pages.list_page(
        request,
        staff,
        fetch,
        page=page,
        format=fmt,
        filename=f"{tab}.csv",
        columns=columns,
        template=f"portal/finance/{tab}/index.html",
        fragment=f"portal/finance/{tab}/_table.html",
        query=filters.values if filters is not None else None,
        errors=filters.errors if filters is not None else None,
        context={"tab": tab, "filters": filters, **(context or {})},
        status_code=status_code,
    )
