"""Sites, their EVSEs, schedules, readings and departure targets: checked, then written.

Every check runs before a row is written; a bad value raises ``InvalidSiteError`` naming
its field (``errors`` holds each wrong field of one form). No service commits: the request
or job that calls it owns the transaction.

``allocator_nodes`` and ``evse_phases`` turn stored rows into the allocator's inputs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.core.errors import NotFoundError, ValidationError
from voltlane.core.text import N_
from voltlane.models.tenant import (
    ChargingTarget,
    ReadingKind,
    ScheduleKind,
    SessionStatus,
    Site,
    SiteEvse,
    SiteMode,
    SiteReading,
    SiteSchedule,
)
from voltlane.smart_charging.allocator import (
    STEP,
    Node,
    Reading,
    Readings,
    Window,
    available_current,
    schedule_limit,
)
from voltlane.smart_charging.repository import SmartChargingRepository
from voltlane.worker.outbox import enqueue

MAX_CURRENT_A = Decimal("99999.9")  # what Numeric(7, 1) holds
MAX_READING_A = Decimal("99999.9")
# A meter's clock may run a little ahead of ours; a reading further ahead is refused.
CLOCK_SKEW = timedelta(minutes=2)
PRIORITY_RANGE = (-1000, 1000)
# The job that clears the default of an EVSE taken out of its site (see tasks.py).
RELEASE_EVSE = "smart_charging.release_evse"


class InvalidSiteError(ValidationError):
    """Several fields of one form can be wrong at once: ``errors`` maps each to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        field_name, message = next(iter(errors.items()))
        super().__init__(message, field=field_name)
        self.errors = errors


class SiteNotFoundError(NotFoundError):
    title = "Site not found"


@dataclass(frozen=True)
class SiteInput:
    """What an operator sets for a site or circuit (currents in A per phase)."""

    name: str
    capacity_a: Decimal
    safe_limit_a: Decimal
    phases: int = 3
    voltage_v: int = 230
    min_current_a: Decimal = Decimal(6)
    allocation_period_s: int = 60
    stale_after_s: int = 300
    mode: str = SiteMode.DYNAMIC.value
    location_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    # None: the location's timezone, else UTC.
    timezone: str | None = None
    segment_priorities: Mapping[str, int] = field(default_factory=dict)
    discharge_limit_a: Decimal | None = None


def _current(
    value: Decimal | None,
    name: str,
    errors: dict[str, str],
    *,
    low: Decimal = Decimal(0),
    high: Decimal = MAX_CURRENT_A,
) -> None:
    try:
        ok = value is not None and value.is_finite() and low <= value <= high
        ok = ok and value is not None and value % STEP == 0
    except InvalidOperation:
        ok = False
    if not ok:
        errors.setdefault(
            name,
            N_(
                "Enter a current from %(low)s to %(high)s A, in steps of 0.1 A.",
                low=_amps(low),
                high=_amps(high),
            ),
        )


def _amps(value: Decimal) -> str:
    """A current as people write it: 160, 0.1 (never 160.0 or 1.6E+2)."""
    return format(value.normalize(), "f")


