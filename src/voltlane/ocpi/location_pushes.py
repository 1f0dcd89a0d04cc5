"""Locations module, pushes to partners' Receiver interfaces (mod_locations.asciidoc):
every REGISTERED partner that listed a locations RECEIVER endpoint is told of changes.

- A status report that changes an EVSE's OCPI status queues a PATCH of the EVSE
  ``{status, last_updated}`` in the report's own transaction: the OCPP gateway's batched
  path runs one statement per batch that compares each touched EVSE's status before and
  after the batch, writes the pushes and the delivery jobs. A brand with no such partner
  (or that is no OCPI party) adds nothing to the batch; that answer is cached a few
  seconds per brand, so the hot path does not ask for every report. Reports taken in the
  seconds after a brand's first such partner registers may therefore go untold (a batch
  that mixes reports from before and after the cache turned runs this statement after
  the update, which then sees no change); the partner's first pull or the resync covers
  them.
- Staff's changes to a location, its stations, EVSEs or connectors queue a PUT of the
  whole location (superseding what was not sent yet): published locations, and a location
  just withdrawn from publication once more (with ``publish`` false) so partners hide it.

A push's object is the location (``object_id`` = its id) whatever it patches, so a PATCH
never overtakes the PUT of its location and a later PUT supersedes unsent PATCHes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import TextClause

from voltlane.core.cache import TtlCache
from voltlane.core.clock import utcnow
from voltlane.core.db import Database, tenant_text
from voltlane.core.group_commit import RowSet, Statement
from voltlane.models.tenant import OcpiPartner, OcpiPush, PartnerState, PushState
from voltlane.ocpi.location_mapping import evse_status_sql, locations_of, shown_sql
from voltlane.ocpi.location_repository import LocationRepository
from voltlane.ocpi.protocol import InterfaceRole, Module
from voltlane.ocpi.pushes import DELIVER
from voltlane.ocpi.tariff_offer import partner_segment, tariff_offer
from voltlane.tenancy import TenantRegistry
from voltlane.worker import enqueue
from voltlane.worker.outbox import outbox_row

MODULE = Module.LOCATIONS.value
CACHE_SECONDS = 5.0
_RECEIVER = [{"identifier": MODULE, "role": InterfaceRole.RECEIVER.value}]

# One batch of status reports (the rows of operations.UPDATE_CONNECTOR_STATUS, plus the
# brand's party and a delivery job to copy): run before the batch's connector update, it
# compares each touched EVSE's OCPI status now with the status once the batch applies (a
# report older than the connector's status changes nothing), and owes each receiver a
# PATCH per EVSE whose status changes, with one delivery job per partner that got one.
# The EVSE's last_updated is the transaction's time: the update stamps its connectors so.
_STATUS_SQL = """
WITH reported AS (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        b_station uuid, b_evse integer, b_connector integer, b_status text,
        b_at timestamptz, b_cc text, b_pid text, b_job jsonb
    )
), latest AS (
    SELECT DISTINCT ON (b_station, b_evse, b_connector) * FROM reported
    ORDER BY b_station, b_evse, b_connector, b_at DESC
), touched AS (
    SELECT DISTINCT e.id AS evse_pk, e.charging_station_id, e.evse_id, e.emi3_id,
        cs.location_id
    FROM latest r
    JOIN {schema}.evses e ON e.charging_station_id = r.b_station AND e.evse_id = r.b_evse
    JOIN {schema}.charging_stations cs ON cs.id = e.charging_station_id
    JOIN {schema}.locations l ON l.id = cs.location_id
    WHERE cs.registration_status = 'Accepted' AND l.publish
), statuses AS (
    SELECT t.evse_pk, t.location_id,
        {old_status} AS old_status, {new_status} AS new_status, {shown} AS shown
    FROM touched t
    JOIN {schema}.connectors c ON c.evse_pk = t.evse_pk
    LEFT JOIN latest r ON r.b_station = t.charging_station_id AND r.b_evse = t.evse_id
        AND r.b_connector = c.connector_id
        AND (c.status_at IS NULL OR c.status_at <= r.b_at)
    GROUP BY t.evse_pk, t.location_id
), brand AS (
    SELECT b_cc, b_pid, b_job FROM reported LIMIT 1
), pushed AS (
    INSERT INTO {schema}.ocpi_pushes (
        id, partner_id, module, object_id, method, path, body, state, attempts,
        next_attempt_at, created_at
    )
    SELECT gen_random_uuid(), p.id, 'locations', s.location_id::text, 'PATCH',
        '/' || b.b_cc || '/' || b.b_pid || '/' || s.location_id || '/' || s.evse_pk,
        jsonb_build_object(
            'status', s.new_status,
            'last_updated', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24\\:MI\\:SS"Z"')
        ),
        'pending', 0, now(), now()
    FROM statuses s
    CROSS JOIN brand b
    JOIN {schema}.ocpi_partners p ON p.state = 'registered' AND p.endpoints @> '{receiver}'
    WHERE s.shown AND s.old_status <> s.new_status
    RETURNING partner_id
)
INSERT INTO platform.outbox (message_id, queue_name, actor_name, message)
SELECT job.id, b.b_job->>'queue_name', b.b_job->>'actor_name',
    jsonb_set(
        jsonb_set(
            jsonb_set(b.b_job, '{message_id}', to_jsonb(job.id::text)),
            '{kwargs,partner_id}', to_jsonb(job.partner_id::text)
        ),
        '{message_timestamp}', to_jsonb((extract(epoch FROM clock_timestamp()) * 1000)::bigint)
    )
