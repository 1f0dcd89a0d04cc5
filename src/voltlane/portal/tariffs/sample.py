"""The sample session of a price preview, as typed on the tariff page or in the editor."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from voltlane.portal.tariffs.reader import BAD_DATETIME, FieldReader, FormValues, cut
from voltlane.tariff import SampleSession, Segment, SegmentKind
from voltlane.web.i18n import N_

WEEK_MINUTES = 7 * 24 * 60
SAMPLE_FIELDS = (
    "sample-start",
    "sample-charging",
    "sample-energy",
    "sample-power",
    "sample-parking",
    "sample-segment",
    "sample-segment_ref",
)


def sample_form(items: Iterable[tuple[str, Any]], *, default_start: datetime) -> FormValues:
    """The sample's inputs as posted, or a typical session (an hour, 20 kWh at 22 kW,
    starting ``default_start``) for the fields left out entirely."""
    given = {name: cut(value) for name, value in items if name in SAMPLE_FIELDS}
    defaults = {
        "sample-start": default_start.strftime("%Y-%m-%dT%H:%M"),
        "sample-charging": "60",
        "sample-energy": "20",
        "sample-power": "22",
        "sample-parking": "0",
        "sample-segment": SegmentKind.PUBLIC.value,
        "sample-segment_ref": "",
    }
    return FormValues({name: given.get(name, value) for name, value in defaults.items()})


def parse_sample(sample: FormValues, zone: ZoneInfo) -> tuple[SampleSession, Segment] | None:
    """The sample session (its times in ``zone``) and the driver's segment, or None with
    the problems in ``sample.errors``."""
    read = FieldReader(sample)
    start = read.local_datetime("sample-start", zone)
    if start is None and not sample.get("sample-start"):
        read.fail("sample-start", BAD_DATETIME)
    charging = read.minutes("sample-charging") if read.required("sample-charging") else None
    if charging == 0:
        read.fail("sample-charging", N_("Must be more than zero."))
    energy = read.decimal("sample-energy") if read.required("sample-energy") else None
    power = read.decimal("sample-power")
    parking = read.minutes("sample-parking") or 0
    for name in ("sample-charging", "sample-parking"):
        value = read.decimal(name)
        if value is not None and value > WEEK_MINUTES:
            read.fail(name, N_("Use at most a week (10080 minutes)."))
    if energy is not None and power is not None and charging and energy > power * charging / 3600:
        read.fail("sample-energy", N_("More than the maximum power delivers in that time."))
    segment = read.segment("sample-segment", "sample-segment_ref")
    if sample.errors or start is None or charging is None or energy is None or segment is None:
        return None
    session = SampleSession(
        start=start,
        time_zone=zone,
        charging=timedelta(seconds=charging),
        energy_kwh=energy,
        max_power_kw=power,
        parking=timedelta(seconds=parking),
    )
    return session, segment
