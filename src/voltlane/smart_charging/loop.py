"""The rebalancing loop: one pass over one site (a grid connection and its circuits).

A pass, under a per-site advisory lock so two passes never interleave:

1. **Defaults.** Every station with an EVSE in the site gets a TxDefaultProfile at the
   site's minimum current on each of those EVSEs, once after each boot and after each
   change of the minimum (and again an hour after it refused); none under a circuit in
   mode ``off``. An EVSE that leaves the site, or whose circuit is switched off, has its
   own cleared (``release_evse``, asked again by the sweep until the station answers).
   A car that plugs in therefore starts at the minimum before any pass sees its session:
   the seconds after a new car arrives never push the site over. A station that accepts
   is ``supported``; one that refuses is flagged (``rejected`` / ``unsupported``) and is
   asked for a ChargingStationMaxProfile at the minimum of each of its EVSEs instead,
   whose limit becomes its ``fallback_limit_a``.
2. **Allocation.** Available current per node (readings, stale rule, safe limit, schedule
   window in force; a ``static`` site uses its safe limit), minus the minimum of each idle
   EVSE (a car may plug in there any second and start at its default) and what each EVSE
   of an uncontrolled station may draw (its fallback limit, else the EVSE's maximum); the
   allocator divides the rest among the sessions of controlled stations.
3. **Lower first, then raise.** Each session has a *believed* limit: the most its station
   may be applying now (the last accepted limit, or any later one whose answer is not
   known to be a refusal; the minimum of the default before any). Limits that go down or
   stay are sent first. Raises are then granted only within what the believed limits leave
   free at every node and phase, so the sum stays under the capacity while the change
   travels, even when a lower timed out; what is not granted now is granted by the next
   pass.
4. **Clears.** A session that ended has its TxProfile cleared (a station that answers
   ``Unknown`` had dropped it already).

Every limit sent is a ``charging_allocations`` row (``sent`` before the call, then its
answer), so a pass that dies mid-way leaves believed limits that are on the safe side.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import aliased

from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AllocationStatus,
    ChargingAllocation,
    ChargingSession,
    ChargingStation,
    Evse,
    EvseProfileRelease,
    ProfileSupport,
    SessionStatus,
    Site,
    SiteEvse,
    StationProfileSupport,
)
from voltlane.smart_charging import allocator as alloc
from voltlane.smart_charging import profiles
from voltlane.smart_charging import site_state as state_of
from voltlane.smart_charging.profiles import Call, ProfileOutcome, Sent
from voltlane.smart_charging.site_state import Live, SiteState, Slot
from voltlane.station import typed_commands as tc
from voltlane.station.ports import StationCommands

log = logging.getLogger(__name__)

_SUPPORT_OF = {
    ProfileOutcome.ACCEPTED: ProfileSupport.SUPPORTED,
    ProfileOutcome.REJECTED: ProfileSupport.REJECTED,
    ProfileOutcome.NOT_SUPPORTED: ProfileSupport.UNSUPPORTED,
}


@dataclass(slots=True)
class Pass:
    """What one pass decided and what the stations answered."""

    limits: dict[uuid.UUID, Decimal] = field(default_factory=dict)  # session -> decided
    sent: dict[uuid.UUID, Decimal] = field(default_factory=dict)  # session -> limit sent
    outcomes: dict[uuid.UUID, ProfileOutcome] = field(default_factory=dict)
    believed: dict[uuid.UUID, Decimal] = field(default_factory=dict)  # after the pass
    # The least current left at any node and phase beside every believed limit, idle
    # EVSE's default and uncontrolled draw (negative: more is connected than the site has).
    spare: Decimal | None = None
    cleared: list[uuid.UUID] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)  # station ids
    # V2X: session -> the discharge limit decided (bidirectional cars on 2.1 stations).
    discharges: dict[uuid.UUID, Decimal] = field(default_factory=dict)


async def rebalance(
    database: Database, commands: StationCommands, tenant_key: str, site_id: uuid.UUID
) -> Pass | None:
    """One pass over the site ``site_id`` (a grid connection, not a circuit); None when
    another pass holds the site, or it is gone, a circuit or ``off``."""
    async with database.tenant_transaction(tenant_key) as lock:
        key = f"smart_charging:{tenant_key}:{site_id}"
        if not await lock.scalar(
            select(func.pg_try_advisory_xact_lock(func.hashtextextended(key, 0)))
        ):
            return None
        run = _Run(database, commands, tenant_key, site_id)
        async with database.tenant_session(tenant_key) as db_session:
            state = await state_of.load(db_session, site_id)
        if state is None:
            return None
        await run.install_defaults(state)
        await run.allocate()
        await run.clear_ended()
        return run.done


@dataclass
class _Run:
    database: Database
    commands: StationCommands
    tenant_key: str
    site_id: uuid.UUID
    done: Pass = field(default_factory=Pass)

    async def send(self, calls: Sequence[Call]) -> list[Sent]:
        return await profiles.send_all(self.database, self.commands, self.tenant_key, calls)

    async def online(self, station_ids: set[str]) -> set[str]:
        return await profiles.connected(self.database, self.tenant_key, station_ids)

    async def install_defaults(self, state: SiteState) -> None:
        """A TxDefaultProfile at the minimum on each EVSE of the stations that need one."""
        now = utcnow()
        stations: dict[uuid.UUID, list[Slot]] = {}
        for slot in state.slots:
            if state_of.needs_defaults(state.support.get(slot.station_pk), slot, now):
                stations.setdefault(slot.station_pk, []).append(slot)
        results = iter(
            await self.send(
                [
                    Call(
                        s.station_id,
                        s.protocol,
                        profiles.tx_default_profile(s.evse_id, s.min_a, len(s.phases)),
                    )
                    for group in stations.values()
                    for s in group
                ]
            )
        )
        for station_pk, group in stations.items():
            answers = [next(results) for _ in group]
            refusal = next((a for a in answers if a.outcome.refused), None)
            if refusal is not None:
                await self.flag(group, refusal, "TxDefaultProfile")
            elif all(a.outcome is ProfileOutcome.ACCEPTED for a in answers):
                await self.record_support(station_pk, ProfileSupport.SUPPORTED)

    async def allocate(self) -> None:
        """Allocate, send what went down or is unsure, then the raises that fit."""
        now = utcnow()
        async with self.database.tenant_session(self.tenant_key) as db_session:
            state = await state_of.load(db_session, self.site_id, now)
        if state is None:
            return
        nodes, demands, live, available = state_of.demands(state, self.site_id, now)
        order = [live[d.key] for d in demands]  # type: ignore[index]
        limits = alloc.allocate(nodes, demands)
        for item in order:
            item.limit = limits[item.session.id]
        self.done.limits.update({item.session.id: item.limit for item in order})
        priorities = {item.session.id: d.priority for item, d in zip(order, demands, strict=True)}
        budgets = state_of.discharges(state, self.site_id, live, priorities)
        _grant_discharges(state, budgets, order)
        self.done.discharges.update(
            {item.session.id: item.discharge for item in order if item.discharge is not None}
        )
        # Lowers (and limits whose answer is not known) first: they never add to the sum.
        await self.send_limits(
            [item for item in order if item.limit <= item.believed and not item.unchanged]
        )
        raises, headroom = _raises(state, order, available)
        await self.send_limits(raises)
        self.done.spare = min((v for values in headroom.values() for v in values), default=None)
        self.done.believed.update({key: item.believed for key, item in live.items()})

    async def send_limits(self, items: Sequence[Live]) -> None:
        """Send each item's limit as its TxProfile: rows ``sent`` first, then their answers;
        a station that refuses is flagged. Stations not connected now are left for a
        later pass (their believed limits stand)."""
        online = await self.online({item.slot.station_id for item in items})
        items = [item for item in items if item.slot.station_id in online]
        if not items:
            return
        decided_at = utcnow()
        rows = [
            ChargingAllocation(
                id=uuid.uuid4(),
                session_id=item.session.id,
                site_id=self.site_id,
                limit_a=item.limit,
                discharge_limit_a=item.discharge,
                phases=len(item.slot.phases),
                decided_at=decided_at,
                profile_id=profiles.tx_profile_id(item.slot.evse_id),
                status=AllocationStatus.SENT,
                status_at=decided_at,
            )
            for item in items
        ]
        async with self.database.tenant_transaction(self.tenant_key) as db_session:
            db_session.add_all(rows)
        results = await self.send(
            [
                Call(
                    item.slot.station_id,
                    item.session.protocol,
                    profiles.tx_profile(
                        item.slot.evse_id,
                        item.session.transaction_id,
                        item.limit,
                        len(item.slot.phases),
                        discharge_limit_a=item.discharge,
                    ),
                )
                for item in items
            ]
        )
        answered_at = utcnow()
        async with self.database.tenant_transaction(self.tenant_key) as db_session:
            for row, result in zip(rows, results, strict=True):
                accepted = result.outcome is ProfileOutcome.ACCEPTED
                await db_session.execute(
                    update(ChargingAllocation)
                    .where(ChargingAllocation.id == row.id)
                    .values(
                        status=AllocationStatus.ACCEPTED if accepted else AllocationStatus.REJECTED,
                        command_id=result.command_id,
                        status_at=answered_at,
                    )
                )
        refused: dict[uuid.UUID, Sent] = {}
        for item, result in zip(items, results, strict=True):
            self.done.sent[item.session.id] = item.limit
            self.done.outcomes[item.session.id] = result.outcome
            discharge = item.discharge or alloc.ZERO
            if result.outcome is ProfileOutcome.ACCEPTED:
                item.known = item.believed = item.limit
                item.known_discharge = item.believed_discharge = discharge
            else:
                item.believed = max(item.believed, item.limit)
                item.believed_discharge = max(item.believed_discharge, discharge)
                if result.outcome.refused:
                    refused.setdefault(item.slot.station_pk, result)
        for station_pk, refusal in refused.items():
            group = [i.slot for i in items if i.slot.station_pk == station_pk]
            await self.flag(group, refusal, "TxProfile")

    async def flag(self, slots: Sequence[Slot], refusal: Sent, what: str) -> None:
        """Flag a station that refused ``what`` and ask it for the fallback: a station
        maximum at the minimum of each of its EVSEs in the site."""
        slot = slots[0]
        limit = sum((s.min_a for s in slots), Decimal(0))
        phases = max(len(s.phases) for s in slots)
        [fallback] = await self.send(
            [Call(slot.station_id, slot.protocol, profiles.station_max_profile(limit, phases))]
        )
        accepted = fallback.outcome is ProfileOutcome.ACCEPTED
        await self.record_support(
            slot.station_pk,
            _SUPPORT_OF[refusal.outcome],
            reason=f"{what}: {refusal.answer or refusal.outcome.value}",
            fallback_limit_a=limit if accepted else None,
        )
        self.done.flagged.append(slot.station_id)
        log.warning(
            "station refuses charging profiles",
            extra={"station_id": slot.station_id, "answer": refusal.answer, "fallback": accepted},
        )

    async def record_support(
        self,
        station_pk: uuid.UUID,
        status: ProfileSupport,
        *,
        reason: str = "",
        fallback_limit_a: Decimal | None = None,
    ) -> None:
        values = {
            "status": status,
            "reason": reason[:200],
            "fallback_limit_a": fallback_limit_a,
            "checked_at": utcnow(),
        }
        async with self.database.tenant_transaction(self.tenant_key) as db_session:
            await db_session.execute(
                insert(StationProfileSupport)
                .values(charging_station_id=station_pk, **values)
                .on_conflict_do_update(
                    index_elements=[StationProfileSupport.charging_station_id], set_=values
                )
            )

    async def clear_ended(self) -> None:
        """Clear the TxProfile of each session of the site that ended after it was sent one."""
        clear = aliased(ChargingAllocation)
        cleared = (
            select(clear.id)
            .where(clear.session_id == ChargingSession.id, clear.status == AllocationStatus.CLEARED)
            .exists()
        )
        async with self.database.tenant_session(self.tenant_key) as db_session:
            ended = (
                await db_session.execute(
                    select(
                        ChargingSession.id,
                        ChargingSession.evse_id,
                        ChargingSession.protocol,
                        ChargingStation.station_id,
                        func.max(ChargingAllocation.phases),
                    )
                    .join(ChargingAllocation, ChargingAllocation.session_id == ChargingSession.id)
                    .join(
                        ChargingStation, ChargingStation.id == ChargingSession.charging_station_id
                    )
                    .where(
                        ChargingAllocation.site_id == self.site_id,
                        ChargingSession.status == SessionStatus.FINISHED,
                        ~cleared,
                    )
                    .group_by(ChargingSession.id, ChargingStation.station_id)
                )
            ).all()
        results = await self.send(
            [
                Call(station_id, protocol, profiles.clear_tx_profile(evse_id or 1))
                for _, evse_id, protocol, station_id, _ in ended
            ]
        )
        now = utcnow()
        async with self.database.tenant_transaction(self.tenant_key) as db_session:
            for (session_id, evse_id, _, _, phases), result in zip(ended, results, strict=True):
                # "Unknown": the station dropped the profile itself when the transaction ended.
                if result.outcome is ProfileOutcome.ACCEPTED or result.answer == "Unknown":
                    db_session.add(
                        ChargingAllocation(
                            id=uuid.uuid4(),
                            session_id=session_id,
                            site_id=self.site_id,
                            limit_a=alloc.ZERO,
                            phases=phases,
                            decided_at=now,
                            profile_id=profiles.tx_profile_id(evse_id or 1),
                            command_id=result.command_id,
                            status=AllocationStatus.CLEARED,
                            status_at=now,
                        )
                    )
                    self.done.cleared.append(session_id)


def _raises(
    state: SiteState, order: Sequence[Live], available: state_of.Available
) -> tuple[list[Live], state_of.Available]:
    """The raises that fit beside every believed limit, highest priority first, and the
    headroom they leave; a raise that does not fit whole is granted in part (never between
    0 and the minimum)."""
    headroom = {key: list(values) for key, values in available.items()}
    for item in order:
        state_of.reserve(headroom, state.tree, item.slot, item.believed)
    granted = []
    for item in order:
        if item.limit <= item.believed:
            continue
        room = min(
            headroom[node][phase - 1]
            for node in state_of.chain(state.tree, item.slot.node_id)
            for phase in item.slot.phases
        )
        grant = alloc.floor_step(min(item.limit, item.believed + max(room, alloc.ZERO)))
        if grant <= item.believed or grant < item.slot.min_a:
            if (item.discharge or alloc.ZERO) != item.known_discharge:
                # The discharge limit changes all the same: it goes with the current kept.
                item.limit = item.believed
                granted.append(item)
            continue
        state_of.reserve(headroom, state.tree, item.slot, grant - item.believed)
        item.limit = grant
        granted.append(item)
    return granted, headroom


def _grant_discharges(
    state: SiteState, budgets: dict[uuid.UUID, Decimal] | None, order: Sequence[Live]
) -> None:
    """Hold each discharge raise, highest priority first, to what every node's discharge
    budget above the car leaves beside the most every car may feed back now, so no sum
    goes over a limit while the changes travel (the rest is granted by a later pass)."""
    if budgets is None:
        return  # no discharge: every car's discharge goes down or stays at none
    room = dict(budgets)
    for item in order:
        state_of.take(room, state.tree, item.slot, item.believed_discharge)
    for item in order:
        wanted = item.discharge or alloc.ZERO
        if wanted <= item.believed_discharge:
            continue
        free = min(room[node_id] for node_id in state_of.chain(state.tree, item.slot.node_id))
        grant = alloc.floor_step(min(wanted, item.believed_discharge + max(free, alloc.ZERO)))
        state_of.take(room, state.tree, item.slot, grant - item.believed_discharge)
        item.discharge = max(grant, item.believed_discharge) or None


async def release_station(
    database: Database, commands: StationCommands, tenant_key: str, station_pk: uuid.UUID
) -> bool:
    """Take Voltlane's defaults and fallback off a station none of whose EVSEs is in a site
    any more, then forget its support row; False when it is in a site, or did not answer
    every clear (a later sweep tries again)."""
    async with database.tenant_session(tenant_key) as db_session:
        station = await db_session.get(ChargingStation, station_pk)
        evse_ids = list(
            await db_session.scalars(
                select(Evse.evse_id)
                .where(Evse.charging_station_id == station_pk)
                .order_by(Evse.evse_id)
            )
        )
        in_site = await db_session.scalar(
            select(SiteEvse.evse_pk)
            .join(Evse, Evse.id == SiteEvse.evse_pk)
            .where(Evse.charging_station_id == station_pk)
            .limit(1)
        )
    if station is None or in_site is not None:
        return False
    ids = [profiles.tx_default_profile_id(e) for e in evse_ids] + [profiles.STATION_MAX_PROFILE_ID]
    results = await profiles.send_all(
        database,
        commands,
        tenant_key,
        [
            Call(station.station_id, station.protocol, tc.ClearChargingProfile(profile_id=i))
            for i in ids
        ],
    )
    # "Unknown": the station held no such profile.
    if not all(r.outcome is ProfileOutcome.ACCEPTED or r.answer == "Unknown" for r in results):
        return False
    async with database.tenant_transaction(tenant_key) as db_session:
        await db_session.execute(
            delete(StationProfileSupport).where(
                StationProfileSupport.charging_station_id == station_pk
            )
        )
        # Every default of the station is cleared: no EVSE of it waits for a release.
        await db_session.execute(
            delete(EvseProfileRelease).where(
                EvseProfileRelease.evse_pk.in_(
                    select(Evse.id).where(Evse.charging_station_id == station_pk)
                )
            )
        )
    return True


async def release_evse(
    database: Database, commands: StationCommands, tenant_key: str, evse_pk: uuid.UUID
) -> bool:
    """Clear the TxDefaultProfile and TxProfile of an EVSE that left its site, or whose site
    or circuit was switched off, while its station stays under Voltlane; False when the
    EVSE is back in a managed site, is gone, or the station did not answer every clear
    (offline, no answer: its pending release stays for the sweep to ask again; answered:
    it is dropped)."""
    async with database.tenant_session(tenant_key) as db_session:
        found = (
            await db_session.execute(
                select(Evse.evse_id, ChargingStation.station_id, ChargingStation.protocol)
                .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
                .where(Evse.id == evse_pk)
            )
        ).first()
        in_site = await db_session.get(SiteEvse, evse_pk)
        sites = {site.id: site for site in await db_session.scalars(select(Site))}
    managed = in_site is not None and not state_of.switched_off(sites, in_site.site_id)
    if found is None or managed:
        await _drop_releases(database, tenant_key, [evse_pk])
        return False
    evse_id, station_id, protocol = found
    ids = [profiles.tx_default_profile_id(evse_id), profiles.tx_profile_id(evse_id)]
    results = await profiles.send_all(
        database,
        commands,
        tenant_key,
        [Call(station_id, protocol, tc.ClearChargingProfile(profile_id=i)) for i in ids],
    )
    # "Unknown": the station held no such profile.
    done = all(r.outcome is ProfileOutcome.ACCEPTED or r.answer == "Unknown" for r in results)
    if done:
        await _drop_releases(database, tenant_key, [evse_pk])
    return done


async def _drop_releases(
    database: Database, tenant_key: str, evse_pks: Sequence[uuid.UUID]
) -> None:
    async with database.tenant_transaction(tenant_key) as db_session:
        await db_session.execute(
            delete(EvseProfileRelease).where(EvseProfileRelease.evse_pk.in_(evse_pks))
        )
