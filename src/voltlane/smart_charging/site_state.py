"""What a rebalancing pass reads of a site: its tree of circuits, its EVSEs and their
stations, the available current per node, the active sessions and what each station is
believed to apply (see loop.py for how a pass uses them)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import (
    AccountKind,
    AllocationStatus,
    ChargeRequest,
    ChargingAllocation,
    ChargingSession,
    ChargingStation,
    ChargingTarget,
    Connector,
    CustomerAccount,
    EvDischargeOffer,
    Evse,
    IdToken,
    IdTokenType,
    ProfileSupport,
    SessionStatus,
    Site,
    SiteEvse,
    SiteMode,
    SiteReading,
    SiteSchedule,
    StationProfileSupport,
)
from voltlane.smart_charging import allocator as alloc
from voltlane.smart_charging.session_limits import ExternalLimit, cap_a, limits_of
from voltlane.smart_charging.sites import allocator_nodes, evse_phases

# The only protocol whose charging profiles carry a discharge limit (OCPP 2.1 V2X).
V2X_PROTOCOL = "ocpp2.1"
# A station that refused profiles is asked again this long after (firmware changes).
RETRY_REFUSED_AFTER = timedelta(hours=1)
Available = dict[uuid.UUID, list[Decimal]]


@dataclass(frozen=True, slots=True)
class Slot:
    """An EVSE of the site, as the loop uses it."""

    evse_pk: uuid.UUID
    evse_id: int
    node_id: uuid.UUID
    station_pk: uuid.UUID
    station_id: str
    protocol: str | None
    last_boot_at: datetime | None
    phases: tuple[int, ...]
    priority: int
    min_a: Decimal
    max_a: Decimal
    # False under a circuit in mode ``off`` (or one of its circuits): no profile is sent
    # there, and the EVSE counts at its maximum against the circuits above.
    managed: bool = True


def switched_off(tree: dict[uuid.UUID, Site], node_id: uuid.UUID) -> bool:
    """The node or a circuit above it is in mode ``off``."""
    return any(tree[i].mode is SiteMode.OFF for i in chain(tree, node_id))


async def tree(db_session: AsyncSession, root_id: uuid.UUID) -> dict[uuid.UUID, Site]:
    sites = {s.id: s for s in await db_session.scalars(select(Site))}
    root = sites.get(root_id)
    if root is None or root.parent_id is not None or root.mode is SiteMode.OFF:
        return {}
    tree = {root_id: root}
    grew = True
    while grew:
        found = {i: s for i, s in sites.items() if s.parent_id in tree and i not in tree}
        tree.update(found)
        grew = bool(found)
    return tree


async def slots(db_session: AsyncSession, tree: dict[uuid.UUID, Site]) -> list[Slot]:
    rows = await db_session.execute(
        select(
            SiteEvse,
            Evse.evse_id,
            ChargingStation.id,
            ChargingStation.station_id,
            ChargingStation.protocol,
            ChargingStation.last_boot_at,
            func.max(Connector.max_amperage),
        )
        .join(Evse, Evse.id == SiteEvse.evse_pk)
        .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
        .outerjoin(Connector, Connector.evse_pk == Evse.id)
        .where(SiteEvse.site_id.in_(tree))
        .group_by(SiteEvse.evse_pk, Evse.id, ChargingStation.id)
        .order_by(ChargingStation.station_id, Evse.evse_id)
    )
    slots = []
    for site_evse, evse_id, station_pk, station_id, protocol, boot, rated in rows:
        node = tree[site_evse.site_id]
        phases = evse_phases(site_evse.phases, len(site_evse.phases))
        limits = [node.capacity_a] + [v for v in (site_evse.max_current_a, rated) if v]
        slots.append(
            Slot(
                site_evse.evse_pk,
                evse_id,
                node.id,
                station_pk,
                station_id,
                protocol,
                boot,
                phases,
                site_evse.priority,
                node.min_current_a,
                Decimal(min(limits)),
                not switched_off(tree, node.id),
            )
        )
    return slots


async def nodes(
    db_session: AsyncSession, tree: dict[uuid.UUID, Site], now: datetime
) -> dict[uuid.UUID, alloc.Node]:
    """The allocator's nodes; a ``static`` site ignores its readings and gives at most its
    safe limit."""
    static = {i for i, site in tree.items() if site.mode is SiteMode.STATIC}
    readings = await db_session.scalars(
        select(SiteReading).where(SiteReading.site_id.in_(set(tree) - static))
    )
    windows = await db_session.scalars(select(SiteSchedule).where(SiteSchedule.site_id.in_(tree)))
    found = {}
    for node in allocator_nodes(tree.values(), readings, windows, now=now):
        safe = tree[node.id].safe_limit_a  # type: ignore[index]
        capped = triple([min(v, safe) for v in node.available_a])
        found[node.id] = replace(node, available_a=capped) if node.id in static else node
    return found  # type: ignore[return-value]


def controlled(support: StationProfileSupport | None, slot: Slot) -> bool:
    """The EVSE is managed and its station took the defaults since its last boot."""
    return (
        slot.managed
        and support is not None
        and support.status is ProfileSupport.SUPPORTED
        and (slot.last_boot_at is None or support.checked_at >= slot.last_boot_at)
    )


def needs_defaults(support: StationProfileSupport | None, slot: Slot, now: datetime) -> bool:
    if not slot.managed:
        return False
    if support is None or support.status is ProfileSupport.UNKNOWN:
        return True
    if slot.last_boot_at is not None and support.checked_at < slot.last_boot_at:
        return True
    return support.status is not ProfileSupport.SUPPORTED and (
        support.checked_at < now - RETRY_REFUSED_AFTER
    )


def believed(
    history: Sequence[ChargingAllocation], base: Decimal
) -> tuple[Decimal | None, Decimal]:
    """(the last accepted limit, the most the station may apply now) from a session's
    allocations, oldest first; ``base`` is what it draws before any was accepted."""
    accepted: Decimal | None = None
    believed = base
    for row in history:
        if row.status is AllocationStatus.ACCEPTED:
            accepted = believed = row.limit_a
        elif row.status is not AllocationStatus.CLEARED:
            # Sent, or refused, timed out or offline: it may have been applied all the same.
            believed = max(believed, row.limit_a)
    return accepted, believed


def chain(tree: dict[uuid.UUID, Site], node_id: uuid.UUID) -> list[uuid.UUID]:
    chain = [node_id]
    while (parent := tree[chain[-1]].parent_id) is not None and parent in tree:
        chain.append(parent)
    return chain


@dataclass(frozen=True, slots=True)
class Account:
    """What a card's account says about its driver's segment."""

    fleet: bool
    contract: str | None
    guest: bool = False


def segment(
    session: ChargingSession, account: Account | None = None, weights: Mapping[str, int] = {}
) -> str:
    """The session's customer segment as the site's priority weights name it, read as
    billing reads it (billing.pricing.segment_of): a partner's token is ``roaming``; no card
    or a guest's charge from the app ``public``; a fleet account's card
    ``fleet:<contract>`` when the site weighs that contract, else ``fleet``; any other
    brand card ``member``."""
    if session.roaming_token_id is not None:
        return "roaming"
    if not session.id_token or session.id_token_type == IdTokenType.NO_AUTHORIZATION.value:
        return "public"
    if account is not None and account.guest:
        return "public"
    if account is not None and account.fleet:
        contract = f"fleet:{account.contract}"
        return contract if account.contract and contract in weights else "fleet"
    return "member"


async def accounts(
    db_session: AsyncSession, sessions: Sequence[ChargingSession]
) -> dict[tuple[str, str], Account]:
    """The account of each session's card, by (card, type); cards without one left out."""
    cards = sorted(
        {(s.id_token, s.id_token_type) for s in sessions if s.id_token and s.id_token_type}
    )
    if not cards:
        return {}
    rows = await db_session.execute(
        select(
            IdToken.id_token,
            IdToken.type,
            CustomerAccount.kind,
            CustomerAccount.contract,
            ChargeRequest.guest_email.is_not(None),
        )
        .join(CustomerAccount, CustomerAccount.id == IdToken.account_id)
        .outerjoin(ChargeRequest, ChargeRequest.id_token == IdToken.id_token)
        .where(tuple_(IdToken.id_token, IdToken.type).in_(cards))
    )
    found: dict[tuple[str, str], Account] = {}
    for value, kind, account_kind, contract, for_guest in rows:
        key = (value, str(kind))
        seen = found.get(key)
        guest = bool(for_guest) or (seen is not None and seen.guest)
        found[key] = Account(account_kind is AccountKind.FLEET, contract, guest)
    return found


