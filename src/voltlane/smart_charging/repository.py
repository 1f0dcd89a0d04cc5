"""Every query of smart charging: sites and their trees, EVSEs, schedules, readings, targets."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import (
    ChargingSession,
    ChargingTarget,
    Evse,
    EvseProfileRelease,
    Location,
    ProfileSupport,
    ReadingKind,
    Site,
    SiteEvse,
    SiteReading,
    SiteSchedule,
    StationProfileSupport,
)


class SmartChargingRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def flush(self) -> None:
        await self.db_session.flush()

    def add(self, row: object) -> None:
        self.db_session.add(row)

    # -- sites -----------------------------------------------------------------------

    async def site(self, site_id: uuid.UUID, *, for_update: bool = False) -> Site | None:
        stmt = select(Site).where(Site.id == site_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.db_session.scalar(stmt)

    async def ancestor_ids(self, site_id: uuid.UUID) -> list[uuid.UUID]:
        """``site_id`` and its parents up to the root, nearest first."""
        tree = select(Site.id, Site.parent_id).where(Site.id == site_id).cte(recursive=True)
        tree = tree.union_all(
            select(Site.id, Site.parent_id).join(tree, Site.id == tree.c.parent_id)
        )
        return list(await self.db_session.scalars(select(tree.c.id)))

    async def tree(self, root_id: uuid.UUID) -> list[Site]:
        """A site and every circuit under it, parents before children."""
        tree = (
            select(Site.id, Site.parent_id)
            .where(Site.id == root_id)
            .cte(name="site_tree", recursive=True)
        )
        tree = tree.union_all(
            select(Site.id, Site.parent_id).join(tree, Site.parent_id == tree.c.id)
        )
        sites = list(
            await self.db_session.scalars(select(Site).where(Site.id.in_(select(tree.c.id))))
        )
        return _parents_first(sites, root_id)

    async def root_ids(self) -> list[uuid.UUID]:
        """Every grid connection (site without a parent), in name order."""
        rows = await self.db_session.scalars(
            select(Site.id).where(Site.parent_id.is_(None)).order_by(Site.name, Site.id)
        )
        return list(rows)

    async def location_timezone(self, location_id: uuid.UUID) -> str | None:
        return await self.db_session.scalar(
            select(Location.timezone).where(Location.id == location_id)
        )

    # -- EVSEs -----------------------------------------------------------------------

    async def evse_exists(self, evse_pk: uuid.UUID) -> bool:
        return await self.db_session.scalar(select(Evse.id).where(Evse.id == evse_pk)) is not None

    async def site_evse(self, evse_pk: uuid.UUID) -> SiteEvse | None:
        return await self.db_session.get(SiteEvse, evse_pk)

    async def site_evses(self, site_ids: Iterable[uuid.UUID]) -> list[SiteEvse]:
        rows = await self.db_session.scalars(
            select(SiteEvse)
            .where(SiteEvse.site_id.in_(list(site_ids)))
            .order_by(SiteEvse.site_id, SiteEvse.evse_pk)
        )
        return list(rows)

    async def remove_site_evse(self, evse_pk: uuid.UUID) -> bool:
        result = await self.db_session.execute(
            delete(SiteEvse).where(SiteEvse.evse_pk == evse_pk).returning(SiteEvse.evse_pk)
        )
        return result.first() is not None

    async def request_release(self, evse_pk: uuid.UUID, now: datetime) -> None:
        """Remember that the EVSE's TxDefaultProfile is to be cleared (until it is)."""
        await self.db_session.execute(
            insert(EvseProfileRelease)
            .values(evse_pk=evse_pk, requested_at=now)
            .on_conflict_do_nothing(index_elements=[EvseProfileRelease.evse_pk])
        )

    async def drop_release(self, evse_pk: uuid.UUID) -> None:
        await self.db_session.execute(
            delete(EvseProfileRelease).where(EvseProfileRelease.evse_pk == evse_pk)
        )

    async def forget_defaults(self, site_id: uuid.UUID) -> None:
        """Mark the stations with an EVSE in the site as not holding its defaults (the next
        pass sends them again)."""
        stations = (
            select(Evse.charging_station_id)
            .join(SiteEvse, SiteEvse.evse_pk == Evse.id)
            .where(SiteEvse.site_id == site_id)
        )
        await self.db_session.execute(
            update(StationProfileSupport)
            .where(
                StationProfileSupport.charging_station_id.in_(stations),
                StationProfileSupport.status == ProfileSupport.SUPPORTED,
            )
            .values(status=ProfileSupport.UNKNOWN)
        )

    # -- schedules and readings ------------------------------------------------------

    async def schedules(self, site_ids: Iterable[uuid.UUID]) -> list[SiteSchedule]:
        rows = await self.db_session.scalars(
            select(SiteSchedule)
            .where(SiteSchedule.site_id.in_(list(site_ids)))
            .order_by(SiteSchedule.site_id, SiteSchedule.starts_at, SiteSchedule.id)
        )
        return list(rows)

    async def schedule(self, schedule_id: uuid.UUID) -> SiteSchedule | None:
        return await self.db_session.get(SiteSchedule, schedule_id)

    async def remove_schedule(self, site_id: uuid.UUID, schedule_id: uuid.UUID) -> bool:
        result = await self.db_session.execute(
            delete(SiteSchedule)
            .where(SiteSchedule.id == schedule_id, SiteSchedule.site_id == site_id)
            .returning(SiteSchedule.id)
        )
        return result.first() is not None

    async def readings(self, site_ids: Iterable[uuid.UUID]) -> list[SiteReading]:
        rows = await self.db_session.scalars(
            select(SiteReading)
            .where(SiteReading.site_id.in_(list(site_ids)))
            .order_by(SiteReading.site_id, SiteReading.kind)
        )
        return list(rows)

    async def store_reading(
        self,
        site_id: uuid.UUID,
        kind: ReadingKind,
        per_phase_a: Sequence[Decimal],
        soc_percent: Decimal | None,
        measured_at: datetime,
    ) -> SiteReading | None:
        """Keep the reading unless a newer one of its kind is already stored (a late
        delivery never replaces a fresher value); the stored row, or None if it was older."""
        values = {
            "site_id": site_id,
            "kind": kind,
            "l1_a": per_phase_a[0],
            "l2_a": per_phase_a[1],
            "l3_a": per_phase_a[2],
            "soc_percent": soc_percent,
            "measured_at": measured_at,
        }
        upsert = insert(SiteReading).values(values)
        stmt = upsert.on_conflict_do_update(
            index_elements=[SiteReading.site_id, SiteReading.kind],
            set_={
                **{key: upsert.excluded[key] for key in values if key not in ("site_id", "kind")},
                "received_at": upsert.excluded.received_at,
            },
            where=SiteReading.measured_at < upsert.excluded.measured_at,
        ).returning(SiteReading)
        result = await self.db_session.execute(stmt, execution_options={"populate_existing": True})
        return result.scalar_one_or_none()

    # -- departure targets -----------------------------------------------------------

    async def session_status(self, session_id: uuid.UUID) -> str | None:
        status = await self.db_session.scalar(
            select(ChargingSession.status).where(ChargingSession.id == session_id)
        )
        return None if status is None else str(status)

    async def targets(self, session_ids: Iterable[uuid.UUID]) -> list[ChargingTarget]:
        rows = await self.db_session.scalars(
            select(ChargingTarget).where(ChargingTarget.session_id.in_(list(session_ids)))
        )
        return list(rows)

    async def store_target(
        self, session_id: uuid.UUID, energy_wh: int, departure_at: datetime
    ) -> ChargingTarget:
        upsert = insert(ChargingTarget).values(
            session_id=session_id, energy_wh=energy_wh, departure_at=departure_at
        )
        stmt = upsert.on_conflict_do_update(
            index_elements=[ChargingTarget.session_id],
            set_={
                "energy_wh": upsert.excluded.energy_wh,
                "departure_at": upsert.excluded.departure_at,
                "updated_at": upsert.excluded.updated_at,
            },
        ).returning(ChargingTarget)
        result = await self.db_session.execute(stmt, execution_options={"populate_existing": True})
        target: ChargingTarget = result.scalar_one()
        return target


def _parents_first(sites: list[Site], root_id: uuid.UUID) -> list[Site]:
    children: dict[uuid.UUID | None, list[Site]] = {}
    for site in sites:
        children.setdefault(site.parent_id, []).append(site)
    ordered: list[Site] = []
    queue = [site for site in sites if site.id == root_id]
    while queue:
        site = queue.pop(0)
        ordered.append(site)
        queue.extend(sorted(children.get(site.id, []), key=lambda s: (s.name, s.id)))
    return ordered
