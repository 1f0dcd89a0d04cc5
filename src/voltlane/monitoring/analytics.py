"""Analytics of a date range: availability, utilization, sessions, energy and revenue per
station, site and segment, and planned downtime (formulas in docs/analytics.md)."""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.core.text import N_
from voltlane.models.tenant import PlannedDowntime, StationState
from voltlane.monitoring.analytics_repository import AnalyticsRepository
from voltlane.monitoring.errors import DowntimeNotFoundError, InvalidInputError
from voltlane.monitoring.intervals import Interval, intersect, seconds, subtract, union
from voltlane.monitoring.schemas import DayRow, DowntimeRow, StationOption, UsageRow
from voltlane.tenancy import TenantInfo

MAX_DAYS = 366
MAX_DOWNTIME = timedelta(days=92)
WATT_HOUR = Decimal("0.001")


@dataclass(frozen=True, slots=True)
class DateRange:
    """Whole days ``first``..``last`` of a timezone, as a [start, end) UTC range."""

    first: date
    last: date
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Usage:
    stations: list[UsageRow]
    sites: list[UsageRow]
    segments: list[UsageRow]
    days: list[DayRow]


def date_range(first: str, last: str, timezone: str) -> DateRange:
    """The days the form names (ISO dates, both included); InvalidInputError per field."""
    errors: dict[str, str] = {}
    parsed: dict[str, date] = {}
    for name, text in (("from", first), ("to", last)):
        try:
            parsed[name] = date.fromisoformat(text.strip())
        except ValueError:
            errors[name] = N_("Enter a date as YYYY-MM-DD.")
    if not errors:
        if parsed["to"] < parsed["from"]:
            errors["to"] = N_("The last day cannot be before the first.")
        elif (parsed["to"] - parsed["from"]).days >= MAX_DAYS:
            errors["to"] = N_("Choose at most %(num)d days.", num=MAX_DAYS)
    if errors:
        raise InvalidInputError(errors)
    zone = ZoneInfo(timezone)
    return DateRange(
        first=parsed["from"],
        last=parsed["to"],
        start=datetime.combine(parsed["from"], time(), zone),
        end=datetime.combine(parsed["to"] + timedelta(days=1), time(), zone),
    )


def kwh_of(value: Decimal | int) -> Decimal:
    """Energy to the watt-hour, as every table and export shows it."""
    return Decimal(value).quantize(WATT_HOUR)


def default_range(timezone: str, now: datetime | None = None) -> tuple[str, str]:
    """The last seven days up to today, as the form's two dates."""
    today = (now or utcnow()).astimezone(ZoneInfo(timezone)).date()
    return (today - timedelta(days=6)).isoformat(), today.isoformat()


async def usage(
    db_session: AsyncSession, brand: TenantInfo, days: DateRange, *, now: datetime | None = None
) -> Usage:
    """Per station, per site and per segment, for the days of ``days`` up to now.

    Times are EVSE-seconds, so a two-EVSE station counts its time twice: availability is
    the share of non-planned time the station was online without a fault; utilization the
    share of that available time its EVSEs were charging.
    """
    now = now or utcnow()
    repo = AnalyticsRepository(db_session)
    window = [(days.start, min(days.end, now))] if days.start < now else []
    online: dict[uuid.UUID, list[Interval]] = defaultdict(list)
    faulted: dict[uuid.UUID, list[Interval]] = defaultdict(list)
    for pk, state, start, end in await repo.periods_between(days.start, days.end):
        (online if state is StationState.ONLINE else faulted)[pk].append((start, end))
    planned: dict[uuid.UUID, list[Interval]] = defaultdict(list)
    for pk, start, end in await repo.downtimes_between(days.start, days.end):
        planned[pk].append((start, end))
    charging: dict[uuid.UUID, list[Interval]] = defaultdict(list)
    for pk, start, end in await repo.sessions_between(days.start, days.end):
        charging[pk].append((start, end or now))
    sales = {
        pk: (int(n), kwh_of(kwh), int(net))
        for pk, n, kwh, net in await repo.sales_by("station", days.start, days.end, brand.currency)
    }
    stations: list[UsageRow] = []
    site_rows: dict[str, list[UsageRow]] = defaultdict(list)
    for pk, station_id, _location_pk, location, evses in await repo.stations_with_sites():
        scheduled = intersect(window, union(planned[pk]))
        open_time = subtract(window, scheduled)
        available = subtract(intersect(open_time, union(online[pk])), union(faulted[pk]))
        busy = sum(seconds(intersect(available, [session])) for session in charging[pk])
        n, kwh, net = sales.get(pk, (0, kwh_of(0), 0))
        row = UsageRow(
            key=station_id,
            location=location,
            period_seconds=seconds(open_time) * evses,
            available_seconds=seconds(available) * evses,
            charging_seconds=min(busy, seconds(available) * evses),
            sessions=n,
            energy_kwh=kwh,
            revenue=net,
            currency=brand.currency,
        )
        stations.append(row)
        site_rows[location].append(row)
    sites = [
        UsageRow(
            key=location,
            location=location,
            period_seconds=sum(r.period_seconds for r in rows),
            available_seconds=sum(r.available_seconds for r in rows),
            charging_seconds=sum(r.charging_seconds for r in rows),
            sessions=sum(r.sessions for r in rows),
            energy_kwh=sum((r.energy_kwh for r in rows), kwh_of(0)),
            revenue=sum(r.revenue for r in rows),
            currency=brand.currency,
        )
        for location, rows in site_rows.items()
    ]
    segments = [
        UsageRow(
            key=segment,
            location="",
            period_seconds=0,
            available_seconds=0,
            charging_seconds=0,
            sessions=int(n),
            energy_kwh=kwh_of(kwh),
            revenue=int(net),
            currency=brand.currency,
        )
        for segment, n, kwh, net in await repo.sales_by(
            "segment", days.start, days.end, brand.currency
        )
    ]
    by_day = {
        day: DayRow(day, kwh_of(kwh), int(net), int(n))
        for day, n, kwh, net in await repo.sales_by_day(
            days.start, days.end, brand.currency, brand.timezone
        )
    }
    calendar = [
        (days.first + timedelta(days=i)).isoformat()
        for i in range((days.last - days.first).days + 1)
    ]
    day_rows = [by_day.get(day, DayRow(day, kwh_of(0), 0, 0)) for day in calendar]
    return Usage(stations=stations, sites=sites, segments=segments, days=day_rows)