async def support(
    db_session: AsyncSession, station_pks: set[uuid.UUID]
) -> dict[uuid.UUID, StationProfileSupport]:
    rows = await db_session.scalars(
        select(StationProfileSupport).where(
            StationProfileSupport.charging_station_id.in_(station_pks)
        )
    )
    return {row.charging_station_id: row for row in rows}


def triple(values: list[Decimal]) -> alloc.PhaseCurrents:
    return (max(values[0], alloc.ZERO), max(values[1], alloc.ZERO), max(values[2], alloc.ZERO))


def reserve(
    available: dict[uuid.UUID, list[Decimal]],
    tree: dict[uuid.UUID, Site],
    slot: Slot,
    amount: Decimal,
) -> None:
    """Take ``amount`` on each of the slot's phases from its node and every node above."""
    for node_id in chain(tree, slot.node_id):
        for phase in slot.phases:
            available[node_id][phase - 1] -= amount


@dataclass(slots=True)
class Live:
    """An active session of a controlled station, and the limits the pass deals with."""

    session: ChargingSession
    slot: Slot
    known: Decimal | None  # the limit known to be in force (accepted, or the default)
    believed: Decimal  # the most the station may be applying now
    limit: Decimal = alloc.ZERO  # decided by this pass
    # V2X: the discharge limit known to be in force, the most the car may feed back now,
    # and this pass's (None: the profile carries no discharge limit; 0 A alike).
    known_discharge: Decimal = alloc.ZERO
    believed_discharge: Decimal = alloc.ZERO
    discharge: Decimal | None = None

    @property
    def unchanged(self) -> bool:
        """The station applies this pass's limits already, as far as is known."""
        discharge = self.discharge or alloc.ZERO
        return (
            self.known == self.limit == self.believed
            and self.known_discharge == discharge == self.believed_discharge
        )