FROM (
    SELECT partner_id, gen_random_uuid() AS id FROM (SELECT DISTINCT partner_id FROM pushed) d
) job
CROSS JOIN brand b
"""


def _status_sql() -> str:
    return (
        _STATUS_SQL.replace("{old_status}", evse_status_sql("c.status"))
        .replace("{new_status}", evse_status_sql("coalesce(r.b_status, c.status)"))
        .replace("{shown}", shown_sql("c.standard", "t.emi3_id"))
        .replace("{receiver}", json.dumps(_RECEIVER))
    )


def receivers() -> Any:
    """The partners who are told of location changes."""
    return select(OcpiPartner).where(
        OcpiPartner.state == PartnerState.REGISTERED, OcpiPartner.endpoints.contains(_RECEIVER)
    )


@dataclass(frozen=True, slots=True)
class _Brand:
    party: tuple[str, str]
    job: dict[str, Any]


async def queue_location_puts(
    db_session: AsyncSession,
    tenant_key: str,
    party: tuple[str, str],
    partners: Sequence[OcpiPartner],
    location_ids: Sequence[uuid.UUID],
    *,
    withdrawn: Iterable[uuid.UUID] = (),
) -> int:
    """Owe each partner a PUT of each published location of ``location_ids`` (and of the
    ``withdrawn`` ones, which show ``publish`` false), superseding its unsent pushes of
    them; one delivery job per partner. Returns how many pushes were queued."""
    repo = LocationRepository(db_session)
    told = set(withdrawn)
    locations = [row for row in await repo.locations(location_ids) if row.publish or row.id in told]
    if not locations or not partners:
        return 0
    rows = await repo.connectors([row.id for row in locations])
    now = utcnow()
    queued = 0
    for partner in partners:
        offer = await tariff_offer(
            db_session, partner_segment(partner.country_code, partner.party_id), now
        )
        objects = [
            msgspec.to_builtins(body) for body in locations_of(locations, rows, offer, party)
        ]
        await db_session.execute(
            update(OcpiPush)
            .where(
                OcpiPush.partner_id == partner.id,
                OcpiPush.module == MODULE,
                OcpiPush.object_id.in_([body["id"] for body in objects]),
                OcpiPush.state == PushState.PENDING,
                OcpiPush.attempts == 0,
            )
            .values(state=PushState.SUPERSEDED)
        )
        db_session.add_all(
            OcpiPush(
                partner_id=partner.id,
                module=MODULE,
                object_id=body["id"],
                method="PUT",
                path=f"/{party[0]}/{party[1]}/{body['id']}",
                body=body,
                state=PushState.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for body in objects
        )
        enqueue(db_session, DELIVER, tenant=tenant_key, partner_id=str(partner.id))
        queued += len(objects)
    await db_session.flush()
    return queued


class OcpiLocationChanges:
    """The station domain's LocationChanges port, told to OCPI partners."""

    def __init__(self, base_domain: str, *, ttl: float = CACHE_SECONDS) -> None:
        self.base_domain = base_domain
        # Read by every status report: when it expires under load, one lookup refills it.
        self._brands: TtlCache[str, _Brand | None] = TtlCache(ttl)
        self._statements: dict[str, RowSet] = {}
        self._sql = _status_sql()

    async def _party(self, database: Database, tenant_key: str) -> tuple[str, str] | None:
        brand = await TenantRegistry(database, self.base_domain, ttl=0).by_key(tenant_key)
        return None if brand is None else brand.ocpi_party

    async def _brand(self, database: Database, tenant_key: str) -> _Brand | None:
        """The brand's party when it has a partner to tell, cached ``ttl`` seconds."""
        return await self._brands.get(tenant_key, lambda: self._load_brand(database, tenant_key))

    async def _load_brand(self, database: Database, tenant_key: str) -> _Brand | None:
        party = await self._party(database, tenant_key)
        if party is None:
            return None
        async with database.tenant_session(tenant_key) as db_session:
            listening = await db_session.scalar(receivers().with_only_columns(OcpiPartner.id))
        if listening is None:
            return None
        job = outbox_row(DELIVER, tenant=tenant_key, partner_id="")["message"]
        return _Brand(party, job)

    def _statement(self, tenant_key: str) -> RowSet:
        # One object per brand: a batch merges the rows of its reports into one statement.
        statement = self._statements.get(tenant_key)
        if statement is None:
            clause: TextClause = tenant_text(tenant_key, self._sql)
            statement = self._statements[tenant_key] = RowSet(clause)
        return statement

    async def status_writes(
        self, database: Database, tenant_key: str, report: dict[str, Any]
    ) -> list[tuple[Statement, list[dict[str, Any]]]]:
        brand = await self._brand(database, tenant_key)
        if brand is None:
            return []
        row = {
            "b_station": report["b_station"],
            "b_evse": report["b_evse"],
            "b_connector": report["b_connector"],
            "b_status": report["b_status"],
            "b_at": report["b_at"],
            "b_cc": brand.party[0],
            "b_pid": brand.party[1],
            "b_job": brand.job,
        }
        return [(self._statement(tenant_key), [row])]

    async def locations_changed(
        self,
        db_session: AsyncSession,
        location_ids: Iterable[uuid.UUID | None],
        *,
        withdrawn: Iterable[uuid.UUID] = (),
    ) -> None:
        ids = sorted({key for key in location_ids if key is not None})
        if not ids:
            return
        tenant_key: str = db_session.info["tenant_key"]
        party = await self._party(db_session.info["database"], tenant_key)
        if party is None:
            return
        partners = (await db_session.scalars(receivers())).all()
        await queue_location_puts(db_session, tenant_key, party, partners, ids, withdrawn=withdrawn)