# -- planned downtime ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DowntimeInput:
    station: str  # the station's pk, from the form's select
    starts: str  # YYYY-MM-DDTHH:MM in the brand's timezone
    ends: str
    reason: str


async def list_downtimes(db_session: AsyncSession, *, limit: int, offset: int) -> list[DowntimeRow]:
    """Planned downtime windows, latest start first."""
    return await AnalyticsRepository(db_session).downtimes(limit=limit, offset=offset)


async def station_options(db_session: AsyncSession) -> list[StationOption]:
    """Stations placed at a location, for choosing one in a form."""
    return await AnalyticsRepository(db_session).station_options()


def _local(text: str, zone: ZoneInfo) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=zone) if value.tzinfo is None else None


async def add_downtime(
    db_session: AsyncSession, timezone: str, data: DowntimeInput, *, by: str
) -> PlannedDowntime:
    """Record planned downtime of a station; InvalidInputError names each wrong field."""
    repo = AnalyticsRepository(db_session)
    zone = ZoneInfo(timezone)
    errors: dict[str, str] = {}
    station_pk: uuid.UUID | None = None
    with contextlib.suppress(ValueError):
        station_pk = uuid.UUID(data.station)
    if station_pk is None or not await repo.station_exists(station_pk):
        errors["station"] = N_("Choose a station.")
    starts, ends = _local(data.starts, zone), _local(data.ends, zone)
    if starts is None:
        errors["starts"] = N_("Enter a date and time.")
    if ends is None:
        errors["ends"] = N_("Enter a date and time.")
    elif starts is not None and ends <= starts:
        errors["ends"] = N_("The end must be after the start.")
    elif starts is not None and ends - starts > MAX_DOWNTIME:
        errors["ends"] = N_("Planned downtime lasts at most 92 days.")
    reason = data.reason.strip()
    if not reason:
        errors["reason"] = N_("Say why the station is down.")
    elif len(reason) > 200:
        errors["reason"] = N_("At most 200 characters.")
    if errors:
        raise InvalidInputError(errors)
    assert station_pk is not None
    assert starts is not None
    assert ends is not None
    row = PlannedDowntime(
        charging_station_id=station_pk,
        starts_at=starts,
        ends_at=ends,
        reason=reason,
        created_by=by,
    )
    repo.add(row)
    await repo.flush()
    return row


async def remove_downtime(db_session: AsyncSession, downtime_id: uuid.UUID) -> PlannedDowntime:
    """Delete a planned downtime window (it no longer counts as planned)."""
    repo = AnalyticsRepository(db_session)
    row = await repo.downtime(downtime_id)
    if row is None:
        raise DowntimeNotFoundError(f"no planned downtime {downtime_id}")
    await repo.delete(row)
    await repo.flush()
    return row