@dataclass(slots=True)
class SiteState:
    tree: dict[uuid.UUID, Site]
    slots: list[Slot]
    support: dict[uuid.UUID, StationProfileSupport]
    nodes: dict[uuid.UUID, alloc.Node] = field(default_factory=dict)
    sessions: list[ChargingSession] = field(default_factory=list)
    targets: dict[uuid.UUID, ChargingTarget] = field(default_factory=dict)
    history: dict[uuid.UUID, list[ChargingAllocation]] = field(default_factory=dict)
    accounts: dict[tuple[str, str], Account] = field(default_factory=dict)
    limits: dict[uuid.UUID, ExternalLimit] = field(default_factory=dict)  # outside parties'
    offers: dict[uuid.UUID, EvDischargeOffer] = field(default_factory=dict)


async def load(
    db_session: AsyncSession, site_id: uuid.UUID, now: datetime | None = None
) -> SiteState | None:
    """The site's state; with ``now``, also its nodes and sessions (for an allocation).
    None when the site is gone, a circuit, or ``off``."""
    site_tree = await tree(db_session, site_id)
    if not site_tree:
        return None
    found = await slots(db_session, site_tree)
    state = SiteState(site_tree, found, await support(db_session, {s.station_pk for s in found}))
    if now is None:
        return state
    state.nodes = await nodes(db_session, site_tree, now)
    state.sessions = list(
        await db_session.scalars(
            select(ChargingSession)
            .where(
                ChargingSession.status == SessionStatus.ACTIVE,
                ChargingSession.evse_pk.in_([s.evse_pk for s in found]),
            )
            .order_by(ChargingSession.seq)
        )
    )
    ids = [s.id for s in state.sessions]
    state.accounts = await accounts(db_session, state.sessions)
    state.limits = await limits_of(db_session, ids)
    state.targets = {
        t.session_id: t
        for t in await db_session.scalars(
            select(ChargingTarget).where(ChargingTarget.session_id.in_(ids))
        )
    }
    state.offers = {
        o.session_id: o
        for o in await db_session.scalars(
            select(EvDischargeOffer).where(EvDischargeOffer.session_id.in_(ids))
        )
    }
    for row in await db_session.scalars(
        select(ChargingAllocation)
        .where(ChargingAllocation.session_id.in_(ids))
        .order_by(ChargingAllocation.decided_at)
    ):
        state.history.setdefault(row.session_id, []).append(row)
    return state


