"""What monitoring hands to its callers: plain rows, never ORM objects with relationships."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from voltlane.models.tenant import AlertKind


@dataclass(frozen=True, slots=True)
class LiveCounts:
    """The network right now and today so far (the dashboard's tiles)."""

    stations_online: int
    stations_offline: int
    stations_faulted: int
    stations_charging: int
    energy_today_kwh: Decimal
    revenue_today: int  # minor units of ``currency``, net of VAT
    currency: str
    open_alerts: int


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition detection found now, keyed so it is alerted once while it lasts."""

    key: str
    kind: AlertKind
    station_pk: uuid.UUID
    station_id: str
    detail: str
    since: datetime
    occurrences: int = 1
    # ``detail`` as values (see Alert.detail_values), for the portal's words.
    values: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class DetectionResult:
    opened: int
    resolved: int


@dataclass(frozen=True, slots=True)
class RuleInput:
    """A rule as the form sends it, validated by ``service.update_rule``."""

    enabled: bool
    threshold: str
    emails: str
    webhook_url: str


@dataclass(frozen=True, slots=True)
class DowntimeRow:
    id: uuid.UUID
    station_id: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str | None


@dataclass(frozen=True, slots=True)
class StationOption:
    id: uuid.UUID
    station_id: str


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Availability, utilization and what was sold, for a station, a site or a segment."""

    key: str  # station id, location name or segment
    location: str
    period_seconds: int  # the range minus planned downtime (0 for a segment)
    available_seconds: int
    charging_seconds: int
    sessions: int
    energy_kwh: Decimal
    revenue: int  # minor units, net of VAT
    currency: str

    @property
    def availability(self) -> Decimal | None:
        """Available share of the time that was not planned downtime, in percent."""
        return _percent(self.available_seconds, self.period_seconds)

    @property
    def utilization(self) -> Decimal | None:
        """Charging share of the available time, in percent."""
        return _percent(self.charging_seconds, self.available_seconds)


def _percent(part: int, whole: int) -> Decimal | None:
    if whole <= 0:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"))


@dataclass(frozen=True, slots=True)
class DayRow:
    day: str  # ISO date in the brand's timezone
    energy_kwh: Decimal
    revenue: int
    sessions: int
