"""A stored session priced by the one engine: the live cost and the CDR read it the same way.

Everything a price depends on is read here, from storage, in one way: the tariff versions
assigned where the session ran, the driver's segment, the register readings (counted from
the same baseline as the session's energy), power and current, and the EVSE states.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voltlane.billing.errors import NoTariffError
from voltlane.billing.repository import (
    CURRENT,
    POWER,
    BillingRepository,
    Customer,
    PlanPeriod,
    SampleRow,
    codes_by_scope,
)
from voltlane.charging.energy import REGISTER, Reading, session_energy, to_wh
from voltlane.core.clock import month_of
from voltlane.models.tenant import (
    IdTokenType,
    SessionStatus,
    TariffAssignment,
    TariffVersion,
)
from voltlane.tariff import (
    MEMBER,
    PUBLIC,
    ChargingState,
    IdleFee,
    MeterReading,
    PricedSession,
    Segment,
    SegmentKind,
    SessionTrace,
    StateChange,
    Tariff,
    TariffError,
    TariffSet,
    price_session,
    select_tariff,
    tariff_from_ocpi,
)
from voltlane.tariff.ocpi import DECIMAL_FIELDS

# Scopes from the most specific: the first with any assignment prices the session.
SCOPES = ("connector", "evse", "location", "brand")

# OCPP 1.6 connector status / 2.x chargingState -> the engine's states.
_STATES = {
    "Charging": ChargingState.CHARGING,
    "SuspendedEVSE": ChargingState.SUSPENDED_EVSE,
    "SuspendedEV": ChargingState.SUSPENDED_EV,
    "Finishing": ChargingState.IDLE,
    "EVConnected": ChargingState.IDLE,
    "Idle": ChargingState.IDLE,
}
# OCPI decimals are stored as decimal strings (JSON numbers would come back from the database
# as floats) and turned back into Decimal before the engine reads them.
_POWER_UNITS = {"w": Decimal(1), "kw": Decimal(1000)}
_CURRENT_UNITS = {"a": Decimal(1)}


class StoredSession(Protocol):
    """What pricing and rating read of a stored charging session: a ``ChargingSession``, or
    the plain ``SessionRow`` a billing run reads."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def charging_station_id(self) -> uuid.UUID: ...
    @property
    def evse_pk(self) -> uuid.UUID | None: ...
    @property
    def evse_id(self) -> int | None: ...
    @property
    def connector_id(self) -> int | None: ...
    @property
    def protocol(self) -> str: ...
    @property
    def status(self) -> SessionStatus: ...
    @property
    def id_token(self) -> str | None: ...
    @property
    def id_token_type(self) -> str | None: ...
    @property
    def remote_start_id(self) -> int | None: ...
    @property
    def offline(self) -> bool: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def stopped_at(self) -> datetime | None: ...
    @property
    def meter_start_wh(self) -> Decimal | None: ...
    @property
    def energy_wh(self) -> Decimal | None: ...
    @property
    def energy_review(self) -> str | None: ...
    @property
    def roaming_token_id(self) -> uuid.UUID | None: ...


def idle_fee_from_json(data: dict[str, Any] | None) -> IdleFee | None:
    """The stored idle fee (strings for amounts), validated by the model."""
    if data is None:
        return None
    try:
        return IdleFee(
            price_per_minute=Decimal(str(data["price_per_minute"])),
            grace=int(data.get("grace", 0)),
            step_size=int(data.get("step_size", 60)),
            cap=Decimal(str(data["cap"])) if data.get("cap") is not None else None,
            vat=Decimal(str(data["vat"])) if data.get("vat") is not None else None,
        )
    except (KeyError, ArithmeticError, ValueError, TypeError) as exc:
        raise TariffError(f"is not a valid idle fee ({exc})", field="idle_fee") from exc


def idle_fee_to_json(fee: IdleFee | None) -> dict[str, Any] | None:
    if fee is None:
        return None
    return {
        "price_per_minute": str(fee.price_per_minute),
        "grace": fee.grace,
        "step_size": fee.step_size,
        "cap": str(fee.cap) if fee.cap is not None else None,
        "vat": str(fee.vat) if fee.vat is not None else None,
    }