def demands(
    state: SiteState, site_id: uuid.UUID, now: datetime
) -> tuple[list[alloc.Node], list[alloc.Demand], dict[uuid.UUID, Live], Available]:
    """The allocator's input: nodes with what no allocation governs taken off, and a demand
    per session of a controlled station, highest priority first; with the sessions as the
    pass deals with them and the current left per node and phase.

    Taken off: each idle EVSE's default (the minimum a car that plugs in starts at, before
    any pass sees it), and what an uncontrolled station's EVSE may draw (its fallback,
    else the EVSE's maximum), busy or idle: a car may plug in there at any moment.
    """
    available = {node_id: list(node.available_a) for node_id, node in state.nodes.items()}
    weights = state.tree[site_id].segment_priorities
    by_evse = {s.evse_pk: s for s in state.slots}
    busy = {session.evse_pk for session in state.sessions}
    for slot in state.slots:
        held = state.support.get(slot.station_pk)
        if held is None or not controlled(held, slot):
            fallback = held.fallback_limit_a if held is not None and slot.managed else None
            draw = slot.max_a if fallback is None else min(slot.max_a, fallback)
            reserve(available, state.tree, slot, draw)
        elif slot.evse_pk not in busy:
            reserve(available, state.tree, slot, slot.min_a)
    found: list[alloc.Demand] = []
    live: dict[uuid.UUID, Live] = {}
    for session in state.sessions:
        slot = by_evse[session.evse_pk]  # type: ignore[index]
        held = state.support.get(slot.station_pk)
        if held is None or not controlled(held, slot):
            continue
        # A session older than the defaults on its EVSE may draw up to the EVSE's maximum.
        base = slot.min_a if session.created_at >= held.checked_at else slot.max_a
        accepted, most = believed(state.history.get(session.id, ()), base)
        known = accepted if accepted is not None else (base if base == slot.min_a else None)
        target = state.targets.get(session.id)
        target_a = None
        if target is not None:
            target_a = alloc.needed_current(
                target.energy_wh - int(session.energy_wh or 0),
                departure_at=target.departure_at,
                now=now,
                voltage_v=state.tree[slot.node_id].voltage_v,
                phase_count=len(slot.phases),
            )
        account = state.accounts.get((session.id_token or "", session.id_token_type or ""))
        priority = slot.priority + int(weights.get(segment(session, account, weights), 0))
        # An outside party's limit in force caps the car (below the minimum: paused).
        cap = cap_a(
            state.limits.get(session.id),
            session.started_at,
            now,
            phases=len(slot.phases),
            voltage_v=state.tree[slot.node_id].voltage_v,
        )
        max_a = slot.max_a if cap is None else max(min(slot.max_a, cap), alloc.ZERO)
        found.append(
            alloc.Demand(
                session.id, slot.node_id, slot.phases, slot.min_a, max_a, priority, target_a
            )
        )
        live[session.id] = Live(session, slot, known, most)
    found.sort(key=lambda d: -d.priority)
    node_list = [
        alloc.Node(n.id, n.parent_id, triple(available[n.id]))  # type: ignore[index]
        for n in state.nodes.values()
    ]
    return node_list, found, live, available