def _whole(value: int, name: str, errors: dict[str, str], low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.setdefault(name, N_("Enter a number from %(low)d to %(high)d.", low=low, high=high))


def _check_priorities(priorities: Mapping[str, int], errors: dict[str, str]) -> None:
    low, high = PRIORITY_RANGE
    if any(
        not isinstance(key, str)
        or not 0 < len(key) <= 64
        or isinstance(weight, bool)
        or not isinstance(weight, int)
        or not low <= weight <= high
        for key, weight in priorities.items()
    ):
        errors["segment_priorities"] = N_(
            "Give each segment (at most 64 characters) a whole number from -1000 to 1000."
        )


async def _check_place(
    repo: SmartChargingRepository,
    data: SiteInput,
    site_id: uuid.UUID | None,
    errors: dict[str, str],
) -> str:
    """Location, timezone and parent; the timezone the site's schedules are read in."""
    timezone = data.timezone
    if data.location_id is not None:
        location_zone = await repo.location_timezone(data.location_id)
        if location_zone is None:
            errors["location_id"] = N_("Choose a location from the list.")
        timezone = timezone or location_zone
    timezone = timezone or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = N_("%(zone)s is not an IANA timezone.", zone=repr(timezone))
    if data.parent_id is not None:
        parent = await repo.site(data.parent_id)
        if parent is None:
            errors["parent_id"] = N_("Choose a site from the list.")
        elif site_id is not None and site_id in await repo.ancestor_ids(parent.id):
            errors["parent_id"] = N_(
                "A circuit cannot sit under itself or under one of its own circuits."
            )
        elif parent.phases == 1 and data.phases == 3:
            errors["phases"] = N_("A three-phase circuit cannot hang under a single-phase site.")
    return timezone


async def _check_site(
    repo: SmartChargingRepository, data: SiteInput, site_id: uuid.UUID | None
) -> tuple[dict[str, str], str]:
    errors: dict[str, str] = {}
    name = data.name.strip()
    if not name:
        errors["name"] = N_("Enter a name.")
    elif len(name) > 100:
        errors["name"] = N_("At most 100 characters.")
    if data.phases not in (1, 3) or isinstance(data.phases, bool):
        errors["phases"] = N_("A site has 1 or 3 phases.")
    _whole(data.voltage_v, "voltage_v", errors, 100, 1000)
    _current(data.capacity_a, "capacity_a", errors, low=STEP)
    if "capacity_a" not in errors:
        _current(data.safe_limit_a, "safe_limit_a", errors, high=data.capacity_a)
        if data.discharge_limit_a is not None:
            _current(data.discharge_limit_a, "discharge_limit_a", errors, high=data.capacity_a)
    _current(data.min_current_a, "min_current_a", errors, low=STEP, high=Decimal(80))
    _whole(data.allocation_period_s, "allocation_period_s", errors, 5, 3600)
    _whole(data.stale_after_s, "stale_after_s", errors, 1, 86_400)
    if data.mode not in {m.value for m in SiteMode}:
        errors["mode"] = N_("Choose one of the options.")
    _check_priorities(data.segment_priorities, errors)
    timezone = await _check_place(repo, data, site_id, errors)
    return errors, timezone


def _apply(site: Site, data: SiteInput, timezone: str) -> None:
    site.name = data.name.strip()
    site.location_id = data.location_id
    site.parent_id = data.parent_id
    site.timezone = timezone
    site.phases = data.phases
    site.voltage_v = data.voltage_v
    site.capacity_a = data.capacity_a
    site.safe_limit_a = data.safe_limit_a
    site.min_current_a = data.min_current_a
    site.allocation_period_s = data.allocation_period_s
    site.stale_after_s = data.stale_after_s
    site.mode = SiteMode(data.mode)
    site.segment_priorities = dict(data.segment_priorities)
    site.discharge_limit_a = data.discharge_limit_a


async def create_site(db_session: AsyncSession, data: SiteInput) -> Site:
    """Create a grid connection (no ``parent_id``) or a circuit under one."""
    repo = SmartChargingRepository(db_session)
    errors, timezone = await _check_site(repo, data, None)
    if errors:
        raise InvalidSiteError(errors)
    site = Site()
    _apply(site, data, timezone)
    repo.add(site)
    await repo.flush()
    return site


async def get_site(db_session: AsyncSession, site_id: uuid.UUID) -> Site:
    """The site, or ``SiteNotFoundError``."""
    site = await SmartChargingRepository(db_session).site(site_id)
    if site is None:
        raise SiteNotFoundError(N_("This site does not exist."))
    return site


async def update_site(db_session: AsyncSession, site_id: uuid.UUID, data: SiteInput) -> Site:
    """Replace every setting of a site (a circuit may move, never under itself); a new
    minimum current is sent to the site's stations by the next pass."""
    repo = SmartChargingRepository(db_session)
    site = await repo.site(site_id, for_update=True)
    if site is None:
        raise SiteNotFoundError(N_("This site does not exist."))
    errors, timezone = await _check_site(repo, data, site_id)
    if errors:
        raise InvalidSiteError(errors)
    new_minimum = site.min_current_a != data.min_current_a
    was_off = site.mode is SiteMode.OFF
    _apply(site, data, timezone)
    await repo.flush()
    if new_minimum:
        # Stations hold the minimum as their TxDefaultProfile: the next pass resends it.
        await repo.forget_defaults(site.id)
    if was_off != (site.mode is SiteMode.OFF):
        await _follow_switch(repo, site)
    return site


async def _follow_switch(repo: SmartChargingRepository, site: Site) -> None:
    """A site or circuit was switched off or on. Under a node in mode ``off`` Voltlane
    manages nothing (its EVSEs count at their maximum), so a limit it left there would hold
    a car for no reason: each EVSE now under a switched-off node has its profiles released
    (until its station answers, see ``loop.release_evse``); one switched back on gets the
    defaults again from the next pass."""
    above = [await repo.site(i) for i in (await repo.ancestor_ids(site.id))[1:]]
    above_off = any(a is not None and a.mode is SiteMode.OFF for a in above)
    off: dict[uuid.UUID | None, bool] = {}
    for node in await repo.tree(site.id):  # parents first
        off[node.id] = node.mode is SiteMode.OFF or off.get(node.parent_id, above_off)
    now = utcnow()
    for row in await repo.site_evses(i for i in off if i is not None):
        if off[row.site_id]:
            await repo.request_release(row.evse_pk, now)
        else:
            await repo.drop_release(row.evse_pk)
    for node_id, node_off in off.items():
        if node_id is not None and not node_off:
            await repo.forget_defaults(node_id)


# -- EVSEs ---------------------------------------------------------------------------------


def _check_wiring(phases: str, site_phases: int, errors: dict[str, str]) -> None:
    allowed = {"1", "2", "3"} if site_phases == 3 else {"1"}
    distinct = len(set(phases)) == len(phases)
    if not (1 <= len(phases) <= site_phases and distinct and set(phases) <= allowed):
        errors["phases"] = N_("Give the site phases the EVSE is wired to, e.g. 123, 231 or 2.")


async def assign_evse(
    db_session: AsyncSession,
    site_id: uuid.UUID,
    evse_pk: uuid.UUID,
    *,
    priority: int = 0,
    max_current_a: Decimal | None = None,
    phases: str = "123",
) -> SiteEvse:
    """Put an EVSE under a site (moving it from another one: an EVSE is in one site)."""
    repo = SmartChargingRepository(db_session)
    site = await get_site(db_session, site_id)
    errors: dict[str, str] = {}
    if not await repo.evse_exists(evse_pk):
        errors["evse_pk"] = N_("Choose an EVSE from the list.")
    _whole(priority, "priority", errors, *PRIORITY_RANGE)
    if max_current_a is not None:
        _current(max_current_a, "max_current_a", errors, low=STEP, high=site.capacity_a)
    _check_wiring(phases, site.phases, errors)
    if errors:
        raise InvalidSiteError(errors)
    row = await repo.site_evse(evse_pk)
    if row is None:
        await repo.drop_release(evse_pk)  # back in a site: its default stays wanted
        row = SiteEvse(evse_pk=evse_pk)
        repo.add(row)
    row.site_id = site.id
    row.priority = priority
    row.max_current_a = max_current_a
    row.phases = phases
    await repo.flush()
    return row


async def unassign_evse(
    db_session: AsyncSession, evse_pk: uuid.UUID, *, tenant_key: str | None = None
) -> bool:
    """Take an EVSE out of its site; False when it was in none. With ``tenant_key``, a job
    clears its TxDefaultProfile after the commit, and the release is remembered until the
    station answered the clear: the sweep asks again while the station is connected (it
    may be offline now). A station none of whose EVSEs is left in a site is released whole
    by the sweep."""
    repo = SmartChargingRepository(db_session)
    removed = await repo.remove_site_evse(evse_pk)
    if removed and tenant_key is not None:
        await repo.request_release(evse_pk, utcnow())
        enqueue(db_session, RELEASE_EVSE, tenant=tenant_key, evse_pk=str(evse_pk))
    return removed


# -- schedules -----------------------------------------------------------------------------


async def add_schedule(
    db_session: AsyncSession,
    site_id: uuid.UUID,
    *,
    kind: str,
    weekdays: int,
    starts_at: time,
    ends_at: time,
    limit_a: Decimal,
    label: str = "",
) -> SiteSchedule:
    """A time-of-use or peak-shaving window: on ``weekdays`` (bit 0 Monday .. bit 6
    Sunday) from ``starts_at`` to ``ends_at`` in the site's local time (an end before the
    start runs past midnight), each phase capped at ``limit_a``."""
    site = await get_site(db_session, site_id)
    errors: dict[str, str] = {}
    if kind not in {k.value for k in ScheduleKind}:
        errors["kind"] = N_("Choose one of the options.")
    if isinstance(weekdays, bool) or not isinstance(weekdays, int) or not 1 <= weekdays <= 127:
        errors["weekdays"] = N_("Choose at least one weekday.")
    if starts_at.tzinfo is not None or ends_at.tzinfo is not None:
        errors["starts_at"] = N_("Enter a time as HH:MM.")
    elif starts_at == ends_at:
        errors["ends_at"] = N_("A window cannot start and end at the same time.")
    _current(limit_a, "limit_a", errors, high=site.capacity_a)
    if len(label) > 100:
        errors["label"] = N_("At most 100 characters.")
    if errors:
        raise InvalidSiteError(errors)
    schedule = SiteSchedule(
        site_id=site.id,
        kind=ScheduleKind(kind),
        weekdays=weekdays,
        starts_at=starts_at,
        ends_at=ends_at,
        limit_a=limit_a,
        label=label.strip(),
    )
    repo = SmartChargingRepository(db_session)
    repo.add(schedule)
    await repo.flush()
    return schedule


async def remove_schedule(
    db_session: AsyncSession, site_id: uuid.UUID, schedule_id: uuid.UUID
) -> bool:
    """Delete a schedule window of the site; False when the site has no such window."""
    return await SmartChargingRepository(db_session).remove_schedule(site_id, schedule_id)


# -- readings and targets ------------------------------------------------------------------


async def record_reading(
    db_session: AsyncSession,
    site_id: uuid.UUID,
    *,
    kind: str,
    per_phase_a: Sequence[Decimal],
    measured_at: datetime,
    soc_percent: Decimal | None = None,
    now: datetime | None = None,
) -> SiteReading | None:
    """Keep a site's latest building load, solar production or battery discharge.

    Currents per phase (L1, L2, L3; a single-phase site sends 0 on L2 and L3); only a
    battery may send a negative current (charging) and a state of charge. A reading older
    than the stored one of its kind is ignored (returns None); one dated ahead of our clock
    by more than ``CLOCK_SKEW`` is refused.
    """
    site = await get_site(db_session, site_id)
    now = now or utcnow()
    errors: dict[str, str] = {}
    if kind not in {k.value for k in ReadingKind}:
        errors["kind"] = N_("Choose one of the options.")
    low = -MAX_READING_A if kind == ReadingKind.BATTERY else Decimal(0)
    if len(per_phase_a) != 3:
        errors["per_phase_a"] = N_("Give one current for each of L1, L2 and L3.")
    else:
        for index, value in enumerate(per_phase_a, start=1):
            _current(value, f"l{index}_a", errors, low=low, high=MAX_READING_A)
        if site.phases == 1 and any(value != 0 for value in per_phase_a[1:]):
            errors.setdefault("l2_a", N_("A single-phase site has no current on L2 and L3."))
    if soc_percent is not None:
        if kind != ReadingKind.BATTERY:
            errors["soc_percent"] = N_("Only a battery reports a state of charge.")
        elif not (soc_percent.is_finite() and 0 <= soc_percent <= 100):
            errors["soc_percent"] = N_("Enter a state of charge from 0 to 100 percent.")
    if measured_at.tzinfo is None:
        errors["measured_at"] = N_("Enter a date and time with its UTC offset.")
    elif measured_at > now + CLOCK_SKEW:
        errors["measured_at"] = N_("This reading is dated in the future.")
    if errors:
        raise InvalidSiteError(errors)
    return await SmartChargingRepository(db_session).store_reading(
        site.id, ReadingKind(kind), list(per_phase_a), soc_percent, measured_at
    )


async def set_target(
    db_session: AsyncSession,
    session_id: uuid.UUID,
    *,
    energy_wh: int,
    departure_at: datetime,
    now: datetime | None = None,
) -> ChargingTarget:
    """A depot's departure target for an active session: ``energy_wh`` by ``departure_at``
    (replaces the previous one)."""
    repo = SmartChargingRepository(db_session)
    now = now or utcnow()
    errors: dict[str, str] = {}
    status = await repo.session_status(session_id)
    if status is None:
        errors["session_id"] = N_("This charging session does not exist.")
    elif status != SessionStatus.ACTIVE.value:
        errors["session_id"] = N_("This charging session has ended.")
    _whole(energy_wh, "energy_wh", errors, 1, 1_000_000)
    if departure_at.tzinfo is None:
        errors["departure_at"] = N_("Enter a date and time with its UTC offset.")
    elif departure_at <= now:
        errors["departure_at"] = N_("Choose a departure time in the future.")
    if errors:
        raise InvalidSiteError(errors)
    return await repo.store_target(session_id, energy_wh, departure_at)


# -- inputs of the allocator ---------------------------------------------------------------


def evse_phases(wiring: str, phase_count: int) -> tuple[int, ...]:
    """The site phases a car drawing on ``phase_count`` phases uses at an EVSE wired
    ``wiring`` ("231": the EVSE's L1 is the site's L2, so a single-phase car draws on L2)."""
    return tuple(int(digit) for digit in wiring[: max(1, phase_count)])


def allocator_nodes(
    sites: Iterable[Site],
    readings: Iterable[SiteReading],
    schedules: Iterable[SiteSchedule],
    *,
    now: datetime,
) -> list[Node]:
    """The allocator's nodes for a site tree: each site's rating per phase, its readings
    (stale ones handled as ``available_current`` says) and the cap of its schedule windows
    in force in its timezone."""
    by_site: dict[uuid.UUID, dict[ReadingKind, Reading]] = {}
    for row in readings:
        by_site.setdefault(row.site_id, {})[row.kind] = Reading(
            (row.l1_a, row.l2_a, row.l3_a), row.measured_at
        )
    windows: dict[uuid.UUID, list[Window]] = {}
    for schedule in schedules:
        windows.setdefault(schedule.site_id, []).append(
            Window(schedule.weekdays, schedule.starts_at, schedule.ends_at, schedule.limit_a)
        )
    sites = list(sites)
    ids = {site.id for site in sites}
    nodes = []
    for site in sites:
        zero = Decimal(0)
        rating = site.capacity_a
        capacity = (rating, rating, rating) if site.phases == 3 else (rating, zero, zero)
        kinds = by_site.get(site.id, {})
        available = available_current(
            capacity,
            readings=Readings(
                building_load=kinds.get(ReadingKind.BUILDING_LOAD),
                solar=kinds.get(ReadingKind.SOLAR),
                battery_discharge=kinds.get(ReadingKind.BATTERY),
            ),
            safe_limit_a=site.safe_limit_a,
            stale_after=timedelta(seconds=site.stale_after_s),
            now=now,
            schedule_limit_a=schedule_limit(
                windows.get(site.id, []), now.astimezone(ZoneInfo(site.timezone))
            ),
        )
        # A subtree's top is a root here: its parent's limits are the caller's to add.
        parent = site.parent_id if site.parent_id in ids else None
        nodes.append(Node(site.id, parent, available))
    return nodes