def ocpi_decimals(value: Any, key: str | None = None) -> Any:
    """An OCPI Tariff (as JSON data) with its decimal fields as Decimal: decimal strings
    (storage, tenant files) become Decimal; anything else is left for the engine to judge."""
    if isinstance(value, dict):
        return {k: ocpi_decimals(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [ocpi_decimals(v, key) for v in value]
    if key in DECIMAL_FIELDS and isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


def stored_ocpi(value: Any) -> Any:
    """OCPI Tariff data for a JSONB column: Decimal as its exact decimal string."""
    if isinstance(value, dict):
        return {k: stored_ocpi(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stored_ocpi(v) for v in value]
    return str(value) if isinstance(value, Decimal) else value


def tariff_of(version: TariffVersion) -> Tariff:
    """The engine's tariff of a stored version (its OCPI definition plus the idle fee)."""
    tariff = tariff_from_ocpi(ocpi_decimals(version.definition))
    return dataclasses.replace(tariff, idle_fee=idle_fee_from_json(version.idle_fee))


# A place as tariffs are assigned: (location id, EVSE pk, connector pk).
_SetKey = tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID | None]


def _cards(sessions: Sequence[StoredSession]) -> set[tuple[str, str]]:
    return {(s.id_token, s.id_token_type) for s in sessions if s.id_token and s.id_token_type}


@dataclass(slots=True)
class PricingCache:
    """What many sessions of one billing run share: where each place is, the tariff set of
    each place, the EVSEs' power. Only for one run (one transaction): assignments may change
    between runs."""

    places: dict[tuple[uuid.UUID, uuid.UUID | None, int | None], Any] = field(default_factory=dict)
    tariff_sets: dict[_SetKey, tuple[TariffSet, list[tuple[Tariff, TariffVersion]]]] = field(
        default_factory=dict
    )
    max_power: dict[uuid.UUID | None, int | None] = field(default_factory=dict)
    # Read ahead for a batch of sessions (prefetch); None: each session reads its own.
    samples: dict[uuid.UUID, list[SampleRow]] | None = None
    signed: dict[uuid.UUID, list[tuple[datetime, str, Any]]] | None = None
    station_events: dict[uuid.UUID, list[tuple[datetime, dict[str, Any]]]] | None = None
    transaction_events: dict[uuid.UUID, list[tuple[datetime, dict[str, Any]]]] | None = None
    customers: dict[tuple[str, str], Customer] | None = None
    # A roaming token's partner as a segment ref ("CC*PID"), per token.
    roaming: dict[uuid.UUID, str | None] = field(default_factory=dict)
    # Plan allowances: the brand's timezone, the accounts locked for this run, and the Wh
    # used per (account, billing month's first day) including the CDRs of this run.
    brand_zone: ZoneInfo | None = None
    locked: set[uuid.UUID] = field(default_factory=set)
    included: dict[tuple[uuid.UUID, date], int] = field(default_factory=dict)

    async def lock_allowances(self, repo: BillingRepository) -> None:
        """Lock every prefetched account whose plan includes energy, in primary-key order
        (before any is rated, so two runs never wait on each other in a circle)."""
        accounts = {
            c.account_id
            for c in (self.customers or {}).values()
            if c.account_id is not None and any(p.included_kwh for p in c.plans)
        }
        await repo.lock_accounts(accounts - self.locked)
        self.locked |= accounts

    async def prefetch(self, repo: BillingRepository, sessions: Sequence[StoredSession]) -> None:
        """Read the places, tariff sets, EVSE powers, samples, signed data, states and cards'
        accounts of ``sessions`` in ten queries."""
        await self._prefetch_places(repo, sessions)
        ids = [s.id for s in sessions]
        self.customers = await repo.customers_of_tokens(_cards(sessions))
        self.samples = await repo.samples_of(ids)
        self.signed = await repo.signed_of(ids)
        self.transaction_events = await repo.transaction_events_of(
            [s.id for s in sessions if s.protocol != "ocpp1.6"]
        )
        v16 = [s for s in sessions if s.protocol == "ocpp1.6" and s.started_at is not None]
        starts = [s.started_at for s in v16 if s.started_at is not None]
        stops = [s.stopped_at or s.started_at for s in v16 if s.started_at is not None]
        self.station_events = (
            await repo.status_events_of(
                list({s.charging_station_id for s in v16}), min(starts), max(stops)
            )
            if v16
            else {}
        )

    async def _prefetch_places(
        self, repo: BillingRepository, sessions: Sequence[StoredSession]
    ) -> None:
        """What ``price_stored_session`` would look up place by place, for all at once."""
        keys = {(s.charging_station_id, s.evse_pk, s.connector_id) for s in sessions}
        if missing := keys - self.places.keys():
            self.places.update(await repo.places_of(missing))
        if evses := {s.evse_pk for s in sessions if s.evse_pk is not None} - self.max_power.keys():
            self.max_power.update(await repo.max_powers(evses))
        set_keys = {(self.places[k][0], k[1], self.places[k][2]) for k in keys}
        if not (set_keys := set_keys - self.tariff_sets.keys()):
            return
        assignments = await repo.assignments_at(
            {k[0] for k in set_keys if k[0] is not None},
            {k[1] for k in set_keys if k[1] is not None},
            {k[2] for k in set_keys if k[2] is not None},
        )
        codes = {}
        for key in set_keys:
            assigned = codes_by_scope([a for a in assignments if _assigned_at(a, key)])
            codes[key] = next((assigned[s] for s in SCOPES if s in assigned), [])
        wanted = sorted({code for listed in codes.values() for code in listed})
        pairs = [(tariff_of(v), v) for v in await repo.versions_of(wanted)]
        for key in set_keys:
            self.tariff_sets[key] = _set_of(codes[key], pairs)

    async def customer_of(self, repo: BillingRepository, session: StoredSession) -> Customer | None:
        card = _cards([session])
        if not card:
            return None
        found = self.customers
        if found is None:
            found = await repo.customers_of_tokens(card)
        return found.get(next(iter(card)))

    async def roaming_ref_of(self, repo: BillingRepository, session: StoredSession) -> str | None:
        token_id = session.roaming_token_id
        if token_id is None:
            return None
        if token_id not in self.roaming:
            self.roaming[token_id] = await repo.roaming_party(token_id)
        return self.roaming[token_id]

    async def samples_of(self, repo: BillingRepository, session: StoredSession) -> list[SampleRow]:
        if self.samples is not None:
            return self.samples.get(session.id, [])
        return await repo.samples(session.id)

    async def signed_of(
        self, repo: BillingRepository, session: StoredSession
    ) -> list[tuple[datetime, str, Any]]:
        if self.signed is not None:
            return self.signed.get(session.id, [])
        return await repo.signed_samples(session.id)

    async def status_events_of(
        self, repo: BillingRepository, session: StoredSession
    ) -> list[tuple[datetime, dict[str, Any]]]:
        assert session.started_at is not None
        if self.station_events is None:
            return await repo.status_events(
                session.charging_station_id, session.started_at, session.stopped_at
            )
        until = session.stopped_at
        return [
            (at, payload)
            for at, payload in self.station_events.get(session.charging_station_id, [])
            if at >= session.started_at and (until is None or at <= until)
        ]

    async def transaction_events_of(
        self, repo: BillingRepository, session: StoredSession
    ) -> list[tuple[datetime, dict[str, Any]]]:
        if self.transaction_events is not None:
            return self.transaction_events.get(session.id, [])
        return await repo.transaction_events(session.id)


def segment_of(
    session: StoredSession,
    customer: Customer | None,
    zone: ZoneInfo,
    *,
    roaming_ref: str | None = None,
) -> Segment:
    """The driver's segment: public for a session without a card or started by a guest's
    charge from the app (the card of a charge request with a guest's e-mail; its account
    only carries the receipt), else the plan the card's account is subscribed to on the
    session's start day (at the location), else the account's fleet contract, else a member
    for any brand card.

    A session authorized with a roaming partner's token is the partner's (ROAMING with its
    ``roaming_ref`` "CC*PID"), whatever card id it shares with the brand's own. select_tariff
    falls back from a plan or a contract to the kind's prices, then to the brand's member
    prices, then to public ones; from a partner to the ROAMING prices, then to public ones.
    """
    if session.roaming_token_id is not None:
        return Segment(SegmentKind.ROAMING, roaming_ref)
    if not session.id_token or session.id_token_type == IdTokenType.NO_AUTHORIZATION:
        return PUBLIC
    if customer is not None:
        if customer.guest:
            return PUBLIC
        plan = plan_of(session, customer, zone)
        if plan is not None:
            return Segment(SegmentKind.SUBSCRIPTION, plan.code)
        if customer.fleet:
            return Segment(SegmentKind.FLEET, customer.contract)
    return MEMBER


def plan_of(session: StoredSession, customer: Customer, zone: ZoneInfo) -> PlanPeriod | None:
    """The plan the card's account is subscribed to on the session's start day (at the
    location)."""
    if session.started_at is None:
        return None
    day = session.started_at.astimezone(zone).date()
    return next((plan for plan in customer.plans if plan.covers(day)), None)


def billing_month(end: datetime, zone: ZoneInfo) -> tuple[date, datetime, datetime]:
    """The billing month (the calendar month in the brand's timezone, as monthly invoices
    have it) holding ``end``: its first day, and its start and end in UTC."""
    first, last = month_of(end.astimezone(zone).date())
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    return first, start, datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)


async def _free_energy_wh(
    repo: BillingRepository,
    session: StoredSession,
    plan: PlanPeriod | None,
    account_id: uuid.UUID | None,
    *,
    end: datetime,
    cache: PricingCache,
    rating: bool,
) -> tuple[tuple[uuid.UUID, date] | None, int]:
    """The plan's allowance left for a session ending at ``end``: the month's included kWh
    less what the account's CDRs of the month used (docs/tariffs.md, Included energy).

    Rating locks the account and counts every CDR of the month (and those of this run);
    the live cost counts those that ended before ``end``, which is the same while CDRs are
    rated in the order their sessions end.
    """
    if plan is None or plan.included_kwh <= 0 or account_id is None:
        return None, 0
    if cache.brand_zone is None:
        cache.brand_zone = _zone(await repo.brand_timezone())
    first, since, until = billing_month(end, cache.brand_zone)
    key = (account_id, first)
    if rating:
        if account_id not in cache.locked:
            await repo.lock_accounts({account_id})
            cache.locked.add(account_id)
        if key not in cache.included:
            cache.included[key] = await repo.included_used(account_id, since, until, session.id)
        used = cache.included[key]
    else:
        used = await repo.included_used(account_id, since, min(end, until), session.id)
    return key, max(0, plan.included_kwh * 1000 - used)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class Priced:
    session: StoredSession
    version: TariffVersion
    segment: Segment
    location_id: uuid.UUID | None
    priced: PricedSession


async def _tariff_set(
    repo: BillingRepository,
    location_id: uuid.UUID | None,
    evse_pk: uuid.UUID | None,
    connector_pk: uuid.UUID | None,
) -> tuple[TariffSet, list[tuple[Tariff, TariffVersion]]]:
    assigned = await repo.assigned_codes(
        location_id=location_id, evse_pk=evse_pk, connector_pk=connector_pk
    )
    codes = next((assigned[s] for s in SCOPES if s in assigned), [])
    return _set_of(codes, [(tariff_of(v), v) for v in await repo.versions_of(codes)])


def _set_of(
    codes: list[str], pairs: list[tuple[Tariff, TariffVersion]]
) -> tuple[TariffSet, list[tuple[Tariff, TariffVersion]]]:
    """The tariff set of the versions (oldest first) of ``codes`` among ``pairs``."""
    chosen = [(tariff, version) for tariff, version in pairs if version.code in codes]
    versions: dict[Segment, tuple[Tariff, ...]] = {}
    for tariff, version in chosen:
        segment = Segment(SegmentKind(version.segment), version.segment_ref)
        versions[segment] = (*versions.get(segment, ()), tariff)
    return TariffSet(versions), chosen


def _assigned_at(assignment: TariffAssignment, place: _SetKey) -> bool:
    """Whether ``assigned_codes`` of the place would read ``assignment``."""
    location_id, evse_pk, connector_pk = place
    brand = (assignment.location_id, assignment.evse_pk, assignment.connector_pk) == (
        None,
        None,
        None,
    )
    return (
        brand
        or (location_id is not None and assignment.location_id == location_id)
        or (evse_pk is not None and assignment.evse_pk == evse_pk)
        or (connector_pk is not None and assignment.connector_pk == connector_pk)
    )


async def _trace(
    repo: BillingRepository,
    session: StoredSession,
    zone: ZoneInfo,
    max_power_w: int | None,
    cache: PricingCache,
) -> SessionTrace:
    assert session.started_at is not None
    start = session.started_at
    registers: dict[datetime, Decimal] = {}
    power: dict[datetime, Decimal] = {}
    current: dict[datetime, Decimal] = {}
    for at, measurand, phase, unit, value in await cache.samples_of(repo, session):
        if value is None or at < start:
            continue
        if measurand == REGISTER:
            if phase is None and (wh := to_wh(value, unit)) is not None:
                registers[at] = wh
        elif measurand == POWER:
            factor = _POWER_UNITS.get((unit or "").lower())
            if phase is None and factor is not None:
                power[at] = value * factor
        elif measurand == CURRENT and (unit or "").lower() in _CURRENT_UNITS:
            # Per phase (L1, L2, L3) or in total: the engine takes the sum over phases.
            current[at] = current.get(at, Decimal(0)) + value
    energy = session_energy(
        [Reading(at, wh) for at, wh in registers.items()],
        meter_start_wh=session.meter_start_wh,
        started_at=start,
        max_power_w=max_power_w,
    )
    baseline = energy.baseline_wh or Decimal(0)
    readings: list[MeterReading] = []
    delivered = Decimal(0)
    # Power and current travel with the register reading of the same instant; alone they
    # would read as a reading without new energy.
    for at in sorted(registers):
        # Jitter below an earlier reading is not energy given back.
        delivered = max(delivered, registers[at] - baseline)
        readings.append(
            MeterReading(
                at=at,
                energy_wh=Decimal(0) if at == start else delivered,
                power_w=power.get(at),
                current_a=current.get(at),
            )
        )
    return SessionTrace(
        start=start,
        time_zone=zone,
        readings=tuple(readings),
        states=tuple(await _states(repo, session, cache)),
    )


async def _states(
    repo: BillingRepository, session: StoredSession, cache: PricingCache
) -> list[StateChange]:
    assert session.started_at is not None
    changes: list[StateChange] = []
    if session.protocol == "ocpp1.6":
        for at, payload in await cache.status_events_of(repo, session):
            state = _STATES.get(str(payload.get("status")))
            if state is not None and payload.get("connectorId") == session.evse_id:
                changes.append(StateChange(at, state))
    else:
        for at, payload in await cache.transaction_events_of(repo, session):
            info = payload.get("transactionInfo") or {}
            state = _STATES.get(str(info.get("chargingState")))
            if state is not None:
                changes.append(StateChange(at, state))
    return changes


async def price_stored_session(
    repo: BillingRepository,
    session: StoredSession,
    *,
    end: datetime,
    cache: PricingCache | None = None,
    rating: bool = False,
) -> Priced:
    """Price ``session`` as recorded, from its start to ``end`` (its stop for a CDR, now for
    the live cost), with what is left of its plan's included energy. Raises NoTariffError
    when nothing is assigned or in force. ``cache`` shares place and tariff lookups between
    the sessions of one billing run; ``rating`` (making CDRs) locks the accounts whose
    allowance it uses and counts what this run's CDRs use."""
    if session.started_at is None:
        raise TariffError("the session has no start time", field="started_at")
    cache = cache or PricingCache()
    # One dictionary lookup each when cached (a billing run's batch): keys hash UUIDs.
    evse_pk = session.evse_pk
    place_key = (session.charging_station_id, evse_pk, session.connector_id)
    if (place := cache.places.get(place_key)) is None:
        place = cache.places[place_key] = await repo.place(*place_key)
    location_id, zone_name, connector_pk = place
    set_key = (location_id, evse_pk, connector_pk)
    if (tariff_set := cache.tariff_sets.get(set_key)) is None:
        tariff_set = cache.tariff_sets[set_key] = await _tariff_set(repo, *set_key)
    tariffs, pairs = tariff_set
    if evse_pk not in cache.max_power:
        cache.max_power[evse_pk] = await repo.max_power(evse_pk)
    zone = _zone(zone_name)
    customer = await cache.customer_of(repo, session)
    segment = segment_of(
        session, customer, zone, roaming_ref=await cache.roaming_ref_of(repo, session)
    )
    plan = (
        plan_of(session, customer, zone)
        if customer is not None and segment.kind is SegmentKind.SUBSCRIPTION
        else None
    )
    end = max(end, session.started_at).astimezone(UTC)
    allowance, free_wh = await _free_energy_wh(
        repo,
        session,
        plan,
        customer.account_id if customer is not None else None,
        end=end,
        cache=cache,
        rating=rating,
    )
    try:
        tariff = select_tariff(tariffs, segment, at=session.started_at)
    except TariffError as exc:
        raise NoTariffError(exc.message) from exc
    version = next(v for t, v in pairs if t is tariff)
    trace = await _trace(repo, session, zone, cache.max_power[evse_pk], cache)
    priced = price_session(tariff, trace, end=end, free_energy_wh=free_wh)
    if rating and allowance is not None:
        cache.included[allowance] += priced.included_energy_wh
    return Priced(session, version, segment, location_id, priced)