def believed_discharge(history: Sequence[ChargingAllocation]) -> tuple[Decimal, Decimal]:
    """(the discharge limit known to be in force, the most the car may feed back now) from
    a session's allocations, oldest first; none before a profile with one was accepted
    (the defaults carry none)."""
    accepted = most = alloc.ZERO
    for row in history:
        value = row.discharge_limit_a or alloc.ZERO
        if row.status is AllocationStatus.ACCEPTED:
            accepted = most = value
        elif row.status is not AllocationStatus.CLEARED:
            most = max(most, value)
    return accepted, most


def car_discharge_a(offer: EvDischargeOffer, slot: Slot, voltage_v: int) -> Decimal:
    """The most a car may feed back per phase: its EVSE's maximum, and the car's maximum
    discharge current or power (spread over the EVSE's phases) when it said them."""
    caps = [slot.max_a]
    if offer.max_discharge_a is not None:
        caps.append(offer.max_discharge_a)
    if offer.max_discharge_w is not None:
        caps.append(
            alloc.floor_step(Decimal(offer.max_discharge_w) / (voltage_v * len(slot.phases)))
        )
    return min(caps)


def discharge_budgets(
    state: SiteState, site_id: uuid.UUID, live: Mapping[uuid.UUID, Live]
) -> dict[uuid.UUID, Decimal] | None:
    """The most the cars under each node of the site may feed back between them, per phase
    (None: the site has no discharge limit, no car feeds back).

    The site's discharge limit; a circuit's own, else its capacity (its wiring carries
    the current either way). Taken off at each node above it: what a car of a station that
    takes no profiles now (flagged, or rebooted and not given its defaults yet, or under a
    circuit switched off) may still feed back, the most its allocations say (the last
    accepted discharge limit, or a later one not known to be refused), until its session
    ends.
    """
    limit = state.tree[site_id].discharge_limit_a
    if limit is None:
        return None
    budgets = {
        node_id: limit
        if node_id == site_id
        else (site.capacity_a if site.discharge_limit_a is None else site.discharge_limit_a)
        for node_id, site in state.tree.items()
    }
    by_evse = {s.evse_pk: s for s in state.slots}
    for session in state.sessions:
        if session.id in live:
            continue
        _, held = believed_discharge(state.history.get(session.id, ()))
        if held:
            take(budgets, state.tree, by_evse[session.evse_pk], held)  # type: ignore[index]
    return budgets


def take(
    budgets: dict[uuid.UUID, Decimal], tree: dict[uuid.UUID, Site], slot: Slot, amount: Decimal
) -> None:
    """Take ``amount`` from the discharge budget of the slot's node and every node above."""
    for node_id in chain(tree, slot.node_id):
        budgets[node_id] -= amount


def discharges(
    state: SiteState,
    site_id: uuid.UUID,
    live: Mapping[uuid.UUID, Live],
    priorities: Mapping[uuid.UUID, int],
) -> dict[uuid.UUID, Decimal] | None:
    """Set each session's discharge limits: what its history says is in force, and this
    pass's share of the discharge budgets (``discharge_budgets``) for each bidirectional
    car on an OCPP 2.1 station (``alloc.share_discharge``: within every node's budget);
    the budgets, None without a site discharge limit."""
    for item in live.values():
        item.known_discharge, item.believed_discharge = believed_discharge(
            state.history.get(item.session.id, ())
        )
    budgets = discharge_budgets(state, site_id, live)
    if budgets is None:
        return None
    nodes = [
        alloc.DischargeNode(
            node_id, None if node_id == site_id else site.parent_id, budgets[node_id]
        )
        for node_id, site in state.tree.items()
    ]
    cars = [
        alloc.DischargeDemand(
            key,
            item.slot.node_id,
            car_discharge_a(state.offers[key], item.slot, state.tree[item.slot.node_id].voltage_v),
            priorities.get(key, 0),
        )
        for key, item in live.items()
        if key in state.offers and item.session.protocol == V2X_PROTOCOL
    ]
    for key, share in alloc.share_discharge(nodes, cars).items():
        live[key].discharge = share  # type: ignore[index]
    return budgets
