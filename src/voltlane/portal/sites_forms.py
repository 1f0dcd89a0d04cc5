"""The forms of the sites section: what the browser sent, typed, with an error per field.

The sites service checks ranges and names the field it refuses; these functions only turn
text into the values it takes (a number that is no number is refused here, beside its field).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Any

from voltlane.models.tenant import ScheduleKind, Site, SiteMode
from voltlane.portal.numbers import parse_localized
from voltlane.smart_charging.sites import SiteInput
from voltlane.web.i18n import N_

NOT_A_NUMBER = N_("Enter a number.")
WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
MODES = (
    (SiteMode.DYNAMIC.value, N_("Dynamic (follows readings)")),
    (SiteMode.STATIC.value, N_("Static (safe limit shared)")),
    (SiteMode.OFF.value, N_("Off (no profiles sent)")),
)
SCHEDULE_KINDS = (
    (ScheduleKind.TIME_OF_USE.value, N_("Time of use")),
    (ScheduleKind.PEAK_SHAVING.value, N_("Peak shaving")),
)
SITE_FIELDS = (
    "name",
    "location_id",
    "parent_id",
    "phases",
    "voltage_v",
    "capacity_a",
    "safe_limit_a",
    "min_current_a",
    "discharge_limit_a",
    "allocation_period_s",
    "stale_after_s",
    "mode",
    "segment_priorities",
)


@dataclass(slots=True)
class Parsed:
    errors: dict[str, str]
    values: dict[str, Any]

    def number(
        self, raw: dict[str, str], name: str, locale: str, *, optional: bool = False
    ) -> None:
        text = raw.get(name, "")
        if optional and not text:
            self.values[name] = None
            return
        try:
            self.values[name] = parse_localized(text, locale, point=True)
        except ValueError:
            self.errors[name] = NOT_A_NUMBER

    def whole(self, raw: dict[str, str], name: str) -> None:
        text = raw.get(name, "")
        if text.lstrip("-").isdigit() and len(text) <= 9:
            self.values[name] = int(text)
        else:
            self.errors[name] = N_("Enter a whole number.")

    def ref(self, raw: dict[str, str], name: str) -> None:
        text = raw.get(name, "")
        try:
            self.values[name] = uuid.UUID(text) if text else None
        except ValueError:
            self.errors[name] = N_("Choose one of the options.")


def site_values(site: Site) -> dict[str, str]:
    """A stored site as its form shows it."""
    return {
        "name": site.name,
        "location_id": str(site.location_id or ""),
        "parent_id": str(site.parent_id or ""),
        "phases": str(site.phases),
        "voltage_v": str(site.voltage_v),
        "capacity_a": str(site.capacity_a),
        "safe_limit_a": str(site.safe_limit_a),
        "min_current_a": str(site.min_current_a),
        "discharge_limit_a": "" if site.discharge_limit_a is None else str(site.discharge_limit_a),
        "allocation_period_s": str(site.allocation_period_s),
        "stale_after_s": str(site.stale_after_s),
        "mode": site.mode.value,
        "segment_priorities": "\n".join(f"{k}={v}" for k, v in site.segment_priorities.items()),
    }


def _priorities(text: str, parsed: Parsed) -> dict[str, int]:
    """``fleet=10`` per line (or comma): a segment or ``fleet:<contract>`` and its weight."""
    found: dict[str, int] = {}
    for part in text.replace(",", "\n").splitlines():
        if not part.strip():
            continue
        key, sign, weight = part.partition("=")
        weight = weight.strip()
        if not sign or not key.strip() or not weight.lstrip("-").isdigit() or len(weight) > 6:
            parsed.errors["segment_priorities"] = N_(
                "Write one segment=weight per line, e.g. fleet=10."
            )
            return {}
        found[key.strip()] = int(weight)
    return found


def read_site(raw: dict[str, str], locale: str) -> tuple[SiteInput | None, dict[str, str]]:
    """The site form as the service's input, or the errors of fields that are no number."""
    parsed = Parsed({}, {})
    for name in ("capacity_a", "safe_limit_a", "min_current_a"):
        parsed.number(raw, name, locale)
    parsed.number(raw, "discharge_limit_a", locale, optional=True)
    for name in ("phases", "voltage_v", "allocation_period_s", "stale_after_s"):
        parsed.whole(raw, name)
    parsed.ref(raw, "location_id")
    parsed.ref(raw, "parent_id")
    priorities = _priorities(raw.get("segment_priorities", ""), parsed)
    if parsed.errors:
        return None, parsed.errors
    v = parsed.values
    return (
        SiteInput(
            name=raw.get("name", ""),
            capacity_a=v["capacity_a"],
            safe_limit_a=v["safe_limit_a"],
            phases=v["phases"],
            voltage_v=v["voltage_v"],
            min_current_a=v["min_current_a"],
            allocation_period_s=v["allocation_period_s"],
            stale_after_s=v["stale_after_s"],
            mode=raw.get("mode", ""),
            location_id=v["location_id"],
            parent_id=v["parent_id"],
            segment_priorities=priorities,
            discharge_limit_a=v["discharge_limit_a"],
        ),
        {},
    )


@dataclass(frozen=True, slots=True)
class EvseAssignment:
    evse_pk: uuid.UUID
    priority: int
    max_current_a: Decimal | None
    phases: str


def read_evse(raw: dict[str, str], locale: str) -> tuple[EvseAssignment | None, dict[str, str]]:
    parsed = Parsed({}, {})
    parsed.ref(raw, "evse_pk")
    if parsed.values.get("evse_pk") is None:
        parsed.errors["evse_pk"] = N_("Choose an EVSE from the list.")
    parsed.whole(raw, "priority")
    parsed.number(raw, "max_current_a", locale, optional=True)
    if parsed.errors:
        return None, parsed.errors
    v = parsed.values
    return EvseAssignment(
        v["evse_pk"], v["priority"], v["max_current_a"], raw.get("phases", "")
    ), {}


@dataclass(frozen=True, slots=True)
class ScheduleWindow:
    kind: str
    weekdays: int
    starts_at: time
    ends_at: time
    limit_a: Decimal
    label: str


def _clock(text: str) -> time | None:
    try:
        value = time.fromisoformat(text)
    except ValueError:
        return None
    return value if len(text) == 5 else None


def read_schedule(
    raw: dict[str, str], days: list[str], locale: str
) -> tuple[ScheduleWindow | None, dict[str, str]]:
    """A window: its kind, the weekdays ticked (0 Monday .. 6 Sunday), HH:MM start and end."""
    parsed = Parsed({}, {})
    mask = 0
    for day in days:
        if day.isdigit() and int(day) < 7:
            mask |= 1 << int(day)
    starts, ends = _clock(raw.get("starts_at", "")), _clock(raw.get("ends_at", ""))
    if starts is None:
        parsed.errors["starts_at"] = N_("Enter a time as HH:MM.")
    if ends is None:
        parsed.errors["ends_at"] = N_("Enter a time as HH:MM.")
    parsed.number(raw, "limit_a", locale)
    if parsed.errors or starts is None or ends is None:
        return None, parsed.errors
    return ScheduleWindow(
        raw.get("kind", ""),
        mask,
        starts,
        ends,
        parsed.values["limit_a"],
        raw.get("label", ""),
    ), {}
